"""Urgent-notice receipts, stored and forwarded: the player reports, the agent delivers.

The player in the hall's browser reports when an urgent notice has reached the screen
("received") and when it was on screen ("shown") by POSTing to the local server, which
knows nothing of the network. `ReceiptQueue` writes them to disk before answering (the
same atomic writes as the rest of the data directory), so a receipt the player was told
is taken survives a power cut and a restart. `Forwarder` sends what is queued to the
server's `POST /api/v1/device/receipts`: a batch the server takes, or refuses for good
(422), leaves the queue; anything else (no network, a 5xx) stays and is tried again with
a growing delay measured on the agent's injected clock, and at the next good sync at the
latest.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kiosk_client.protocol import (
    CredentialRevoked,
    DeviceClient,
    ProtocolError,
    ReceiptsRefused,
)
from kiosk_client.storage import write_atomic

log = logging.getLogger("kiosk.receipts")
STATES = ("received", "shown")
MAX_PER_POST = 500  # receipts in one POST from the player
MAX_BODY_BYTES = 128 * 1024  # one POST's body; 500 receipts need about 40 KiB
MAX_QUEUED = 10_000  # beyond this the oldest go: a bound on the file, never reached in use
SEND_BATCH = 100  # receipts in one POST to the server
MIN_DELAY = 5.0
MAX_DELAY = 300.0
MAX_NOTICE_ID = 2**63 - 1  # the server's ids are 64-bit
# RFC 3339, as the player writes it (Date.toISOString): the server takes no other form.
_AT = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})")


class InvalidReceipts(ValueError):
    """A body that is not {"receipts": [{notice, state, at}, …]} within the limits."""


@dataclass(frozen=True)
class Receipt:
    """What the player reported about one urgent notice."""

    notice: int
    state: str
    at: str  # ISO 8601 with its UTC offset, as the player wrote it

    def as_json(self) -> dict[str, Any]:
        return {"notice": self.notice, "state": self.state, "at": self.at}


def _receipt(entry: Any, where: str) -> Receipt:
    if not isinstance(entry, dict):
        raise InvalidReceipts(f"{where} is not an object")
    notice, state, at = entry.get("notice"), entry.get("state"), entry.get("at")
    if not isinstance(notice, int) or isinstance(notice, bool) or not 0 < notice <= MAX_NOTICE_ID:
        raise InvalidReceipts(f"{where}: notice must be a notice id")
    if state not in STATES:
        raise InvalidReceipts(f"{where}: state must be one of {', '.join(STATES)}")
    if not isinstance(at, str) or _AT.fullmatch(at) is None:
        raise InvalidReceipts(f"{where}: at must be an RFC 3339 date and time with its offset")
    try:
        dt.datetime.fromisoformat(at)
    except ValueError:
        raise InvalidReceipts(f"{where}: at is not a valid date and time") from None
    return Receipt(notice=notice, state=state, at=at)


def parse_receipts(body: bytes) -> list[Receipt]:
    """The receipts of a POST body, or InvalidReceipts naming the first problem.

    Keys other than notice, state and at are ignored (and not forwarded), so a newer
    player does not lose its receipts to an older agent.
    """
    try:
        data = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise InvalidReceipts("body is not JSON") from None
    if not isinstance(data, dict) or not isinstance(data.get("receipts"), list):
        raise InvalidReceipts('body must be {"receipts": [...]}')
    entries = data["receipts"]
    if len(entries) > MAX_PER_POST:
        raise InvalidReceipts(f"at most {MAX_PER_POST} receipts at a time")
    return [_receipt(entry, f"receipts[{i}]") for i, entry in enumerate(entries)]


class ReceiptQueue:
    """Receipts waiting for the server, in a file that is rewritten whole on each change.

    Each receipt gets a sequence number so that a batch in flight can be dropped exactly,
    whatever was appended meanwhile. A receipt for a notice and state already waiting is
    not queued twice (the first report stands). Thread-safe.
    """

    def __init__(self, path: Path, max_items: int = MAX_QUEUED) -> None:
        self.path = path
        self.max_items = max_items
        self._lock = threading.Lock()
        self._items: list[tuple[int, Receipt]] = []
        self._next = 1
        self._load()

    def _load(self) -> None:
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return
        try:
            data = json.loads(raw)
            self._next = int(data["next"])
            self._items = [
                (int(entry["seq"]), _receipt(entry, "queued receipt")) for entry in data["receipts"]
            ]
            self._next = max([self._next, *(seq + 1 for seq, _r in self._items)])
        except (ValueError, KeyError, TypeError) as exc:
            # Atomic writes make this unlikely; keep the file for a look, start afresh.
            aside = self.path.with_name(self.path.name + ".bad")
            log.warning("unreadable receipts queue %s (%s); moved to %s", self.path, exc, aside)
            self.path.replace(aside)
            self._items, self._next = [], 1

    def _save(self, items: list[tuple[int, Receipt]], next_seq: int) -> None:
        """Write `items` to disk, then make them the queue (an OSError changes nothing)."""
        data = {
            "next": next_seq,
            "receipts": [{"seq": seq, **r.as_json()} for seq, r in items],
        }
        write_atomic(self.path, [json.dumps(data, ensure_ascii=False).encode("utf-8")])
        self._items, self._next = items, next_seq

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)

    def append(self, receipts: Iterable[Receipt]) -> int:
        """Queue receipts durably (on disk when this returns); how many were new."""
        with self._lock:
            items, next_seq = list(self._items), self._next
            waiting = {(r.notice, r.state) for _seq, r in items}
            for receipt in receipts:
                if (receipt.notice, receipt.state) in waiting:
                    continue
                waiting.add((receipt.notice, receipt.state))
                items.append((next_seq, receipt))
                next_seq += 1
            added = next_seq - self._next
            if not added:
                return 0
            overflow = len(items) - self.max_items
            if overflow > 0:
                log.warning("receipts queue full: dropping the %d oldest", overflow)
                del items[:overflow]
            self._save(items, next_seq)
            return added

    def batch(self, limit: int) -> list[tuple[int, Receipt]]:
        """The oldest `limit` receipts with their sequence numbers (they stay queued)."""
        with self._lock:
            return self._items[:limit]

    def drop(self, seqs: Iterable[int]) -> None:
        """Remove receipts by sequence number (once the server has answered for them)."""
        gone = set(seqs)
        with self._lock:
            kept = [(seq, r) for seq, r in self._items if seq not in gone]
            if len(kept) != len(self._items):
                self._save(kept, self._next)

    def pending(self) -> list[Receipt]:
        with self._lock:
            return [r for _seq, r in self._items]


class Forwarder:
    """Sends queued receipts to the server; on failure, waits longer before each retry.

    `run_pending` does the work when it is due (tests call it with a fixed clock);
    `start` runs it on a thread that sleeps on an event until then. `kick` makes it due
    at once: new receipts, and every sync that reached the server.
    """

    def __init__(
        self,
        queue: ReceiptQueue,
        client: DeviceClient,
        clock: Callable[[], dt.datetime],
        min_delay: float = MIN_DELAY,
        max_delay: float = MAX_DELAY,
        batch: int = SEND_BATCH,
    ) -> None:
        self.queue = queue
        self.client = client
        self.clock = clock
        self.min_delay = min_delay
        self.max_delay = max_delay
        self.batch_size = batch
        self.sent = 0
        self.refused = 0
        self.next_attempt: dt.datetime | None = None  # None: as soon as there is something
        self._delay = min_delay
        self._revoked = False
        self._failing = False
        self._send_lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="receipts", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout)

    def kick(self) -> None:
        """Try now rather than at the end of the current delay."""
        self.next_attempt = None
        self._wake.set()

    def due(self) -> bool:
        if self._revoked or not len(self.queue):
            return False
        return self.next_attempt is None or self.clock() >= self.next_attempt

    def run_pending(self) -> bool:
        """Send what is queued if an attempt is due; True when the queue was emptied."""
        return self.flush() if self.due() else False

    def flush(self) -> bool:
        """Send every queued receipt now, batch by batch; True when none is left.

        On a failure worth retrying the rest stays queued and the next attempt is set a
        delay later (doubling from `min_delay` up to `max_delay`). A batch the server
        refuses (422) is sent again one receipt at a time, so that one receipt it will
        never take does not cost the others; a single refused receipt is dropped.
        """
        size = self.batch_size
        with self._send_lock:
            while not self._revoked:
                batch = self.queue.batch(size)
                if not batch:
                    self._recovered()
                    return True
                seqs = [seq for seq, _r in batch]
                try:
                    self.client.send_receipts([r.as_json() for _seq, r in batch])
                except ReceiptsRefused as exc:
                    if len(batch) > 1:
                        log.warning("server refused a batch of receipts (%s); sending singly", exc)
                        size = 1
                        continue
                    log.warning("server refused receipt %s (%s); dropping it", batch[0][1], exc)
                    self.queue.drop(seqs)
                    self.refused += 1
                except CredentialRevoked as exc:
                    log.warning("cannot send receipts, credential revoked (%s); keeping them", exc)
                    self._revoked = True
                except ProtocolError as exc:
                    self._back_off(exc)
                    return False
                else:
                    self.queue.drop(seqs)
                    self.sent += len(batch)
                    log.info("sent %d receipt(s) to the server", len(batch))
            return False

    def _recovered(self) -> None:
        if self._failing:
            log.info("receipts delivered again after failures")
        self._failing = False
        self._delay = self.min_delay
        self.next_attempt = None

    def _back_off(self, exc: Exception) -> None:
        self.next_attempt = self.clock() + dt.timedelta(seconds=self._delay)
        level = logging.DEBUG if self._failing else logging.WARNING
        log.log(
            level,
            "cannot send %d receipts (%s); keeping them, next try in %.0f s",
            len(self.queue),
            exc,
            self._delay,
        )
        self._failing = True
        self._delay = min(self._delay * 2, self.max_delay)

    def _wait_seconds(self) -> float | None:
        """How long the thread may sleep: until the next attempt, or until kicked."""
        if self._revoked or not len(self.queue):
            return None
        if self.next_attempt is None:
            return 0.0
        return max(0.0, (self.next_attempt - self.clock()).total_seconds())

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self._wait_seconds())
            self._wake.clear()
            if self._stop.is_set():
                return
            try:
                self.run_pending()
            except Exception as exc:
                # A full disk or a bug: keep the queue, try again after a delay.
                log.exception("forwarding receipts failed")
                self._back_off(exc)
