"""What working out a county's obligations costs: `obligations.derive` over the starting
village catalogue for many villages, a year back, then the editor's ordering and the
per-village tally (what the dashboard and the 应公开 page do on each load). Pure CPU, no
database. Run from the repository root:

    .venv/bin/python bench/obligations_cost.py [--villages 300] [--repeat 3]
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    from server.domain import obligations as ob
    from server.domain.starting_catalogue import VILLAGE
    from server.models import AreaKind, Period, Timing

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--villages", type=int, default=300)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    today = dt.date(2026, 12, 4)
    since = today - dt.timedelta(days=ob.LOOKBACK_DAYS)
    every = {"每月": Period.monthly, "每季度": Period.quarterly, "每年": Period.yearly}
    rules = []
    for category, rows in VILLAGE:
        for n, (title, _scope, timing, days, *_rest) in enumerate(rows, start=len(rules) + 1):
            if isinstance(timing, tuple):
                rules.append(ob.Rule(n, title, category, Timing.staged, None, timing, days, since))
            elif timing in every:
                rules.append(ob.Rule(n, title, category, Timing.regular, every[timing], (), days, since))
            else:
                rules.append(ob.Rule(n, title, category, Timing.ad_hoc, None, (), days, since))
    places = [ob.Place(n, f"村{n}", AreaKind.village) for n in range(args.villages)]
    best: dict[str, float] = {}
    count = 0
    for _ in range(args.repeat):
        start = time.perf_counter()
        found = ob.derive(places, {AreaKind.village: rules}, [], {}, today)
        derived = time.perf_counter()
        ob.unmet_first(found)
        ob.tally(found)
        done = time.perf_counter()
        count = len(found)
        for name, seconds in (("derive", derived - start), ("order + tally", done - derived)):
            best[name] = min(best.get(name, seconds), seconds)
    print(f"{args.villages} villages × {len(rules)} catalogue items, a year back: {count} obligations (best of {args.repeat})")
    for name, seconds in best.items():
        print(f"  {name:<16} {seconds * 1000:8.1f} ms")


if __name__ == "__main__":
    main()
