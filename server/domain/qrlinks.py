"""QR targets: short signed paths naming the board and the screen it was shown on.

A target is "<kind><board id>.<device id>.<mac>" where kind is `d` (a disclosure board)
or `e` (the echo-wall board, board id = the screen's area). The MAC stops people from
forging attribution or guessing internal item ids; a bad one is a plain 404.

A printed board (纸质公开栏, `printing.py`) has no screen: its code names device `PAPER`
(0, never a screen's id), signed like any other, so feedback from it is attributed to the
paper board and a forged or altered one is refused the same way.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from dataclasses import dataclass

_TOKEN_RE = re.compile(r"^([de])(\d{1,10})\.(\d{1,10})\.([A-Z2-7]{10})$")
PAPER = 0  # the "device" of a printed board: no screen, the paper 公开栏


@dataclass(frozen=True)
class QrTarget:
    kind: str  # "d" or "e"
    board_id: int
    device_id: int  # a screen's id, or PAPER

    @property
    def on_paper(self) -> bool:
        return self.device_id == PAPER


def _mac(secret: bytes, body: str) -> str:
    raw = hmac.new(secret, body.encode(), hashlib.sha256).digest()
    return base64.b32encode(raw).decode()[:10]


def make_token(secret: bytes, target: QrTarget) -> str:
    body = f"{target.kind}{target.board_id}.{target.device_id}"
    return f"{body}.{_mac(secret, body)}"


def parse_token(secret: bytes, token: str) -> QrTarget | None:
    match = _TOKEN_RE.match(token or "")
    if not match:
        return None
    kind, board, device, mac = match.groups()
    body = f"{kind}{board}.{device}"
    if not hmac.compare_digest(mac, _mac(secret, body)):
        return None
    return QrTarget(kind, int(board), int(device))


def make_url(public_url: str, secret: bytes, target: QrTarget) -> str:
    return f"{public_url.rstrip('/')}/q/{make_token(secret, target)}"
