"""`sunwall serve` under gevent: patch the standard library first, then run the command.

gevent turns blocking sockets, locks and sleeps into cooperative ones only if it patches
them before anything else imports them (SQLAlchemy's pool, the rate limiter, the
Socket.IO server). `sunwall serve` and `sunwall demo` re-execute themselves through this
module unless SUNWALL_ASYNC_MODE=threading; `python -m server.gevent_serve serve --port 5000`
works as well.
"""

from __future__ import annotations

from gevent import monkey

monkey.patch_all()

import os  # noqa: E402
import sys  # noqa: E402

from server.cli import main  # noqa: E402

if __name__ == "__main__":
    os.environ["SUNWALL_ASYNC_MODE"] = "gevent"
    main(sys.argv[1:] or ["serve"], prog_name="sunwall")
