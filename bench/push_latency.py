"""Push latency: from a reviewer's approval to every affected screen's new manifest.

Starts a real Sunwall server (fresh data directory, SQLite, the demo township plus extra
screens) in one Socket.IO async mode, connects N simulated screens over WebSocket from a
few worker processes, then approves a notice through the JSON API several times, the way
an editor and a reviewer do. Each screen notes when the "manifest_changed" nudge arrives
and when its conditional manifest fetch comes back. Prints latency percentiles, how many
screens were nudged against how many should have been (screens in other villages must
hear nothing), connect times and the server's memory. Exits 1 if an expected screen
missed its nudge, an unaffected one got one or a mode failed; 2 past --timeout. Every
child process and the temporary directory are removed at the end. See docs/performance.md.

    python bench/push_latency.py --screens 200 --async-mode both --rounds 5
"""

from __future__ import annotations

import argparse
import ctypes
import datetime as dt
import json
import math
import multiprocessing as mp
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from functools import partial
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import requests
import socketio
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

ROOT = Path(__file__).resolve().parent.parent
NAMESPACE = "/device"
TARGET_VILLAGE = "东山村"
NOTICE_ITEM = "村级重大事项决策结果"  # a public, ad-hoc catalogue item of the demo
GEVENT_WORKER = "geventwebsocket.gunicorn.workers.GeventWebSocketWorker"
MAX_SCREENS = 2000
MAX_ROUNDS = 50


# --------------------------------------------------------------------------- set-up


@dataclass(frozen=True)
class ScreenSpec:
    """One simulated screen: its device, credential, village and whether a nudge is due."""

    device_id: int
    key: str
    village: str
    expected: bool


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _add_screens(data_dir: str, target: int, others: int, out: str) -> None:
    """Child process: make `target` screens in the target village and `others` elsewhere.

    Reuses the demo's screens first and creates the rest with the domain services, then
    writes every chosen screen's browser key to `out`. Runs in its own process so that the
    benchmark itself never imports the server.
    """
    os.environ["SUNWALL_DATA_DIR"] = data_dir
    from sqlalchemy import select

    from server import demo
    from server.app import create_app
    from server.domain import devices
    from server.extensions import database, session_scope
    from server.models import DeviceKind, Orientation, Site

    app = create_app()
    shipped = demo.load_screens(Path(data_dir))["screens"]
    in_target = [s for s in shipped if s["village"] == TARGET_VILLAGE][:target]
    # "Elsewhere" is another village: the township hall reads every village's echo wall,
    # so it rightly hears the target village's changes (server.domain.reach).
    unrelated = {TARGET_VILLAGE, demo.TOWNSHIP}
    elsewhere = [s for s in shipped if s["village"] not in unrelated][:others]
    with app.app_context():
        with session_scope() as session:
            now = dt.datetime.now(dt.UTC)
            sites = {site.area.name: site for site in session.scalars(select(Site))}
            other_villages = sorted(name for name in sites if name not in unrelated)

            def add(village: str, into: list[dict[str, Any]]) -> None:
                device = devices.create_device(
                    session,
                    None,
                    sites[village],
                    f"压测屏{len(into) + 1:04d}",
                    DeviceKind.signage,
                    Orientation.landscape,
                    now,
                )
                key = devices.replace_browser_key(session, None, device, now)
                into.append({"device_id": device.id, "village": village, "key": key})

            while len(in_target) < target:
                add(TARGET_VILLAGE, in_target)
            while len(elsewhere) < others:
                add(other_villages[len(elsewhere) % len(other_villages)], elsewhere)
        database().engine.dispose()
    chosen = [{**s, "expected": True} for s in in_target]
    chosen += [{**s, "expected": False} for s in elsewhere]
    Path(out).write_text(json.dumps({"screens": chosen}, ensure_ascii=False), encoding="utf-8")


def _die_with_parent() -> None:
    """In a child before exec: ask Linux to send SIGTERM when the benchmark dies."""
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, int(signal.SIGTERM))  # PR_SET_PDEATHSIG
    except OSError:
        pass


