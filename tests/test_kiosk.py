"""The screen agent against a real server: enrol, sync, serve offline, revocation, nudges.

A real Sunwall server runs in a child process (tests/live.py) and each agent runs as
`sunwall kiosk` in its own child process with its own data directory, so the tests
see what a technician would: exit codes, log lines, files on disk and the local player
on 127.0.0.1. Each test enrols its own screen, so revoking one does not touch another.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import requests

from kiosk_client import protocol
from kiosk_client.local_server import PlayerServer
from kiosk_client.protocol import DeviceClient
from kiosk_client.receipts import Forwarder, Receipt, ReceiptQueue
from kiosk_client.storage import AssetCache, CorruptDownload, DataDir
from kiosk_client.sync import Snapshot, Syncer, SyncLoop, nudge_needs_fetch
from tests.live import ROOT, LiveServer, demo_server, free_port

AGENT_TIMEOUT = 20.0


def wait_for(check: Callable[[], Any], what: str, timeout: float = AGENT_TIMEOUT) -> Any:
    """Poll `check` until it returns something truthy; fail with `what` at the deadline."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


class AgentProcess:
    """`sunwall kiosk` in a child process, with its log in a file."""

    def __init__(self, server_url: str, data_dir: Path, code: str | None, log: Path) -> None:
        self.server_url = server_url
        self.data_dir = data_dir
        self.code = code
        self.log_path = log
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None
        self.http = requests.Session()

    def args(self) -> list[str]:
        args = [
            sys.executable,
            "-m",
            "server.cli",
            "kiosk",
            "--server",
            self.server_url,
            "--data-dir",
            str(self.data_dir),
            "--port",
            str(self.port),
        ]
        return args + (["--code", self.code] if self.code else [])

    def start(self) -> AgentProcess:
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                self.args(),
                cwd=ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )
        return self

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.http.get(self.url + path, timeout=5, **kwargs)

    def synced(self) -> dict[str, Any]:
        """Wait until the local player serves a manifest; return it."""

        def ready() -> dict[str, Any] | None:
            assert self.proc is not None and self.proc.poll() is None, self.log()
            try:
                resp = self.get("/manifest.json")
            except requests.ConnectionError:
                return None
            return resp.json() if resp.status_code == 200 else None

        return wait_for(ready, "the agent's first sync")

    def stop(self) -> int | None:
        self.http.close()
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """The demo township with boards read aloud: screens' agents cache the audio too. The
    fixture waits until the audio made at start is there, so that later manifests change
    only with what a test does."""
    with demo_server(tmp_path_factory.mktemp("kiosk-agent"), env={"SUNWALL_READ_ALOUD": "auto"}) as server:
        for village in {s["village"] for s in server.screens()}:
            server.wait_until_spoken(village)
        yield server


@pytest.fixture(scope="module")
def scheduler(live: LiveServer) -> Iterator[requests.Session]:
    session = live.api("scheduler")
    yield session
    session.close()


@pytest.fixture
def live_running(live: LiveServer) -> Iterator[LiveServer]:
    """The module's server, restarted afterwards if the test stopped it."""
    yield live
    if live.proc is None:
        live.start()


@pytest.fixture(scope="module")
def used_screens() -> set[int]:
    return set()


@pytest.fixture
def screen(live: LiveServer, used_screens: set[int]) -> dict[str, Any]:
    """A public demo screen no other test in this module has enrolled."""
    for s in live.screens():
        if s["device_id"] not in used_screens and not s["internal"] and s["kind"] == "signage":
            used_screens.add(s["device_id"])
            return s
    raise AssertionError("ran out of demo screens")


@pytest.fixture
def new_code(live: LiveServer, scheduler: requests.Session) -> Callable[[int], str]:
    def issue(device_id: int) -> str:
        resp = scheduler.post(f"{live.url}/api/v1/devices/{device_id}/enrolment-codes", timeout=10)
        assert resp.status_code == 201, resp.text
        return resp.json()["code"]

    return issue


@pytest.fixture
def agent(live: LiveServer, tmp_path: Path) -> Iterator[Callable[..., AgentProcess]]:
    """Factory: start an agent process; every one is terminated after the test."""
    started: list[AgentProcess] = []

    def start(code: str | None, data_dir: Path | None = None, name: str = "agent") -> AgentProcess:
        proc = AgentProcess(live.url, data_dir or tmp_path / name, code, tmp_path / f"{name}.log")
        started.append(proc.start())
        return proc

    yield start
    for proc in started:
        proc.stop()


