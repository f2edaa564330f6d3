"""WSGI entry point for gunicorn: `gunicorn -w 1 --threads 100 server.wsgi:app`.

See docs/deployment.md for the gevent worker and several processes with Redis.
"""

from __future__ import annotations

from server.app import create_app

app = create_app()
