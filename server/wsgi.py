"""WSGI entry point for gunicorn, with gevent (the measured choice, docs/performance.md):

    gunicorn -w 1 -k geventwebsocket.gunicorn.workers.GeventWebSocketWorker server.wsgi:app

The worker patches the standard library before it imports this module. More than one
worker needs SUNWALL_MESSAGE_QUEUE (Redis) and sticky sessions; see docs/deployment.md.
"""

from __future__ import annotations

from server import voice
from server.app import create_app

app = create_app()
voice.sweep(app)  # read-aloud audio missing from earlier runs, in the background
