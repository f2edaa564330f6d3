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

from kiosk_client.protocol import DeviceClient
from kiosk_client.storage import AssetCache, CorruptDownload, DataDir
from kiosk_client.sync import Syncer
from tests.live import ROOT, LiveServer, free_port

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


def test_agent_serves_the_player_manifest_and_verified_assets(
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

    page = kiosk.get("/")
    assert page.status_code == 200
    assert manifest["site"]["name"] in page.text
    assert screen["village"] in manifest["site"]["name"]
    assert '"manifestUrl": "/manifest.json"' in page.text
    assert 'href="/static/player.css"' in page.text and 'src="/static/player.js"' in page.text

    again = kiosk.get("/manifest.json", headers={"If-None-Match": f'"{manifest["version"]}"'})
    assert again.status_code == 304

    assert {a["path"] for a in manifest["assets"]} >= {"player.js", "player.css"}
    for asset in manifest["assets"]:
        resp = kiosk.get("/static/" + asset["path"])
        assert resp.status_code == 200, asset["path"]
        assert hashlib.sha256(resp.content).hexdigest() == asset["sha256"]
    cached = {p.name for p in (kiosk.data_dir / "cache").iterdir()}
    assert cached == {a["sha256"] for a in manifest["assets"]}
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
def publish(live: LiveServer) -> Iterator[Callable[[str, str, dt.datetime], None]]:
    """Factory: draft, submit and approve a public notice in a village, through the API."""
    editor, reviewer = live.api("editor"), live.api("reviewer")

    def run(village: str, title: str, valid_from: dt.datetime) -> None:
        areas = editor.get(f"{live.url}/api/v1/areas", timeout=10).json()["items"]
        area_id = next(a["id"] for a in areas if a["name"] == village)
        catalogue = editor.get(f"{live.url}/api/v1/catalogue", timeout=10).json()["categories"]
        item_id = next(i["id"] for c in catalogue for i in c["items"] if i["scope"] == "public")
        created = editor.post(
            f"{live.url}/api/v1/disclosures",
            timeout=10,
            json={
                "area_id": area_id,
                "catalogue_item_id": item_id,
                "title": title,
                "body": "明日上午 8 点至 12 点停水检修。",
                "valid_from": valid_from.isoformat(),
            },
        )
        assert created.status_code == 201, created.text
        url = f"{live.url}/api/v1/disclosures/{created.json()['id']}"
        submitted = editor.post(f"{url}/submit", timeout=10)
        assert submitted.status_code == 200, submitted.text
        approved = reviewer.post(f"{url}/approve", json={}, timeout=10)
        assert approved.status_code == 200, approved.text

    yield run
    editor.close()
    reviewer.close()


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


def test_an_item_starting_later_appears_when_it_starts_without_a_nudge(
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

    def knows_when() -> bool:
        due = kiosk.get("/manifest.json").json()["next_change_at"]
        return due is not None and dt.datetime.fromisoformat(due) == starts

    # The approval's nudge brings the manifest that says when the loop changes next...
    wait_for(knows_when, "the new next_change_at", timeout=4)
    assert not has_board(kiosk, title)
    # ...and no one nudges at that moment: the agent's own timer fetches the new loop.
    wait_for(lambda: has_board(kiosk, title), "the board at its start time", timeout=15)
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


class LyingServer(ThreadingHTTPServer):
    """A stand-in for the device protocol that can serve wrong bytes for an asset.

    The real server cannot be made to corrupt a download, so this is the one fake here:
    it answers GET /api/v1/device/manifest and /api/v1/device/assets/<path>.
    """

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), LyingHandler)
        self.manifest: dict[str, Any] = {}
        self.files: dict[str, bytes] = {}

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def publish(self, version: str, files: dict[str, tuple[bytes, bytes]]) -> None:
        """files: path -> (the bytes the manifest promises, the bytes actually served)."""
        assets = [
            {"path": p, "sha256": hashlib.sha256(promised).hexdigest(), "size": len(promised)}
            for p, (promised, _served) in files.items()
        ]
        self.manifest = {
            "version": version,
            "layout": "landscape",
            "site": {"id": 1, "name": "甲村党群服务中心", "area": "甲村"},
            "ticker": "",
            "boards": [],
            "next_change_at": None,
            "assets": assets,
        }
        self.files = {p: served for p, (_promised, served) in files.items()}


class LyingHandler(BaseHTTPRequestHandler):
    server: LyingServer

    def do_GET(self) -> None:
        prefix = "/api/v1/device/assets/"
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


def test_a_sync_with_a_corrupt_asset_keeps_the_previous_manifest_and_cache(tmp_path: Path) -> None:
    fake = LyingServer()
    thread = threading.Thread(target=fake.serve_forever, daemon=True)
    thread.start()
    client = DeviceClient(fake.url, "dk_test")
    try:
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
        assert sorted(p.name for p in data.cache.directory.iterdir()) == [
            hashlib.sha256(js).hexdigest()
        ]
    finally:
        client.close()
        fake.shutdown()
        fake.server_close()


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
            problems: list[str] = []
            page.on(
                "console",
                lambda m: (
                    problems.append(f"{m.text} {m.location['url']}") if m.type == "error" else None
                ),
            )
            page.on("requestfailed", lambda r: problems.append(f"failed: {r.url}"))
            page.on(
                "response",
                lambda r: problems.append(f"{r.status}: {r.url}") if r.status >= 400 else None,
            )
            page.goto(kiosk.url + "/")
            page.wait_for_function(
                "() => window.sunwallPlayer && window.sunwallPlayer.manifest"
                " && document.getElementById('stage').dataset.boardId",
                timeout=10_000,
            )
            shown = page.locator("#stage").get_attribute("data-board-id")
            assert shown == manifest["boards"][0]["id"]
            assert page.locator("#site-name").inner_text() == manifest["site"]["name"]
            assert (
                page.locator("#stage .board-title").first.inner_text()
                == manifest["boards"][0]["title"]
            )
            # Its own fetch of /manifest.json worked too: it holds the ETag for its 5 s polls.
            page.wait_for_function("() => window.sunwallPlayer.etag !== null", timeout=10_000)
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
