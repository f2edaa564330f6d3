"""The starting disclosure catalogue (公开目录) every install begins with.

A township needs categories and items before anyone can draft a disclosure. `sunwall
init` and the demo both seed this one list, so a real install and the demo agree; the
township adapts it afterwards. Seeding is skipped when any category already exists.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from server.models import CatalogueCategory, CatalogueItem, Scope, Timing

# (category, [(item title, scope, timing, period, deadline in days)])
STARTING_CATALOGUE: list[tuple[str, list[tuple[str, Scope, Timing, str, int]]]] = [
    ("民主决策", [
        ("“四议两公开”决策事项", Scope.public, Timing.staged, "", 5),
        ("村级重大事项决策结果", Scope.public, Timing.ad_hoc, "", 5),
    ]),
    ("思想建设", [
        ("“三会一课”开展情况", Scope.internal, Timing.regular, "quarterly", 10),
        ("主题党日活动安排", Scope.public, Timing.regular, "monthly", 5),
    ]),
    ("组织建设", [
        ("发展党员各阶段公示", Scope.public, Timing.staged, "", 5),
        ("预备党员转正", Scope.internal, Timing.staged, "", 5),
    ]),
    ("干部工作", [
        ("村干部任免与分工", Scope.public, Timing.ad_hoc, "", 5),
    ]),
    ("党风廉政", [
        ("村干部廉洁履职承诺", Scope.public, Timing.regular, "yearly", 15),
    ]),
    ("服务群众", [
        ("惠民补贴与困难救助名单", Scope.public, Timing.ad_hoc, "", 5),
        ("便民服务事项与办事指南", Scope.public, Timing.regular, "yearly", 15),
    ]),
    ("财务与党费", [
        ("党费收缴情况", Scope.public, Timing.regular, "quarterly", 10),
        ("村级财务收支明细", Scope.public, Timing.regular, "monthly", 10),
        ("大额经费开支", Scope.public, Timing.ad_hoc, "", 5),
    ]),
]


def seed_catalogue(session: Session, responsible_department: str = "镇党建办") -> int:
    """Add the starting catalogue to an empty one; returns how many items were added."""
    if session.scalar(select(func.count(CatalogueCategory.id))):
        return 0
    added = 0
    for position, (name, items) in enumerate(STARTING_CATALOGUE):
        category = CatalogueCategory(name=name, position=position)
        session.add(category)
        for item_position, (title, scope, timing, period, days) in enumerate(items):
            category.items.append(
                CatalogueItem(
                    title=title, scope=scope, timing=timing, period=period, deadline_days=days,
                    forms="screen,board", responsible_department=responsible_department,
                    position=item_position,
                )
            )
            added += 1
    session.flush()
    return added