def run_once(
    args: list[str], env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run `sunwall kiosk ...` expecting it to give up by itself (refused, not enrolled)."""
    return subprocess.run(
        [sys.executable, "-m", "server.cli", "kiosk", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
        env={**os.environ, **(env or {})},
    )


def test_enrolment_writes_a_private_credential_and_a_used_code_is_refused(
    live: LiveServer,
    screen: dict[str, Any],
    new_code: Callable[[int], str],
    agent: Callable[..., AgentProcess],
    tmp_path: Path,
) -> None:
    code = new_code(screen["device_id"])
    first = agent(code, name="first")
    first.synced()

    cred_path = first.data_dir / "credential.json"
    assert stat.S_IMODE(cred_path.stat().st_mode) == 0o600
    assert stat.S_IMODE(first.data_dir.stat().st_mode) == 0o700
    credential = json.loads(cred_path.read_text(encoding="utf-8"))
    assert credential["device_id"] == screen["device_id"]
    assert credential["token"].startswith("dk_")
    assert not list(first.data_dir.glob(".tmp-*"))

    second_dir = tmp_path / "second"
    port = str(free_port())
    out = run_once(
        ["--server", live.url, "--code", code, "--data-dir", str(second_dir), "--port", port]
    )
    assert out.returncode != 0
    assert "注册码无效、已使用或已过期" in out.stderr
    assert not second_dir.exists()


def test_without_credential_or_code_the_agent_says_so_and_stops(tmp_path: Path) -> None:
    xdg = tmp_path / "xdg"
    out = run_once(["--server", "http://127.0.0.1:9"], env={"XDG_DATA_HOME": str(xdg)})
    assert out.returncode == 2
    assert "未注册" in out.stderr and "--code" in out.stderr
    assert str(xdg / "sunwall-kiosk") in out.stderr  # the default data dir honours XDG_DATA_HOME
    assert not xdg.exists()


def test_agent_serves_the_player_manifest_verified_assets_boards_and_audio_by_hash(
    live: LiveServer,
    screen: dict[str, Any],
    new_code: Callable[[int], str],
    agent: Callable[..., AgentProcess],
) -> None:
    kiosk = agent(new_code(screen["device_id"]))
    manifest = kiosk.synced()
    token = json.loads((kiosk.data_dir / "credential.json").read_text(encoding="utf-8"))["token"]
    upstream = requests.get(
        f"{live.url}/api/v1/device/manifest",
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    ).json()

    assert manifest["version"] == upstream["version"]
    assert [b["id"] for b in manifest["boards"]] == [b["id"] for b in upstream["boards"]]
    assert any(b["kind"] == "notice" for b in manifest["boards"])
    assert manifest["timeline"] and manifest["loops"] and manifest["sources"]
    assert all("html" not in b for b in manifest["boards"])

    page = kiosk.get("/")
    assert page.status_code == 200
    assert manifest["site"]["name"] in page.text
    assert screen["village"] in manifest["site"]["name"]
    assert '"manifestUrl": "/manifest.json"' in page.text
    assert '"receiptsUrl": "/api/v1/device/receipts"' in page.text
    assert '"token": null' in page.text and '"socket": null' in page.text
    assert 'href="/static/player.css"' in page.text and 'src="/static/player.js"' in page.text

    again = kiosk.get("/manifest.json", headers={"If-None-Match": f'"{manifest["version"]}"'})
    assert again.status_code == 304

    assert {a["path"] for a in manifest["assets"]} >= {"player.js", "player.css"}
    for asset in manifest["assets"]:
        resp = kiosk.get("/static/" + asset["path"])
        assert resp.status_code == 200, asset["path"]
        assert hashlib.sha256(resp.content).hexdigest() == asset["sha256"]

    # Each board at the href the manifest gives, from the agent's cache, byte for byte
    # what the server serves under that hash.
    for board in manifest["boards"]:
        assert board["href"] == "/api/v1/device/boards/" + board["content"]
        local = kiosk.get(board["href"])
        assert local.status_code == 200, board["id"]
        assert local.headers["Content-Type"] == "text/html; charset=utf-8"
        assert local.headers["Cache-Control"] == "private, max-age=31536000, immutable"
        assert hashlib.sha256(local.content).hexdigest() == board["content"]
        remote = requests.get(
            live.url + board["href"], headers={"Authorization": f"Bearer {token}"}, timeout=10
        )
        assert remote.content == local.content
    first = manifest["boards"][0]
    assert (
        kiosk.get(first["href"], headers={"If-None-Match": f'"{first["content"]}"'}).status_code
        == 304
    )

    # Each board's read-aloud audio likewise, at its own href.
    for board in manifest["boards"]:
        audio = board["audio"]
        assert audio["href"] == "/api/v1/device/audio/" + audio["content"]
        local = kiosk.get(audio["href"])
        assert local.status_code == 200 and local.headers["Content-Type"] == "audio/ogg"
        assert hashlib.sha256(local.content).hexdigest() == audio["content"]
    assert kiosk.get("/api/v1/device/audio/" + first["content"]).status_code == 404  # a board is no audio
    assert kiosk.get("/api/v1/device/boards/" + first["audio"]["content"]).status_code == 404

    cached = {p.name for p in (kiosk.data_dir / "cache").iterdir()}
    assert cached == {a["sha256"] for a in manifest["assets"]} | {
        b["content"] for b in manifest["boards"]
    } | {b["audio"]["content"] for b in manifest["boards"]}
    # Only the boards of the manifest playing now, and only by hash.
    player_js = next(a["sha256"] for a in manifest["assets"] if a["path"] == "player.js")
    assert kiosk.get("/api/v1/device/boards/" + player_js).status_code == 404
    assert kiosk.get("/api/v1/device/boards/" + "0" * 64).status_code == 404
    assert kiosk.get("/api/v1/device/boards/../credential.json").status_code == 404
    assert kiosk.get("/static/../credential.json").status_code == 404
    assert kiosk.get("/static/nothing.js").status_code == 404


def test_the_screen_keeps_playing_when_the_server_is_down_even_after_a_restart(
    live_running: LiveServer,
    screen: dict[str, Any],
    new_code: Callable[[int], str],
    agent: Callable[..., AgentProcess],
) -> None:
    kiosk = agent(new_code(screen["device_id"]))
    manifest = kiosk.synced()
    live_running.stop()

    def serves_everything(k: AgentProcess) -> None:
        page = k.get("/")
        assert page.status_code == 200 and manifest["site"]["name"] in page.text
        assert k.get("/manifest.json").json()["version"] == manifest["version"]
        for asset in manifest["assets"]:
            body = k.get("/static/" + asset["path"]).content
            assert hashlib.sha256(body).hexdigest() == asset["sha256"]
        for board in manifest["boards"]:
            body = k.get(board["href"]).content
            assert hashlib.sha256(body).hexdigest() == board["content"]

    # The lost link makes the agent try at once; the failure must not touch the cache.
    wait_for(lambda: "sync failed" in kiosk.log(), "a failed sync in the log", timeout=10)
    serves_everything(kiosk)
    # A power cut in the hall: the agent starts again while the server is still away.
    assert kiosk.stop() == 0
    rebooted = agent(None, data_dir=kiosk.data_dir, name="rebooted")
    assert rebooted.synced()["version"] == manifest["version"]
    serves_everything(rebooted)
    wait_for(lambda: "sync failed" in rebooted.log(), "the rebooted agent's failed sync")
    serves_everything(rebooted)
    assert rebooted.proc is not None and rebooted.proc.poll() is None


def test_a_revoked_screen_logs_it_and_keeps_playing_its_cache(
    live: LiveServer,
    scheduler: requests.Session,
    screen: dict[str, Any],
    new_code: Callable[[int], str],
    agent: Callable[..., AgentProcess],
) -> None:
    kiosk = agent(new_code(screen["device_id"]))
    manifest = kiosk.synced()
    wait_for(lambda: "connected to" in kiosk.log(), "the live link")

    resp = scheduler.post(f"{live.url}/api/v1/devices/{screen['device_id']}/revoke", timeout=10)
    assert resp.status_code == 200

    wait_for(lambda: "credential revoked" in kiosk.log(), "the revocation in the log", timeout=10)
    assert kiosk.proc is not None and kiosk.proc.poll() is None
    assert kiosk.get("/manifest.json").json()["version"] == manifest["version"]
    assert kiosk.get("/").status_code == 200
    assert kiosk.get("/static/player.js").status_code == 200


@pytest.fixture
def publish(live: LiveServer) -> Callable[[str, str, dt.datetime], None]:
    """Factory: draft, submit and approve a public notice in a village, through the API."""

    def run(village: str, title: str, valid_from: dt.datetime) -> None:
        live.publish(village, title, "明日上午 8 点至 12 点停水检修。", valid_from=valid_from)

    return run


@pytest.fixture
def urgent_notice(live: LiveServer) -> Iterator[Callable[[dict[str, Any]], int]]:
    """Factory: draft, submit and approve an urgent notice for one screen; its id."""

    def run(screen: dict[str, Any]) -> int:
        notice = live.send_urgent(
            "山洪预警（测试）", screen["village"], area_id=live.area_id(screen["village"]), body="请勿靠近河道。",
            target_kind="device", target_id=screen["device_id"],
            ends_at=(dt.datetime.now(dt.UTC) + dt.timedelta(hours=2)).isoformat(),
        )
        return int(notice["id"])

    yield run


def delivery(
    live: LiveServer, session: requests.Session, notice: int, device_id: int
) -> dict[str, Any]:
    """What the server's delivery report says about one screen and one urgent notice."""
    resp = session.get(f"{live.url}/api/v1/urgent-notices/{notice}/delivery", timeout=10)
    assert resp.status_code == 200, resp.text
    return next(s for s in resp.json()["screens"] if s["id"] == device_id)


def iso_z(moment: dt.datetime) -> str:
    """A time as the player writes it (Date.toISOString)."""
    return moment.astimezone(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def has_board(kiosk: AgentProcess, title: str) -> bool:
    return any(b["title"] == title for b in kiosk.get("/manifest.json").json()["boards"])


def test_an_approved_disclosure_reaches_the_screen_within_seconds(
    screen: dict[str, Any],
    new_code: Callable[[int], str],
    agent: Callable[..., AgentProcess],
    publish: Callable[[str, str, dt.datetime], None],
) -> None:
    kiosk = agent(new_code(screen["device_id"]))
    kiosk.synced()
    wait_for(lambda: "connected to" in kiosk.log(), "the live link")

    title = f"{screen['village']}临时停水通知（测试）"
    publish(screen["village"], title, dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1))

    # The periodic sync is a minute away: arriving in seconds means the nudge worked.
    wait_for(lambda: has_board(kiosk, title), "the new board on the screen", timeout=10)


def test_an_item_starting_later_is_cached_ahead_and_refetched_when_it_starts(
    screen: dict[str, Any],
    new_code: Callable[[int], str],
    agent: Callable[..., AgentProcess],
    publish: Callable[[str, str, dt.datetime], None],
) -> None:
    kiosk = agent(new_code(screen["device_id"]))
    kiosk.synced()
    wait_for(lambda: "connected to" in kiosk.log(), "the live link")

    title = f"{screen['village']}定时公开（测试）"
    starts = (dt.datetime.now(dt.UTC) + dt.timedelta(seconds=5)).replace(microsecond=0)
    publish(screen["village"], title, starts)

    def listed_ahead() -> dict[str, Any] | None:
        manifest = kiosk.get("/manifest.json").json()
        due = manifest["next_change_at"]
        if due is None or dt.datetime.fromisoformat(due) != starts:
            return None
        # Its audio follows within a second; after that nothing changes until the start.
        return next((b for b in manifest["boards"] if b["title"] == title and b["audio"]), None)

    # The approval's nudge brings a manifest that lists the board with its start, so a
    # screen offline from now on still puts it up on time: its HTML is cached already.
    board = wait_for(listed_ahead, "the board listed ahead of its start", timeout=4)
    assert dt.datetime.fromisoformat(board["from"]) == starts
    assert dt.datetime.now(dt.UTC) < starts
    served = kiosk.get(board["href"])
    assert served.status_code == 200 and title in served.text
    # No one nudges at the start: the agent's own timer fetches the manifest then.
    version = kiosk.get("/manifest.json").json()["version"]
    wait_for(
        lambda: kiosk.get("/manifest.json").json()["version"] != version,
        "the manifest fetched at the start time",
        timeout=15,
    )
    assert dt.datetime.now(dt.UTC) >= starts
    assert [line for line in kiosk.log().splitlines() if "now playing" in line][-1].endswith(
        "(timer)"
    )


def test_before_the_first_sync_the_screen_says_it_is_connecting(tmp_path: Path) -> None:
    # Enrolled, but the server has never been reachable: nothing cached to play yet.
    data_dir = tmp_path / "agent"
    data_dir.mkdir(mode=0o700)
    credential = {
        "server": "http://127.0.0.1:9",
        "device_id": 1,
        "token": "dk_x",
        "name": "屏",
        "site": "甲村",
    }
    (data_dir / "credential.json").write_text(json.dumps(credential), encoding="utf-8")
    kiosk = AgentProcess("http://127.0.0.1:9", data_dir, None, tmp_path / "agent.log").start()
    try:

        def page() -> requests.Response | None:
            assert kiosk.proc is not None and kiosk.proc.poll() is None, kiosk.log()
            try:
                return kiosk.get("/")
            except requests.ConnectionError:
                return None

        waiting = wait_for(page, "the local player")
        assert waiting.status_code == 200
        assert "正在连接服务器…" in waiting.text and 'http-equiv="refresh"' in waiting.text
        assert kiosk.get("/manifest.json").status_code == 503
        wait_for(lambda: "sync failed" in kiosk.log(), "the failed sync in the log")
    finally:
        assert kiosk.stop() == 0


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def small_manifest(
    version: str, assets: dict[str, bytes], boards: dict[str, bytes], urgent: tuple[str, ...] = ()
) -> dict[str, Any]:
    """A manifest of the current shape: assets by path, boards (id → HTML) in one loop."""
    return {
        "version": version,
        "generated_at": "2026-12-08T01:37:45+00:00",
        "layout": "landscape",
        "timezone": "Asia/Shanghai",
        "site": {"id": 1, "name": "甲村党群服务中心", "area": "甲村"},
        "ticker": "",
        "sources": {"1": 40, "3": 42},
        "boards": [
            {
                "id": board_id,
                "kind": "urgent" if board_id in urgent else "notice",
                "title": f"公开 {board_id}",
                "content": sha(html),
                "href": f"/api/v1/device/boards/{sha(html)}",
                "seconds": 15,
                "from": None,
                "until": "2026-12-11T16:00:00+00:00",
                "qr_url": None,
            }
            for board_id, html in boards.items()
        ],
        "loops": {"default": [{"board": b, "seconds": None} for b in boards if b not in urgent]},
        "timeline": [
            {
                "from": "2026-12-07T16:00:00+00:00",
                "until": "2026-12-15T16:00:00+00:00",
                "loops": ["default"],
            }
        ],
        "urgent": list(urgent),
        "next_change_at": None,
        "assets": [{"path": p, "sha256": sha(b), "size": len(b)} for p, b in assets.items()],
    }


class LyingServer(ThreadingHTTPServer):
    """A stand-in for the device protocol that can serve wrong bytes for an asset or a board.

    The real server cannot be made to corrupt a download, so this is the one fake for
    downloads: it answers GET /api/v1/device/manifest, /api/v1/device/assets/<path> and
    /api/v1/device/boards/<sha256>.
    """

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), LyingHandler)
        self.manifest: dict[str, Any] = {}
        self.files: dict[str, bytes] = {}

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def publish(
        self,
        version: str,
        files: dict[str, tuple[bytes, bytes]],
        boards: dict[str, tuple[bytes, bytes]] | None = None,
    ) -> None:
        """files: path -> (the bytes the manifest promises, the bytes actually served);
        boards: board id -> (the HTML whose hash the manifest gives, the HTML served)."""
        boards = boards or {}
        self.manifest = small_manifest(
            version,
            {p: promised for p, (promised, _served) in files.items()},
            {b: promised for b, (promised, _served) in boards.items()},
        )
        self.files = {f"assets/{p}": served for p, (_promised, served) in files.items()}
        self.files |= {f"boards/{sha(promised)}": served for promised, served in boards.values()}