class ServerProcess:
    """A real Sunwall server in a child process: `sunwall serve` or gunicorn, one mode."""

    def __init__(self, data_dir: Path, async_mode: str, launcher: str, threads: int) -> None:
        self.data_dir = data_dir
        self.async_mode = async_mode
        self.launcher = launcher
        self.threads = threads
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "SUNWALL_DATA_DIR": str(data_dir),
            "SUNWALL_PUBLIC_URL": self.url,
            "SUNWALL_ASYNC_MODE": async_mode,
            "PYTHONUNBUFFERED": "1",
        }
        self.log = data_dir / "server.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def cli(self, *args: str) -> str:
        """Run a `sunwall` command against this data directory and return its output."""
        out = subprocess.run(
            [sys.executable, "-m", "server.cli", *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        if out.returncode != 0:
            raise RuntimeError(f"sunwall {' '.join(args)} failed:\n{out.stderr[-2000:]}")
        return out.stdout

    def command(self) -> list[str]:
        if self.launcher == "serve":
            return [sys.executable, "-m", "server.cli", "serve", "--port", str(self.port)]
        worker = (
            ["--worker-class", GEVENT_WORKER]
            if self.async_mode == "gevent"
            else ["--worker-class", "gthread", "--threads", str(self.threads)]
        )
        return [
            sys.executable,
            "-m",
            "gunicorn",
            "--workers",
            "1",
            "--bind",
            f"127.0.0.1:{self.port}",
            "--log-level",
            "warning",
            *worker,
            "server.wsgi:app",
        ]

    def start(self, timeout: float = 30) -> None:
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                self.command(),
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                preexec_fn=_die_with_parent,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("server exited:\n" + self.log_tail())
            try:
                if requests.get(self.url + "/healthz", timeout=1).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.1)
        raise RuntimeError("server did not start:\n" + self.log_tail())

    def stop(self) -> None:
        if self.proc is None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc = None

    def log_tail(self, chars: int = 3000) -> str:
        return self.log.read_text(errors="replace")[-chars:] if self.log.exists() else ""

    def _tree(self) -> list[int]:
        """The server's pid and its descendants (gunicorn runs the app in a child)."""
        if self.proc is None:
            return []
        parents: dict[int, int] = {}
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    stat = (entry / "stat").read_text()
                except OSError:
                    continue
                parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
        tree, todo = [], [self.proc.pid]
        while todo:
            pid = todo.pop()
            tree.append(pid)
            todo += [child for child, parent in parents.items() if parent == pid]
        return tree

    def _status_sum(self, field_name: str) -> int:
        total = 0
        for pid in self._tree():
            try:
                lines = Path(f"/proc/{pid}/status").read_text().splitlines()
            except OSError:
                continue
            for line in lines:
                if line.startswith(field_name + ":"):
                    total += int(line.split()[1])
        return total

    def rss_mib(self) -> float:
        """Resident memory of the server's processes, from /proc/<pid>/status VmRSS."""
        return self._status_sum("VmRSS") / 1024

    def thread_count(self) -> int:
        return self._status_sum("Threads")

    def cpu_seconds(self) -> float:
        """User plus system CPU time the server's processes have used so far."""
        ticks = os.sysconf("SC_CLK_TCK")
        total = 0.0
        for pid in self._tree():
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            total += (int(fields[11]) + int(fields[12])) / ticks  # utime, stime
        return total


def prepare(server: ServerProcess, screens: int, others: int) -> list[ScreenSpec]:
    """Seed the demo township, add screens, and return the ones the benchmark will drive."""
    server.data_dir.mkdir(parents=True, exist_ok=True)
    server.cli("demo", "--no-serve", "--port", str(server.port))
    out = server.data_dir / "bench-screens.json"
    child = mp.get_context("spawn").Process(
        target=_add_screens, args=(str(server.data_dir), screens - others, others, str(out))
    )
    child.start()
    child.join(120)
    if child.exitcode != 0:
        raise RuntimeError(f"adding screens failed (exit code {child.exitcode})")
    rows = json.loads(out.read_text(encoding="utf-8"))["screens"]
    return [ScreenSpec(r["device_id"], r["key"], r["village"], r["expected"]) for r in rows]


# --------------------------------------------------------------------------- screens


class SimulatedScreen:
    """A screen as the player behaves: listen on /device, refetch the manifest on a nudge."""

    def __init__(
        self, url: str, spec: ScreenSpec, fetch: bool, changed: threading.Condition
    ) -> None:
        self.url = url
        self.spec = spec
        self.fetch = fetch
        self.changed = changed
        self.etag = ""
        self.disconnects: list[str] = []
        self.http = requests.Session()
        self.http.headers["Authorization"] = f"Bearer {spec.key}"
        # Like a browser, retry a GET once when the server closed the kept-alive connection.
        self.http.mount("http://", HTTPAdapter(max_retries=Retry(total=1, status=0, redirect=0)))
        self.sio = socketio.Client(reconnection=False)
        self.sio.on("manifest_changed", self._on_nudge, namespace=NAMESPACE)
        self.sio.on("disconnect", self._on_disconnect, namespace=NAMESPACE)
        self.reset()

    def reset(self) -> None:
        """Forget the last round."""
        self.nudges = 0
        self.nudged_at: float | None = None
        self.fetched_at: float | None = None
        self.status: int | None = None
        self.error: str | None = None

    def connect(self, timeout: float) -> float:
        """Open the socket (WebSocket only, authenticated on /device); return how long it took."""
        start = time.monotonic()
        self.sio.connect(
            self.url,
            auth={"token": self.spec.key},
            transports=["websocket"],
            namespaces=[NAMESPACE],
            wait_timeout=timeout,
        )
        return time.monotonic() - start

    def prime(self) -> float:
        """Fetch the first manifest, as a screen does on start; return how long it took."""
        start = time.monotonic()
        status = self._get_manifest()
        if status != 200:
            raise RuntimeError(f"first manifest answered {status}")
        return time.monotonic() - start

    def recheck(self) -> float:
        """Ask again with the ETag, as the player does every minute; expect a 304."""
        start = time.monotonic()
        status = self._get_manifest()
        if status != 304:
            raise RuntimeError(f"unchanged manifest answered {status}")
        return time.monotonic() - start

    def close(self) -> None:
        try:
            self.sio.disconnect()
        finally:
            self.http.close()

    def done(self) -> bool:
        if self.nudged_at is None:
            return False
        return not self.fetch or self.fetched_at is not None or self.error is not None

    def record(self) -> dict[str, Any]:
        return {
            "device_id": self.spec.device_id,
            "expected": self.spec.expected,
            "nudges": self.nudges,
            "nudged_at": self.nudged_at,
            "fetched_at": self.fetched_at,
            "status": self.status,
            "error": self.error,
            "connected": self.sio.connected,
        }

    def _get_manifest(self) -> int:
        headers = {"If-None-Match": self.etag} if self.etag else {}
        response = self.http.get(self.url + "/api/v1/device/manifest", headers=headers, timeout=30)
        if response.status_code == 200:
            self.etag = response.headers.get("ETag", "")
        return response.status_code

    def _on_nudge(self, _data: Any = None) -> None:
        now = time.monotonic()
        with self.changed:
            self.nudges += 1
            first = self.nudged_at is None
            if first:
                self.nudged_at = now
            self.changed.notify_all()
        if not (first and self.fetch):
            return
        status, error = None, None
        try:
            status = self._get_manifest()
        except requests.RequestException as err:
            error = repr(err)
        with self.changed:
            self.fetched_at, self.status, self.error = time.monotonic(), status, error
            self.changed.notify_all()

    def _on_disconnect(self, reason: Any = "unknown") -> None:
        self.disconnects.append(str(reason))


def all_done(screens: list[SimulatedScreen]) -> bool:
    """Every one of these screens has heard its nudge and, if it fetches, has its manifest."""
    return all(s.done() for s in screens)


def _screen_worker(
    conn: Connection,
    url: str,
    specs: list[ScreenSpec],
    concurrency: int,
    connect_timeout: float,
    fetch: bool,
) -> None:
    """Worker process: drive a share of the screens, answering the orchestrator's commands.

    Commands: ("connect", None), ("prime", None), ("recheck", None), ("arm", None),
    ("collect", deadline on the shared monotonic clock), ("stop", None). Every command
    gets exactly one reply.
    """
    changed = threading.Condition()
    screens = [SimulatedScreen(url, spec, fetch, changed) for spec in specs]
    pool = ThreadPoolExecutor(max_workers=concurrency)
    conn.send(("ready", None))

    def timed(step: str, screen: SimulatedScreen) -> tuple[int, float | None, str | None]:
        try:
            steps = {
                "connect": lambda: screen.connect(connect_timeout),
                "prime": screen.prime,
                "recheck": screen.recheck,
            }
            took = steps[step]()
            return screen.spec.device_id, took, None
        except Exception as err:  # noqa: BLE001 - any failure is a figure to report
            return screen.spec.device_id, None, repr(err)

    while True:
        command, arg = conn.recv()
        if command in ("connect", "prime", "recheck"):
            ready = [s for s in screens if command == "connect" or s.sio.connected]
            conn.send((command, list(pool.map(partial(timed, command), ready))))
        elif command == "arm":
            with changed:
                for screen in screens:
                    screen.reset()
            conn.send(("armed", None))
        elif command == "collect":
            listening = [s for s in screens if s.spec.expected and s.sio.connected]
            with changed:
                changed.wait_for(
                    partial(all_done, listening), timeout=max(0.0, arg - time.monotonic())
                )
            time.sleep(0.3)  # let a stray nudge to an unaffected screen land, if one is coming
            with changed:
                records = [s.record() for s in screens]
            conn.send(("records", records))
        elif command == "stop":
            disconnects = [reason for s in screens for reason in s.disconnects]
            list(pool.map(lambda s: s.close(), screens))
            pool.shutdown()
            conn.send(("stopped", disconnects))
            return


class ScreenFleet:
    """The orchestrator's handle on the worker processes that run the simulated screens."""

    def __init__(
        self,
        url: str,
        specs: list[ScreenSpec],
        workers: int,
        concurrency: int,
        connect_timeout: float,
        fetch: bool,
    ) -> None:
        ctx = mp.get_context("spawn")
        self.links: list[Connection] = []
        self.procs: list[Any] = []
        shares = [specs[i::workers] for i in range(workers)]
        for share in (s for s in shares if s):
            mine, theirs = ctx.Pipe()
            proc = ctx.Process(
                target=_screen_worker,
                args=(theirs, url, share, concurrency, connect_timeout, fetch),
                daemon=True,
            )
            proc.start()
            self.links.append(mine)
            self.procs.append(proc)
        self.ask_all("ready", None, timeout=60, send=False)

    def ask_all(self, command: str, arg: Any, timeout: float, send: bool = True) -> list[Any]:
        """Send a command to every worker and gather the replies in worker order."""
        if send:
            for link in self.links:
                link.send((command, arg))
        replies = []
        deadline = time.monotonic() + timeout
        for link in self.links:
            if not link.poll(max(0.0, deadline - time.monotonic())):
                raise TimeoutError(f"a screen worker did not answer {command!r} in {timeout:.0f} s")
            _reply, value = link.recv()
            replies.append(value)
        return replies

    def close(self) -> list[str]:
        """Disconnect every screen and end the workers; return why sockets dropped before."""
        disconnects: list[str] = []
        try:
            disconnects = [r for part in self.ask_all("stop", None, timeout=30) for r in part]
        except (TimeoutError, OSError, EOFError):
            pass
        for proc in self.procs:
            proc.join(5)
            if proc.is_alive():
                proc.terminate()
                proc.join(5)
        return disconnects


# --------------------------------------------------------------------------- rounds


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (no interpolation); NaN for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


def spread(values: list[float]) -> dict[str, float]:
    """p50, p95, p99 and max of a list of seconds, in milliseconds."""
    return {
        "p50": percentile(values, 50) * 1000,
        "p95": percentile(values, 95) * 1000,
        "p99": percentile(values, 99) * 1000,
        "max": (max(values) * 1000) if values else math.nan,
    }


@dataclass
class RoundResult:
    """One approval: who heard it, how fast, and what it cost the server."""

    expected: int
    nudged: int
    connected: int
    others_nudged: int
    duplicate_nudges: int
    fetch_failures: int
    fetch_errors: list[str]
    fetches_late: int
    approve_ms: float
    server_cpu_s: float
    nudge_s: list[float] = field(default_factory=list)
    fetch_s: list[float] = field(default_factory=list)


@dataclass
class ModeResult:
    """Everything measured for one async mode."""

    async_mode: str
    launcher: str
    screens: int
    expected: int
    others: int
    workers: int
    connected: int = 0
    connect_failures: list[str] = field(default_factory=list)
    connect_all_s: float = math.nan
    connect_s: list[float] = field(default_factory=list)
    prime_all_s: float = math.nan
    prime_s: list[float] = field(default_factory=list)
    prime_failures: list[str] = field(default_factory=list)
    recheck_all_s: float = math.nan
    recheck_s: list[float] = field(default_factory=list)
    recheck_cpu_s: float = math.nan
    rss_idle_mib: float = math.nan
    rss_connected_mib: float = math.nan
    rss_after_mib: float = math.nan
    threads_connected: int = 0
    rounds: list[RoundResult] = field(default_factory=list)
    disconnects: list[str] = field(default_factory=list)
    failure: str | None = None

    @property
    def missed(self) -> int:
        return sum(r.expected - r.nudged for r in self.rounds)

    @property
    def others_nudged(self) -> int:
        return sum(r.others_nudged for r in self.rounds)

    def nudge(self) -> dict[str, float]:
        return spread([x for r in self.rounds for x in r.nudge_s])

    def fetch(self) -> dict[str, float]:
        return spread([x for r in self.rounds for x in r.fetch_s])


class Workflow:
    """An editor drafts and submits a notice for the target village; a reviewer approves it."""

    def __init__(self, url: str, editor_token: str, reviewer_token: str) -> None:
        self.url = url + "/api/v1"
        self.editor = requests.Session()
        self.editor.headers["Authorization"] = f"Bearer {editor_token}"
        self.reviewer = requests.Session()
        self.reviewer.headers["Authorization"] = f"Bearer {reviewer_token}"
        areas = self._ok(self.editor.get(self.url + "/areas", timeout=10))["items"]
        self.area_id = next(a["id"] for a in areas if a["name"] == TARGET_VILLAGE)
        catalogue = self._ok(self.editor.get(self.url + "/catalogue", timeout=10))
        items = [i for c in catalogue["categories"] for i in c["items"]]
        self.item_id = next(i["id"] for i in items if i["title"] == NOTICE_ITEM)

    @staticmethod
    def _ok(response: requests.Response) -> Any:
        if response.status_code >= 400:
            raise RuntimeError(
                f"{response.request.method} {response.url}: "
                f"{response.status_code} {response.text[:500]}"
            )
        return response.json()

    def submitted_notice(self, number: int) -> int:
        """Draft and submit a notice; return its id, ready for approval."""
        body = {
            "area_id": self.area_id,
            "catalogue_item_id": self.item_id,
            "title": f"压测通知第{number}号：村民代表会议决议结果",
            "body": "经村民代表会议表决通过，现将决议结果公开如下。\n\n- 同意实施村道硬化工程",
            "valid_from": (dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)).isoformat(),
        }
        created = self._ok(self.editor.post(self.url + "/disclosures", json=body, timeout=30))
        self._ok(self.editor.post(f"{self.url}/disclosures/{created['id']}/submit", timeout=30))
        return created["id"]

    def approve(self, disclosure_id: int) -> None:
        done = self._ok(
            self.reviewer.post(
                f"{self.url}/disclosures/{disclosure_id}/approve", json={}, timeout=30
            )
        )
        if done["status"] != "approved":
            raise RuntimeError(f"approval left the notice {done['status']}")


