"""Urgent notices against a real server: the live announcement to reviewers on /admin, a
screen's receipt over Socket.IO reaching the delivery JSON and a watcher, and the HTTP
receipts endpoint for the kiosk agent's store and forward."""

from __future__ import annotations

import datetime as dt
import queue
import re
import threading
import uuid
from typing import Any

import pytest
import requests
import socketio

from tests.browser import DEMO_PASSWORD
from tests.live import LiveServer


def signed_in(live: LiveServer, username: str) -> requests.Session:
    """A browser-like session: the real sign-in form, its CSRF token and cookie."""
    s = requests.Session()
    page = s.get(live.url + "/login", timeout=5).text
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    resp = s.post(live.url + "/login", data={"username": username, "password": DEMO_PASSWORD, "csrf_token": token}, allow_redirects=False, timeout=5)
    assert resp.status_code == 302, resp.text
    return s


class Staff:
    """A signed-in person's /admin socket, collecting what it hears."""

    def __init__(self, live: LiveServer, username: str | None) -> None:
        self.events: queue.Queue[tuple[str, Any]] = queue.Queue()
        self.client = socketio.Client(reconnection=False)
        for name in ("urgent_submitted", "receipt"):
            self.client.on(name, lambda data, name=name: self.events.put((name, data)), namespace="/admin")
        self.headers = {}
        if username is not None:
            cookies = signed_in(live, username).cookies
            self.headers["Cookie"] = "; ".join(f"{c.name}={c.value}" for c in cookies)
        self.url = live.url

    def connect(self) -> Staff:
        self.client.connect(self.url, namespaces=["/admin"], headers=self.headers, transports=["websocket"], wait_timeout=5)
        return self

    def next(self, name: str, timeout: float = 5) -> Any:
        end = dt.datetime.now() + dt.timedelta(seconds=timeout)
        while dt.datetime.now() < end:
            try:
                got, data = self.events.get(timeout=0.2)
            except queue.Empty:
                continue
            if got == name:
                return data
        raise AssertionError(f"no {name!r} event within {timeout} s")

    def close(self) -> None:
        if self.client.connected:
            self.client.disconnect()


class Screen:
    def __init__(self, live: LiveServer, key: str) -> None:
        self.client = socketio.Client(reconnection=False)
        self.url, self.key = live.url, key

    def connect(self) -> Screen:
        self.client.connect(self.url, namespaces=["/device"], auth={"token": self.key}, transports=["websocket"], wait_timeout=5)
        return self

    def send(self, payload: Any) -> Any:
        return self.client.call("receipt", payload, namespace="/device", timeout=5)

    def close(self) -> None:
        if self.client.connected:
            self.client.disconnect()


@pytest.fixture
def sockets():
    opened: list[Any] = []
    yield opened.append
    closers = [threading.Thread(target=s.close) for s in opened]
    for t in closers:
        t.start()
    for t in closers:
        t.join()


def test_a_reviewer_hears_of_a_submitted_notice_at_once(live, sockets):
    reviewer = Staff(live, "reviewer").connect()
    sockets(reviewer)
    editor_socket = Staff(live, "handler").connect()  # signed in, but reviews nothing
    sockets(editor_socket)
    title = f"山洪预警{uuid.uuid4().hex[:4]}"
    n = live.draft_urgent(title)
    assert live.api("editor").post(f"{live.url}/api/v1/urgent-notices/{n['id']}/submit", timeout=5).status_code == 200
    heard = reviewer.next("urgent_submitted")
    assert heard == {"id": n["id"], "title": title, "area": "清河镇", "url": f"/admin/urgent/{n['id']}/review"}
    with pytest.raises(AssertionError):
        editor_socket.next("urgent_submitted", timeout=1)
    # The link works for the reviewer and shows the approval buttons.
    page = signed_in(live, "reviewer").get(live.url + heard["url"], timeout=5)
    assert page.status_code == 200 and "批准并立即发布" in page.text and title in page.text


def test_admin_sockets_need_a_signed_in_session(live):
    stranger = Staff(live, None)
    with pytest.raises(socketio.exceptions.ConnectionError):
        stranger.connect()
    stranger.close()


