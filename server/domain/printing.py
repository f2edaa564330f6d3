"""Printed boards (纸质公开栏): an approved disclosure as an A4 or A3 PDF in its area's theme.

Many villages still pin notices to a paper board. A printed board carries the approved
version (never a later draft), the area's theme (colours, header wording, emblem), and a
QR code signed for the paper board (`qrlinks.PAPER`): it opens the item's phone page,
and feedback from it is attributed to no screen. An internal item prints marked 党内公开;
its code leads to the same page as a screen's, which never shows internal content.

Only items the user can see (404 otherwise, like every lookup), that are approved and not
past their posting period, are printed. WeasyPrint renders the HTML of
`signage_layouts.printing`; it fetches nothing but the data URLs the page itself holds.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from server.blobs import BlobStore
from server.domain import attachments, disclosures, manifests, qrlinks, themes
from server.domain.errors import Conflict, ValidationFailed
from server.models import Disclosure, DisclosureStatus, DisclosureVersion, User
from signage_layouts import printing

SIZES = tuple(printing.SHEETS)  # ("A4", "A3")


@dataclass(frozen=True)
class PrintedBoard:
    pdf: bytes
    filename: str  # e.g. 甲村十月财务公开（A4）.pdf


def paper_link(public_url: str, secret: bytes, disclosure: Disclosure) -> str:
    """The link a printed board's QR code holds: the item's phone page, signed for paper."""
    return qrlinks.make_url(public_url, secret, qrlinks.QrTarget("d", disclosure.id, qrlinks.PAPER))


def _board_data(disclosure: Disclosure, version: DisclosureVersion, zone: str, now: dt.datetime) -> dict[str, Any]:
    """The board's data as screens get it (manifests.disclosure_data), with the print date.
    Printed during its internal phase (先党内), an item is printed as internal screens show
    it, marked 党内公开, for the party members' room only."""
    inside = disclosures.internal_now(disclosure, now)
    data = manifests.disclosure_data(disclosure, version, inside)
    if inside:
        data["scope"] = "internal"
    return {**data, "timezone": zone, "printed_on": now.isoformat()}


def printable(session: Session, user: User, disclosure_id: int, now: dt.datetime) -> Disclosure:
    """The disclosure if `user` may print it now: in their areas (else NotFound), approved,
    and still within or before its posting period (else Conflict)."""
    disclosure = disclosures.get(session, user, disclosure_id)
    if disclosure.status is not DisclosureStatus.approved or disclosure.published_version is None:
        raise Conflict("只有审核通过、已发布的事项才能打印张贴。", field="status")
    if disclosures.posting_phase(disclosure, now) is disclosures.Phase.ended:
        raise Conflict("这项内容的公示期已经结束，不能再打印张贴。", field="valid_to")
    return disclosure


def _no_fetching(url: str, *args: Any, **kwargs: Any) -> dict[str, Any]:
    """WeasyPrint's URL fetcher: the page holds its images as data URLs and fetches nothing
    else (no file, no network)."""
    from weasyprint.urls import default_url_fetcher

    if url.startswith("data:"):
        return default_url_fetcher(url, *args, **kwargs)
    raise ValueError(f"printed boards fetch nothing: {url[:60]}")


def board_pdf(
    session: Session, user: User, disclosure_id: int, size: str, now: dt.datetime,
    *, public_url: str, secret: bytes, timezone: str, blobs: BlobStore | None = None,
) -> PrintedBoard:
    """The approved version of a disclosure as a printable PDF on `size` paper (A4 or A3)."""
    disclosure = printable(session, user, disclosure_id, now)
    if size not in SIZES:
        raise ValidationFailed("纸张大小只能是 A4 或 A3。", field="size", allowed=list(SIZES))
    version = disclosure.published_version
    assert version is not None  # printable() checked
    theme = themes.effective(session, disclosure.area)
    data = _board_data(disclosure, version, timezone, now)
    if blobs is not None:  # its photos and PDF pages, drawn in (the page fetches nothing)
        data["file_src"] = attachments.data_urls(data["media"], blobs)
    pdf = render_pdf(
        data, size, theme.as_manifest(),
        paper_link(public_url, secret, disclosure),
    )
    return PrintedBoard(pdf=pdf, filename=f"{_safe_name(version.title)}（{size}）.pdf")


def render_pdf(data: dict[str, Any], size: str, theme: dict[str, Any], qr_url: str) -> bytes:
    """A board's data (as `_board_data` makes it) as a PDF, with no check of what may be
    printed: callers decide (`board_pdf` above; the archive prints archived versions)."""
    html = printing.render_print_board(data, size, theme, qr_url)
    from weasyprint import HTML  # imported on first use: heavy, and only the server prints

    return HTML(string=html, base_url=str(printing.PRINT_DIR), url_fetcher=_data_only()).write_pdf()


def _data_only() -> Any:
    """The URL fetcher for printed boards: data URLs only. Newer WeasyPrint releases take a
    `URLFetcher` limited to some protocols (newer ones dropped the plain-function fetcher); older
    ones take `_no_fetching`."""
    try:
        from weasyprint.urls import URLFetcher  # type: ignore[attr-defined,unused-ignore]
    except ImportError:
        return _no_fetching
    return URLFetcher(allowed_protocols=("data",), allow_redirects=False)


def _safe_name(title: str) -> str:
    """The title as a file name: no path separators or control characters, not too long."""
    cleaned = "".join("_" if ch in '\\/:*?"<>|' or ord(ch) < 32 else ch for ch in title).strip(" .")
    return cleaned[:60] or "公开事项"