def run_round(
    number: int,
    workflow: Workflow,
    fleet: ScreenFleet,
    server: ServerProcess,
    round_timeout: float,
    fetch: bool,
) -> RoundResult:
    """Approve one notice and gather what every screen saw."""
    notice = workflow.submitted_notice(number)
    fleet.ask_all("arm", None, timeout=30)
    cpu_before = server.cpu_seconds()
    t0 = time.monotonic()
    workflow.approve(notice)
    approve_s = time.monotonic() - t0
    records = [
        r
        for part in fleet.ask_all("collect", t0 + round_timeout, timeout=round_timeout + 30)
        for r in part
    ]
    expected = [r for r in records if r["expected"]]
    heard = [r for r in expected if r["nudged_at"] is not None]
    fetched = [r for r in heard if r["fetched_at"] is not None and r["status"] == 200]
    return RoundResult(
        expected=len(expected),
        nudged=len(heard),
        connected=sum(1 for r in records if r["connected"]),
        others_nudged=sum(1 for r in records if not r["expected"] and r["nudges"]),
        duplicate_nudges=sum(max(0, r["nudges"] - 1) for r in records),
        fetch_failures=sum(1 for r in heard if r["fetched_at"] is not None and r["status"] != 200),
        fetch_errors=sorted(
            {
                r["error"] or f"HTTP {r['status']}"
                for r in heard
                if r["fetched_at"] is not None and r["status"] != 200
            }
        )[:3],
        fetches_late=sum(1 for r in heard if r["fetched_at"] is None and r["error"] is None)
        if fetch
        else 0,
        approve_ms=approve_s * 1000,
        server_cpu_s=server.cpu_seconds() - cpu_before,
        nudge_s=[r["nudged_at"] - t0 for r in heard],
        fetch_s=[r["fetched_at"] - t0 for r in fetched],
    )


