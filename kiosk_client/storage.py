"""What the agent keeps on disk: its credential, the last good manifest, the content cache.

Everything lives under one data directory. Every file is written atomically (a private
temporary file, fsync, rename) so that a power cut, frequent in village halls, leaves
either the old file or the new one and never half of either. Files are created with mode
0600 from the first byte, because the credential is a secret. Assets are stored by their
sha256 (`cache/<sha256>`) and enter the cache only after their hash has been checked;
board HTML shares that cache, since a board too is named by the sha256 of its bytes.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import secrets
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, TypeGuard

CREDENTIAL_FILE = "credential.json"
MANIFEST_FILE = "manifest.json"
RECEIPTS_FILE = "receipts.json"
CACHE_DIR = "cache"
_TEMP_PREFIX = ".tmp-"
_SHA256 = re.compile(r"[0-9a-f]{64}")
# A download whose size the manifest does not give (board HTML) may not grow past this.
MAX_UNSIZED_BYTES = 16 * 1024 * 1024


class CorruptDownload(ValueError):
    """Downloaded bytes do not match the size or sha256 the manifest promised."""


def is_sha256(value: object) -> TypeGuard[str]:
    return isinstance(value, str) and _SHA256.fullmatch(value) is not None


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _open_temp(directory: Path, mode: int) -> tuple[Path, int]:
    """A new temporary file next to its destination, created with `mode` (O_EXCL)."""
    path = directory / f"{_TEMP_PREFIX}{secrets.token_hex(8)}"
    return path, os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)


def write_atomic(path: Path, chunks: Iterable[bytes], mode: int = 0o600) -> None:
    """Write `chunks` to `path` so that readers see the old file or the whole new one."""
    tmp, fd = _open_temp(path.parent, mode)
    try:
        with os.fdopen(fd, "wb") as fh:
            for chunk in chunks:
                fh.write(chunk)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise
    _fsync_dir(path.parent)


@dataclass(frozen=True)
class Credential:
    """The screen's own secret, traded once for an enrolment code."""

    server: str
    device_id: int
    token: str
    name: str
    site: str


class DataDir:
    """The agent's data directory (private to the agent's user)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.credential_path = root / CREDENTIAL_FILE
        self.manifest_path = root / MANIFEST_FILE
        self.receipts_path = root / RECEIPTS_FILE
        self.cache = AssetCache(root / CACHE_DIR)

    def prepare(self) -> None:
        self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.cache.prepare()
        for leftover in self.root.glob(f"{_TEMP_PREFIX}*"):
            leftover.unlink(missing_ok=True)

    def load_credential(self) -> Credential | None:
        """The stored credential, or None when there is none (ValueError if unreadable)."""
        try:
            raw = self.credential_path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        data = json.loads(raw)
        return Credential(
            server=str(data["server"]),
            device_id=int(data["device_id"]),
            token=str(data["token"]),
            name=str(data["name"]),
            site=str(data["site"]),
        )

    def save_credential(self, credential: Credential) -> None:
        body = json.dumps(asdict(credential), ensure_ascii=False, indent=1).encode("utf-8")
        write_atomic(self.credential_path, [body], mode=0o600)

    def load_manifest(self) -> dict[str, Any] | None:
        try:
            raw = self.manifest_path.read_bytes()
        except FileNotFoundError:
            return None
        manifest = json.loads(raw)
        return manifest if isinstance(manifest, dict) else None

    def save_manifest(self, manifest: dict[str, Any]) -> None:
        write_atomic(self.manifest_path, [json.dumps(manifest, ensure_ascii=False).encode("utf-8")])


class AssetCache:
    """Content-addressed files (player assets and board HTML): `<dir>/<sha256>`, present
    only once verified."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def prepare(self) -> None:
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        # A crash mid-download leaves a temporary file behind; it is never trusted.
        for leftover in self.directory.glob(f"{_TEMP_PREFIX}*"):
            leftover.unlink(missing_ok=True)

    def path(self, sha256: str) -> Path:
        if not is_sha256(sha256):
            raise ValueError(f"not a sha256: {sha256!r}")
        return self.directory / sha256

    def has(self, sha256: str) -> bool:
        return self.path(sha256).is_file()

    def put(self, sha256: str, size: int | None, chunks: Iterable[bytes]) -> None:
        """Store a download under its hash, or raise CorruptDownload and keep nothing.

        `size` is the length the manifest promised; None when it gives none (a board),
        and then the download may not exceed MAX_UNSIZED_BYTES.
        """
        target = self.path(sha256)
        limit = MAX_UNSIZED_BYTES if size is None else size
        tmp, fd = _open_temp(self.directory, 0o600)
        digest, written = hashlib.sha256(), 0
        try:
            with os.fdopen(fd, "wb") as fh:
                for chunk in chunks:
                    digest.update(chunk)
                    written += len(chunk)
                    if written > limit:
                        raise CorruptDownload(f"{sha256}: more than the {limit} bytes allowed")
                    fh.write(chunk)
                fh.flush()
                os.fsync(fh.fileno())
            if (size is not None and written != size) or digest.hexdigest() != sha256:
                raise CorruptDownload(
                    f"{sha256}: got {written} bytes with sha256 {digest.hexdigest()}"
                )
            os.replace(tmp, target)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
            raise
        _fsync_dir(self.directory)

    def prune(self, keep: set[str]) -> int:
        """Delete cached files no longer listed by the current manifest."""
        removed = 0
        for entry in self.directory.iterdir():
            if is_sha256(entry.name) and entry.name not in keep:
                entry.unlink(missing_ok=True)
                removed += 1
        return removed
