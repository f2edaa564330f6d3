"""Push latency: from a reviewer's approval to the new content on every affected screen.

Starts a real Sunwall server (fresh temporary data directory, SQLite, the demo township
plus extra screens) and drives a fleet of simulated screens against it: python-socketio
`AsyncClient`s and aiohttp in one asyncio event loop per worker process (bench/fleet.py),
so one process holds thousands of screens.

Three scenarios:

- **approve** (default): 1,000 screens, 9 in 10 of them in 东山村. Round after round an
  editor drafts and submits a notice for 东山村 and a reviewer approves it through the JSON
  API. Each screen notes when its "manifest_changed" nudge arrives, fetches its manifest
  with If-None-Match, then the new board's content, and notes when that has arrived:
  approve -> nudge and approve -> content on screen, p50/p90/p99/max per round.
- **urgent**: the same fleet; round after round a scheduler drafts and submits an urgent
  notice for the whole township 清河镇 (so every screen of the fleet is a recipient) and a
  reviewer approves it. Each screen fetches its manifest and the notice's board, then
  sends the receipts "received" and "shown" over its socket as the player does, each
  acknowledged: approve -> nudge, -> "received" acked, -> "shown" acked. The scheduler
  then reads the server's delivery report (its counts must match the fleet's) and cancels
  the notice; the round ends once every screen has a manifest without it.
- **idle**: N connected screens (10,000 by default) re-check their unchanged manifest
  (a conditional GET expecting 304) every --check-seconds, spread evenly; the bench
  reports the server's RSS, its CPU % over the window and the 304 latencies.

`--baseline` runs the same fleet against a bare Flask-SocketIO server under the same
async mode and launcher (bench/baseline_server.py); `--compare` runs Sunwall and then the
bare server and prints them side by side. Exits 1 if a screen missed its nudge or its
content, a screen that should hear nothing was nudged, a socket dropped, a screen never
connected, an urgent notice's receipt went unacknowledged, the server's delivery report
disagreed with the fleet, a screen kept a cancelled notice, or a run failed; 2 past
--timeout. Every child process and the temporary directory are removed at the end. See
bench/README.md and docs/performance.md.

    python bench/push_latency.py --screens 1000 --rounds 3 --compare
    python bench/push_latency.py --scenario urgent --screens 1000 --rounds 3 --compare
    python bench/push_latency.py --scenario idle --screens 10000 --idle-seconds 30 --compare
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
from collections import Counter
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))

from fleet import (  # noqa: E402
    Awaited,
    Fleet,
    FleetOptions,
    ScreenRecord,
    ScreenSpec,
    raise_fd_limit,
)

ROOT = Path(__file__).resolve().parent.parent
BENCH = Path(__file__).resolve().parent
TARGET_VILLAGE = "东山村"
# The urgent scenario's target: the township's area subtree holds every village, so every
# screen of the fleet (东山村 and the "elsewhere" villages alike) is a recipient.
URGENT_TARGET = "清河镇"
URGENT_TARGET_MS = 2000  # the target: every receipt within 2 s (p99)
NOTICE_ITEM = "村级重大事项决策结果"  # a public, ad-hoc catalogue item of the demo
GEVENT_WORKER = "geventwebsocket.gunicorn.workers.GeventWebSocketWorker"
MAX_SCREENS = 20_000
MAX_ROUNDS = 50


# --------------------------------------------------------------------------- servers


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _die_with_parent() -> None:
    """In a child before exec: ask Linux to send SIGTERM when the benchmark dies."""
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, int(signal.SIGTERM))  # PR_SET_PDEATHSIG
    except OSError:
        pass


class ServerProcess:
    """A server in a child process: Sunwall or the bare baseline, one async mode, one launcher."""

    def __init__(
        self, kind: str, data_dir: Path, args: argparse.Namespace, env: dict[str, str]
    ) -> None:
        self.kind = kind
        self.data_dir = data_dir
        self.async_mode = args.async_mode
        self.launcher = args.launcher
        self.root = args.server_root
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.connections = args.screens + args.http_limit + 200
        self.threads = args.threads or args.screens + args.http_limit + 50
        pythonpath = os.pathsep.join(p for p in (str(self.root), os.environ.get("PYTHONPATH")) if p)
        self.env = {
            **os.environ,
            "PYTHONPATH": pythonpath,
            "SUNWALL_DATA_DIR": str(data_dir),
            "SUNWALL_PUBLIC_URL": self.url,
            "SUNWALL_ASYNC_MODE": self.async_mode,
            "BENCH_ASYNC_MODE": self.async_mode,
            "PYTHONUNBUFFERED": "1",
            **env,
        }
        self.log = data_dir / f"{kind}-server.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def cli(self, *args: str) -> str:
        """Run a `sunwall` command against this data directory and return its output."""
        out = subprocess.run(
            [sys.executable, "-m", "server.cli", *args],
            cwd=self.root,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        if out.returncode != 0:
            raise RuntimeError(f"sunwall {' '.join(args)} failed:\n{out.stderr[-2000:]}")
        return out.stdout

    def command(self) -> tuple[list[str], Path]:
        """The command line that starts the server, and the directory to start it in."""
        if self.launcher == "serve":
            if self.kind == "sunwall":
                return [
                    sys.executable,
                    "-m",
                    "server.cli",
                    "serve",
                    "--port",
                    str(self.port),
                ], self.root
            return [
                sys.executable,
                str(BENCH / "baseline_server.py"),
                "--port",
                str(self.port),
            ], BENCH
        if self.async_mode == "gevent":
            worker = [
                "--worker-class",
                GEVENT_WORKER,
                "--worker-connections",
                str(self.connections),
            ]
        else:
            worker = ["--worker-class", "gthread", "--threads", str(self.threads)]
        app, cwd = (
            ("server.wsgi:app", self.root)
            if self.kind == "sunwall"
            else ("baseline_server:app", BENCH)
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
            "--graceful-timeout",
            "5",
            *worker,
            app,
        ], cwd

    def start(self, timeout: float = 60) -> None:
        command, cwd = self.command()
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                command,
                cwd=cwd,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                preexec_fn=_die_with_parent,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.kind} server exited:\n" + self.log_tail())
            try:
                if requests.get(self.url + "/healthz", timeout=1).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"{self.kind} server did not start:\n" + self.log_tail())

    def stop(self) -> None:
        if self.proc is None:
            return
        tree = self.tree()
        self.proc.terminate()
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        for pid in tree[1:]:  # a gunicorn worker that outlived its master
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        self.proc = None

    def log_tail(self, chars: int = 3000) -> str:
        return self.log.read_text(errors="replace")[-chars:] if self.log.exists() else ""

    def tree(self) -> list[int]:
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

    def app_pid(self) -> int | None:
        """The process that runs the application (gunicorn's worker, or the server itself)."""
        tree = self.tree()
        return (tree[1] if len(tree) > 1 else tree[0]) if tree else None

    def rss_mib(self) -> float:
        """Resident memory of the server and its children, from /proc/<pid>/status VmRSS."""
        total = 0
        for pid in self.tree():
            try:
                lines = Path(f"/proc/{pid}/status").read_text().splitlines()
            except OSError:
                continue
            total += sum(int(line.split()[1]) for line in lines if line.startswith("VmRSS:"))
        return total / 1024

    def cpu_seconds(self) -> float:
        """User plus system CPU time the server and its children have used so far."""
        ticks = os.sysconf("SC_CLK_TCK")
        total = 0.0
        for pid in self.tree():
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            total += (int(fields[11]) + int(fields[12])) / ticks  # utime, stime
        return total


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
                    f"压测屏{len(into) + 1:05d}",
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


def prepare_sunwall(server: ServerProcess, screens: int, others: int) -> list[ScreenSpec]:
    """Seed the demo township, add screens, and return the ones the bench will drive."""
    server.data_dir.mkdir(parents=True, exist_ok=True)
    server.cli("demo", "--no-serve", "--port", str(server.port))
    out = server.data_dir / "bench-screens.json"
    ctx = mp.get_context("spawn")
    child = ctx.Process(
        target=_add_screens, args=(str(server.data_dir), screens - others, others, str(out))
    )
    old_path = sys.path[:]
    sys.path.insert(0, str(server.root))  # the spawned child imports `server` from there
    try:
        child.start()
    finally:
        sys.path[:] = old_path
    child.join(900)
    if child.exitcode != 0:
        if child.is_alive():
            child.kill()
        raise RuntimeError(f"adding screens failed (exit code {child.exitcode})")
    rows = json.loads(out.read_text(encoding="utf-8"))["screens"]
    return [
        ScreenSpec(r["device_id"], r["key"], r["village"], r["expected"], i)
        for i, r in enumerate(rows)
    ]


def prepare_bare(screens: int, others: int) -> list[ScreenSpec]:
    """Screens of the bare server: any token will do; its first part names the group."""
    specs = [ScreenSpec(i, f"village.{i}", "village", True, i) for i in range(screens - others)]
    specs += [
        ScreenSpec(i, f"elsewhere.{i}", "elsewhere", False, i)
        for i in range(screens - others, screens)
    ]
    return specs


# --------------------------------------------------------------------------- approvals


def _ok(response: requests.Response) -> Any:
    if response.status_code >= 400:
        raise RuntimeError(
            f"{response.request.method} {response.url}: {response.status_code} {response.text[:500]}"
        )
    return response.json()


def _staff(token: str) -> requests.Session:
    """An HTTP session of a Sunwall user, with their API token."""
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token}"
    return session