class LyingHandler(BaseHTTPRequestHandler):
    server: LyingServer

    def do_GET(self) -> None:
        prefix = "/api/v1/device/"
        if self.path == "/api/v1/device/manifest":
            body = json.dumps(self.server.manifest).encode()
        elif self.path.startswith(prefix) and self.path[len(prefix) :] in self.server.files:
            body = self.server.files[self.path[len(prefix) :]]
        else:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        return None


@pytest.fixture
def lying() -> Iterator[tuple[LyingServer, DeviceClient]]:
    fake = LyingServer()
    thread = threading.Thread(target=fake.serve_forever, daemon=True)
    thread.start()
    client = DeviceClient(fake.url, "dk_test")
    yield fake, client
    client.close()
    fake.shutdown()
    fake.server_close()


def test_a_sync_with_a_corrupt_asset_keeps_the_previous_manifest_and_cache(
    tmp_path: Path, lying: tuple[LyingServer, DeviceClient]
) -> None:
    fake, client = lying
    data = DataDir(tmp_path / "agent")
    data.prepare()
    syncer = Syncer(data, client)
    js = b"console.log('v1');"
    fake.publish("v1", {"player.js": (js, js)})
    assert syncer.sync() is True
    saved = data.manifest_path.read_bytes()

    css = b"body { color: red }"
    fake.publish("v2", {"player.js": (js, js), "player.css": (css, b"body { color: RED }")})
    with pytest.raises(CorruptDownload):
        syncer.sync()

    assert syncer.current is not None and syncer.current.version == "v1"
    assert data.manifest_path.read_bytes() == saved
    assert sorted(p.name for p in data.cache.directory.iterdir()) == [sha(js)]


