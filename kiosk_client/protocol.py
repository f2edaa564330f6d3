"""The device protocol over HTTP, from the screen's side: enrol, manifest, assets, boards,
receipts.

This is the only place that knows the server's URLs and status codes (the server
describes them in /api/v1/openapi.json, tag "device protocol"). It turns them into three
outcomes the agent acts on: a result, a refusal that will not go away by retrying (a bad
enrolment code, a revoked credential, receipts the server will never take), or a failure
that may (network down, server error), which keeps the cache playing.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import requests

API = "/api/v1/device"
# Where a board's HTML lives, by its sha256; the manifest's `href` must be exactly this.
BOARDS_PATH = f"{API}/boards/"
# Where a board's read-aloud audio lives, by its sha256; likewise exactly this.
AUDIO_PATH = f"{API}/audio/"
# Where an attachment file (photo, PDF page image, video) lives, by its sha256; likewise.
FILES_PATH = f"{API}/files/"
RECEIPTS_PATH = f"{API}/receipts"
USER_AGENT = "sunwall-kiosk/0.1"
# (connect, read) seconds: short enough that a dead link is noticed, long enough for 3G.
TIMEOUT = (5, 30)
CHUNK = 64 * 1024


class ProtocolError(Exception):
    """The server could not be reached or answered something unusable; retry later."""


class EnrolmentRefused(Exception):
    """The server refused the enrolment code (unknown, used or expired)."""


class CredentialRevoked(Exception):
    """The server no longer accepts this screen's credential (401)."""


class ReceiptsRefused(Exception):
    """The server answered 422 to a batch of receipts: sending it again cannot help."""


def _message(resp: requests.Response) -> str:
    try:
        body = resp.json()
    except ValueError:
        return f"HTTP {resp.status_code}"
    if isinstance(body, dict) and isinstance(body.get("message"), str):
        return str(body["message"])
    return f"HTTP {resp.status_code}"


def enrol(server: str, code: str) -> dict[str, Any]:
    """Trade a one-time code for {device_id, token, name, site}."""
    try:
        resp = requests.post(
            f"{server}{API}/enrol",
            json={"code": code},
            headers={"User-Agent": USER_AGENT},
            timeout=TIMEOUT,
        )
    except requests.RequestException as exc:
        raise ProtocolError(f"cannot reach {server}: {exc}") from exc
    if resp.status_code in (400, 404, 422):
        raise EnrolmentRefused(_message(resp))
    if resp.status_code != 201:
        raise ProtocolError(f"enrolment failed: {_message(resp)}")
    try:
        body = resp.json()
        return {
            "device_id": int(body["device_id"]),
            "token": str(body["token"]),
            "name": str(body["name"]),
            "site": str(body["site"]),
        }
    except (ValueError, KeyError, TypeError) as exc:
        raise ProtocolError(f"enrolment answer is not understood: {exc}") from exc


class DeviceClient:
    """HTTP calls made with the screen's bearer credential."""

    def __init__(self, server: str, token: str) -> None:
        self.server = server
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {token}"
        self.session.headers["User-Agent"] = USER_AGENT

    def close(self) -> None:
        self.session.close()

    def _get(self, url: str, **kwargs: Any) -> requests.Response:
        try:
            resp = self.session.get(url, timeout=TIMEOUT, **kwargs)
        except requests.RequestException as exc:
            raise ProtocolError(f"cannot reach {self.server}: {exc}") from exc
        if resp.status_code == 401:
            resp.close()
            raise CredentialRevoked(_message(resp))
        return resp

    def manifest(self, etag: str | None) -> dict[str, Any] | None:
        """The manifest, or None when the server says our copy (`etag`) is current."""
        headers = {"If-None-Match": etag} if etag else {}
        resp = self._get(f"{self.server}{API}/manifest", headers=headers)
        if resp.status_code == 304:
            return None
        if resp.status_code != 200:
            raise ProtocolError(f"manifest: {_message(resp)}")
        try:
            body = resp.json()
        except ValueError as exc:
            raise ProtocolError(f"manifest is not JSON: {exc}") from exc
        if not isinstance(body, dict):
            raise ProtocolError("manifest is not a JSON object")
        return body

    def asset(self, path: str) -> Iterator[bytes]:
        """The bytes of one listed asset, streamed; the caller checks its hash."""
        resp = self._get(f"{self.server}{API}/assets/{quote(path)}", stream=True)
        if resp.status_code != 200:
            resp.close()
            raise ProtocolError(f"asset {path}: HTTP {resp.status_code}")
        return self._stream(resp, f"asset {path}")

    def board(self, sha256: str) -> Iterator[bytes]:
        """The HTML of one board of the manifest, by its sha256, streamed; the caller checks it.

        A 404 means the board left this screen's manifest since it was fetched (an item
        ended, a newer approval): the sync fails and the next one brings the new manifest.
        """
        return self._content(BOARDS_PATH, sha256, "board")

    def audio(self, sha256: str) -> Iterator[bytes]:
        """A board's read-aloud audio, by its sha256, streamed; like `board`."""
        return self._content(AUDIO_PATH, sha256, "audio")

    def file(self, sha256: str) -> Iterator[bytes]:
        """An attachment file of a board, by its sha256, streamed; like `board`."""
        return self._content(FILES_PATH, sha256, "file")

    def _content(self, prefix: str, sha256: str, what: str) -> Iterator[bytes]:
        resp = self._get(f"{self.server}{prefix}{quote(sha256)}", stream=True)
        if resp.status_code != 200:
            resp.close()
            raise ProtocolError(f"{what} {sha256[:12]}: HTTP {resp.status_code}")
        return self._stream(resp, f"{what} {sha256[:12]}")

    def send_receipts(self, receipts: list[dict[str, Any]]) -> None:
        """POST a batch of urgent-notice receipts; returns once the server has them.

        Raises ReceiptsRefused on 422 (the batch will never be taken), CredentialRevoked on
        401, and ProtocolError on anything worth retrying (network, 5xx, an older server
        without the endpoint).
        """
        try:
            resp = self.session.post(
                f"{self.server}{RECEIPTS_PATH}", json={"receipts": receipts}, timeout=TIMEOUT
            )
        except requests.RequestException as exc:
            raise ProtocolError(f"cannot reach {self.server}: {exc}") from exc
        with resp:
            if resp.status_code == 401:
                raise CredentialRevoked(_message(resp))
            if resp.status_code == 422:
                raise ReceiptsRefused(_message(resp))
            if not 200 <= resp.status_code < 300:
                raise ProtocolError(f"receipts: {_message(resp)}")

    def _stream(self, resp: requests.Response, what: str) -> Iterator[bytes]:
        with resp:
            try:
                yield from resp.iter_content(CHUNK)
            except requests.RequestException as exc:
                raise ProtocolError(f"{what}: download broke off: {exc}") from exc