def run_mode(async_mode: str, args: argparse.Namespace) -> ModeResult:
    """Start a server in one async mode, connect the screens, run the rounds, clean up."""
    others = min(
        args.others if args.others is not None else max(1, args.screens // 10), args.screens - 1
    )
    result = ModeResult(
        async_mode, args.launcher, args.screens, args.screens - others, others, args.workers
    )
    base = Path(tempfile.mkdtemp(prefix=f"sunwall-bench-{async_mode}-"))
    server = ServerProcess(
        base / "data", async_mode, args.launcher, args.threads or args.screens + 50
    )
    fleet: ScreenFleet | None = None
    try:
        specs = prepare(server, args.screens, others)
        editor, reviewer = (
            server.cli("user", "token", "editor"),
            server.cli("user", "token", "reviewer"),
        )
        server.start()
        result.rss_idle_mib = server.rss_mib()
        workflow = Workflow(server.url, editor.strip(), reviewer.strip())
        fleet = ScreenFleet(
            server.url,
            specs,
            args.workers,
            args.connect_concurrency,
            args.connect_timeout,
            fetch=not args.no_fetch,
        )
        start = time.monotonic()
        connected = [
            c for part in fleet.ask_all("connect", None, timeout=args.connect_budget) for c in part
        ]
        result.connect_all_s = time.monotonic() - start
        result.connect_s = [took for _id, took, _err in connected if took is not None]
        result.connect_failures = [f"device {i}: {err}" for i, _took, err in connected if err]
        result.connected = len(result.connect_s)
        start = time.monotonic()
        primed = [
            c for part in fleet.ask_all("prime", None, timeout=args.connect_budget) for c in part
        ]
        result.prime_all_s = time.monotonic() - start
        result.prime_s = [took for _id, took, _err in primed if took is not None]
        result.prime_failures = [f"device {i}: {err}" for i, _took, err in primed if err]
        cpu_before, start = server.cpu_seconds(), time.monotonic()
        rechecked = [
            c for part in fleet.ask_all("recheck", None, timeout=args.connect_budget) for c in part
        ]
        result.recheck_all_s = time.monotonic() - start
        result.recheck_cpu_s = server.cpu_seconds() - cpu_before
        result.recheck_s = [took for _id, took, _err in rechecked if took is not None]
        result.prime_failures += [f"device {i}: {err}" for i, _took, err in rechecked if err]
        result.rss_connected_mib = server.rss_mib()
        result.threads_connected = server.thread_count()
        _print_connect(result)
        for number in range(1, args.rounds + 1):
            time.sleep(args.pause)
            outcome = run_round(
                number, workflow, fleet, server, args.round_timeout, not args.no_fetch
            )
            result.rounds.append(outcome)
            _print_round(number, outcome)
        result.rss_after_mib = server.rss_mib()
    except Exception as err:  # noqa: BLE001 - a failed mode is a result; the next mode runs
        result.failure = f"{type(err).__name__}: {err}"
        print(
            f"  FAILED: {result.failure}\n  server log (tail):\n{server.log_tail(1500)}",
            file=sys.stderr,
        )
    finally:
        if fleet is not None:
            result.disconnects = fleet.close()
        server.stop()
        if args.keep:
            print(f"kept {base}")
        else:
            shutil.rmtree(base, ignore_errors=True)
    return result


# --------------------------------------------------------------------------- report


def _ms(spread_ms: dict[str, float]) -> str:
    return " ".join(f"{k} {v:7.1f}" for k, v in spread_ms.items())


def _print_connect(r: ModeResult) -> None:
    c, m = spread(r.connect_s), spread(r.prime_s)
    print(
        f"  connected {r.connected}/{r.screens} screens in {r.connect_all_s:.2f} s"
        f" (per screen ms: p50 {c['p50']:.1f} p95 {c['p95']:.1f} max {c['max']:.1f});"
        f" first manifests in {r.prime_all_s:.2f} s (p50 {m['p50']:.0f} max {m['max']:.0f} ms);"
        f" all again with ETag (304) in {r.recheck_all_s:.2f} s;"
        f" server RSS {r.rss_connected_mib:.0f} MiB, {r.threads_connected} threads"
    )
    for failure in (r.connect_failures + r.prime_failures)[:5]:
        print(f"    failed: {failure}")


def _print_round(number: int, o: RoundResult) -> None:
    n, f = spread(o.nudge_s), spread(o.fetch_s)
    print(
        f"  round {number}: nudged {o.nudged}/{o.expected}, others nudged {o.others_nudged},"
        f" sockets open {o.connected},"
        f" approve {o.approve_ms:.0f} ms, server CPU {o.server_cpu_s:.2f} s;"
        f" nudge p50 {n['p50']:.0f} max {n['max']:.0f} ms;"
        f" manifest p50 {f['p50']:.0f} max {f['max']:.0f} ms"
        + (f"; {o.fetch_failures} fetches failed: {o.fetch_errors}" if o.fetch_failures else "")
        + (f"; {o.fetches_late} fetches still running at the deadline" if o.fetches_late else "")
    )


def print_summary(results: list[ModeResult]) -> None:
    print("\nsummary (latency from the moment the approve request is sent, ms)")
    for r in results:
        approve = [o.approve_ms for o in r.rounds]
        cpu = [o.server_cpu_s for o in r.rounds]
        print(
            f"\n{r.async_mode} ({r.launcher}): {r.screens} screens, {r.expected} in {TARGET_VILLAGE},"
            f" {r.others} elsewhere; {r.workers} client processes; {len(r.rounds)} rounds"
        )
        print(f"  approval -> nudge      {_ms(r.nudge())}")
        print(f"  approval -> manifest   {_ms(r.fetch())}")
        print(
            f"  approve request        p50 {percentile(approve, 50):7.1f} max {max(approve, default=math.nan):7.1f}"
        )
        print(
            f"  nudged {sum(o.nudged for o in r.rounds)}/{sum(o.expected for o in r.rounds)} expected,"
            f" missed {r.missed}; screens elsewhere nudged {r.others_nudged};"
            f" duplicate nudges {sum(o.duplicate_nudges for o in r.rounds)};"
            f" failed fetches {sum(o.fetch_failures for o in r.rounds)};"
            f" fetches past --round-timeout {sum(o.fetches_late for o in r.rounds)};"
            f" sockets dropped {len(r.disconnects)}"
            + (f" ({', '.join(sorted(set(r.disconnects)))})" if r.disconnects else "")
        )
        print(
            f"  connect: {r.connected}/{r.screens} in {r.connect_all_s:.2f} s, per screen {_ms(spread(r.connect_s))}"
        )
        print(
            f"  first manifest: all in {r.prime_all_s:.2f} s, per screen {_ms(spread(r.prime_s))}"
        )
        print(
            f"  unchanged (304): all in {r.recheck_all_s:.2f} s, server CPU {r.recheck_cpu_s:.2f} s,"
            f" per screen {_ms(spread(r.recheck_s))}"
        )
        print(
            f"  server RSS idle {r.rss_idle_mib:.0f} MiB, connected {r.rss_connected_mib:.0f} MiB,"
            f" after rounds {r.rss_after_mib:.0f} MiB; {r.threads_connected} threads;"
            f" CPU per round {percentile(cpu, 50):.2f} s (median)"
        )


def to_json(r: ModeResult) -> dict[str, Any]:
    data = asdict(r)
    for o in data["rounds"]:
        o.pop("nudge_s"), o.pop("fetch_s")
    data.pop("connect_s"), data.pop("prime_s"), data.pop("recheck_s")
    data.update(
        nudge_ms=r.nudge(),
        manifest_ms=r.fetch(),
        connect_ms=spread(r.connect_s),
        first_manifest_ms=spread(r.prime_s),
        unchanged_ms=spread(r.recheck_s),
        missed=r.missed,
        others_nudged_total=r.others_nudged,
    )
    return data


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--screens", type=int, default=200, help="simulated screens (default 200)")
    p.add_argument(
        "--others",
        type=int,
        default=None,
        help="of which outside the target village (default: a tenth)",
    )
    p.add_argument("--async-mode", choices=["threading", "gevent", "both"], default="both")
    p.add_argument(
        "--launcher",
        choices=["serve", "gunicorn"],
        default="serve",
        help="`sunwall serve`, or gunicorn with one worker (gthread or the gevent websocket worker)",
    )
    p.add_argument(
        "--threads",
        type=int,
        default=0,
        help="gunicorn gthread threads (default: screens + 50; each WebSocket holds one)",
    )
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--workers", type=int, default=2, help="client processes (default 2)")
    p.add_argument(
        "--connect-concurrency",
        type=int,
        default=10,
        help="screens connecting at once per client process",
    )
    p.add_argument("--connect-timeout", type=float, default=20.0, help="per screen, seconds")
    p.add_argument("--connect-budget", type=float, default=180.0, help="for all screens, seconds")
    p.add_argument(
        "--round-timeout",
        type=float,
        default=40.0,
        help="how long a round waits for the last screen, seconds",
    )
    p.add_argument("--pause", type=float, default=1.0, help="quiet time before each round, seconds")
    p.add_argument("--no-fetch", action="store_true", help="only time the nudge, fetch nothing")
    p.add_argument("--timeout", type=float, default=900.0, help="for the whole run, seconds")
    p.add_argument("--json", type=Path, default=None, help="also write the figures here")
    p.add_argument("--keep", action="store_true", help="keep the temporary data directory")
    args = p.parse_args(argv)
    if not 2 <= args.screens <= MAX_SCREENS:
        p.error(f"--screens must be 2..{MAX_SCREENS}")
    if not 1 <= args.rounds <= MAX_ROUNDS:
        p.error(f"--rounds must be 1..{MAX_ROUNDS}")
    if not 1 <= args.workers <= 16:
        p.error("--workers must be 1..16")
    return args


class OutOfTime(BaseException):
    """The whole run took longer than --timeout (a BaseException so that it ends every mode)."""


def _on_alarm(_signum: int, _frame: Any) -> None:
    raise OutOfTime("the benchmark ran past --timeout")


def _on_term(_signum: int, _frame: Any) -> None:
    raise SystemExit(143)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGALRM, _on_alarm)
    signal.signal(signal.SIGTERM, _on_term)
    signal.alarm(max(1, int(args.timeout)))
    modes = ["threading", "gevent"] if args.async_mode == "both" else [args.async_mode]
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(
        f"push latency: {args.screens} screens, {args.rounds} rounds, launcher {args.launcher},"
        f" {os.cpu_count()} CPUs, load average {load}, Python {sys.version.split()[0]}"
    )
    results = []
    try:
        for mode in modes:
            print(f"\n[{mode}]")
            results.append(run_mode(mode, args))
    except OutOfTime as err:
        print(f"FAIL: {err}", file=sys.stderr)
        return 2
    signal.alarm(0)
    print_summary(results)
    if args.json:
        args.json.write_text(
            json.dumps([to_json(r) for r in results], indent=1, ensure_ascii=False)
        )
    failed = [r for r in results if r.failure or r.missed or r.others_nudged or r.connect_failures]
    for r in failed:
        print(
            f"FAIL {r.async_mode}: {r.missed} missed nudges, {r.others_nudged} wrong nudges,"
            f" {len(r.connect_failures)} screens never connected"
            + (f"; {r.failure}" if r.failure else ""),
            file=sys.stderr,
        )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