def test_boards_are_fetched_by_hash_and_a_lying_board_keeps_the_old_snapshot_playing(
    tmp_path: Path, lying: tuple[LyingServer, DeviceClient]
) -> None:
    fake, client = lying
    data = DataDir(tmp_path / "agent")
    data.prepare()
    syncer = Syncer(data, client)
    js = b"console.log('v1');"
    water = "<section class='board'>停水通知</section>".encode()
    fees = "<section class='board'>收费公示</section>".encode()
    fake.publish("v1", {"player.js": (js, js)}, {"d1": (water, water), "d2": (fees, fees)})
    assert syncer.sync() is True
    assert data.cache.path(sha(water)).read_bytes() == water
    assert data.cache.path(sha(fees)).read_bytes() == fees
    saved = data.manifest_path.read_bytes()

    # v2 drops d2 and adds d3, whose bytes do not match the hash the manifest gives.
    lie = "<section class='board'>被篡改</section>".encode()
    budget = "<section class='board'>预算公开</section>".encode()
    fake.publish("v2", {"player.js": (js, js)}, {"d1": (water, water), "d3": (budget, lie)})
    with pytest.raises(CorruptDownload):
        syncer.sync()
    # Nothing swapped, nothing pruned, the lie never cached: v1 plays on, whole.
    assert syncer.current is not None and syncer.current.version == "v1"
    assert data.manifest_path.read_bytes() == saved
    assert {p.name for p in data.cache.directory.iterdir()} == {sha(js), sha(water), sha(fees)}
    assert Syncer(data, client).load_cached() is not None  # a restart plays v1 too

    # Once the server serves the right bytes, v2 comes in and d2's board leaves the cache.
    fake.publish("v2", {"player.js": (js, js)}, {"d1": (water, water), "d3": (budget, budget)})
    assert syncer.sync() is True
    assert syncer.current is not None and syncer.current.version == "v2"
    assert {p.name for p in data.cache.directory.iterdir()} == {sha(js), sha(water), sha(budget)}
    # The same version again changes nothing, but a board missing from the cache is refetched.
    assert syncer.sync() is False
    data.cache.path(sha(budget)).unlink()
    fake.publish("v2", {"player.js": (js, js)}, {"d1": (water, water), "d3": (budget, budget)})
    assert syncer.sync() is False
    assert data.cache.path(sha(budget)).read_bytes() == budget


def test_a_corrupt_download_never_enters_the_cache(tmp_path: Path) -> None:
    cache = AssetCache(tmp_path / "cache")
    cache.prepare()
    good = b"body { color: red }"
    sha = hashlib.sha256(good).hexdigest()

    with pytest.raises(CorruptDownload):
        cache.put(sha, len(good), [b"body { color: blue }"])
    with pytest.raises(CorruptDownload):
        cache.put(sha, len(good), [good, b"trailing bytes"])
    assert not cache.has(sha)
    assert list(cache.directory.iterdir()) == []

    cache.put(sha, len(good), [good[:5], good[5:]])
    assert cache.path(sha).read_bytes() == good


def playing_now(manifest: dict[str, Any], now: dt.datetime) -> list[str]:
    """Board ids the player plays at `now`: the loops of the timeline segment holding it
    (past the last, the last), boards within their posting period (as player.js does)."""

    def within(item: dict[str, Any]) -> bool:
        start, end = item.get("from"), item.get("until")
        return (start is None or dt.datetime.fromisoformat(start) <= now) and (
            end is None or dt.datetime.fromisoformat(end) > now
        )

    segments = manifest["timeline"]
    keys = next((s["loops"] for s in segments if within(s)), None)
    if keys is None:
        keys = segments[-1]["loops"] if segments else ["default"]
    boards = {b["id"]: b for b in manifest["boards"]}
    return [
        item["board"]
        for key in keys
        for item in manifest["loops"].get(key, [])
        if within(boards[item["board"]])
    ]


def watch_problems(page: Any) -> list[str]:
    """Console errors, failed requests and HTTP errors of a page, as they happen."""
    problems: list[str] = []
    page.on(
        "console",
        lambda m: problems.append(f"{m.text} {m.location['url']}") if m.type == "error" else None,
    )
    page.on("requestfailed", lambda r: problems.append(f"failed: {r.url}"))
    page.on(
        "response",
        lambda r: problems.append(f"{r.status}: {r.url}") if r.status >= 400 else None,
    )
    return problems


