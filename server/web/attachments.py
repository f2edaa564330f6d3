"""Attachments on the admin pages: uploads on the draft form, the files themselves.

The draft form is a plain multipart form (it works without JavaScript). When it is posted,
`receive` keeps the attachments already on the draft (less those ticked for removal, in
their order) and stores the new uploads. Stored files are committed at once, before the
draft is saved: if the save is then refused for another reason (a missing title, a
stage out of order), the page lists them again as hidden fields and nothing has to be
uploaded twice; a file that is itself refused leaves nothing and is named on the page.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass, field
from functools import lru_cache
from io import BytesIO
from pathlib import Path
from typing import Any

from flask import current_app, g, request

from server import blobs
from server.clock import now
from server.domain import attachments
from server.domain.errors import DomainError
from server.edge import checkpoint
from server.extensions import db_session
from server.models import Attachment, Disclosure
from server.web import web
from server.web.auth import actor, signed_in

# The form posts that may carry files, and how much one such post may carry in all.
UPLOAD_ENDPOINTS = frozenset({"web.disclosure_new", "web.disclosure_edit", "api.post_upload_attachment"})
UPLOAD_REQUEST_LIMIT = 2 * attachments.MAX_UPLOAD + 8 * 1024 * 1024
FIELD = "files"  # <input type=file multiple name=files>
KEPT = "attachment"  # hidden: the sha256 of each attachment the draft keeps, in order
REMOVE = "remove_attachment"  # ticked: an attachment to take off


def _allow_uploads() -> None:
    # Runs before the CSRF check reads the form: only the draft form takes large posts.
    if request.method == "POST" and request.endpoint in UPLOAD_ENDPOINTS:
        request.max_content_length = UPLOAD_REQUEST_LIMIT


@web.record_once
def _install(state: Any) -> None:
    state.app.before_request_funcs.setdefault(None, []).insert(0, _allow_uploads)


@dataclass
class DraftFiles:
    """The attachments a draft form shows and saves, and the uploads it refused."""

    rows: list[Attachment] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def shas(self) -> list[str]:
        return [row.sha256 for row in self.rows]


def receive(disclosure: Disclosure | None) -> DraftFiles:
    """The draft's attachments for this request (see the module's docstring); kept on `g`
    for the save and the page."""
    session, user = db_session(), actor()
    if request.method != "POST":
        listed = disclosure.latest_version.attachments if disclosure is not None else []
        files = DraftFiles(attachments.rows(session, [r.get("sha256", "") for r in listed or []]))
        g.draft_files = files
        return files
    removed = set(request.form.getlist(REMOVE))
    kept = [sha for sha in request.form.getlist(KEPT) if sha not in removed]
    files = DraftFiles(attachments.uploaded_by(session, user, kept))
    store = blobs.BlobStore.of(current_app.config)
    stored = False
    for upload in request.files.getlist(FIELD):
        if upload is None or not upload.filename:
            continue  # the empty part a browser sends when no file was chosen
        name = attachments.clean_name(upload.filename)
        upload.stream.seek(0, 2)
        size = upload.stream.tell()
        upload.stream.seek(0)
        if size > attachments.MAX_UPLOAD:
            files.errors.append(f"“{name}”：文件太大（{size / attachments.MB:.1f} MB），附件最大 {attachments.MAX_UPLOAD // attachments.MB} MB。")
            continue
        try:
            row = attachments.store(session, user, name, upload.read(), now(), blobs=store)
        except DomainError as err:
            files.errors.append(err.message)
            continue
        stored = True
        if row.sha256 not in files.shas:
            files.rows.append(row)
    if stored:
        checkpoint()  # the uploads stay even if the draft itself is refused
    g.draft_files = files
    return files


def kept_in(data: Any) -> Any:
    """A draft input (the live preview's) with the attachments the form lists, less those
    ticked for removal: the preview shows them as the save would keep them."""
    removed = set(request.form.getlist(REMOVE))
    kept = [sha for sha in request.form.getlist(KEPT) if sha not in removed]
    data.attachments = [row.sha256 for row in attachments.uploaded_by(db_session(), actor(), kept)]
    return data


def draft_files() -> DraftFiles:
    """What `receive` found for this request (nothing when it did not run)."""
    return g.get("draft_files") or DraftFiles()


@web.app_context_processor
def _helpers() -> dict[str, Any]:
    return {
        "draft_files": draft_files, "attachment_media": attachments.media_of,
        "version_attachments": attachments.version_media,
    }


@web.route("/admin/attachments/<sha256>")
@signed_in
def attachment_file(sha256: str):
    """A file for signed-in users who uploaded it or can see a disclosure that uses it
    (PDF originals download; photos, page images and videos show)."""
    found = attachments.visible_to(db_session(), actor(), sha256)
    return blobs.send_attachment(current_app.config, found)


# --------------------------------------------------------------------------- previews

PREVIEW_SIDE = 640  # a still preview's photos, small enough to carry inside the page
_FILE_ATTR = re.compile(r'data-(file|poster)="([0-9a-f]{64})"')


@lru_cache(maxsize=256)
def _thumbnail(path: Path) -> str:
    from PIL import Image

    with Image.open(path) as im:
        im.thumbnail((PREVIEW_SIDE, PREVIEW_SIDE))
        out = BytesIO()
        im.convert("RGB").save(out, "JPEG", quality=80)
    return "data:image/jpeg;base64," + base64.b64encode(out.getvalue()).decode("ascii")


def inline_files(html: str) -> str:
    """A board's HTML for a still preview (admin pages, whose frame fetches nothing): each
    photo and page image drawn in as a small data URL, a video as its poster."""
    store = blobs.BlobStore.of(current_app.config)

    def drawn(match: re.Match[str]) -> str:
        what, sha = match.group(1), match.group(2)
        path = store.path(sha)
        if not path.is_file():
            return match.group(0)
        try:
            url = _thumbnail(path)
        except OSError:  # a video: shown by its poster
            return match.group(0)
        return f'{match.group(0)} {"src" if what == "file" else "poster"}="{url}"'

    return _FILE_ATTR.sub(drawn, html)
