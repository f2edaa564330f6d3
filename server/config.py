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
        # Documented in docs/admin-guide.md: one phone may send a few messages a minute.
        "FEEDBACK_RATE": env("SUNWALL_FEEDBACK_RATE", "5 per minute;30 per hour"),
        "LOGIN_RATE": env("SUNWALL_LOGIN_RATE", "10 per minute;50 per hour"),
        "TIMEZONE": env("SUNWALL_TIMEZONE", "Asia/Shanghai"),
        "PROXY_COUNT": int(env("SUNWALL_PROXY_COUNT", "0")),
        "DEMO": False,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "WTF_CSRF_TIME_LIMIT": None,
        "BABEL_DEFAULT_LOCALE": "zh_CN",
        "MAX_CONTENT_LENGTH": 8 * 1024 * 1024,
    }
    config.update(override)
    # Cookies travel only over HTTPS when the public address is HTTPS.
    config.setdefault("SESSION_COOKIE_SECURE", str(config["PUBLIC_URL"]).startswith("https://"))
    if "SECRET_KEY" not in config:
        config["SECRET_KEY"] = _secret_key(Path(config["DATA_DIR"]))
    return config
