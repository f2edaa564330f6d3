"""A fleet of simulated screens on asyncio, for bench/push_latency.py.

One worker process runs one asyncio event loop holding thousands of screens: each is a
python-socketio `AsyncClient` on the WebSocket transport, and all of them share two aiohttp
sessions: one without a connection limit that carries the WebSockets, and one with a
limit (`http_limit`) for the manifest and board fetches. The orchestrator drives the
workers through a pipe with small commands (connect, prime, arm, collect, idle, stop)
and gets back plain tuples and dictionaries.

Everything that depends on the device protocol (how a screen authenticates, which event
nudges it, where its manifest is, how to tell that the manifest shows the content a round
waits for, how board content is fetched, how an urgent notice's receipts are sent and
acknowledged) lives in `SunwallProtocol`, so a protocol change means editing that one
class.

Time stamps are taken with `time.monotonic()`. On Linux that is CLOCK_MONOTONIC, one clock
for every process of the machine, so the orchestrator compares them with its own t0.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import gc
import hashlib
import json
import logging
import multiprocessing as mp
import resource
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any, NamedTuple
from urllib.parse import urljoin

import aiohttp
import socketio

# --------------------------------------------------------------------------- protocol


@dataclass(frozen=True)
class ScreenSpec:
    """One simulated screen: its id, credential, group (village) and whether a round concerns it."""

    device_id: int
    key: str
    group: str
    expected: bool
    index: int = 0


@dataclass(frozen=True)
class Awaited:
    """What a round waits for: the board id and title the approved notice shows up as.

    `urgent`: the board is an urgent notice; it must be named in the manifest's `urgent`
    list, and once its content is at hand the screen sends its receipts ("received",
    then "shown") and waits for each acknowledgement. `gone`: the round waits for a
    manifest *without* the board (a cancelled notice leaving the screens).
    """

    board_id: str
    title: str
    urgent: bool = False
    gone: bool = False


class ScreenRecord(NamedTuple):
    """What one screen saw in a round; times from `time.monotonic()`, None: did not happen."""

    device_id: int
    expected: bool
    listening: bool  # connected, and the socket has not dropped
    nudges: int
    nudged_at: float | None
    content_at: float | None  # the awaited content (or, for a cancellation, its absence)
    received_at: float | None  # an urgent notice's "received" receipt acknowledged
    shown_at: float | None  # its "shown" receipt acknowledged
    error: str | None


class SunwallProtocol:
    """Everything the bench knows about the device protocol (docs/protocol.md), in one place.

    A screen connects to namespace /device with auth {"token": <credential>}, hears
    "manifest_changed", and fetches GET /api/v1/device/manifest with its bearer credential
    and If-None-Match. A board of the manifest may point at its content (`content_url` or
    `href`); that content is fetched with the same credential before the new board counts
    as being on screen, and checked against the board's sha256 `content` when it has one.

    An urgent notice is a board `u<notice id>` named in the manifest's `urgent` list. Its
    receipts (docs/urgent.md, "Receipt protocol") go over the screen's socket as event
    "receipt" with an acknowledgement, as the player sends them (player.js `noteReceipt`
    and `flushReceipts`): a batch {"receipts": [{"notice", "state", "at"}]}, "received"
    once the manifest and the board are at hand, then "shown" once that was acknowledged.
    The ack {"ok": true, "accepted": 1} means the server stored it.
    """

    name = "sunwall"
    namespace = "/device"
    nudge_event = "manifest_changed"
    manifest_path = "/api/v1/device/manifest"
    receipt_event = "receipt"

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")

    def auth(self, spec: ScreenSpec) -> dict[str, Any]:
        """The Socket.IO `auth` payload a screen connects with."""
        return {"token": spec.key}

    def headers(self, spec: ScreenSpec) -> dict[str, str]:
        """HTTP headers every request of the screen carries."""
        return {"Authorization": f"Bearer {spec.key}"}

    def manifest_url(self) -> str:
        return self.base_url + self.manifest_path

    def describe_nudge(self, payload: Any) -> str:
        """A short label for a nudge payload, for the report ("loop_changed area 3")."""
        if isinstance(payload, dict):
            reason = str(payload.get("reason", "?"))
            return f"{reason} area {payload['area']}" if "area" in payload else reason
        return type(payload).__name__

    def awaited_board(self, manifest: Any, awaited: Awaited) -> dict[str, Any] | None:
        """The manifest's board showing the awaited content, or None if it is not there yet
        (an urgent notice counts only while the manifest's `urgent` list names it)."""
        if not isinstance(manifest, dict):
            return None
        if awaited.urgent:
            urgent = manifest.get("urgent")
            if not isinstance(urgent, list) or awaited.board_id not in urgent:
                return None
        for board in manifest.get("boards") or []:
            if isinstance(board, dict) and (
                board.get("id") == awaited.board_id
                or (not awaited.urgent and board.get("title") == awaited.title)
            ):
                return board
        return None

    def content_url(self, board: dict[str, Any]) -> str | None:
        """Where a board's content is fetched from, if the manifest says so."""
        link = board.get("content_url") or board.get("href")
        return urljoin(self.base_url + "/", link) if isinstance(link, str) and link else None

    def content_matches(self, board: dict[str, Any], body: bytes) -> bool:
        """Whether fetched content is what the board names (its sha256, when it gives one)."""
        digest = board.get("content")
        if isinstance(digest, str) and len(digest) == 64:
            return hashlib.sha256(body).hexdigest() == digest.lower()
        return True

    def receipt(self, board_id: str, state: str, at: dt.datetime) -> dict[str, Any]:
        """The `receipt` payload for one state of an urgent board ("u5" reports notice 5),
        `at` by the screen's clock with its zone offset: a batch of one, as the player sends."""
        return {"receipts": [{"notice": int(board_id[1:]), "state": state, "at": at.isoformat()}]}

    def receipt_refused(self, ack: Any) -> str | None:
        """Why an acknowledgement does not say the receipt was stored (None: it was)."""
        if not isinstance(ack, dict) or ack.get("ok") is not True:
            error = ack.get("error") if isinstance(ack, dict) else ack
            return f"receipt refused: {error}"[:200]
        if ack.get("accepted") != 1:
            return f"receipt not accepted (accepted {ack.get('accepted')!r})"
        return None


class BaselineProtocol(SunwallProtocol):
    """The bare server's dialect: the same URLs and event, plus the screen's group in auth."""

    name = "bare"

    def auth(self, spec: ScreenSpec) -> dict[str, Any]:
        return {"token": spec.key, "group": spec.group}


PROTOCOLS: dict[str, type[SunwallProtocol]] = {"sunwall": SunwallProtocol, "bare": BaselineProtocol}


def raise_fd_limit() -> int:
    """Raise this process's open-file limit to its hard limit where allowed; return the limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or hard > soft:
        wanted = 1_048_576 if hard == resource.RLIM_INFINITY else hard
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
            soft = wanted
        except (ValueError, OSError):
            pass
    return soft


# --------------------------------------------------------------------------- one screen


@dataclass
class FleetOptions:
    """How the workers behave; the same for every worker of a run."""

    http_limit: int = 100
    fetch: bool = True
    connect_timeout: float = 30.0
    request_timeout: float = 60.0


class Screen:
    """One simulated screen: a Socket.IO client plus the manifest fetches the player makes."""

    def __init__(self, spec: ScreenSpec, worker: FleetWorker) -> None:
        self.spec = spec
        self.worker = worker
        self.proto = worker.proto
        self.headers = self.proto.headers(spec)
        self.etag = ""
        self.closing = False
        self.connected = False
        self.dropped: str | None = None
        self.sio = socketio.AsyncClient(
            reconnection=False,
            handle_sigint=False,
            http_session=worker.ws_session,
            request_timeout=worker.options.connect_timeout,
        )
        self.sio.on(self.proto.nudge_event, self._on_nudge, namespace=self.proto.namespace)
        self.sio.on("disconnect", self._on_disconnect, namespace=self.proto.namespace)
        self.fetch_task: asyncio.Task[None] | None = None
        self.arm(None)

    def arm(self, awaited: Awaited | None) -> None:
        """Forget the last round and wait for `awaited` (None: expect no nudge at all)."""
        self.awaited = awaited
        self.nudges = 0
        self.nudge_label = ""
        self.nudged_at: float | None = None
        self.content_at: float | None = None
        self.received_at: float | None = None
        self.shown_at: float | None = None
        self.error: str | None = None
        self.fetch_task = None

    @property
    def finished(self) -> bool:
        """The round is over for this screen: content on screen (for an urgent notice: its
        "shown" receipt acknowledged; for a cancellation: a manifest without it), or a
        failure recorded (with fetching off: the nudge has arrived)."""
        if not self.worker.options.fetch:
            return self.nudged_at is not None
        if self.error is not None:
            return True
        if self.awaited is not None and self.awaited.urgent and not self.awaited.gone:
            return self.shown_at is not None
        return self.content_at is not None

    async def connect(self) -> float:
        """Open the socket (WebSocket only); return how long it took, in seconds."""
        start = time.monotonic()
        await self.sio.connect(
            self.proto.base_url,
            auth=self.proto.auth(self.spec),
            transports=["websocket"],
            namespaces=[self.proto.namespace],
            wait_timeout=self.worker.options.connect_timeout,
        )
        self.connected = True
        return time.monotonic() - start

    async def close(self) -> None:
        self.closing = True
        if self.connected:
            try:
                await asyncio.wait_for(self.sio.disconnect(), 5)
            except Exception:  # noqa: BLE001 - closing is best effort
                pass

    async def get_manifest(self) -> tuple[int, Any, int]:
        """Conditional GET of the manifest: (status, parsed body or None, body bytes)."""
        headers = dict(self.headers)
        if self.etag:
            headers["If-None-Match"] = self.etag
        status, body, response_headers = await self.worker.get(self.proto.manifest_url(), headers)
        if status == 200:
            self.etag = response_headers.get("ETag", "")
            return status, json.loads(body), len(body)
        return status, None, len(body)

    async def get_content(self, board: dict[str, Any]) -> int:
        """Fetch a board's content if the manifest points at it; return its size (0: none)."""
        url = self.proto.content_url(board)
        if url is None:
            return 0
        status, body, _headers = await self.worker.get(url, self.headers)
        if status != 200:
            raise FetchFailed(f"board content answered {status}")
        if not self.proto.content_matches(board, body):
            raise FetchFailed("board content does not match its digest")
        return len(body)

    async def _on_nudge(self, payload: Any = None) -> None:
        now = time.monotonic()
        self.nudges += 1
        if self.nudged_at is not None:
            return
        self.nudged_at = now
        self.nudge_label = self.proto.describe_nudge(payload)
        if self.awaited is not None and self.spec.expected and self.worker.options.fetch:
            self.fetch_task = asyncio.create_task(self._fetch_new_content(self.awaited))

    async def send_receipt(self, board_id: str, state: str, at: dt.datetime) -> None:
        """Emit one urgent-notice receipt on the socket and wait for its acknowledgement."""
        ack = await self.sio.call(
            self.proto.receipt_event,
            self.proto.receipt(board_id, state, at),
            namespace=self.proto.namespace,
            timeout=self.worker.options.request_timeout,
        )
        refused = self.proto.receipt_refused(ack)
        if refused is not None:
            raise FetchFailed(refused)

    async def _fetch_new_content(self, awaited: Awaited) -> None:
        """After the nudge: fetch the manifest, then the new board's content, and note when.

        An urgent board is then reported as the player does: "received" (the manifest and
        its boards are at hand), and, once that is acknowledged, "shown" (an urgent notice
        goes on screen at once; both carry the moment its content arrived). A
        cancellation only needs a manifest without the board."""
        try:
            status, manifest, _size = await self.get_manifest()
            if status != 200:
                raise FetchFailed(f"manifest answered {status} after the nudge")
            board = self.proto.awaited_board(manifest, awaited)
            if awaited.gone:
                if board is not None:
                    raise FetchFailed("manifest after the nudge still lists the cancelled board")
            elif board is None:
                raise FetchFailed("manifest after the nudge lacks the new board")
            else:
                await self.get_content(board)
            if self.awaited is awaited:
                self.content_at = time.monotonic()
            if awaited.urgent and not awaited.gone:
                at = dt.datetime.now(dt.UTC)
                await self.send_receipt(awaited.board_id, "received", at)
                if self.awaited is awaited:
                    self.received_at = time.monotonic()
                await self.send_receipt(awaited.board_id, "shown", at)
                if self.awaited is awaited:
                    self.shown_at = time.monotonic()
        except FetchFailed as err:
            if self.awaited is awaited:
                self.error = str(err)
        except Exception as err:  # noqa: BLE001 - any failure is a figure to report
            if self.awaited is awaited:
                self.error = f"{type(err).__name__}: {err}"[:200]

    async def _on_disconnect(self, reason: Any = "unknown") -> None:
        if not self.closing and self.dropped is None:
            self.dropped = str(reason)


class FetchFailed(Exception):
    """A fetch answered something a screen cannot use."""


# --------------------------------------------------------------------------- one worker


class FleetWorker:
    """The screens of one worker process, and the commands the orchestrator sends them."""

    def __init__(
        self, base_url: str, protocol: str, specs: list[ScreenSpec], options: FleetOptions
    ) -> None:
        self.proto = PROTOCOLS[protocol](base_url)
        self.specs = specs
        self.options = options
        self.screens: list[Screen] = []
        self.lag_max = 0.0
        self.cpu_at_arm = 0.0
        self.gc_max = 0.0
        self.gc_started = 0.0
        gc.callbacks.append(self._gc_timer)

    async def start(self) -> None:
        # WebSockets: no pool limit (each open socket holds its connection for the whole run).
        self.ws_session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=0), cookie_jar=aiohttp.DummyCookieJar()
        )
        # Fetches: one pool for all screens, keep-alive, at most http_limit connections.
        self.http_session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(
                limit=self.options.http_limit, limit_per_host=self.options.http_limit
            ),
            cookie_jar=aiohttp.DummyCookieJar(),
            timeout=aiohttp.ClientTimeout(total=self.options.request_timeout),
        )
        self.screens = [Screen(spec, self) for spec in self.specs]
        self.lag_task = asyncio.create_task(self._watch_lag())

    async def get(self, url: str, headers: dict[str, str]) -> tuple[int, bytes, Mapping[str, str]]:
        """GET through the shared pool; retry once if a kept-alive connection was closed."""
        for attempt in (1, 2):
            try:
                async with self.http_session.get(url, headers=headers) as response:
                    body = await response.read()
                    # A case-insensitive copy: aiohttp spells the header "Etag".
                    return response.status, body, response.headers.copy()
            except (aiohttp.ServerDisconnectedError, aiohttp.ClientOSError):
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def _gc_timer(self, phase: str, _info: dict[str, Any]) -> None:
        """Note the longest garbage-collection pause (a pause delays every screen here)."""
        if phase == "start":
            self.gc_started = time.perf_counter()
        else:
            self.gc_max = max(self.gc_max, time.perf_counter() - self.gc_started)

    async def _watch_lag(self) -> None:
        """Note how late the event loop wakes up: a busy client would distort the figures."""
        while True:
            start = time.monotonic()
            await asyncio.sleep(0.01)
            self.lag_max = max(self.lag_max, time.monotonic() - start - 0.01)

    # -- commands ----------------------------------------------------------------------

    async def connect(self, arg: dict[str, Any]) -> list[tuple[int, float | None, str | None]]:
        """Connect every screen, `rate` per second at most, `concurrency` at a time."""
        rate, limit = arg["rate"], asyncio.Semaphore(arg["concurrency"])
        start = time.monotonic()

        async def one(i: int, screen: Screen) -> tuple[int, float | None, str | None]:
            await asyncio.sleep(max(0.0, start + i / rate - time.monotonic()))
            async with limit:
                try:
                    return screen.spec.device_id, await screen.connect(), None
                except Exception as err:  # noqa: BLE001 - a failed connect is a figure
                    return screen.spec.device_id, None, f"{type(err).__name__}: {err}"[:200]

        return list(await asyncio.gather(*(one(i, s) for i, s in enumerate(self.screens))))

    async def prime(self, arg: dict[str, Any]) -> dict[str, Any]:
        """Every connected screen fetches its first manifest, `rate` per second at most
        (0: all at once, as after a power cut), `concurrency` at a time.

        Returns the time each took, failures, and the size of the manifests and of one
        board's content (so the bare baseline can serve bodies of the same size).
        """
        limit = asyncio.Semaphore(arg["concurrency"])
        rate, began = arg["rate"], time.monotonic()
        sizes: list[tuple[bool, int]] = []
        boards: list[int] = []

        async def one(i: int, screen: Screen) -> tuple[float | None, str | None]:
            if rate > 0:
                await asyncio.sleep(max(0.0, began + i / rate - time.monotonic()))
            async with limit:
                start = time.monotonic()
                try:
                    status, manifest, size = await screen.get_manifest()
                    if status != 200:
                        raise FetchFailed(f"first manifest answered {status}")
                    sizes.append((screen.spec.expected, size))
                    if screen.spec.expected and len(boards) < 3 and manifest.get("boards"):
                        size = await screen.get_content(manifest["boards"][0])
                        if size:
                            boards.append(size)
                    return time.monotonic() - start, None
                except Exception as err:  # noqa: BLE001 - a failed fetch is a figure
                    return None, f"{type(err).__name__}: {err}"[:200]

        ready = [s for s in self.screens if s.connected and s.dropped is None]
        done = await asyncio.gather(*(one(i, s) for i, s in enumerate(ready)))
        expected_sizes = [n for e, n in sizes if e] or [n for _e, n in sizes]
        return {
            "took": [t for t, _e in done if t is not None],
            "errors": [e for _t, e in done if e is not None],
            "manifest_bytes": expected_sizes,
            "board_bytes": boards,
        }

    async def arm(self, arg: dict[str, Any] | None) -> dict[str, Any]:
        """Start a round (or the idle window): every screen forgets the last one."""
        awaited = Awaited(**arg) if arg else None
        for screen in self.screens:
            screen.arm(awaited)
        # Thousands of long-lived clients make a full collection slow (100 ms and more at
        # 1,000 screens): collect now, before t0, and keep them out of later collections.
        gc.collect()
        gc.freeze()
        self.lag_max = self.gc_max = 0.0
        self.cpu_at_arm = time.process_time()
        return {}

    async def collect(self, arg: dict[str, Any]) -> dict[str, Any]:
        """Wait until every listening expected screen is done with the round (see
        `Screen.finished`) or the deadline, then `settle` seconds more for stray nudges;
        return what each screen saw (a `ScreenRecord` each)."""
        deadline, settle = arg["deadline"], arg["settle"]
        waiting = [s for s in self.screens if s.spec.expected and s.connected]
        while waiting and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
            waiting = [s for s in waiting if not s.finished and s.dropped is None]
        await asyncio.sleep(settle)
        records = [
            ScreenRecord(
                s.spec.device_id,
                s.spec.expected,
                s.connected and s.dropped is None,
                s.nudges,
                s.nudged_at,
                s.content_at,
                s.received_at,
                s.shown_at,
                s.error,
            )
            for s in self.screens
        ]
        labels = Counter(s.nudge_label for s in self.screens if s.nudge_label)
        running = sum(
            1 for s in self.screens if s.fetch_task is not None and not s.fetch_task.done()
        )
        return {
            "records": records,
            "labels": dict(labels),
            "still_fetching": running,
            "client_cpu_s": time.process_time() - self.cpu_at_arm,
            "loop_lag_max_s": self.lag_max,
            "gc_max_s": self.gc_max,
        }

    async def idle(self, arg: dict[str, Any]) -> dict[str, Any]:
        """Each connected screen re-checks its manifest every `period` seconds, the checks of
        all screens spread evenly over the period, until `window` seconds have passed.

        A check is a conditional GET expecting 304. Returns each check's latency and how
        the checks answered.
        """
        start, period, window, total = arg["start"], arg["period"], arg["window"], arg["total"]
        latencies: list[float] = []
        answers: Counter[str] = Counter()
        self.lag_max = 0.0
        cpu = time.process_time()

        async def one(screen: Screen) -> None:
            at = start + screen.spec.index / total * period
            while at < start + window:
                await asyncio.sleep(max(0.0, at - time.monotonic()))
                if screen.dropped is not None:
                    return
                began = time.monotonic()
                try:
                    status, _manifest, _size = await screen.get_manifest()
                    answers[str(status)] += 1
                    if status == 304:
                        latencies.append(time.monotonic() - began)
                except Exception as err:  # noqa: BLE001 - a failed check is a figure
                    answers[type(err).__name__] += 1
                at += period

        ready = [s for s in self.screens if s.connected and s.dropped is None]
        await asyncio.gather(*(one(s) for s in ready))
        # The window lasts as long as asked even if no screen is left to check.
        await asyncio.sleep(max(0.0, start + window - time.monotonic()))
        return {
            "latencies": latencies,
            "answers": dict(answers),
            "client_cpu_s": time.process_time() - cpu,
            "loop_lag_max_s": self.lag_max,
            "nudged": sum(1 for s in self.screens if s.nudges),
        }

    async def status(self, _arg: Any) -> dict[str, Any]:
        """How many sockets are open and how many dropped so far."""
        return {
            "open": sum(1 for s in self.screens if s.connected and s.dropped is None),
            "dropped": [s.dropped for s in self.screens if s.dropped is not None],
        }

    async def stop(self, _arg: Any) -> dict[str, Any]:
        """Close every socket and session; report the sockets that dropped before."""
        dropped = [s.dropped for s in self.screens if s.dropped is not None]
        log = dict(LOG_COUNTER.counts)  # before closing: what closing logs is no news
        self.lag_task.cancel()
        for s in self.screens:
            s.closing = True
        await asyncio.gather(*(s.close() for s in self.screens), return_exceptions=True)
        await self.ws_session.close()
        await self.http_session.close()
        return {"dropped": dropped, "log": log}


