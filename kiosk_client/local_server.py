"""The local player on 127.0.0.1: the page, the cached manifest, assets and boards, receipts.

The screen's browser talks only to this server, never to the central one, which is why
the screen keeps playing when the network or the server is gone. It serves whatever
snapshot the syncer currently holds: an asset is found by its path in that manifest and
a board by its sha256 (at the same path as on the server, so the player's `href` works
unchanged), both read from the content-addressed cache. The player's urgent-notice
receipts are POSTed here and handed to the agent's durable queue (`receipts`), which
forwards them when the server can be reached. The standard library's threaded HTTP
server is enough for one browser on the same machine.
"""

from __future__ import annotations

import html
import json
import logging
import os
import threading
from collections.abc import Callable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import unquote, urlsplit

import signage_layouts
from kiosk_client.protocol import AUDIO_PATH, BOARDS_PATH, FILES_PATH, RECEIPTS_PATH
from kiosk_client.receipts import MAX_BODY_BYTES, InvalidReceipts, Receipt, parse_receipts
from kiosk_client.storage import AssetCache, is_sha256
from kiosk_client.sync import Snapshot

log = logging.getLogger("kiosk.http")
POLL_SECONDS = 5
# A board's bytes never change under its sha256.
IMMUTABLE = "private, max-age=31536000, immutable"
DRAIN_BYTES = 1024 * 1024
CONTENT_TYPES = {
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".woff2": "font/woff2",
    ".json": "application/json",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".jpg": "image/jpeg",
}
# Same policy as the server's player page: everything from this origin, no inline script.
CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
    "script-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'"
)

WAITING_PAGE = """<!doctype html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta http-equiv="refresh" content="5">
<title>正在连接服务器 · 阳光公开屏</title>
<style>
html, body {{ height: 100%; margin: 0; }}
body {{ display: flex; flex-direction: column; align-items: center; justify-content: center;
  background: #8c1c13; color: #fff; font-family: "Noto Sans CJK SC", "Noto Sans SC", sans-serif; }}
h1 {{ font-size: 6vw; margin: 0 0 2vw; }}
p {{ font-size: 2.2vw; margin: 0.5vw; opacity: 0.9; }}
</style>
</head>
<body>
<h1>正在连接服务器…</h1>
<p>{label}</p>
<p>首次同步完成后，这里会自动显示公开内容。</p>
</body>
</html>
"""


def content_type(path: str) -> str:
    return CONTENT_TYPES.get(PurePosixPath(path).suffix.lower(), "application/octet-stream")


def etag_matches(header: str | None, etag: str) -> bool:
    if not header:
        return False
    candidates = {part.strip().removeprefix("W/") for part in header.split(",")}
    return "*" in candidates or etag in candidates


UNSATISFIABLE = (-1, -1)


def byte_range(header: str | None, size: int) -> tuple[int, int] | None:
    """The one byte range a request asks for (a video seeks with these), as (first, last);
    None for the whole file (no header, or one this server does not take: several ranges
    or another unit), UNSATISFIABLE for a range beyond the file."""
    if not header or not header.startswith("bytes=") or "," in header:
        return None
    first, dash, last = header[6:].strip().partition("-")
    if not dash or not (first.isdigit() or last.isdigit()) or (first and not first.isdigit()) or (last and not last.isdigit()):
        return None
    if not first:  # the last N bytes
        length = int(last)
        return (max(size - length, 0), size - 1) if length > 0 and size > 0 else UNSATISFIABLE
    start = int(first)
    if start >= size:
        return UNSATISFIABLE
    end = min(int(last), size - 1) if last else size - 1
    return (start, end) if end >= start else None


class PlayerServer(ThreadingHTTPServer):
    """An HTTP server bound to the loopback interface, serving the current snapshot.

    `take_receipts` stores the player's receipts durably before returning (an OSError
    makes the POST fail, and the player keeps them); without it receipts are refused.
    """

    daemon_threads = True

    def __init__(
        self,
        port: int,
        current: Callable[[], Snapshot | None],
        cache: AssetCache,
        screen_label: str,
        host: str = "127.0.0.1",
        take_receipts: Callable[[list[Receipt]], object] | None = None,
    ) -> None:
        super().__init__((host, port), PlayerHandler)
        self.current = current
        self.cache = cache
        self.screen_label = screen_label
        self.take_receipts = take_receipts
        bound = self.server_address[1]
        # Only our own names: a page elsewhere that rebinds its DNS to 127.0.0.1 gets nothing.
        self.allowed_hosts = {f"127.0.0.1:{bound}", f"localhost:{bound}"}
        self.allowed_origins = {f"http://{name}" for name in self.allowed_hosts}
        self._thread = threading.Thread(target=self.serve_forever, name="http", daemon=True)

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self.shutdown()
        self.server_close()

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A browser that hangs up mid-response is routine; anything else is worth a line.
        log.debug("request from %s failed", client_address, exc_info=True)


