"""What one device request costs the server, in-process, without the network.

Seeds the demo township in a temporary data directory, adds screens to 东山村 and, for
each of the kinds of request a screen makes, times them through Flask's test client
(one thread, no sockets): the figures are CPU per request, the part of the delivery
figures that is Sunwall's own work. Run from the repository root:

    .venv/bin/python bench/manifest_cost.py [--screens 900] [--profile out.html]

`--profile out.html` (or `.txt`) writes a pyinstrument report of one pass (`--profile-pass`).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _setup(data_dir: str, screens: int) -> tuple[Any, list[str], int]:
    os.environ["SUNWALL_DATA_DIR"] = data_dir
    from sqlalchemy import select

    from server import demo
    from server.app import create_app
    from server.domain import devices
    from server.extensions import session_scope
    from server.migrate import upgrade
    from server.models import Area, DeviceKind, Orientation, Site

    app = create_app()
    upgrade(app.config["DATABASE_URL"])
    keys = []
    with app.app_context(), session_scope() as session:
        now = dt.datetime.now(dt.UTC)
        demo.seed(session, now)
        site = session.scalars(select(Site).join(Area).where(Area.name == demo.VILLAGES[0])).first()
        assert site is not None
        for n in range(screens):
            device = devices.create_device(
                session, None, site, f"测屏{n:05d}", DeviceKind.signage, Orientation.landscape, now
            )
            keys.append(devices.replace_browser_key(session, None, device, now))
        area_id = site.area_id
    return app, keys, area_id


def _bump(app: Any, area_id: int) -> None:
    """A change to the village's loop, as an approval makes one."""
    from server.domain import changes
    from server.extensions import session_scope
    from server.models import Area

    with app.app_context(), session_scope() as session:
        changes.loop_changed(session, session.get_one(Area, area_id), dt.datetime.now(dt.UTC))


def _pass(client: Any, keys: list[str], etags: dict[str, str], boards: bool) -> tuple[float, dict[int, int]]:
    statuses: dict[int, int] = {}
    start = time.process_time()
    for key in keys:
        headers = {"Authorization": f"Bearer {key}"}
        if key in etags:
            headers["If-None-Match"] = etags[key]
        reply = client.get("/api/v1/device/manifest", headers=headers)
        statuses[reply.status_code] = statuses.get(reply.status_code, 0) + 1
        if reply.status_code == 200:
            etags[key] = reply.headers["ETag"]
            if boards:
                first = reply.get_json()["boards"][0]
                client.get(first["href"], headers={"Authorization": f"Bearer {key}"})
    return (time.process_time() - start) / len(keys) * 1000, statuses


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--screens", type=int, default=900)
    parser.add_argument("--profile", type=Path, default=None, help="write a pyinstrument report here (.html or text)")
    parser.add_argument("--repeat", type=int, default=3, help="passes of each kind; the best is printed")
    parser.add_argument("--profile-pass", choices=["unchanged", "new", "board"], default="new")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="sunwall-cost-") as data_dir:
        app, keys, area_id = _setup(data_dir, args.screens)
        client = app.test_client()
        etags: dict[str, str] = {}
        _pass(client, keys, etags, boards=False)  # warm: every screen holds a version
        rows = []
        for name, label, bump, boards in (
            ("unchanged", "unchanged check (304)", False, False),
            ("new", "new manifest after a change", True, False),
            ("board", "new manifest + one board fetch", True, True),
        ):
            best = float("inf")
            for _ in range(args.repeat):  # the best of a few passes: the machine's noise only adds
                if bump:
                    _bump(app, area_id)
                profiler = None
                if args.profile is not None and name == args.profile_pass:
                    from pyinstrument import Profiler

                    profiler = Profiler(interval=0.0005)
                    profiler.start()
                ms, statuses = _pass(client, keys, etags, boards)
                best = min(best, ms)
                if profiler is not None:
                    profiler.stop()
                    report = profiler.output_html() if args.profile.suffix == ".html" else profiler.output_text(unicode=True)
                    args.profile.write_text(report, encoding="utf-8")
            ms = best
            rows.append((label, ms, statuses))
        print(f"{args.screens} screens in one village, CPU per screen (Flask test client, one thread):")
        for label, ms, statuses in rows:
            print(f"  {label:34s} {ms:7.3f} ms   statuses {statuses}")


if __name__ == "__main__":
    main()