class LogCounter(logging.Handler):
    """Counts the client libraries' warnings and errors by message (why sockets dropped)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.counts: Counter[str] = Counter()

    def emit(self, record: logging.LogRecord) -> None:
        self.counts[record.getMessage()[:120]] += 1


LOG_COUNTER = LogCounter()


async def _serve(conn: Connection, worker: FleetWorker) -> None:
    """Answer the orchestrator's commands, one reply per command, until "stop"."""
    loop = asyncio.get_running_loop()
    await worker.start()
    conn.send(("ready", None))
    commands: dict[str, Callable[[Any], Awaitable[Any]]] = {
        "connect": worker.connect,
        "prime": worker.prime,
        "arm": worker.arm,
        "collect": worker.collect,
        "idle": worker.idle,
        "status": worker.status,
        "stop": worker.stop,
    }
    while True:
        command, arg = await loop.run_in_executor(None, conn.recv)
        try:
            reply = await commands[command](arg)
            conn.send((command, reply))
        except Exception as err:  # noqa: BLE001 - the orchestrator reports it
            conn.send(("error", f"{command}: {type(err).__name__}: {err}"))
        if command == "stop":
            return


def worker_main(
    conn: Connection, base_url: str, protocol: str, specs: list[ScreenSpec], options: FleetOptions
) -> None:
    """Entry point of a worker process."""
    raise_fd_limit()
    # Thousands of screens would print thousands of identical warnings: count them instead.
    for name in ("engineio.client", "socketio.client"):
        logger = logging.getLogger(name)
        logger.setLevel(logging.WARNING)
        logger.propagate = False
        logger.addHandler(LOG_COUNTER)
    asyncio.run(_serve(conn, FleetWorker(base_url, protocol, specs, options)))