def test_a_screens_receipt_reaches_the_delivery_json_and_a_watcher(live, sockets):
    n = live.send_urgent(f"停水通知{uuid.uuid4().hex[:4]}")
    watcher = Staff(live, "supervisor").connect()
    sockets(watcher)
    assert watcher.client.call("watch", {"notice": n["id"]}, namespace="/admin", timeout=5) == {"ok": True}
    assert watcher.client.call("watch", {"notice": 10**9}, namespace="/admin", timeout=5)["ok"] is False
    assert watcher.client.call("watch", {"notice": "1"}, namespace="/admin", timeout=5)["ok"] is False

    hall = live.screen("东山村", "大厅信息屏")
    screen = Screen(live, hall["key"]).connect()
    sockets(screen)
    at = dt.datetime.now(dt.UTC).replace(microsecond=0)
    assert screen.send({"notice": n["id"], "state": "received", "at": at.isoformat()}) == {"ok": True, "accepted": 1}
    pushed = watcher.next("receipt")
    assert pushed["notice"] == n["id"] and pushed["device"] == hall["device_id"] and pushed["state"] == "received"
    assert dt.datetime.fromisoformat(pushed["at"]) <= dt.datetime.now(dt.UTC)

    # A batch: "shown" for this notice, plus one about a notice that does not reach this screen.
    other = live.send_urgent(f"西岭村停电{uuid.uuid4().hex[:4]}", village="西岭村")
    batch = {"receipts": [
        {"notice": n["id"], "state": "shown", "at": at.isoformat()},
        {"notice": other["id"], "state": "received", "at": at.isoformat()},
    ]}
    assert screen.send(batch) == {"ok": True, "accepted": 1}
    assert watcher.next("receipt")["state"] == "shown"

    bad = screen.send({"notice": n["id"], "state": "seen", "at": at.isoformat()})
    assert bad["ok"] is False and bad["field"] == "state"
    assert screen.send({"receipts": "nope"})["ok"] is False
    assert screen.send(None)["ok"] is False

    report = live.api("supervisor").get(f"{live.url}/api/v1/urgent-notices/{n['id']}/delivery", timeout=5).json()
    mine = next(s for s in report["screens"] if s["id"] == hall["device_id"])
    assert mine["state"] == "shown" and mine["received_at"] and mine["shown_at"]
    assert report["received"] >= 1 and report["shown"] >= 1
    assert report["expected"] == len([s for s in live.screens() if s["village"] == "东山村"])
    assert report["summary"].startswith(f"已送达 {report['received']} / {report['expected']} 块屏幕")
    # Screens not yet delivered come first.
    states = [s["state"] in ("received", "shown") for s in report["screens"]]
    assert states == sorted(states)


def test_the_http_receipts_endpoint_takes_a_batch_and_refuses_a_bad_one(live):
    n = live.send_urgent(f"森林防火{uuid.uuid4().hex[:4]}")
    kiosk = live.screen("东山村", "大厅查询机")
    headers = {"Authorization": f"Bearer {kiosk['key']}"}
    at = (dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)).isoformat()
    ok = requests.post(f"{live.url}/api/v1/device/receipts", headers=headers, timeout=5, json={"receipts": [
        {"notice": n["id"], "state": "received", "at": at},
        {"notice": n["id"], "state": "shown", "at": at},
        {"notice": 10**9, "state": "shown", "at": at},
    ]})
    assert ok.status_code == 200 and ok.json() == {"accepted": 2}

    bad = requests.post(f"{live.url}/api/v1/device/receipts", headers=headers, timeout=5, json={"receipts": [
        {"notice": n["id"], "state": "received", "at": at},
        {"notice": n["id"], "state": "shown", "at": "2026-11-20T10:00:00"},  # no zone
    ]})
    assert bad.status_code == 422
    assert bad.json()["details"]["field"] == "receipts.1.at" and "时区" in bad.json()["message"]
    too_many = requests.post(f"{live.url}/api/v1/device/receipts", headers=headers, timeout=5,
                             json={"receipts": [{"notice": n["id"], "state": "shown", "at": at}] * 501})
    assert too_many.status_code == 422 and too_many.json()["details"]["field"] == "receipts"
    nobody = requests.post(f"{live.url}/api/v1/device/receipts", json={"receipts": []}, timeout=5)
    assert nobody.status_code == 401

    report = live.api("reviewer").get(f"{live.url}/api/v1/urgent-notices/{n['id']}/delivery", timeout=5).json()
    mine = next(s for s in report["screens"] if s["id"] == kiosk["device_id"])
    assert mine["state"] == "shown"
