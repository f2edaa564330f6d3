"""Files stored by content: `<data dir>/blobs/<sha256>`, written atomically.

Attachments (photos, PDF documents, videos) and what is made from them (a PDF's page
images) are kept here under the sha256 of their bytes, so a file is stored once however
often it is uploaded, and a screen or a phone may cache it forever. A file appears under
its name only once it is whole (temporary file, fsync, rename); a file that is already
there is never rewritten.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

SHA256 = re.compile(r"[0-9a-f]{64}")


def is_sha256(value: object) -> bool:
    return isinstance(value, str) and SHA256.fullmatch(value) is not None


class BlobStore:
    """Files named by their sha256 (plus `SUFFIX`) under one folder, written atomically."""

    SUFFIX = ""

    def __init__(self, root: Path) -> None:
        self.root = root

    @classmethod
    def of(cls, config: Mapping[str, Any]) -> BlobStore:
        """The app's store: `<data dir>/blobs/`."""
        return cls(Path(config["DATA_DIR"]) / "blobs")

    def path(self, sha256: str) -> Path:
        if not is_sha256(sha256):
            raise ValueError("not a sha256")
        return self.root / f"{sha256}{self.SUFFIX}"

    def has(self, sha256: str) -> bool:
        return self.path(sha256).is_file()

    def put(self, data: bytes) -> str:
        """Store `data`; returns its sha256. Storing the same bytes again changes nothing."""
        sha = hashlib.sha256(data).hexdigest()
        target = self.path(sha)
        if target.is_file():
            return sha
        self.root.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.root, prefix=".incoming-")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.chmod(tmp, 0o644)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return sha

    def remove(self, sha256: str) -> None:
        """Forget a file: one written by a store that was then refused, or one no
        attachment uses any more (`attachments.prune`)."""
        self.path(sha256).unlink(missing_ok=True)


# Served files are data, never pages: the browser must not guess another type, and if one
# were ever opened as a page it runs nothing.
FILE_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; sandbox",
    "Cache-Control": "private, max-age=31536000, immutable",
}


def send(
    config: Mapping[str, Any], sha256: str, mime: str, download: str | None = None, store: BlobStore | None = None,
) -> Any:
    """A Flask response with the stored file `sha256` of `store` (the attachments' by
    default; ranges and If-None-Match answered), or None when it is not stored. `download`
    names a file to save rather than show."""
    from flask import send_file

    store = store or BlobStore.of(config)
    if not is_sha256(sha256) or not store.has(sha256):
        return None
    reply = send_file(
        store.path(sha256), mimetype=mime, etag=sha256, conditional=True, max_age=31536000,
        as_attachment=download is not None, download_name=download,
    )
    reply.headers.update(FILE_HEADERS)
    return reply


def send_attachment(config: Mapping[str, Any], found: Any) -> Any:
    """An attachment (or a derived file) as `send` gives it, or a 404 when the row is None
    or its file is not stored: the admin and phone routes answer alike."""
    from flask import abort

    reply = send(config, found.sha256, found.mime, found.download) if found is not None else None
    if reply is None:
        abort(404)
    return reply
