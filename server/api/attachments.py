"""API: upload an attachment (photo, PDF, MP4) and get its sha256 for a draft's list.

`POST /api/v1/attachments` takes one file as multipart form data (field `file`); the
answer names the stored file by sha256, which a draft lists in `attachments`
(docs/attachments.md). A refused file is a 422 naming it and the problem.
"""

from __future__ import annotations

from flask import current_app, request
from pydantic import BaseModel

from server import blobs
from server.api import current_actor, endpoint
from server.clock import now
from server.domain import attachments
from server.domain.errors import ValidationFailed
from server.extensions import db_session

UPLOAD_ENDPOINT = "api.post_upload_attachment"


class AttachmentOut(BaseModel):
    sha256: str
    name: str
    kind: str
    mime: str
    size: int
    width: int | None = None
    height: int | None = None
    pages: int | None = None
    seconds: float | None = None
    # What screens show: a photo itself, a PDF's page images, a video (and its poster).
    files: list[str]


@endpoint("post", "/attachments", summary="Upload one attachment (multipart field `file`: JPEG, PNG, WebP, GIF, PDF or MP4)", tag="disclosures", response=AttachmentOut, status=201, responses={422: "the file is refused (its type, size, scripts, corruption)"})
def upload_attachment():
    user = current_actor()
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise ValidationFailed("请用表单字段 file 上传一个文件。", field="file")
    upload.stream.seek(0, 2)
    size = upload.stream.tell()
    upload.stream.seek(0)
    name = attachments.clean_name(upload.filename)
    if size > attachments.MAX_UPLOAD:
        raise ValidationFailed(
            f"“{name}”：文件太大（{size / attachments.MB:.1f} MB），附件最大 {attachments.MAX_UPLOAD // attachments.MB} MB。",
            field="file",
        )
    row = attachments.store(
        db_session(), user, name, upload.read(), now(), blobs=blobs.BlobStore.of(current_app.config)
    )
    media = attachments.media_of(row)
    return AttachmentOut(
        sha256=row.sha256, name=row.filename, kind=row.kind.value, mime=row.mime, size=row.size, width=row.width,
        height=row.height, pages=row.pages, seconds=row.seconds, files=[f["sha256"] for f in media["files"]],
    )