def _area_id(session: requests.Session, api: str, name: str) -> int:
    areas = _ok(session.get(api + "/areas", timeout=10))["items"]
    return int(next(a["id"] for a in areas if a["name"] == name))


class SunwallApprovals:
    """An editor drafts and submits a notice for the target village; a reviewer approves it."""

    def __init__(self, url: str, editor_token: str, reviewer_token: str) -> None:
        self.url = url + "/api/v1"
        self.editor = _staff(editor_token)
        self.reviewer = _staff(reviewer_token)
        self.area_id = _area_id(self.editor, self.url, TARGET_VILLAGE)
        catalogue = _ok(self.editor.get(self.url + "/catalogue", timeout=10))
        items = [i for c in catalogue["categories"] for i in c["items"]]
        self.item_id = next(i["id"] for i in items if i["title"] == NOTICE_ITEM)
        self.pending: int | None = None

    def prepare(self, number: int) -> Awaited:
        """Draft and submit notice `number`; return the board the screens will wait for."""
        title = f"压测通知第{number}号：村民代表会议决议结果"
        body = {
            "area_id": self.area_id,
            "catalogue_item_id": self.item_id,
            "title": title,
            "body": "经村民代表会议表决通过，现将决议结果公开如下。\n\n- 同意实施村道硬化工程",
            "valid_from": (dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)).isoformat(),
        }
        created = _ok(self.editor.post(self.url + "/disclosures", json=body, timeout=30))
        _ok(self.editor.post(f"{self.url}/disclosures/{created['id']}/submit", timeout=30))
        self.pending = created["id"]
        return Awaited(board_id=f"d{created['id']}", title=title)

    def publish(self) -> None:
        """Approve the prepared notice."""
        done = _ok(
            self.reviewer.post(
                f"{self.url}/disclosures/{self.pending}/approve", json={}, timeout=60
            )
        )
        if done["status"] != "approved":
            raise RuntimeError(f"approval left the notice {done['status']}")


class BareApprovals:
    """The bare server's stand-in for an approval: one POST that changes the village manifest."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.http = requests.Session()
        self.awaited: Awaited | None = None

    def prepare(self, number: int) -> Awaited:
        self.awaited = Awaited(
            board_id=f"d{number}", title=f"压测通知第{number}号：村民代表会议决议结果"
        )
        return self.awaited

    def publish(self) -> None:
        assert self.awaited is not None
        body = {"board_id": self.awaited.board_id, "title": self.awaited.title, "group": "village"}
        _ok(self.http.post(self.url + "/bench/publish", json=body, timeout=60))


def urgent_title(number: int) -> str:
    return f"压测紧急通知第{number}号：山洪预警"  # at most 40 characters


def _delivered(report: dict[str, Any]) -> dict[str, Any]:
    """What the bench reads from a delivery report (Sunwall's, or the bare server's)."""
    screens = report["screens"]
    return {
        "summary": report["summary"],
        "expected": report["expected"],
        "received": report["received"],
        "shown": report["shown"],
        "recipients": [s["id"] for s in screens],
        "received_ids": [s["id"] for s in screens if s["received_at"]],
        "shown_ids": [s["id"] for s in screens if s["shown_at"]],
    }


class SunwallUrgent:
    """A scheduler drafts and submits an urgent notice for the whole township; a reviewer
    approves it, naming the content hash of the version read; the scheduler reads its
    delivery report and cancels it."""

    def __init__(self, url: str, scheduler_token: str, reviewer_token: str) -> None:
        self.url = url + "/api/v1"
        self.scheduler = _staff(scheduler_token)
        self.reviewer = _staff(reviewer_token)
        self.area_id = _area_id(self.scheduler, self.url, URGENT_TARGET)
        self.pending: dict[str, Any] = {}

    def prepare(self, number: int) -> Awaited:
        """Draft and submit urgent notice `number`, ending in two hours."""
        title = urgent_title(number)
        body: dict[str, Any] = {
            "area_id": self.area_id,
            "title": title,
            "body": "受强降雨影响，今晚至明天有山洪风险。\n请沿河群众注意安全，听从村干部安排转移。\n值班电话：0571-8888 1234",
            "target_kind": "area",
            "target_id": self.area_id,
            "ends_at": (dt.datetime.now(dt.UTC) + dt.timedelta(hours=2)).isoformat(),
        }
        created = _ok(self.scheduler.post(self.url + "/urgent-notices", json=body, timeout=30))
        notice = f"{self.url}/urgent-notices/{created['id']}"
        self.pending = _ok(self.scheduler.post(notice + "/submit", timeout=30))
        return Awaited(board_id=f"u{created['id']}", title=title, urgent=True)

    def publish(self) -> None:
        """Approve the version read (its content hash)."""
        notice = f"{self.url}/urgent-notices/{self.pending['id']}"
        body = {"expected_hash": self.pending["content_hash"], "comment": ""}
        done = _ok(self.reviewer.post(notice + "/approve", json=body, timeout=60))
        if done["status"] != "approved":
            raise RuntimeError(f"approval left the urgent notice {done['status']}")

    def delivery(self) -> dict[str, Any]:
        notice = f"{self.url}/urgent-notices/{self.pending['id']}"
        return _delivered(_ok(self.scheduler.get(notice + "/delivery", timeout=60)))

    def withdraw(self) -> None:
        notice = f"{self.url}/urgent-notices/{self.pending['id']}"
        done = _ok(self.scheduler.post(notice + "/cancel", json={"reason": "压测结束"}, timeout=60))
        if done["status"] != "cancelled":
            raise RuntimeError(f"cancelling left the urgent notice {done['status']}")


class BareUrgent(BareApprovals):
    """The bare server's stand-in: one POST puts an urgent board on every manifest (and
    one takes it off); the delivery report is the bare server's count of receipts."""

    def prepare(self, number: int) -> Awaited:
        self.awaited = Awaited(board_id=f"u{number}", title=urgent_title(number), urgent=True)
        return self.awaited

    def _post(self, action: str) -> None:
        assert self.awaited is not None
        body = {"board_id": self.awaited.board_id, "title": self.awaited.title, "action": action}
        _ok(self.http.post(self.url + "/bench/urgent", json=body, timeout=60))

    def publish(self) -> None:
        self._post("approve")

    def delivery(self) -> dict[str, Any]:
        assert self.awaited is not None
        url = f"{self.url}/bench/urgent/{self.awaited.board_id[1:]}/delivery"
        return _delivered(_ok(self.http.get(url, timeout=60)))

    def withdraw(self) -> None:
        self._post("cancel")


