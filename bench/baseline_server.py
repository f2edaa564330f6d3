"""A bare Flask-SocketIO server: the baseline bench/push_latency.py compares Sunwall with.

It speaks just enough of the device protocol for the bench's screens, with none of
Sunwall's work behind it: any bearer token is accepted, the manifest is a fixed JSON
document (padded to the size of Sunwall's, `BENCH_MANIFEST_BYTES`) built once per
version and answered with an ETag and 304, and board content is fixed HTML of
`BENCH_BOARD_BYTES`. Screens say which group they belong to in their Socket.IO auth
({"token": ..., "group": "village"}) and the server puts them in that room; over HTTP the
group is the part of the token before the first dot ("village.17").

`POST /bench/publish` with {"board_id": ..., "title": ...} adds a board to the village's
manifest, bumps its version and emits "manifest_changed" to the village room, inside the
request, as Sunwall emits after its commit.

Urgent notices, township-wide: `POST /bench/urgent` with {"board_id": "u5", "title": ...,
"action": "approve"} adds an urgent board (listed in the manifest's `urgent`) to every
group's manifest and nudges every group's room; {"board_id": "u5", "action": "cancel"}
takes it off again and nudges them. Screens send their receipts as Sunwall's do (event
"receipt" on /device, {"receipts": [{"notice", "state", "at"}]}, acknowledged with
{"ok": true, "accepted": n}); the server only keeps, in memory, which screen (the number
after the dot of its token) reported what, and `GET /bench/urgent/<notice>/delivery`
answers that, in the fields the bench reads from Sunwall's delivery report.

Run under gunicorn like Sunwall (the bench does this):

    gunicorn -w 1 -k geventwebsocket.gunicorn.workers.GeventWebSocketWorker \\
        --chdir bench baseline_server:app

or on its own: `BENCH_ASYNC_MODE=gevent python bench/baseline_server.py --port 5001`.
"""

from __future__ import annotations

import os
import sys

ASYNC_MODE = os.environ.get("BENCH_ASYNC_MODE", "gevent")

if __name__ == "__main__" and ASYNC_MODE == "gevent":
    # Standalone under gevent: patch before Flask, Socket.IO or threading are imported.
    from gevent import monkey

    monkey.patch_all()

import argparse  # noqa: E402
import datetime as dt  # noqa: E402
import hashlib  # noqa: E402
import json  # noqa: E402
import threading  # noqa: E402
from typing import Any  # noqa: E402

from flask import Flask, Response, request  # noqa: E402
from flask_socketio import SocketIO, join_room  # noqa: E402

NAMESPACE = "/device"
GROUPS = ("village", "elsewhere")
MANIFEST_BYTES = int(os.environ.get("BENCH_MANIFEST_BYTES", "8000"))
BOARD_BYTES = int(os.environ.get("BENCH_BOARD_BYTES", "3000"))
FIRST_BOARDS = 7  # about what a village screen of the demo township shows
RECEIPT_STATES = ("received", "shown")