@pytest.mark.browser
def test_chromium_plays_the_local_player_with_the_server_down(
    live_running: LiveServer,
    screen: dict[str, Any],
    new_code: Callable[[int], str],
    agent: Callable[..., AgentProcess],
) -> None:
    from tests.browser import chromium, player_context

    kiosk = agent(new_code(screen["device_id"]))
    manifest = kiosk.synced()
    live_running.stop()

    with chromium() as browser:
        context = player_context(browser)
        try:
            page = context.new_page()
            problems = watch_problems(page)
            fetched: list[str] = []
            page.on(
                "request",
                lambda r: fetched.append(r.url) if "/api/v1/device/boards/" in r.url else None,
            )
            page.goto(kiosk.url + "/")
            page.wait_for_function(
                "() => window.sunwallPlayer && window.sunwallPlayer.manifest"
                " && document.getElementById('stage').dataset.boardId",
                timeout=10_000,
            )
            shown = page.locator("#stage").get_attribute("data-board-id")
            first = playing_now(manifest, dt.datetime.now(dt.UTC))[0]
            assert shown == first
            board = next(b for b in manifest["boards"] if b["id"] == first)
            assert page.locator("#site-name").inner_text() == manifest["site"]["name"]
            assert page.locator("#stage .board-title").first.inner_text() == board["title"]
            if board["qr_url"]:  # the player draws the screen's own QR code into the board
                assert page.locator("#stage svg.qr").count() == 1
            # Every board's HTML came from the agent, by hash, while the server was down.
            assert sorted(fetched) == sorted(kiosk.url + b["href"] for b in manifest["boards"])
            # Its own fetch of /manifest.json worked too: it holds the ETag for its 5 s polls.
            page.wait_for_function("() => window.sunwallPlayer.etag !== null", timeout=10_000)
            assert problems == []
        finally:
            context.close()


@pytest.mark.browser
def test_chromium_reports_an_urgent_notice_through_the_agent_to_the_server(
    live: LiveServer,
    scheduler: requests.Session,
    screen: dict[str, Any],
    new_code: Callable[[int], str],
    agent: Callable[..., AgentProcess],
    urgent_notice: Callable[[dict[str, Any]], int],
) -> None:
    from tests.browser import chromium, player_context

    kiosk = agent(new_code(screen["device_id"]))
    kiosk.synced()
    notice = urgent_notice(screen)
    wait_for(lambda: f"u{notice}" in kiosk.get("/manifest.json").json()["urgent"], "the notice")

    with chromium() as browser:
        context = player_context(browser)
        try:
            page = context.new_page()
            problems = watch_problems(page)
            page.goto(kiosk.url + "/")
            page.wait_for_function(
                f"() => document.getElementById('stage').dataset.boardId === 'u{notice}'",
                timeout=10_000,
            )
            # The player POSTs its receipts to the agent, which forwards them to the server.
            report = wait_for(
                lambda: (
                    (d := delivery(live, scheduler, notice, screen["device_id"]))["shown_at"] and d
                ),
                "the receipts on the server",
            )
            assert report["received_at"] is not None and report["state"] == "shown"
            # The agent logs the forward after the server's answer, which can come after
            # the server has the receipt: wait for the line, do not race it.
            wait_for(lambda: "receipt(s) to the server" in kiosk.log(), "the agent's forward in its log")
            assert "player reported" in kiosk.log()
            assert problems == []
        finally:
            context.close()


def test_the_sync_loop_wakes_for_the_next_change_by_its_injected_clock() -> None:
    """The agent reads time from one clock: here a fixed one, so the wait is exact."""
    from types import SimpleNamespace

    from kiosk_client.sync import SyncLoop

    now = dt.datetime(2026, 11, 20, 2, tzinfo=dt.UTC)
    syncer = SimpleNamespace(current=SimpleNamespace(next_change_at=now + dt.timedelta(seconds=30)))
    loop = SyncLoop(syncer, on_revoked=lambda _reason: None, interval=60, clock=lambda: now)  # type: ignore[arg-type]
    assert loop._next_wait() == 31.0
    syncer.current.next_change_at = now - dt.timedelta(seconds=5)  # already past: no busy loop
    assert loop._next_wait() == 60


# --------------------------------------------------------------------------- manifest shape


def test_a_manifest_of_the_current_shape_is_taken_whole() -> None:
    page = b"<section>1</section>"
    manifest = small_manifest("v1", {"player.js": b"js"}, {"d1": page, "u5": b"<b>!</b>"}, ("u5",))
    snapshot = Snapshot.of(manifest)
    assert snapshot.sources == {"1": 40, "3": 42}
    assert snapshot.board_contents == {sha(page), sha(b"<b>!</b>")}
    assert snapshot.contents == snapshot.board_contents | {sha(b"js")}
    assert json.loads(snapshot.body) == manifest


