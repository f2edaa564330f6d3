"""`sunwall serve` under gevent: patch the standard library first, then run the command.

gevent turns blocking sockets, locks and sleeps into cooperative ones only if it patches
them before anything else imports them (SQLAlchemy's pool, the rate limiter, the
Socket.IO server). `sunwall serve` re-executes itself through this module when
SUNWALL_ASYNC_MODE=gevent; `python -m server.gevent_serve --port 5000` works as well.
"""

from __future__ import annotations

from gevent import monkey

monkey.patch_all()

import os  # noqa: E402
import sys  # noqa: E402

from server.cli import main  # noqa: E402

if __name__ == "__main__":
    os.environ["SUNWALL_ASYNC_MODE"] = "gevent"
    main(["serve", *sys.argv[1:]], prog_name="sunwall serve")