def _pad_html(title: str, size: int) -> str:
    """A board's HTML of about `size` bytes (UTF-8)."""
    head = f'<article class="board"><h1>{title}</h1><p>'
    tail = "</p></article>"
    filler = size - len((head + tail).encode())
    # "公开" is 6 bytes in UTF-8: text like a notice's, not a run of one letter.
    return head + "公开" * max(0, filler // 6) + "x" * max(0, filler % 6) + tail


class Manifests:
    """The manifest of each group, its ETag, and the board pages it points at."""

    def __init__(self, manifest_bytes: int, board_bytes: int) -> None:
        self.lock = threading.Lock()
        self.board_bytes = board_bytes
        self.revision = 1
        self.pages: dict[str, str] = {}
        self.boards: dict[str, list[dict[str, Any]]] = {g: [] for g in GROUPS}
        for group in GROUPS:
            for n in range(1, FIRST_BOARDS + 1):
                self._add(group, f"d{group[0]}{n}", f"{group}的示例公开事项第{n}号")
        self.padding = ""
        self.cache: dict[str, tuple[str, bytes]] = {}
        self._rebuild()
        shortfall = manifest_bytes - len(self.cache["village"][1])
        self.padding = "公开" * max(0, shortfall // 6) + "x" * max(0, shortfall % 6)
        self._rebuild()

    def _add(self, group: str, board_id: str, title: str, kind: str = "notice") -> None:
        html = _pad_html(title, self.board_bytes)
        sha = hashlib.sha256(html.encode()).hexdigest()
        self.pages[sha] = html
        self.boards[group].append(
            {
                "id": board_id,
                "kind": kind,
                "title": title,
                "content": sha,
                "href": f"/api/v1/device/boards/{sha}",
                "seconds": 15,
                "from": None,
                "until": None,
                "qr_url": None,
            }
        )

    def _rebuild(self) -> None:
        for group in GROUPS:
            body: dict[str, Any] = {
                "site": {"id": 1, "name": f"{group} hall"},
                "sources": {"1": self.revision},
                "boards": self.boards[group],
                "loops": {
                    "default": [
                        {"board": b["id"], "seconds": None}
                        for b in self.boards[group]
                        if b["kind"] != "urgent"
                    ]
                },
                "urgent": [b["id"] for b in self.boards[group] if b["kind"] == "urgent"],
                "padding": self.padding,
            }
            version = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()
            body = {
                "version": version,
                "generated_at": dt.datetime.now(dt.UTC).isoformat(),
                **body,
            }
            data = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
            self.cache[group] = (f'"{version}"', data)

    def publish(self, group: str, board_id: str, title: str) -> int:
        """Add a board to a group's manifest; return the new revision."""
        with self.lock:
            self._add(group, board_id, title)
            self.revision += 1
            self._rebuild()
            return self.revision

    def urgent(self, board_id: str, title: str, on: bool) -> int:
        """Put an urgent board on every group's manifest (`on`) or take it off; return the
        new revision."""
        with self.lock:
            for group in GROUPS:
                self.boards[group] = [b for b in self.boards[group] if b["id"] != board_id]
                if on:
                    self._add(group, board_id, title, kind="urgent")
            self.revision += 1
            self._rebuild()
            return self.revision

    def manifest(self, group: str) -> tuple[str, bytes]:
        return self.cache[group]


class Receipts:
    """Which screen reported which urgent notice received and shown (and the first time it
    gave), in memory only.

    A screen is the number after the dot of the token it connected with ("village.17": 17).
    "shown" implies "received", as on Sunwall.
    """

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.screens: dict[str, int | None] = {}  # socket id -> screen number
        self.seen: dict[tuple[int, str], dict[int, str]] = {}  # (notice, state) -> screen: at

    def connected(self, sid: str, token: str) -> None:
        number = token.rpartition(".")[2]
        with self.lock:
            self.screens[sid] = int(number) if number.isdigit() else None

    def disconnected(self, sid: str) -> None:
        with self.lock:
            self.screens.pop(sid, None)

    def record(self, sid: str, data: Any) -> dict[str, Any]:
        """Check a `receipt` payload's shape, note it, and answer the acknowledgement."""
        items = data.get("receipts") if isinstance(data, dict) else None
        if not isinstance(items, list) or not items:
            return {"ok": False, "error": "receipts must be a list", "field": "receipts"}
        for n, item in enumerate(items):
            if not (
                isinstance(item, dict)
                and isinstance(item.get("notice"), int)
                and item.get("state") in RECEIPT_STATES
                and isinstance(item.get("at"), str)
            ):
                return {"ok": False, "error": "malformed receipt", "field": f"receipts.{n}"}
        with self.lock:
            screen = self.screens.get(sid)
            if screen is None:
                return {"ok": False, "error": "unauthorized"}
            for item in items:
                for state in RECEIPT_STATES[: RECEIPT_STATES.index(item["state"]) + 1]:
                    self.seen.setdefault((item["notice"], state), {}).setdefault(screen, item["at"])
        return {"ok": True, "accepted": len(items)}

    def delivery(self, notice: int) -> dict[str, Any]:
        """The fields of Sunwall's delivery report the bench reads; the recipients are the
        screens connected now."""
        with self.lock:
            recipients = sorted({s for s in self.screens.values() if s is not None})
            received = dict(self.seen.get((notice, "received"), {}))
            shown = dict(self.seen.get((notice, "shown"), {}))
        return {
            "notice": notice,
            "expected": len(recipients),
            "received": len(received),
            "shown": len(shown),
            "summary": f"received {len(received)} / {len(recipients)}; shown {len(shown)}",
            "screens": [
                {
                    "id": s,
                    "received_at": received.get(s),
                    "shown_at": shown.get(s),
                }
                for s in recipients
            ],
        }


app = Flask(__name__)
socketio = SocketIO(app, async_mode=ASYNC_MODE, ping_interval=25, ping_timeout=20)
manifests = Manifests(MANIFEST_BYTES, BOARD_BYTES)
receipts = Receipts()


def _token() -> str | None:
    header = request.headers.get("Authorization", "")
    if not header.startswith("Bearer "):
        return None
    return header[7:].strip() or None


def _group(token: str) -> str:
    group = token.split(".", 1)[0]
    return group if group in GROUPS else "elsewhere"


@app.get("/healthz")
def healthz() -> Response:
    return Response("ok", mimetype="text/plain")


@app.get("/api/v1/device/manifest")
def manifest() -> Response:
    token = _token()
    if token is None:
        return Response('{"code":"unauthenticated"}', status=401, mimetype="application/json")
    etag, data = manifests.manifest(_group(token))
    headers = {"ETag": etag, "Cache-Control": "no-cache"}
    if etag in request.headers.get("If-None-Match", ""):
        return Response(status=304, headers=headers)
    return Response(data, status=200, headers=headers, mimetype="application/json")


@app.get("/api/v1/device/boards/<sha256>")
def board(sha256: str) -> Response:
    if _token() is None:
        return Response('{"code":"unauthenticated"}', status=401, mimetype="application/json")
    page = manifests.pages.get(sha256)
    if page is None:
        return Response('{"code":"not_found"}', status=404, mimetype="application/json")
    headers = {"ETag": f'"{sha256}"', "Cache-Control": "private, max-age=31536000, immutable"}
    return Response(page, status=200, headers=headers, mimetype="text/html")


@app.post("/bench/publish")
def publish() -> Response:
    data = request.get_json(force=True)
    group = data.get("group", "village")
    revision = manifests.publish(group, str(data["board_id"]), str(data["title"]))
    payload = {"reason": "loop_changed", "area": 1, "revision": revision}
    socketio.emit("manifest_changed", payload, to=group, namespace=NAMESPACE)
    return Response(
        json.dumps({"status": "approved", "revision": revision}), mimetype="application/json"
    )


@app.post("/bench/urgent")
def urgent() -> Response:
    """Approve (or cancel) a township-wide urgent notice: every group's manifest changes
    and every group's room is nudged."""
    data = request.get_json(force=True)
    on = data.get("action", "approve") == "approve"
    revision = manifests.urgent(str(data["board_id"]), str(data.get("title", "")), on)
    payload = {"reason": "loop_changed", "area": 1, "revision": revision}
    for group in GROUPS:
        socketio.emit("manifest_changed", payload, to=group, namespace=NAMESPACE)
    return Response(
        json.dumps({"status": "approved" if on else "cancelled", "revision": revision}),
        mimetype="application/json",
    )


@app.get("/bench/urgent/<int:notice>/delivery")
def urgent_delivery(notice: int) -> Response:
    return Response(json.dumps(receipts.delivery(notice)), mimetype="application/json")


@socketio.on("connect", namespace=NAMESPACE)
def on_connect(auth: Any = None) -> None:
    token = auth.get("token") if isinstance(auth, dict) else None
    if not isinstance(token, str) or not token:
        raise ConnectionRefusedError("unauthorized")
    group = auth.get("group") if isinstance(auth, dict) else None
    join_room(group if group in GROUPS else "elsewhere")
    receipts.connected(_sid(), token)


@socketio.on("disconnect", namespace=NAMESPACE)
def on_disconnect(*_args: Any) -> None:
    receipts.disconnected(_sid())


@socketio.on("receipt", namespace=NAMESPACE)
def on_receipt(data: Any = None) -> dict[str, Any]:
    """Urgent-notice receipts: noted in memory and acknowledged, nothing else."""
    return receipts.record(_sid(), data)


def _sid() -> str:
    return str(request.sid)  # type: ignore[attr-defined]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="The push bench's bare Flask-SocketIO server.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5001)
    args = parser.parse_args(argv)
    socketio.run(app, host=args.host, port=args.port, allow_unsafe_werkzeug=True, log_output=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