def _break(manifest: dict[str, Any], change: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    broken = json.loads(json.dumps(manifest))
    change(broken)
    return broken


BROKEN_MANIFESTS: list[tuple[str, Callable[[dict[str, Any]], None], str]] = [
    ("no sources", lambda m: m.pop("sources"), "no sources"),
    ("sources by name", lambda m: m.update(sources={"甲村": 3}), "sources: bad entry"),
    ("content not a hash", lambda m: m["boards"][0].update(content="abc"), "not a sha256"),
    (
        "href elsewhere",
        lambda m: m["boards"][0].update(href="https://elsewhere.example/x"),
        "href",
    ),
    (
        "href climbing out",
        lambda m: m["boards"][0].update(href="/api/v1/device/boards/../../credential.json"),
        "href",
    ),
    (
        "href of another board",
        lambda m: m["boards"][0].update(href=m["boards"][1]["href"]),
        "href",
    ),
    ("no seconds", lambda m: m["boards"][0].update(seconds=0), "bad seconds"),
    ("until without offset", lambda m: m["boards"][0].update(until="2026-12-11T16:00"), "offset"),
    ("board twice", lambda m: m["boards"].append(m["boards"][0]), "listed twice"),
    ("loops a list", lambda m: m.update(loops=[]), "no loops"),
    (
        "loop of an unknown board",
        lambda m: m["loops"]["default"].append({"board": "d99", "seconds": None}),
        "unknown board 'd99'",
    ),
    ("timeline missing", lambda m: m.pop("timeline"), "no timeline"),
    (
        "timeline of an unknown loop",
        lambda m: m["timeline"][0].update(loops=["p7"]),
        "unknown loops ['p7']",
    ),
    ("timeline without times", lambda m: m["timeline"][0].pop("until"), "until"),
    ("urgent unknown", lambda m: m.update(urgent=["u9"]), "urgent names unknown board"),
    ("urgent a string", lambda m: m.update(urgent="d1"), "no urgent list"),
    ("audio not an object", lambda m: m["boards"][0].update(audio="x.ogg"), "audio content is not a sha256"),
    (
        "audio href elsewhere",
        lambda m: m["boards"][0].update(audio={"href": "/etc/passwd", "content": "a" * 64, "seconds": 3}),
        "audio href",
    ),
    (
        "audio of no length",
        lambda m: m["boards"][0].update(audio={"href": "/api/v1/device/audio/" + "a" * 64, "content": "a" * 64, "seconds": 0}),
        "bad audio seconds",
    ),
    ("browse an object", lambda m: m.update(browse={"村务": ["d1"]}), "browse is not a list"),
    ("browse without a name", lambda m: m.update(browse=[{"boards": ["d1"]}]), "without a name"),
    ("browse an empty shelf", lambda m: m.update(browse=[{"category": "村务", "boards": []}]), "村务: no boards"),
    (
        "browse an unknown board",
        lambda m: m.update(browse=[{"category": "村务", "boards": ["d1", "d9"]}]),
        "unknown boards ['d9']",
    ),
]


@pytest.mark.parametrize(
    ("change", "message"),
    [pytest.param(c, msg, id=name) for name, c, msg in BROKEN_MANIFESTS],
)
def test_a_manifest_of_another_shape_is_refused_with_its_reason(
    change: Callable[[dict[str, Any]], None], message: str
) -> None:
    good = small_manifest("v1", {}, {"d1": b"<p>1</p>", "d2": b"<p>2</p>"})
    with pytest.raises(ValueError, match=re.escape(message)):
        Snapshot.of(_break(good, change))


# --------------------------------------------------------------------------- nudges


@pytest.mark.parametrize(
    ("sources", "payload", "fetch"),
    [
        ({"3": 42}, {"reason": "loop_changed", "area": 3, "revision": 42}, False),
        ({"3": 42}, {"reason": "loop_changed", "area": 3, "revision": 41}, False),
        ({"3": 42}, {"reason": "loop_changed", "area": 3, "revision": 43}, True),
        ({"3": 42}, {"reason": "loop_changed", "area": 4, "revision": 1}, True),
        (None, {"reason": "loop_changed", "area": 3, "revision": 1}, True),
        ({"3": 42}, {"reason": "loop_changed"}, True),
        ({"3": 42}, {"reason": "loop_changed", "area": "3", "revision": 1}, True),
        ({"3": 42}, {"reason": "loop_changed", "area": 3, "revision": True}, True),
        ({"3": 42}, None, True),
    ],
)
def test_a_nudge_calls_for_a_fetch_only_when_the_manifest_is_behind(
    sources: dict[str, int] | None, payload: Any, fetch: bool
) -> None:
    assert nudge_needs_fetch(sources, payload) is fetch


class CountingSyncer:
    """Stands in for Syncer under SyncLoop: counts syncs, holds a fixed snapshot."""

    def __init__(self, current: Snapshot) -> None:
        self.current = current
        self.calls = 0
        self.changed = threading.Condition()

    def sync(self) -> bool:
        with self.changed:
            self.calls += 1
            self.changed.notify_all()
        return False

    def wait_calls(self, count: int) -> None:
        with self.changed:
            assert self.changed.wait_for(lambda: self.calls >= count, timeout=5), self.calls


def test_a_nudge_for_a_revision_the_manifest_has_fetches_nothing_and_a_newer_one_does() -> None:
    snapshot = Snapshot.of(small_manifest("v1", {}, {"d1": b"<p>1</p>"}))  # sources 1→40, 3→42
    syncer = CountingSyncer(snapshot)
    now = dt.datetime(2026, 12, 8, 2, tzinfo=dt.UTC)
    loop = SyncLoop(syncer, on_revoked=lambda _r: None, interval=3600, clock=lambda: now)  # type: ignore[arg-type]
    loop.start()
    try:
        syncer.wait_calls(1)  # the start-up sync; then it waits an hour unless asked
        assert loop.nudge({"reason": "loop_changed", "area": 3, "revision": 42}) is False
        assert loop.nudge({"reason": "loop_changed", "area": 1, "revision": 12}) is False
        assert loop.nudges_skipped == 2
        assert not loop._wake.is_set() and loop._reasons == []  # nothing was asked for
        assert syncer.calls == 1

        assert loop.nudge({"reason": "loop_changed", "area": 3, "revision": 43}) is True
        syncer.wait_calls(2)
        assert loop.nudges_skipped == 2
    finally:
        loop.stop()
    assert syncer.calls == 2


# --------------------------------------------------------------------------- local server


@pytest.fixture
def local_player(tmp_path: Path) -> Iterator[tuple[PlayerServer, ReceiptQueue, Snapshot]]:
    """The agent's local server in this process, over a small snapshot and a real queue."""
    data = DataDir(tmp_path / "agent")
    data.prepare()
    page = "<section class='board'>停水通知</section>".encode()
    data.cache.put(sha(page), len(page), [page])
    data.cache.put(sha(b"js"), 2, [b"js"])
    snapshot = Snapshot.of(small_manifest("v1", {"player.js": b"js"}, {"d1": page}))
    queue = ReceiptQueue(data.receipts_path)
    server = PlayerServer(
        0, lambda: snapshot, data.cache, "甲村 · 大厅屏", take_receipts=queue.append
    )
    server.start()
    yield server, queue, snapshot
    server.stop()


def test_the_local_server_serves_boards_of_the_current_snapshot_only(
    local_player: tuple[PlayerServer, ReceiptQueue, Snapshot],
) -> None:
    server, _queue, snapshot = local_player
    url = f"http://127.0.0.1:{server.port}"
    board = snapshot.manifest["boards"][0]
    resp = requests.get(url + board["href"], timeout=5)
    assert resp.status_code == 200 and "停水通知" in resp.text
    assert resp.headers["Cache-Control"] == "private, max-age=31536000, immutable"
    assert resp.headers["ETag"] == f'"{board["content"]}"'
    # The player's asset is cached too, but it is no board.
    assert requests.get(f"{url}/api/v1/device/boards/{sha(b'js')}", timeout=5).status_code == 404
    assert requests.get(f"{url}/api/v1/device/boards/D1", timeout=5).status_code == 404
    elsewhere = requests.get(url + board["href"], headers={"Host": "evil.example"}, timeout=5)
    assert elsewhere.status_code == 403


def _receipt_body(*items: tuple[int, str]) -> dict[str, Any]:
    at = "2026-12-08T01:37:45.123Z"
    return {"receipts": [{"notice": n, "state": s, "at": at} for n, s in items]}


def test_the_local_server_queues_the_players_receipts_on_disk(
    local_player: tuple[PlayerServer, ReceiptQueue, Snapshot], tmp_path: Path
) -> None:
    server, queue, _snapshot = local_player
    url = f"http://127.0.0.1:{server.port}/api/v1/device/receipts"
    origin = {"Origin": f"http://127.0.0.1:{server.port}", "Sec-Fetch-Site": "same-origin"}
    resp = requests.post(
        url, json=_receipt_body((5, "received"), (5, "shown")), headers=origin, timeout=5
    )
    assert resp.status_code == 200, resp.text
    assert resp.json() == {"accepted": 2}
    # Reported twice (a retry by the player): queued once.
    resp = requests.post(url, json=_receipt_body((5, "shown")), headers=origin, timeout=5)
    assert resp.status_code == 200
    on_disk = ReceiptQueue(tmp_path / "agent" / "receipts.json").pending()
    assert (
        on_disk
        == queue.pending()
        == [
            Receipt(5, "received", "2026-12-08T01:37:45.123Z"),
            Receipt(5, "shown", "2026-12-08T01:37:45.123Z"),
        ]
    )


BAD_RECEIPTS: list[tuple[str, Any]] = [
    ("a list", [{"notice": 5, "state": "shown", "at": "2026-12-08T01:37:45Z"}]),
    ("no receipts", {"receipt": []}),
    (
        "notice as text",
        {"receipts": [{"notice": "5", "state": "shown", "at": "2026-12-08T01:37:45Z"}]},
    ),
    ("notice zero", {"receipts": [{"notice": 0, "state": "shown", "at": "2026-12-08T01:37:45Z"}]}),
    (
        "notice too big",
        {"receipts": [{"notice": 2**63, "state": "shown", "at": "2026-12-08T01:37:45Z"}]},
    ),
    (
        "notice true",
        {"receipts": [{"notice": True, "state": "shown", "at": "2026-12-08T01:37:45Z"}]},
    ),
    ("unknown state", {"receipts": [{"notice": 5, "state": "seen", "at": "2026-12-08T01:37:45Z"}]}),
    ("no offset", {"receipts": [{"notice": 5, "state": "shown", "at": "2026-12-08T01:37:45"}]}),
    ("not a date", {"receipts": [{"notice": 5, "state": "shown", "at": "2026-13-45T01:37:45Z"}]}),
    ("basic format", {"receipts": [{"notice": 5, "state": "shown", "at": "20261208T013745Z"}]}),
    ("too many", _receipt_body(*[(n, "shown") for n in range(1, 502)])),
]


@pytest.mark.parametrize("body", [pytest.param(b, id=name) for name, b in BAD_RECEIPTS])
def test_the_local_server_refuses_garbage_receipts_with_422(
    local_player: tuple[PlayerServer, ReceiptQueue, Snapshot], body: Any
) -> None:
    server, queue, _snapshot = local_player
    url = f"http://127.0.0.1:{server.port}/api/v1/device/receipts"
    resp = requests.post(url, json=body, timeout=5)
    assert resp.status_code == 422, resp.text
    assert resp.json()["code"] == "validation_failed"
    assert len(queue) == 0


def test_the_local_server_takes_receipts_only_from_its_own_page_within_limits(
    local_player: tuple[PlayerServer, ReceiptQueue, Snapshot],
) -> None:
    server, queue, _snapshot = local_player
    base = f"http://127.0.0.1:{server.port}"
    body = _receipt_body((5, "shown"))
    post = requests.post
    url = base + "/api/v1/device/receipts"
    assert (
        post(url, json=body, headers={"Origin": "http://evil.example"}, timeout=5).status_code
        == 403
    )
    assert (
        post(url, json=body, headers={"Sec-Fetch-Site": "cross-site"}, timeout=5).status_code == 403
    )
    assert post(url, json=body, headers={"Host": "evil.example"}, timeout=5).status_code == 403
    as_text = post(url, data=json.dumps(body), headers={"Content-Type": "text/plain"}, timeout=5)
    assert as_text.status_code == 415
    huge = json.dumps({"receipts": [], "padding": "x" * 200_000})
    too_big = post(url, data=huge, headers={"Content-Type": "application/json"}, timeout=5)
    assert too_big.status_code == 413
    assert post(base + "/manifest.json", json=body, timeout=5).status_code == 404
    assert len(queue) == 0
    assert post(url, json=body, timeout=5).status_code == 200  # a local client without Origin
    assert len(queue) == 1


# --------------------------------------------------------------------------- receipts queue


def test_the_receipts_queue_survives_a_restart_and_drops_exactly_what_was_sent(
    tmp_path: Path,
) -> None:
    path = tmp_path / "receipts.json"
    queue = ReceiptQueue(path)
    first = [
        Receipt(5, "received", "2026-12-08T01:37:45Z"),
        Receipt(5, "shown", "2026-12-08T01:38:00Z"),
    ]
    assert queue.append(first) == 2
    batch = queue.batch(10)
    assert queue.append([Receipt(6, "received", "2026-12-08T01:39:00Z")]) == 1  # while in flight
    queue.drop(seq for seq, _r in batch)
    again = ReceiptQueue(path)
    assert again.pending() == [Receipt(6, "received", "2026-12-08T01:39:00Z")]
    assert again.append([Receipt(7, "shown", "2026-12-08T01:40:00Z")]) == 1
    assert [seq for seq, _r in again.batch(10)] == [3, 4]  # numbers are never reused
    assert not list(tmp_path.glob(".tmp-*"))

    path.write_text("{not json", encoding="utf-8")
    assert ReceiptQueue(path).pending() == []
    assert (tmp_path / "receipts.json.bad").read_text(encoding="utf-8") == "{not json"


# --------------------------------------------------------------------------- forwarder, failures


class Clock:
    """The agent's injected clock, moved by hand."""

    def __init__(self, now: dt.datetime) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += dt.timedelta(seconds=seconds)


class FailingServer(ThreadingHTTPServer):
    """Answers every receipts POST with 503: a server that is up but failing. It only
    stands in for network failures; successes are tested against the real server."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), FailingHandler)
        self.bodies: list[dict[str, Any]] = []
        self.auth: list[str | None] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class FailingHandler(BaseHTTPRequestHandler):
    server: FailingServer

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        self.server.bodies.append(json.loads(self.rfile.read(length)))
        self.server.auth.append(self.headers.get("Authorization"))
        self.send_error(503)

    def log_message(self, format: str, *args: Any) -> None:
        return None


@pytest.mark.parametrize("failure", ["503", "refused"])
def test_the_forwarder_keeps_receipts_and_backs_off_while_the_server_fails(
    tmp_path: Path, failure: str
) -> None:
    stub = FailingServer()
    threading.Thread(target=stub.serve_forever, daemon=True).start()
    url = stub.url if failure == "503" else f"http://127.0.0.1:{free_port()}"
    client = DeviceClient(url, "dk_test")
    clock = Clock(dt.datetime(2026, 12, 8, 2, tzinfo=dt.UTC))
    queue = ReceiptQueue(tmp_path / "receipts.json")
    receipts = [
        Receipt(5, "received", "2026-12-08T01:37:45Z"),
        Receipt(5, "shown", "2026-12-08T01:38:00Z"),
    ]
    queue.append(receipts)
    forwarder = Forwarder(queue, client, clock, min_delay=5, max_delay=40)
    try:
        start = clock()
        assert forwarder.run_pending() is False
        assert queue.pending() == receipts
        assert forwarder.next_attempt == start + dt.timedelta(seconds=5)
        if failure == "503":
            assert stub.bodies == [{"receipts": [r.as_json() for r in receipts]}]
            assert stub.auth == ["Bearer dk_test"]

        # Not before the delay is up by the agent's clock; then again, waiting twice as long.
        clock.advance(4.9)
        assert not forwarder.due() and forwarder.run_pending() is False
        assert forwarder.next_attempt == start + dt.timedelta(seconds=5)
        waits = []
        for _ in range(5):
            assert forwarder.next_attempt is not None
            clock.now = forwarder.next_attempt
            before = clock()
            assert forwarder.due() and forwarder.run_pending() is False
            waits.append((forwarder.next_attempt - before).total_seconds())
        assert waits == [10, 20, 40, 40, 40]
        if failure == "503":
            assert len(stub.bodies) == 6

        # A sync that reached the server makes it try at once, whatever the delay.
        forwarder.kick()
        assert forwarder.due()
        assert ReceiptQueue(tmp_path / "receipts.json").pending() == receipts
        assert forwarder.sent == 0 and forwarder.refused == 0
    finally:
        client.close()
        stub.shutdown()
        stub.server_close()


# --------------------------------------------------------------------------- receipts, real server


def test_receipts_posted_to_the_agent_survive_a_restart_and_reach_the_server(
    live_running: LiveServer,
    scheduler: requests.Session,
    screen: dict[str, Any],
    new_code: Callable[[int], str],
    agent: Callable[..., AgentProcess],
    urgent_notice: Callable[[dict[str, Any]], int],
) -> None:
    kiosk = agent(new_code(screen["device_id"]))
    kiosk.synced()
    wait_for(lambda: "connected to" in kiosk.log(), "the live link")
    notice = urgent_notice(screen)

    def urgent_board() -> dict[str, Any] | None:
        manifest = kiosk.get("/manifest.json").json()
        return next((b for b in manifest["boards"] if b["id"] in manifest["urgent"]), None)

    board = wait_for(urgent_board, "the urgent notice on the screen", timeout=10)
    assert board["id"] == f"u{notice}" and "山洪预警" in kiosk.get(board["href"]).text
    live_running.stop()

    received = dt.datetime.now(dt.UTC)
    shown = received + dt.timedelta(milliseconds=500)
    body: dict[str, Any] = {
        "receipts": [
            {"notice": notice, "state": "received", "at": iso_z(received)},
            {"notice": notice, "state": "shown", "at": iso_z(shown)},
        ]
    }
    resp = kiosk.http.post(
        kiosk.url + "/api/v1/device/receipts", json=body, headers={"Origin": kiosk.url}, timeout=5
    )
    assert resp.status_code == 200 and resp.json() == {"accepted": 2}
    wait_for(lambda: "cannot send 2 receipts" in kiosk.log(), "the failed forwarding")
    assert kiosk.stop() == 0  # a power cut, or a technician's restart
    queued = json.loads((kiosk.data_dir / "receipts.json").read_text(encoding="utf-8"))
    assert [(r["notice"], r["state"]) for r in queued["receipts"]] == [
        (notice, "received"),
        (notice, "shown"),
    ]

    live_running.start()
    rebooted = agent(None, data_dir=kiosk.data_dir, name="rebooted")
    report = wait_for(
        lambda: (
            (d := delivery(live_running, scheduler, notice, screen["device_id"]))["shown_at"] and d
        ),
        "the receipts on the server",
    )
    assert dt.datetime.fromisoformat(report["received_at"]) == received.replace(
        microsecond=received.microsecond // 1000 * 1000
    )
    assert dt.datetime.fromisoformat(report["shown_at"]) == shown.replace(
        microsecond=shown.microsecond // 1000 * 1000
    )
    wait_for(
        lambda: json.loads((kiosk.data_dir / "receipts.json").read_text())["receipts"] == [],
        "the queue emptied",
    )
    assert "2 receipts waiting to be sent" in rebooted.log()


def test_the_forwarder_keeps_receipts_while_the_server_is_down_and_sends_them_when_back(
    live_running: LiveServer,
    scheduler: requests.Session,
    screen: dict[str, Any],
    new_code: Callable[[int], str],
    urgent_notice: Callable[[dict[str, Any]], int],
    tmp_path: Path,
) -> None:
    token = protocol.enrol(live_running.url, new_code(screen["device_id"]))["token"]
    notice = urgent_notice(screen)
    at = dt.datetime.now(dt.UTC)
    queue = ReceiptQueue(tmp_path / "receipts.json")
    queue.append([Receipt(notice, "received", iso_z(at)), Receipt(notice, "shown", iso_z(at))])
    clock = Clock(dt.datetime(2026, 12, 8, 2, tzinfo=dt.UTC))
    client = DeviceClient(live_running.url, token)
    forwarder = Forwarder(queue, client, clock, min_delay=5)
    try:
        live_running.stop()
        assert forwarder.run_pending() is False
        assert len(queue) == 2 and forwarder.next_attempt == clock() + dt.timedelta(seconds=5)

        live_running.start()
        clock.advance(4)  # the server is back, but the delay is not up by the agent's clock
        assert forwarder.run_pending() is False and forwarder.sent == 0
        assert delivery(live_running, scheduler, notice, screen["device_id"])["received_at"] is None
        clock.advance(1)
        assert forwarder.run_pending() is True
        assert forwarder.sent == 2 and len(ReceiptQueue(tmp_path / "receipts.json")) == 0
        report = delivery(live_running, scheduler, notice, screen["device_id"])
        assert report["state"] == "shown" and report["received_at"] == report["shown_at"]

        # A receipt the server refuses (422) is dropped and logged; the others still go.
        queue.append([Receipt(2**63, "shown", iso_z(at)), Receipt(notice, "shown", iso_z(at))])
        forwarder.kick()
        assert forwarder.run_pending() is True
        assert forwarder.refused == 1 and forwarder.sent == 3 and len(queue) == 0
    finally:
        client.close()


def test_receipts_the_agent_cannot_store_are_refused_so_the_player_keeps_them(
    local_player: tuple[PlayerServer, ReceiptQueue, Snapshot],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    import kiosk_client.receipts

    server, queue, _snapshot = local_player
    url = f"http://127.0.0.1:{server.port}/api/v1/device/receipts"

    def full_disk(path: Path, chunks: Any, mode: int = 0o600) -> None:
        raise OSError(28, "No space left on device")

    with monkeypatch.context() as patch:
        patch.setattr(kiosk_client.receipts, "write_atomic", full_disk)
        assert requests.post(url, json=_receipt_body((5, "shown")), timeout=5).status_code == 503
    assert len(queue) == 0
    # The player sends it again later: now it is stored, not mistaken for a duplicate.
    resp = requests.post(url, json=_receipt_body((5, "shown")), timeout=5)
    assert resp.status_code == 200 and len(queue) == 1
    assert len(ReceiptQueue(tmp_path / "agent" / "receipts.json")) == 1