Approvals = SunwallApprovals | BareApprovals | SunwallUrgent | BareUrgent


# --------------------------------------------------------------------------- figures


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (no interpolation); NaN for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


def spread(values: list[float]) -> dict[str, float]:
    """p50, p90, p99 and max of a list of seconds, in milliseconds."""
    return {
        "p50": percentile(values, 50) * 1000,
        "p90": percentile(values, 90) * 1000,
        "p99": percentile(values, 99) * 1000,
        "max": max(values) * 1000 if values else math.nan,
        "n": len(values),
    }


def _ms(s: dict[str, float]) -> str:
    return "/".join(
        "-" if math.isnan(s[k]) else f"{s[k]:.0f}" for k in ("p50", "p90", "p99", "max")
    )


@dataclass
class UrgentFigures:
    """An urgent notice's round, beyond the nudge and the content: the receipts the fleet
    had acknowledged, the server's own delivery report, and the cancellation."""

    received: int  # screens whose "received" receipt was acknowledged
    shown: int  # screens whose "shown" receipt was acknowledged
    received_ms: dict[str, float]
    shown_ms: dict[str, float]
    server_summary: str  # the delivery report's own sentence
    server_expected: int  # screens in service the notice reaches, as the server counts them
    server_received: int
    server_shown: int
    not_recipients: int  # fleet screens missing from the server's list of recipients
    disagree: int  # fleet screens whose receipts the server and the fleet see differently
    cancel_ms: float  # the cancel request
    cancel_nudged: int
    cancel_off: int  # screens holding a manifest without the notice
    cancel_nudge_ms: dict[str, float]
    cancel_off_ms: dict[str, float]
    cancel_errors: dict[str, int]
    received_s: list[float] = field(default_factory=list, repr=False)
    shown_s: list[float] = field(default_factory=list, repr=False)
    cancel_off_s: list[float] = field(default_factory=list, repr=False)


@dataclass
class RoundResult:
    """One approval: who heard it, who got the new content, how fast, and at what cost."""

    number: int
    expected: int
    nudged: int
    content: int
    wrongly_nudged: int
    open_sockets: int
    errors: dict[str, int]
    still_fetching: int
    nudge_labels: dict[str, int]
    approve_ms: float
    server_cpu_s: float
    client_cpu_s: float
    client_lag_max_ms: float
    client_gc_max_ms: float
    nudge_ms: dict[str, float]
    content_ms: dict[str, float]
    nudge_s: list[float] = field(default_factory=list, repr=False)
    content_s: list[float] = field(default_factory=list, repr=False)
    urgent: UrgentFigures | None = None


@dataclass
class IdleResult:
    """The idle window: 304 checks, and what holding the sockets costs the server."""

    window_s: float
    period_s: float
    checks: int
    answers: dict[str, int]
    not_modified_ms: dict[str, float]
    server_cpu_s: float
    server_cpu_pct: float
    rss_start_mib: float
    rss_max_mib: float
    rss_end_mib: float
    client_cpu_s: float
    client_lag_max_ms: float
    nudged: int


@dataclass
class TargetResult:
    """Everything measured against one server (Sunwall or the bare baseline)."""

    server: str
    scenario: str
    async_mode: str
    launcher: str
    screens: int
    expected: int
    others: int
    workers: int
    connected: int = 0
    never_connected: int = 0
    connect_errors: list[str] = field(default_factory=list)
    connect_all_s: float = math.nan
    connect_ms: dict[str, float] = field(default_factory=dict)
    prime_all_s: float = math.nan
    prime_ms: dict[str, float] = field(default_factory=dict)
    prime_errors: list[str] = field(default_factory=list)
    manifest_bytes: int = 0
    board_bytes: int = 0
    rss_start_mib: float = math.nan
    rss_connected_mib: float = math.nan
    rss_end_mib: float = math.nan
    open_after_prime: int = 0
    open_after_scenario: int = 0
    connect_cpu_s: float = math.nan
    prime_cpu_s: float = math.nan
    rounds: list[RoundResult] = field(default_factory=list)
    idle: IdleResult | None = None
    dropped: list[str] = field(default_factory=list)
    client_log: dict[str, int] = field(default_factory=dict)
    profile: list[str] = field(default_factory=list)
    failure: str | None = None

    @property
    def missed_nudges(self) -> int:
        return sum(r.expected - r.nudged for r in self.rounds)

    @property
    def missed_content(self) -> int:
        return sum(r.expected - r.content for r in self.rounds)

    @property
    def wrongly_nudged(self) -> int:
        return sum(r.wrongly_nudged for r in self.rounds) + (self.idle.nudged if self.idle else 0)

    @property
    def failed_checks(self) -> int:
        if self.idle is None:
            return 0
        return sum(n for k, n in self.idle.answers.items() if k not in ("304", "200"))

    @property
    def urgent(self) -> list[tuple[RoundResult, UrgentFigures]]:
        return [(r, r.urgent) for r in self.rounds if r.urgent is not None]

    @property
    def missed_received(self) -> int:
        return sum(r.expected - u.received for r, u in self.urgent)

    @property
    def missed_shown(self) -> int:
        return sum(r.expected - u.shown for r, u in self.urgent)

    @property
    def delivery_mismatches(self) -> int:
        """Fleet screens the server's delivery report leaves out or sees otherwise."""
        return sum(u.not_recipients + u.disagree for _r, u in self.urgent)

    @property
    def missed_cancel(self) -> int:
        return sum(r.expected - u.cancel_off for r, u in self.urgent)

    def nudge_ms(self) -> dict[str, float]:
        return spread([x for r in self.rounds for x in r.nudge_s])

    def content_ms(self) -> dict[str, float]:
        return spread([x for r in self.rounds for x in r.content_s])

    def received_ms(self) -> dict[str, float]:
        return spread([x for _r, u in self.urgent for x in u.received_s])

    def shown_ms(self) -> dict[str, float]:
        return spread([x for _r, u in self.urgent for x in u.shown_s])

    def cancel_off_ms(self) -> dict[str, float]:
        return spread([x for _r, u in self.urgent for x in u.cancel_off_s])

    def failed(self) -> bool:
        return bool(
            self.failure
            or self.missed_nudges
            or self.missed_content
            or self.wrongly_nudged
            or self.dropped
            or self.never_connected
            or self.failed_checks
            or self.missed_received
            or self.missed_shown
            or self.delivery_mismatches
            or self.missed_cancel
        )

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        for r in data["rounds"]:
            r.pop("nudge_s"), r.pop("content_s")
            if r["urgent"] is not None:
                for name in ("received_s", "shown_s", "cancel_off_s"):
                    r["urgent"].pop(name)
        data.update(
            approve_to_nudge_ms=self.nudge_ms(),
            approve_to_content_ms=self.content_ms(),
            missed_nudges=self.missed_nudges,
            missed_content=self.missed_content,
            wrongly_nudged_total=self.wrongly_nudged,
            dropped_count=len(self.dropped),
            failed_checks=self.failed_checks,
        )
        if self.urgent:
            data.update(
                approve_to_received_ms=self.received_ms(),
                approve_to_shown_ms=self.shown_ms(),
                cancel_to_off_ms=self.cancel_off_ms(),
                missed_received=self.missed_received,
                missed_shown=self.missed_shown,
                delivery_mismatches=self.delivery_mismatches,
                missed_cancel=self.missed_cancel,
            )
        return data


