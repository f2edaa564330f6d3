"""Random secrets and their digests: shown once, stored only as sha256."""

from __future__ import annotations

import hashlib
import secrets

# Crockford-like alphabet without look-alikes, for codes people type or read aloud.
_READABLE = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"


def new_token(nbytes: int = 32) -> str:
    return secrets.token_urlsafe(nbytes)


def readable_code(length: int) -> str:
    return "".join(secrets.choice(_READABLE) for _ in range(length))


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()
