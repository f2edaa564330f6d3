"""The edge of printed boards: the admin page's 打印 A4 / 打印 A3 and the API's
`GET /api/v1/disclosures/{id}/print` both answer with this response (domain/printing.py
decides what may be printed and makes the PDF)."""

from __future__ import annotations

from typing import Literal
from urllib.parse import quote

from flask import Response, current_app

from server.blobs import BlobStore
from server.clock import now
from server.domain import printing
from server.extensions import db_session
from server.models import User


def content_disposition(filename: str, fallback: str, disposition: Literal["inline", "attachment"]) -> str:
    """A Content-Disposition naming `filename` (RFC 6266 / RFC 5987 `filename*`, UTF-8),
    with an ASCII `filename` for clients that read only that."""
    return f"{disposition}; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


def board_response(
    user: User, disclosure_id: int, size: str, disposition: Literal["inline", "attachment"] = "attachment"
) -> Response:
    """The printed board of `disclosure_id` on `size` paper as a PDF response."""
    config = current_app.config
    printed = printing.board_pdf(
        db_session(), user, disclosure_id, size, now(),
        public_url=config["PUBLIC_URL"], secret=config["SECRET_KEY"].encode(), timezone=config["TIMEZONE"],
        blobs=BlobStore.of(config),
    )
    response = Response(printed.pdf, mimetype="application/pdf")
    response.headers["Content-Disposition"] = content_disposition(
        printed.filename, f"disclosure-{disclosure_id}-{size}.pdf", disposition
    )
    # Internal items print too: never kept by a shared cache.
    response.headers["Cache-Control"] = "private, no-store"
    return response