# --------------------------------------------------------------------------- profiling


class Profiler:
    """py-spy recording the server's application process while the scenario runs."""

    def __init__(self, path: Path | None, pid: int | None) -> None:
        self.path = path
        self.proc: subprocess.Popen[bytes] | None = None
        exe = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
        if path is None or pid is None:
            return
        if not Path(exe).exists():
            print("  (py-spy not found: no profile)", file=sys.stderr)
            return
        self.proc = subprocess.Popen(
            [
                exe,
                "record",
                "--pid",
                str(pid),
                "--rate",
                "200",
                "--format",
                "raw",
                "--nonblocking",
                "--output",
                str(path),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )

    def stop(self) -> list[str]:
        """Stop recording; return a short summary of where the server spent its time."""
        if self.proc is None or self.path is None:
            return []
        self.proc.send_signal(signal.SIGINT)
        try:
            _out, err = self.proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.communicate()
            return ["py-spy did not stop"]
        if not self.path.exists():
            return [f"py-spy wrote nothing: {err.decode(errors='replace')[-300:]}"]
        return summarise_profile(self.path)


def summarise_profile(path: Path, top: int = 14) -> list[str]:
    """The functions with the most samples in a py-spy raw (collapsed stacks) file.

    "self" counts samples where the function was running itself, "total" those where it
    was anywhere on the stack; both as a share of all samples.
    """
    own: Counter[str] = Counter()
    total: Counter[str] = Counter()
    samples = 0
    for line in path.read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        n = int(count)
        frames = [f.strip() for f in stack.split(";") if f.strip()]
        if not frames:
            continue
        samples += n
        own[_short(frames[-1])] += n
        for name in {_short(f) for f in frames}:
            total[name] += n
    if not samples:
        return ["no samples"]
    lines = [f"{samples} samples; self time:"]
    lines += [f"  {100 * n / samples:5.1f}%  {name}" for name, n in own.most_common(top)]
    mine = [
        (name, n)
        for name, n in total.most_common()
        if "server/" in name or "signage_layouts/" in name
    ]
    lines.append("Sunwall functions on the stack (total time):")
    lines += [f"  {100 * n / samples:5.1f}%  {name}" for name, n in mine[:top]]
    return lines


def _short(frame: str) -> str:
    """'render (server/domain/x.py:12)' without the line number and the site-packages prefix."""
    name, _, where = frame.partition(" (")
    where = where.rstrip(")").rsplit(":", 1)[0]
    for marker in ("site-packages/", "/work/main/", "lib/python3"):
        if marker in where:
            where = where.split(marker, 1)[1]
    return f"{name} ({where})" if where else name


# --------------------------------------------------------------------------- scenarios


class RssSampler:
    """Samples the server's RSS once a second in a thread, keeping the maximum."""

    def __init__(self, server: ServerProcess) -> None:
        self.server = server
        self.max_mib = server.rss_mib()
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self.stopping.wait(1.0):
            self.max_mib = max(self.max_mib, self.server.rss_mib())

    def stop(self) -> float:
        self.stopping.set()
        self.thread.join(5)
        return max(self.max_mib, self.server.rss_mib())


def collect_round(fleet: Fleet, t0: float, args: argparse.Namespace) -> list[dict[str, Any]]:
    """Wait until the fleet is done with the round that started at `t0` (or --round-timeout)."""
    return fleet.ask(
        "collect",
        {"deadline": t0 + args.round_timeout, "settle": args.settle},
        timeout=args.round_timeout + args.settle + 60,
    )


@dataclass
class Tally:
    """What the screens saw in one phase of a round, in seconds from the phase's t0."""

    expected: int = 0
    nudged: int = 0
    content: int = 0
    wrongly_nudged: int = 0
    open_sockets: int = 0
    nudge_s: list[float] = field(default_factory=list)
    content_s: list[float] = field(default_factory=list)
    received_s: list[float] = field(default_factory=list)
    shown_s: list[float] = field(default_factory=list)
    expected_ids: set[int] = field(default_factory=set)
    received_ids: set[int] = field(default_factory=set)
    shown_ids: set[int] = field(default_factory=set)
    errors: Counter[str] = field(default_factory=Counter)
    labels: Counter[str] = field(default_factory=Counter)


def tally(replies: list[dict[str, Any]], t0: float, no_fetch: bool, receipts: bool) -> Tally:
    """Sum up the workers' records (see FleetWorker.collect); `receipts`: the round waits
    for acknowledged receipts, not just the content."""
    t = Tally()
    for part in replies:
        t.labels.update(part["labels"])
    records: list[ScreenRecord] = [r for part in replies for r in part["records"]]
    for r in records:
        t.open_sockets += r.listening
        if not r.expected:
            t.wrongly_nudged += r.nudges > 0
            continue
        t.expected += 1
        t.expected_ids.add(r.device_id)
        if r.nudged_at is not None:
            t.nudged += 1
            t.nudge_s.append(r.nudged_at - t0)
        if no_fetch:
            t.content += r.nudged_at is not None  # nothing fetched: only the nudge is timed
        elif r.content_at is not None:
            t.content += 1
            t.content_s.append(r.content_at - t0)
        if r.received_at is not None:
            t.received_ids.add(r.device_id)
            t.received_s.append(r.received_at - t0)
        if r.shown_at is not None:
            t.shown_ids.add(r.device_id)
            t.shown_s.append(r.shown_at - t0)
        if r.error:
            t.errors[r.error] += 1
        elif r.nudged_at is None or no_fetch:
            continue
        elif r.content_at is None:
            t.errors["no content by --round-timeout"] += 1
        elif receipts and r.shown_at is None:
            t.errors["receipts not acknowledged by --round-timeout"] += 1
    return t


def run_round(
    number: int,
    approvals: Approvals,
    fleet: Fleet,
    server: ServerProcess,
    args: argparse.Namespace,
) -> RoundResult:
    """Publish one notice and gather what every screen saw (for an urgent notice: then
    check the server's delivery report and cancel it, see `finish_urgent`)."""
    awaited = approvals.prepare(number)
    time.sleep(args.pause)  # anything the submission nudged has landed before the round starts
    fleet.ask("arm", asdict(awaited), timeout=60)
    cpu_before = server.cpu_seconds()
    t0 = time.monotonic()
    approvals.publish()
    approve_s = time.monotonic() - t0
    replies = collect_round(fleet, t0, args)
    server_cpu = server.cpu_seconds() - cpu_before
    seen = tally(replies, t0, args.no_fetch, receipts=awaited.urgent)
    outcome = RoundResult(
        number=number,
        expected=seen.expected,
        nudged=seen.nudged,
        content=seen.content,
        wrongly_nudged=seen.wrongly_nudged,
        open_sockets=seen.open_sockets,
        errors=dict(seen.errors.most_common(5)),
        still_fetching=sum(p["still_fetching"] for p in replies),
        nudge_labels=dict(seen.labels.most_common(3)),
        approve_ms=approve_s * 1000,
        server_cpu_s=server_cpu,
        client_cpu_s=sum(p["client_cpu_s"] for p in replies),
        client_lag_max_ms=max(p["loop_lag_max_s"] for p in replies) * 1000,
        client_gc_max_ms=max(p["gc_max_s"] for p in replies) * 1000,
        nudge_ms=spread(seen.nudge_s),
        content_ms=spread(seen.content_s),
        nudge_s=seen.nudge_s,
        content_s=seen.content_s,
    )
    if isinstance(approvals, SunwallUrgent | BareUrgent):
        outcome.urgent = finish_urgent(awaited, seen, approvals, fleet, args)
    return outcome


def finish_urgent(
    awaited: Awaited,
    seen: Tally,
    approvals: SunwallUrgent | BareUrgent,
    fleet: Fleet,
    args: argparse.Namespace,
) -> UrgentFigures:
    """After an urgent notice's round: compare the server's delivery report with the
    receipts the fleet had acknowledged, screen by screen; then cancel the notice and wait
    until every screen holds a manifest without it. The cancellation nudges the screens
    again: the next round starts only once that has settled."""
    report = approvals.delivery()
    server_received, server_shown = set(report["received_ids"]), set(report["shown_ids"])
    differ = (seen.received_ids ^ server_received) | (seen.shown_ids ^ server_shown)
    fleet.ask("arm", asdict(replace(awaited, gone=True)), timeout=60)
    t1 = time.monotonic()
    approvals.withdraw()
    cancel_s = time.monotonic() - t1
    off = tally(collect_round(fleet, t1, args), t1, args.no_fetch, receipts=False)
    return UrgentFigures(
        received=len(seen.received_ids),
        shown=len(seen.shown_ids),
        received_ms=spread(seen.received_s),
        shown_ms=spread(seen.shown_s),
        server_summary=report["summary"],
        server_expected=report["expected"],
        server_received=report["received"],
        server_shown=report["shown"],
        not_recipients=len(seen.expected_ids - set(report["recipients"])),
        disagree=len(differ),
        cancel_ms=cancel_s * 1000,
        cancel_nudged=off.nudged,
        cancel_off=off.content,
        cancel_nudge_ms=spread(off.nudge_s),
        cancel_off_ms=spread(off.content_s),
        cancel_errors=dict(off.errors.most_common(5)),
        received_s=seen.received_s,
        shown_s=seen.shown_s,
        cancel_off_s=off.content_s,
    )


def run_idle(
    fleet: Fleet, server: ServerProcess, total: int, args: argparse.Namespace
) -> IdleResult:
    """Let every screen re-check its unchanged manifest over the idle window; watch the server."""
    fleet.ask("arm", None, timeout=60)
    rss = RssSampler(server)
    rss_start = server.rss_mib()
    start = time.monotonic() + 1.0
    fleet.send(
        "idle",
        {"start": start, "period": args.check_seconds, "window": args.idle_seconds, "total": total},
    )
    time.sleep(max(0.0, start - time.monotonic()))
    cpu_before = server.cpu_seconds()
    replies = fleet.ask("idle", None, timeout=args.idle_seconds + 180, send=False)
    cpu = server.cpu_seconds() - cpu_before
    wall = time.monotonic() - start
    rss_max = rss.stop()
    answers: Counter[str] = Counter()
    for part in replies:
        answers.update(part["answers"])
    latencies = [x for part in replies for x in part["latencies"]]
    return IdleResult(
        window_s=wall,
        period_s=args.check_seconds,
        checks=sum(answers.values()),
        answers=dict(answers),
        not_modified_ms=spread(latencies),
        server_cpu_s=cpu,
        server_cpu_pct=100 * cpu / wall if wall > 0 else math.nan,
        rss_start_mib=rss_start,
        rss_max_mib=rss_max,
        rss_end_mib=server.rss_mib(),
        client_cpu_s=sum(p["client_cpu_s"] for p in replies),
        client_lag_max_ms=max(p["loop_lag_max_s"] for p in replies) * 1000,
        nudged=sum(p["nudged"] for p in replies),
    )


def open_sockets(fleet: Fleet) -> int:
    """How many of the fleet's sockets are open right now."""
    return sum(part["open"] for part in fleet.ask("status", None, timeout=60))


def run_target(kind: str, args: argparse.Namespace, sizes: dict[str, int]) -> TargetResult:
    """Start one server (Sunwall or bare), connect the fleet, run the scenario, clean up.

    `sizes` carries Sunwall's measured manifest and board sizes to the bare server, and
    is filled in by a Sunwall run.
    """
    others = min(
        args.others if args.others is not None else max(1, args.screens // 10), args.screens - 1
    )
    urgent = args.scenario == "urgent"  # the township-wide notice reaches every screen
    result = TargetResult(
        kind,
        args.scenario,
        args.async_mode,
        args.launcher,
        args.screens,
        args.screens if urgent else args.screens - others,
        others,
        args.workers,
    )
    base = Path(tempfile.mkdtemp(prefix=f"sunwall-bench-{kind}-"))
    env = {
        "BENCH_MANIFEST_BYTES": str(sizes.get("manifest_bytes", args.manifest_bytes)),
        "BENCH_BOARD_BYTES": str(sizes.get("board_bytes", args.board_bytes)),
    }
    server = ServerProcess(kind, base, args, env)
    fleet: Fleet | None = None
    profiler: Profiler | None = None
    try:
        step = time.monotonic()
        approvals: Approvals
        if kind == "sunwall":
            specs = prepare_sunwall(server, args.screens, others)
            author = server.cli("user", "token", "scheduler" if urgent else "editor").strip()
            reviewer = server.cli("user", "token", "reviewer").strip()
            server.start()
            if urgent:
                approvals = SunwallUrgent(server.url, author, reviewer)
            else:
                approvals = SunwallApprovals(server.url, author, reviewer)
        else:
            specs = prepare_bare(args.screens, others)
            server.start()
            approvals = BareUrgent(server.url) if urgent else BareApprovals(server.url)
        if urgent:
            specs = [replace(spec, expected=True) for spec in specs]
        print(
            f"  set-up {time.monotonic() - step:.1f} s; server {server.url}, pid {server.app_pid()}"
        )
        result.rss_start_mib = server.rss_mib()
        options = FleetOptions(
            http_limit=args.http_limit,
            fetch=not args.no_fetch,
            connect_timeout=args.connect_timeout,
            request_timeout=args.request_timeout,
        )
        fleet = Fleet(server.url, kind, specs, args.workers, options)
        budget = args.connect_budget or args.screens / args.connect_rate + 180

        cpu, step = server.cpu_seconds(), time.monotonic()
        rate = args.connect_rate / len(fleet.links)
        connected = [
            c
            for part in fleet.ask(
                "connect", {"rate": rate, "concurrency": args.connect_concurrency}, budget
            )
            for c in part
        ]
        result.connect_all_s = time.monotonic() - step
        result.connect_cpu_s = server.cpu_seconds() - cpu
        took = [t for _id, t, _err in connected if t is not None]
        errors = Counter(err for _id, _t, err in connected if err)
        result.connected = len(took)
        result.never_connected = len(connected) - len(took)
        result.connect_errors = [f"{n} x {err}" for err, n in errors.most_common(5)]
        result.connect_ms = spread(took)
        result.rss_connected_mib = server.rss_mib()

        cpu, step = server.cpu_seconds(), time.monotonic()
        prime = {"concurrency": args.http_limit, "rate": args.prime_rate / len(fleet.links)}
        prime_budget = args.connect_budget or args.screens / (args.prime_rate or 1000) + 180
        primed = fleet.ask("prime", prime, prime_budget)
        result.prime_all_s = time.monotonic() - step
        result.prime_cpu_s = server.cpu_seconds() - cpu
        result.prime_ms = spread([t for part in primed for t in part["took"]])
        prime_errors = Counter(e for part in primed for e in part["errors"])
        result.prime_errors = [f"{n} x {err}" for err, n in prime_errors.most_common(5)]
        manifest_sizes = sorted(n for part in primed for n in part["manifest_bytes"])
        board_sizes = [n for part in primed for n in part["board_bytes"]]
        result.manifest_bytes = manifest_sizes[len(manifest_sizes) // 2] if manifest_sizes else 0
        result.board_bytes = max(board_sizes, default=0)
        if kind == "sunwall":
            if result.manifest_bytes:
                sizes["manifest_bytes"] = result.manifest_bytes
            if result.board_bytes:
                sizes["board_bytes"] = result.board_bytes
        result.open_after_prime = open_sockets(fleet)
        _print_connect(result)

        profiler = Profiler(args.profile if kind == "sunwall" else None, server.app_pid())
        if args.scenario in ("approve", "urgent"):
            for number in range(1, args.rounds + 1):
                outcome = run_round(number, approvals, fleet, server, args)
                result.rounds.append(outcome)
                _print_round(outcome)
        else:
            result.idle = run_idle(fleet, server, len(specs), args)
            _print_idle(result.idle)
        result.profile = profiler.stop()
        profiler = None
        result.rss_end_mib = server.rss_mib()
        result.open_after_scenario = open_sockets(fleet)
    except Exception as err:  # noqa: BLE001 - a failed run is a result; the next one runs
        result.failure = f"{type(err).__name__}: {err}"
        print(
            f"  FAILED: {result.failure}\n  server log (tail):\n{server.log_tail(1500)}",
            file=sys.stderr,
        )
    finally:
        if profiler is not None:
            profiler.stop()
        if fleet is not None:
            result.dropped, result.client_log = fleet.close()
        server.stop()
        if args.keep:
            print(f"  kept {base}")
        else:
            shutil.rmtree(base, ignore_errors=True)
    return result


# --------------------------------------------------------------------------- report


def _print_connect(r: TargetResult) -> None:
    print(
        f"  connected {r.connected}/{r.screens} in {r.connect_all_s:.1f} s"
        f" (per screen p50/p90/p99/max {_ms(r.connect_ms)} ms, server CPU {r.connect_cpu_s:.1f} s);"
        f" first manifests in {r.prime_all_s:.1f} s ({_ms(r.prime_ms)} ms, server CPU"
        f" {r.prime_cpu_s:.1f} s); manifest {r.manifest_bytes} B, board {r.board_bytes} B;"
        f" sockets open after that {r.open_after_prime};"
        f" server RSS {r.rss_connected_mib:.0f} MiB"
    )
    for failure in r.connect_errors + r.prime_errors:
        print(f"    failed: {failure}")


def _print_round(o: RoundResult) -> None:
    print(
        f"  round {o.number}: nudged {o.nudged}/{o.expected}, content {o.content}/{o.expected},"
        f" wrongly nudged {o.wrongly_nudged}, sockets open {o.open_sockets};"
        f" approve {o.approve_ms:.0f} ms; p50/p90/p99/max nudge {_ms(o.nudge_ms)} ms,"
        f" content {_ms(o.content_ms)} ms; server CPU {o.server_cpu_s:.2f} s,"
        f" client CPU {o.client_cpu_s:.2f} s, client loop lag max {o.client_lag_max_ms:.0f} ms"
        f" (GC pause max {o.client_gc_max_ms:.0f} ms)"
        + (f"; failures {o.errors}" if o.errors else "")
    )
    u = o.urgent
    if u is not None:
        acked = f"fleet acked received {u.received}, shown {u.shown}"
        print(
            f"    receipts acked: received {u.received}/{o.expected}, shown {u.shown}/{o.expected};"
            f" p50/p90/p99/max received {_ms(u.received_ms)} ms, shown {_ms(u.shown_ms)} ms\n"
            f'    server\'s delivery report: "{u.server_summary}" (received {u.server_received},'
            f" shown {u.server_shown} of {u.server_expected} screens it counts as reached);"
            f" {acked}: "
            + (
                "the same screens"
                if not (u.disagree or u.not_recipients)
                else f"{u.disagree} screens differ, {u.not_recipients} fleet screens not recipients"
            )
            + f"\n    cancel {u.cancel_ms:.0f} ms; nudged {u.cancel_nudged}/{o.expected},"
            f" off {u.cancel_off}/{o.expected}; p50/p90/p99/max nudge {_ms(u.cancel_nudge_ms)} ms,"
            f" manifest without it {_ms(u.cancel_off_ms)} ms"
            + (f"; failures {u.cancel_errors}" if u.cancel_errors else "")
        )


def _fleet(r: TargetResult) -> str:
    """Which screens the run drives, and which of them a round concerns."""
    if r.server == "sunwall":
        village, rest = f"in {TARGET_VILLAGE}", "in other villages"
    else:
        village, rest = "in the village group", "elsewhere"
    if r.scenario == "urgent":
        target = URGENT_TARGET if r.server == "sunwall" else "both groups"
        return (
            f"all reached by the urgent notice for {target}: {r.screens - r.others} {village},"
            f" {r.others} {rest}"
        )
    return f"{r.expected} {village}, {r.others} {rest}"


def _print_idle(i: IdleResult) -> None:
    print(
        f"  idle {i.window_s:.0f} s (each screen every {i.period_s:.0f} s): {i.checks} checks {i.answers};"
        f" 304 p50/p90/p99/max {_ms(i.not_modified_ms)} ms; server CPU {i.server_cpu_s:.1f} s"
        f" = {i.server_cpu_pct:.1f} % of a core; server RSS {i.rss_start_mib:.0f} -> max"
        f" {i.rss_max_mib:.0f} MiB; client CPU {i.client_cpu_s:.1f} s, loop lag max"
        f" {i.client_lag_max_ms:.0f} ms; nudged {i.nudged}"
    )


def print_summary(results: list[TargetResult]) -> None:
    for r in results:
        print(
            f"\n{r.server} ({r.async_mode}, {r.launcher}): {r.screens} screens, {_fleet(r)};"
            f" {r.workers} client process(es)"
        )
        if r.failure:
            print(f"  FAILED: {r.failure}")
        if r.rounds:
            print(f"  {len(r.rounds)} rounds, latency from the approve request, p50/p90/p99/max ms")
            print(f"  approve -> nudge            {_ms(r.nudge_ms())}")
            print(f"  approve -> content          {_ms(r.content_ms())}")
            if r.urgent:
                shown = r.shown_ms()
                print(f"  approve -> received acked   {_ms(r.received_ms())}")
                print(f"  approve -> shown acked      {_ms(shown)}")
                print(f"  cancel -> manifest without  {_ms(r.cancel_off_ms())}")
                verdict = "met" if shown["p99"] <= URGENT_TARGET_MS else "NOT met"
                if r.missed_received or r.missed_shown:
                    verdict = "NOT met (receipts missing)"
                print(
                    f"  target: every receipt acked within {URGENT_TARGET_MS} ms (p99): {verdict}"
                )
            print(
                f"  missed nudges {r.missed_nudges}, missed content {r.missed_content},"
                f" wrongly nudged {r.wrongly_nudged}"
                + (
                    f"; missed receipts received {r.missed_received}, shown {r.missed_shown};"
                    f" screens the server's delivery report sees otherwise"
                    f" {r.delivery_mismatches}; screens still showing a cancelled notice"
                    f" {r.missed_cancel}"
                    if r.urgent
                    else ""
                )
            )
        if r.idle:
            _print_idle(r.idle)
        print(
            f"  connected {r.connected}/{r.screens}, never connected {r.never_connected},"
            f" sockets dropped {len(r.dropped)}"
            f" (open after the first manifests {r.open_after_prime},"
            f" after the {r.scenario} scenario {r.open_after_scenario})"
            + (f" ({', '.join(sorted(set(r.dropped)))})" if r.dropped else "")
            + f"; server RSS start {r.rss_start_mib:.0f}, connected {r.rss_connected_mib:.0f},"
            f" end {r.rss_end_mib:.0f} MiB"
        )
        for message, n in sorted(r.client_log.items(), key=lambda kv: -kv[1])[:5]:
            print(f"  client library said {n} x: {message}")
        if r.profile:
            print("  profile of the server's application process:")
            for line in r.profile:
                print("   " + line)


def compare_rows(sunwall: TargetResult, bare: TargetResult) -> list[tuple[str, float, float]]:
    """The side-by-side figures: (metric, sunwall, bare)."""
    rows: list[tuple[str, float, float]] = []
    if sunwall.rounds or bare.rounds:
        sn, bn, sc, bc = (
            sunwall.nudge_ms(),
            bare.nudge_ms(),
            sunwall.content_ms(),
            bare.content_ms(),
        )
        rows += [
            ("approve->nudge p50 (ms)", sn["p50"], bn["p50"]),
            ("approve->nudge p99 (ms)", sn["p99"], bn["p99"]),
            ("approve->content p50 (ms)", sc["p50"], bc["p50"]),
            ("approve->content p99 (ms)", sc["p99"], bc["p99"]),
            (
                # The busiest round: after sockets drop, later rounds have fewer screens.
                "server CPU, busiest round (s)",
                max((o.server_cpu_s for o in sunwall.rounds), default=math.nan),
                max((o.server_cpu_s for o in bare.rounds), default=math.nan),
            ),
            ("missed nudges", sunwall.missed_nudges, bare.missed_nudges),
            ("missed content", sunwall.missed_content, bare.missed_content),
            ("wrongly nudged", sunwall.wrongly_nudged, bare.wrongly_nudged),
        ]
    if sunwall.urgent or bare.urgent:
        sr, br, ss, bs = (
            sunwall.received_ms(),
            bare.received_ms(),
            sunwall.shown_ms(),
            bare.shown_ms(),
        )
        so, bo = sunwall.cancel_off_ms(), bare.cancel_off_ms()
        rows += [
            ("approve->received acked p50 (ms)", sr["p50"], br["p50"]),
            ("approve->received acked p99 (ms)", sr["p99"], br["p99"]),
            ("approve->shown acked p50 (ms)", ss["p50"], bs["p50"]),
            ("approve->shown acked p99 (ms)", ss["p99"], bs["p99"]),
            ("approve->shown acked max (ms)", ss["max"], bs["max"]),
            ("cancel->manifest without p99 (ms)", so["p99"], bo["p99"]),
            ("missed receipts received", sunwall.missed_received, bare.missed_received),
            ("missed receipts shown", sunwall.missed_shown, bare.missed_shown),
            ("delivery report mismatches", sunwall.delivery_mismatches, bare.delivery_mismatches),
            ("still showing after cancel", sunwall.missed_cancel, bare.missed_cancel),
        ]
    if sunwall.idle or bare.idle:
        si, bi = sunwall.idle, bare.idle
        rows += [
            (
                "idle server RSS max (MiB)",
                si.rss_max_mib if si else math.nan,
                bi.rss_max_mib if bi else math.nan,
            ),
            (
                "idle server CPU (% of a core)",
                si.server_cpu_pct if si else math.nan,
                bi.server_cpu_pct if bi else math.nan,
            ),
            (
                "304 p50 (ms)",
                si.not_modified_ms["p50"] if si else math.nan,
                bi.not_modified_ms["p50"] if bi else math.nan,
            ),
            (
                "304 p99 (ms)",
                si.not_modified_ms["p99"] if si else math.nan,
                bi.not_modified_ms["p99"] if bi else math.nan,
            ),
            (
                "checks answered 200",
                si.answers.get("200", 0) if si else math.nan,
                bi.answers.get("200", 0) if bi else math.nan,
            ),
            ("failed checks", sunwall.failed_checks, bare.failed_checks),
        ]
    rows += [
        ("server RSS connected (MiB)", sunwall.rss_connected_mib, bare.rss_connected_mib),
        ("connect all screens (s)", sunwall.connect_all_s, bare.connect_all_s),
        ("never connected", sunwall.never_connected, bare.never_connected),
        ("sockets dropped", len(sunwall.dropped), len(bare.dropped)),
    ]
    return rows


def _no_nan(value: Any) -> Any:
    """The same data with NaN (no samples) as null, so that the file is strict JSON."""
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {k: _no_nan(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_no_nan(v) for v in value]
    return value


def print_compare(rows: list[tuple[str, float, float]]) -> None:
    print("\ncompare: metric | sunwall | bare | ratio")
    width = max(len(name) for name, _s, _b in rows)
    for name, s, b in rows:
        ratio = s / b if b and not math.isnan(s) and not math.isnan(b) else math.nan
        print(
            f"  {name:<{width}} | {_fmt(s):>9} | {_fmt(b):>9} | "
            + ("-" if math.isnan(ratio) else f"{ratio:.1f}x")
        )


def _fmt(value: float) -> str:
    if math.isnan(value):
        return "-"
    return f"{value:.0f}" if abs(value) >= 10 or float(value).is_integer() else f"{value:.2f}"


# --------------------------------------------------------------------------- command line


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    p.add_argument("--scenario", choices=["approve", "urgent", "idle"], default="approve")
    p.add_argument(
        "--screens",
        type=int,
        default=None,
        help="simulated screens (default 1,000 for approve and urgent, 10,000 for idle)",
    )
    p.add_argument(
        "--others",
        type=int,
        default=None,
        help="of which in other villages than 东山村 (default: a tenth)",
    )
    p.add_argument(
        "--rounds", type=int, default=5, help="approvals (approve and urgent; default 5)"
    )
    target = p.add_mutually_exclusive_group()
    target.add_argument(
        "--baseline", action="store_true", help="run against the bare Flask-SocketIO server only"
    )
    target.add_argument(
        "--compare", action="store_true", help="run Sunwall, then the bare server; print both"
    )
    p.add_argument("--async-mode", choices=["gevent", "threading"], default="gevent")
    p.add_argument(
        "--launcher",
        choices=["gunicorn", "serve"],
        default="gunicorn",
        help="gunicorn with one worker (GeventWebSocketWorker or gthread; default), or `sunwall serve`",
    )
    p.add_argument(
        "--threads",
        type=int,
        default=0,
        help="gthread threads (default: screens + http limit + 50)",
    )
    p.add_argument("--workers", type=int, default=1, help="client processes (default 1)")
    p.add_argument(
        "--http-limit",
        type=int,
        default=100,
        help="HTTP connections per client process (default 100)",
    )
    p.add_argument(
        "--connect-rate", type=float, default=200.0, help="new sockets per second, all processes"
    )
    p.add_argument(
        "--connect-concurrency", type=int, default=50, help="sockets opening at once per process"
    )
    p.add_argument("--connect-timeout", type=float, default=30.0, help="per screen, seconds")
    p.add_argument(
        "--connect-budget",
        type=float,
        default=0.0,
        help="for connecting, and for priming, all screens, seconds (default: screens / rate + 180)",
    )
    p.add_argument("--request-timeout", type=float, default=60.0, help="per HTTP request, seconds")
    p.add_argument(
        "--round-timeout", type=float, default=60.0, help="how long a round waits, seconds"
    )
    p.add_argument(
        "--pause", type=float, default=1.0, help="quiet time before each approval, seconds"
    )
    p.add_argument(
        "--settle", type=float, default=0.5, help="wait for stray nudges after a round, seconds"
    )
    p.add_argument(
        "--prime-rate",
        type=float,
        default=100.0,
        help="first manifests per second, all processes (default 100; 0: all at once)",
    )
    p.add_argument(
        "--no-fetch", action="store_true", help="approve: time the nudge alone, fetch nothing"
    )
    p.add_argument(
        "--check-seconds", type=float, default=60.0, help="idle: each screen's re-check period"
    )
    p.add_argument(
        "--idle-seconds",
        type=float,
        default=None,
        help="idle: length of the measured window (default: --check-seconds)",
    )
    p.add_argument(
        "--manifest-bytes",
        type=int,
        default=8000,
        help="bare server's manifest size when no Sunwall run measured it (default 8000)",
    )
    p.add_argument(
        "--board-bytes",
        type=int,
        default=3000,
        help="bare server's board size when no Sunwall run measured it (default 3000)",
    )
    p.add_argument(
        "--profile",
        type=Path,
        default=None,
        help="record the Sunwall server with py-spy during the scenario (raw collapsed stacks)",
    )
    p.add_argument(
        "--server-root",
        type=Path,
        default=ROOT,
        help="the Sunwall tree to run (default: this repository)",
    )
    p.add_argument("--timeout", type=float, default=3600.0, help="for the whole run, seconds")
    p.add_argument("--json", type=Path, default=None, help="also write every figure here")
    p.add_argument("--keep", action="store_true", help="keep the temporary directories")
    args = p.parse_args(argv)
    if args.screens is None:
        args.screens = 10_000 if args.scenario == "idle" else 1000
    if args.idle_seconds is None:
        args.idle_seconds = args.check_seconds
    args.server_root = args.server_root.resolve()
    if not 2 <= args.screens <= MAX_SCREENS:
        p.error(f"--screens must be 2..{MAX_SCREENS}")
    if not 1 <= args.rounds <= MAX_ROUNDS:
        p.error(f"--rounds must be 1..{MAX_ROUNDS}")
    if not 1 <= args.workers <= 16:
        p.error("--workers must be 1..16")
    if args.prime_rate < 0:
        p.error("--prime-rate must be 0 (no pacing) or more")
    if args.no_fetch and args.scenario == "urgent":
        p.error("--no-fetch: a screen sends receipts only after fetching (approve scenario only)")
    if args.connect_rate <= 0 or args.check_seconds <= 0 or args.idle_seconds <= 0:
        p.error("rates and periods must be positive")
    return args


class OutOfTime(BaseException):
    """The whole run took longer than --timeout (a BaseException so that it ends every run)."""


def _on_alarm(_signum: int, _frame: Any) -> None:
    raise OutOfTime("the benchmark ran past --timeout")


def _on_term(_signum: int, _frame: Any) -> None:
    raise SystemExit(143)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGALRM, _on_alarm)
    signal.signal(signal.SIGTERM, _on_term)
    signal.alarm(max(1, int(args.timeout)))
    fds = raise_fd_limit()  # the server processes inherit it too
    kinds = ["bare"] if args.baseline else ["sunwall", "bare"] if args.compare else ["sunwall"]
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(
        f"push latency, scenario {args.scenario}: {args.screens} screens, {args.async_mode} via"
        f" {args.launcher}, {args.workers} client process(es), {os.cpu_count()} CPUs, load {load},"
        f" open-file limit {fds}, Python {sys.version.split()[0]}"
    )
    results: list[TargetResult] = []
    sizes: dict[str, int] = {}
    try:
        for kind in kinds:
            print(f"\n[{kind}]")
            results.append(run_target(kind, args, sizes))
    except OutOfTime as err:
        print(f"FAIL: {err}", file=sys.stderr)
        return 2
    signal.alarm(0)
    print_summary(results)
    rows: list[tuple[str, float, float]] = []
    if len(results) == 2:
        rows = compare_rows(results[0], results[1])
        print_compare(rows)
    if args.json:
        data = {
            "args": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
            "results": [r.to_json() for r in results],
            "compare": [{"metric": n, "sunwall": s, "bare": b} for n, s, b in rows],
        }
        args.json.write_text(json.dumps(_no_nan(data), indent=1, ensure_ascii=False))
    failed = [r for r in results if r.failed()]
    for r in failed:
        print(
            f"FAIL {r.server}: {r.missed_nudges} missed nudges, {r.missed_content} missed content,"
            f" {r.wrongly_nudged} wrongly nudged, {len(r.dropped)} sockets dropped,"
            f" {r.never_connected} never connected, {r.failed_checks} failed checks"
            + (
                f", {r.missed_received} + {r.missed_shown} missed receipts (received + shown),"
                f" {r.delivery_mismatches} delivery report mismatches,"
                f" {r.missed_cancel} still showing after cancel"
                if r.urgent
                else ""
            )
            + (f"; {r.failure}" if r.failure else ""),
            file=sys.stderr,
        )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