class PlayerHandler(BaseHTTPRequestHandler):
    server: PlayerServer
    server_version = "sunwall-kiosk"
    # A client that promises a body and never sends it does not hold a thread for good.
    timeout = 30

    def do_GET(self) -> None:
        self._handle(send_body=True)

    def do_HEAD(self) -> None:
        self._handle(send_body=False)

    def do_POST(self) -> None:
        if not self._same_origin():
            self._send(HTTPStatus.FORBIDDEN, b"forbidden\n", "text/plain; charset=utf-8", True)
            return
        if urlsplit(self.path).path != RECEIPTS_PATH or self.server.take_receipts is None:
            self._send(HTTPStatus.NOT_FOUND, b"not found\n", "text/plain; charset=utf-8", True)
            return
        self._receipts()

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s %s", self.address_string(), format % args)

    def _same_origin(self) -> bool:
        """Whether a write comes from our own page: our Host, and no other site's Origin."""
        if self.headers.get("Host") not in self.server.allowed_hosts:
            return False
        origin = self.headers.get("Origin")
        if origin is not None and origin not in self.server.allowed_origins:
            return False
        return self.headers.get("Sec-Fetch-Site", "same-origin") in ("same-origin", "none")

    def _handle(self, send_body: bool) -> None:
        if self.headers.get("Host") not in self.server.allowed_hosts:
            self._send(HTTPStatus.FORBIDDEN, b"forbidden\n", "text/plain; charset=utf-8", send_body)
            return
        path = urlsplit(self.path).path
        snapshot = self.server.current()
        if path == "/":
            self._page(snapshot, send_body)
        elif path == "/manifest.json":
            self._manifest(snapshot, send_body)
        elif path.startswith("/static/"):
            self._asset(snapshot, unquote(path.removeprefix("/static/")), send_body)
        elif path.startswith(BOARDS_PATH):
            allowed = snapshot.board_contents if snapshot is not None else frozenset()
            self._content(allowed, path.removeprefix(BOARDS_PATH), "text/html; charset=utf-8", send_body)
        elif path.startswith(AUDIO_PATH):
            allowed = snapshot.audio_contents if snapshot is not None else frozenset()
            self._content(allowed, path.removeprefix(AUDIO_PATH), "audio/ogg", send_body)
        elif path.startswith(FILES_PATH):
            files = snapshot.files if snapshot is not None else {}
            sha256 = path.removeprefix(FILES_PATH)
            listed = files.get(sha256)
            self._content(frozenset(files), sha256, listed.type if listed else "", send_body)
        elif path == "/favicon.ico":
            # Browsers ask for it on their own; an empty answer keeps their console clean.
            self._send(HTTPStatus.NO_CONTENT, b"", None, False, {"Cache-Control": "max-age=86400"})
        else:
            self._send(HTTPStatus.NOT_FOUND, b"not found\n", "text/plain; charset=utf-8", send_body)

    def _page(self, snapshot: Snapshot | None, send_body: bool) -> None:
        if snapshot is None:
            body = WAITING_PAGE.format(label=html.escape(self.server.screen_label))
        else:
            body = signage_layouts.render_player(
                snapshot.layout,
                title=snapshot.site_name,
                static_base="/static/",
                config={
                    "manifestUrl": "/manifest.json",
                    "token": None,
                    "cacheKey": "agent",
                    "socket": None,
                    "pollSeconds": POLL_SECONDS,
                    "receiptsUrl": RECEIPTS_PATH,
                },
            )
        self._send(
            HTTPStatus.OK,
            body.encode("utf-8"),
            "text/html; charset=utf-8",
            send_body,
            {"Cache-Control": "no-store", "Content-Security-Policy": CSP},
        )

    def _manifest(self, snapshot: Snapshot | None, send_body: bool) -> None:
        if snapshot is None:
            self._send(
                HTTPStatus.SERVICE_UNAVAILABLE,
                b'{"message": "not synced yet"}',
                "application/json",
                send_body,
                {"Cache-Control": "no-store"},
            )
            return
        headers = {"ETag": snapshot.etag, "Cache-Control": "no-cache"}
        if etag_matches(self.headers.get("If-None-Match"), snapshot.etag):
            self._send(HTTPStatus.NOT_MODIFIED, b"", None, False, headers)
            return
        self._send(HTTPStatus.OK, snapshot.body, "application/json", send_body, headers)

    def _asset(self, snapshot: Snapshot | None, path: str, send_body: bool) -> None:
        asset = snapshot.assets.get(path) if snapshot is not None else None
        if asset is None:
            self._send(HTTPStatus.NOT_FOUND, b"not found\n", "text/plain; charset=utf-8", send_body)
            return
        etag = f'"{asset.sha256}"'
        headers = {"ETag": etag, "Cache-Control": "no-cache"}
        if etag_matches(self.headers.get("If-None-Match"), etag):
            self._send(HTTPStatus.NOT_MODIFIED, b"", None, False, headers)
            return
        self._send_file(asset.sha256, content_type(path), send_body, headers)

    def _content(self, allowed: frozenset[str], sha256: str, ctype: str, send_body: bool) -> None:
        """A board's HTML or its audio, by sha256: only those of the snapshot playing now
        (`allowed`), though older ones may still be cached."""
        if not is_sha256(sha256) or sha256 not in allowed:
            self._send(HTTPStatus.NOT_FOUND, b"not found\n", "text/plain; charset=utf-8", send_body)
            return
        etag = f'"{sha256}"'
        headers = {"ETag": etag, "Cache-Control": IMMUTABLE}
        if etag_matches(self.headers.get("If-None-Match"), etag):
            self._send(HTTPStatus.NOT_MODIFIED, b"", None, False, headers)
            return
        self._send_file(sha256, ctype, send_body, headers)

    def _send_file(self, sha256: str, ctype: str, send_body: bool, headers: dict[str, str]) -> None:
        try:
            fh = self.server.cache.path(sha256).open("rb")
        except FileNotFoundError:
            self._send(
                HTTPStatus.NOT_FOUND, b"not cached\n", "text/plain; charset=utf-8", send_body
            )
            return
        with fh:
            size = os.fstat(fh.fileno()).st_size
            span = byte_range(self.headers.get("Range"), size)
            if span == UNSATISFIABLE:
                self._send(
                    HTTPStatus.REQUESTED_RANGE_NOT_SATISFIABLE, b"", None, False, {"Content-Range": f"bytes */{size}"}
                )
                return
            start, end = span if span is not None else (0, size - 1)
            self.send_response(HTTPStatus.PARTIAL_CONTENT if span is not None else HTTPStatus.OK)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(end - start + 1))
            self.send_header("Accept-Ranges", "bytes")
            if span is not None:
                self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
            self.send_header("X-Content-Type-Options", "nosniff")
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            if send_body:
                fh.seek(start)
                remaining = end - start + 1
                while remaining > 0:
                    chunk = fh.read(min(64 * 1024, remaining))
                    if not chunk:
                        break
                    self.wfile.write(chunk)
                    remaining -= len(chunk)

    def _receipts(self) -> None:
        """POST {"receipts": [...]}: 200 once they are on disk, 4xx for what is not."""
        ctype = self.headers.get("Content-Type", "").split(";")[0].strip().lower()
        if ctype != "application/json":
            self._json(HTTPStatus.UNSUPPORTED_MEDIA_TYPE, "body must be application/json")
            return
        if "Transfer-Encoding" in self.headers:
            self._json(HTTPStatus.LENGTH_REQUIRED, "send a Content-Length")
            return
        try:
            length = int(self.headers.get("Content-Length", ""))
        except ValueError:
            self._json(HTTPStatus.LENGTH_REQUIRED, "send a Content-Length")
            return
        if length < 0 or length > MAX_BODY_BYTES:
            # Read a moderate excess first: closing on unread bytes resets the connection,
            # and the client would never see the answer.
            if 0 < length <= DRAIN_BYTES:
                self.rfile.read(length)
            self._json(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, f"at most {MAX_BODY_BYTES} bytes")
            return
        body = self.rfile.read(length)
        try:
            receipts = parse_receipts(body)
        except InvalidReceipts as exc:
            self._json(HTTPStatus.UNPROCESSABLE_ENTITY, str(exc), code="validation_failed")
            return
        assert self.server.take_receipts is not None
        try:
            self.server.take_receipts(receipts)
        except OSError as exc:
            log.error("cannot store %d receipts: %s", len(receipts), exc)
            self._json(HTTPStatus.SERVICE_UNAVAILABLE, "cannot store receipts now")
            return
        self._send(
            HTTPStatus.OK,
            json.dumps({"accepted": len(receipts)}).encode(),
            "application/json",
            True,
            {"Cache-Control": "no-store"},
        )

    def _json(self, status: HTTPStatus, message: str, code: str = "bad_request") -> None:
        body = json.dumps({"code": code, "message": message}, ensure_ascii=False).encode("utf-8")
        self._send(status, body, "application/json", True, {"Cache-Control": "no-store"})

    def _send(
        self,
        status: HTTPStatus,
        body: bytes,
        ctype: str | None,
        send_body: bool,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.send_response(status)
        if ctype is not None:
            self.send_header("Content-Type", ctype)
        if status not in (HTTPStatus.NOT_MODIFIED, HTTPStatus.NO_CONTENT):
            self.send_header("Content-Length", str(len(body)))
        self.send_header("X-Content-Type-Options", "nosniff")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if send_body:
            self.wfile.write(body)
