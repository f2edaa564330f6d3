"""Configuration: defaults, then SUNWALL_* environment variables, then the test override."""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any


def data_dir() -> Path:
    return Path(os.environ.get("SUNWALL_DATA_DIR", "instance")).resolve()


def _secret_key(directory: Path) -> str:
    """SUNWALL_SECRET_KEY, or a random key kept (mode 600) in the data directory."""
    if os.environ.get("SUNWALL_SECRET_KEY"):
        return os.environ["SUNWALL_SECRET_KEY"]
    path = directory / "secret_key"
    if not path.exists():
        directory.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_hex(32))
    return path.read_text().strip()


def load(override: dict[str, Any] | None = None) -> dict[str, Any]:
    override = dict(override or {})
    directory = Path(override.get("DATA_DIR") or data_dir())
    env = os.environ.get
    config: dict[str, Any] = {
        "DATA_DIR": directory,
        "DATABASE_URL": env("SUNWALL_DATABASE_URL") or f"sqlite:///{directory / 'sunwall.db'}",
        "PUBLIC_URL": env("SUNWALL_PUBLIC_URL", "http://127.0.0.1:5000"),
        "MESSAGE_QUEUE": env("SUNWALL_MESSAGE_QUEUE") or None,
        "ASYNC_MODE": env("SUNWALL_ASYNC_MODE", "gevent"),
        "RATELIMIT_STORAGE_URI": env("SUNWALL_RATELIMIT_STORAGE", "memory://"),
        # Rates are documented in docs/deployment.md. A hall's phones may share one address
        # (its Wi-Fi), so the per-address feedback limit is loose; the per-screen one caps
        # what one QR code can bring in from everywhere.
        "FEEDBACK_RATE": env("SUNWALL_FEEDBACK_RATE", "10 per minute;60 per hour"),
        "FEEDBACK_SCREEN_RATE": env("SUNWALL_FEEDBACK_SCREEN_RATE", "30 per minute;300 per hour"),
        # Per address: a township office behind one NAT signs in together; accounts are
        # protected by their own lockout (server.domain.signin).
        "LOGIN_RATE": env("SUNWALL_LOGIN_RATE", "30 per minute;300 per hour"),
        "ENROL_RATE": env("SUNWALL_ENROL_RATE", "10 per minute;50 per hour"),
        # Per screen credential: a batch holds up to 500 receipts, a screen sends a few.
        "RECEIPT_RATE": env("SUNWALL_RECEIPT_RATE", "30 per minute;600 per hour"),
        # "" (optional for everyone), "admin" (required of admins) or "all".
        "REQUIRE_2FA": env("SUNWALL_REQUIRE_2FA", ""),
        "TIMEZONE": env("SUNWALL_TIMEZONE", "Asia/Shanghai"),
        # Days of schedule each manifest carries, so a screen plays on from its cache.
        "LOOKAHEAD_DAYS": int(env("SUNWALL_LOOKAHEAD_DAYS", "7")),
        # "auto": boards are read aloud when espeak-ng and sox are installed; "off": never.
        "READ_ALOUD": env("SUNWALL_READ_ALOUD", "auto"),
        # A touch kiosk left alone goes back to its loop after this many seconds.
        "KIOSK_IDLE_SECONDS": int(env("SUNWALL_KIOSK_IDLE_SECONDS", "60")),
        "PROXY_COUNT": int(env("SUNWALL_PROXY_COUNT", "0")),
        "DEMO": False,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "WTF_CSRF_TIME_LIMIT": None,
        "BABEL_DEFAULT_LOCALE": "zh_CN",
        "MAX_CONTENT_LENGTH": 8 * 1024 * 1024,
    }
    config.update(override)
    if config["READ_ALOUD"] not in ("auto", "off"):
        raise ValueError("SUNWALL_READ_ALOUD must be 'auto' or 'off'")
    if config["REQUIRE_2FA"] not in ("", "admin", "all"):
        # A mistyped policy must stop the server, not silently leave accounts unprotected.
        raise ValueError("SUNWALL_REQUIRE_2FA must be empty, 'admin' or 'all'")
    # Cookies travel only over HTTPS when the public address is HTTPS; there the session
    # cookie is also a "__Host-" cookie, which no other host or path can set or shadow.
    config.setdefault("SESSION_COOKIE_SECURE", str(config["PUBLIC_URL"]).startswith("https://"))
    config.setdefault("SESSION_COOKIE_NAME", "__Host-sunwall" if config["SESSION_COOKIE_SECURE"] else "session")
    if "SECRET_KEY" not in config:
        config["SECRET_KEY"] = _secret_key(Path(config["DATA_DIR"]))
    return config
