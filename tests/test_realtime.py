"""Socket.IO against a real server process: authentication, rooms, nudges after approval."""

from __future__ import annotations

import threading
import time
import uuid

import pytest
import requests
import socketio

from tests.conftest import pg_database
from tests.live import LiveServer


class Screen:
    """A python-socketio client standing in for one screen."""

    def __init__(self, url: str, token: str | None) -> None:
        self.url, self.token = url, token
        self.nudges: list[dict] = []
        self.got = threading.Event()
        self.client = socketio.Client(reconnection=False)
        self.client.on("manifest_changed", self._on_nudge, namespace="/device")

    def _on_nudge(self, data: dict) -> None:
        self.nudges.append(data)
        self.got.set()

    def connect(self, wait: float = 5) -> None:
        auth = {"token": self.token} if self.token is not None else None
        self.client.connect(self.url, namespaces=["/device"], auth=auth, transports=["websocket"], wait_timeout=wait)

    def manifest(self) -> dict:
        resp = requests.get(self.url + "/api/v1/device/manifest", headers={"Authorization": f"Bearer {self.token}"}, timeout=5)
        resp.raise_for_status()
        return resp.json()

    def shows(self) -> str:
        """Everything the screen's manifest and its boards say, as one text."""
        manifest = self.manifest()
        pages = []
        for board in manifest["boards"]:
            resp = requests.get(self.url + board["href"], headers={"Authorization": f"Bearer {self.token}"}, timeout=5)
            resp.raise_for_status()
            pages.append(resp.text)
        return str(manifest) + "".join(pages)

    def close(self) -> None:
        if self.client.connected:
            self.client.disconnect()


@pytest.fixture
def screens(live: LiveServer):
    opened: list[Screen] = []

    def open_screen(village: str, name: str) -> Screen:
        s = Screen(live.url, live.screen(village, name)["key"])
        s.connect()
        opened.append(s)
        return s

    yield open_screen
    # websocket-client waits up to 3 s for each close frame; close them side by side.
    closers = [threading.Thread(target=s.close) for s in opened]
    for t in closers:
        t.start()
    for t in closers:
        t.join()


def test_approval_nudges_that_villages_screens_only(live, screens):
    hall = screens("东山村", "大厅信息屏")
    kiosk = screens("东山村", "大厅查询机")
    other = screens("西岭村", "大厅信息屏")
    before = hall.manifest()["version"]
    title = f"东山村推送测试{uuid.uuid4().hex[:6]}"
    live.publish("东山村", title, "实时推送测试")
    assert hall.got.wait(5) and kiosk.got.wait(5)
    manifest = hall.manifest()
    assert manifest["version"] != before
    assert title in [b["title"] for b in manifest["boards"]]
    assert not other.got.wait(1.0), "another village's screen was nudged"
    assert title not in [b["title"] for b in other.manifest()["boards"]]


def test_internal_items_reach_only_internal_screens(live, screens):
    hall = screens("东山村", "大厅信息屏")
    party_room = screens("东山村", "党员活动室屏")
    title = f"党内公示{uuid.uuid4().hex[:6]}"
    live.publish("东山村", title, "实时推送测试", item="党员大会决议事项")
    assert party_room.got.wait(5)
    assert title in [b["title"] for b in party_room.manifest()["boards"]]
    assert not hall.got.wait(1.0), "a public screen was nudged for an internal item"
    assert title not in [b["title"] for b in hall.manifest()["boards"]]


def test_a_villages_public_answer_reaches_the_township_hall_screen(live, screens):
    """The township hall shows its villages' echo walls, so it hears their answers."""
    town_hall = screens("清河镇", "大厅信息屏")
    village = screens("东山村", "大厅信息屏")
    other = screens("西岭村", "大厅信息屏")
    handler = live.api("handler")
    open_items = handler.get(f"{live.url}/api/v1/feedback?status=open").json()["items"]
    ticket = next(f for f in open_items if f["area"] == "东山村" and f["kind"] == "question")
    answer = f"带身份证和户口本即可{uuid.uuid4().hex[:4]}"
    resp = handler.post(f"{live.url}/api/v1/feedback/{ticket['id']}/answers", json={"body": answer, "public": True})
    assert resp.status_code == 201, resp.text
    assert town_hall.got.wait(5) and village.got.wait(5)
    assert answer in town_hall.shows() and answer in village.shows()
    assert not other.got.wait(1.0), "another village's screen was nudged"
    assert answer not in str(other.manifest())


def test_connections_without_or_with_a_bad_or_revoked_credential_are_refused(live):
    for token in (None, "", "pk_not-a-real-key"):
        s = Screen(live.url, token)
        with pytest.raises(socketio.exceptions.ConnectionError):
            s.connect(wait=1)
        s.close()
    key = live.screen("白水村", "大厅信息屏")
    ok = Screen(live.url, key["key"])
    ok.connect()
    ok.close()
    assert live.api("scheduler").post(f"{live.url}/api/v1/devices/{key['device_id']}/revoke").status_code == 200
    revoked = Screen(live.url, key["key"])
    with pytest.raises(socketio.exceptions.ConnectionError):
        revoked.connect(wait=1)
    revoked.close()


@pytest.mark.postgres
def test_two_server_processes_share_nudges_through_redis(tmp_path):
    """Scale-out: PostgreSQL plus the Redis message queue; approve on one, nudge from the other."""
    with pg_database("sunwall_mq", migrate=False) as url:
        run_two_servers(tmp_path, url)


def run_two_servers(tmp_path, database_url: str) -> None:
    env = {
        "SUNWALL_DATABASE_URL": database_url,
        "SUNWALL_MESSAGE_QUEUE": "redis://127.0.0.1:6379/0",
        "SUNWALL_SECRET_KEY": "shared-" + uuid.uuid4().hex,
    }
    first = LiveServer(tmp_path / "a", env)
    second = LiveServer(tmp_path / "b", env)
    first.data_dir.mkdir()
    second.data_dir.mkdir()
    first.seed_demo()
    (second.data_dir / "demo-screens.json").write_bytes((first.data_dir / "demo-screens.json").read_bytes())
    first.start()
    second.start()
    try:
        screen = Screen(first.url, first.screen("东山村", "大厅信息屏")["key"])
        screen.connect()
        time.sleep(0.2)
        title = f"跨进程推送{uuid.uuid4().hex[:6]}"
        second.publish("东山村", title, "实时推送测试")
        assert screen.got.wait(5), "no nudge crossed the Redis message queue"
        assert title in [b["title"] for b in screen.manifest()["boards"]]
        screen.close()
    finally:
        first.stop()
        second.stop()