# --------------------------------------------------------------------------- the fleet


class WorkerFailed(RuntimeError):
    """A worker process answered with an error or did not answer in time."""


class Fleet:
    """The orchestrator's handle on the worker processes that run the simulated screens."""

    def __init__(
        self,
        base_url: str,
        protocol: str,
        specs: list[ScreenSpec],
        workers: int,
        options: FleetOptions,
    ) -> None:
        ctx = mp.get_context("spawn")
        self.links: list[Connection] = []
        self.procs: list[Any] = []
        for share in (specs[i::workers] for i in range(workers)):
            if not share:
                continue
            mine, theirs = ctx.Pipe()
            proc = ctx.Process(
                target=worker_main, args=(theirs, base_url, protocol, share, options), daemon=True
            )
            proc.start()
            theirs.close()
            self.links.append(mine)
            self.procs.append(proc)
        self.ask("ready", None, timeout=120, send=False)

    @property
    def pids(self) -> list[int]:
        return [p.pid for p in self.procs if p.pid is not None]

    def send(self, command: str, arg: Any) -> None:
        """Send a command to every worker; gather the replies later with ask(send=False)."""
        for link in self.links:
            link.send((command, arg))

    def ask(self, command: str, arg: Any, timeout: float, send: bool = True) -> list[Any]:
        """Send a command to every worker and gather the replies, in worker order."""
        if send:
            self.send(command, arg)
        replies = []
        deadline = time.monotonic() + timeout
        for link in self.links:
            if not link.poll(max(0.0, deadline - time.monotonic())):
                raise WorkerFailed(f"a screen worker did not answer {command!r} in {timeout:.0f} s")
            kind, value = link.recv()
            if kind == "error":
                raise WorkerFailed(value)
            replies.append(value)
        return replies

    def close(self) -> tuple[list[str], dict[str, int]]:
        """Disconnect every screen and end the workers; return why sockets dropped before
        and the client libraries' warnings, counted by message."""
        dropped: list[str] = []
        log: Counter[str] = Counter()
        try:
            for part in self.ask("stop", None, timeout=60):
                dropped += part["dropped"]
                log.update(part["log"])
        except (WorkerFailed, OSError, EOFError):
            pass
        for proc in self.procs:
            proc.join(5)
            if proc.is_alive():
                proc.terminate()
                proc.join(5)
            if proc.is_alive():
                proc.kill()
                proc.join(5)
        for link in self.links:
            link.close()
        return dropped, dict(log)
