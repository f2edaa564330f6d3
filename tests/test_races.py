"""State changes are atomic: simultaneous approvals of one item make exactly one review.

The old code checked the status in Python and then wrote; under the threading server,
20 approvals at once wrote up to 5 reviews. Here 20 threads race on real database
files and a real PostgreSQL database, and through the HTTP edge on SQLite.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections import Counter

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from server.db import make_engine, make_sessionmaker, write_intent
from server.domain import disclosures
from server.domain.disclosures import DraftInput
from server.domain.errors import Conflict
from server.models import AuditEvent, Disclosure, DisclosureStatus, Review, User
from tests.conftest import NOW

RACERS = 20


def submitted_item(factory, make_world) -> tuple[int, int]:
    with factory() as s, s.begin():
        w = make_world(s)
        d = disclosures.create_draft(
            s, w.editor,
            DraftInput(area_id=w.village_a.id, catalogue_item_id=w.item_public.id, title="并发审核测试",
                       valid_from=NOW, body="正文"),
            NOW,
        )
        disclosures.submit(s, w.editor, d.id, NOW)
        return d.id, w.reviewer.id


def race(factory, disclosure_id: int, reviewer_id: int) -> Counter[str]:
    start = threading.Barrier(RACERS)
    outcomes: Counter[str] = Counter()
    lock = threading.Lock()

    def one() -> None:
        write_intent.set(True)  # what the request edge declares for a POST
        start.wait()
        with Session(bind=factory.kw["bind"], expire_on_commit=False) as s:
            try:
                with s.begin():
                    reviewer = s.get_one(User, reviewer_id)
                    disclosures.approve(s, reviewer, disclosure_id, NOW + dt.timedelta(minutes=1))
                result = "approved"
            except Conflict:
                result = "conflict"
        with lock:
            outcomes[result] += 1

    threads = [threading.Thread(target=one) for _ in range(RACERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return outcomes


def assert_one_review(factory, disclosure_id: int, outcomes: Counter[str]) -> None:
    assert outcomes == Counter({"approved": 1, "conflict": RACERS - 1})
    with factory() as s:
        assert s.scalar(select(func.count(Review.id)).where(Review.disclosure_id == disclosure_id)) == 1
        assert s.get_one(Disclosure, disclosure_id).status is DisclosureStatus.approved
        approvals = select(func.count(AuditEvent.id)).where(AuditEvent.action == "disclosure.approve")
        assert s.scalar(approvals) == 1


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_twenty_simultaneous_approvals_make_one_review(request, backend, make_world):
    url = request.getfixturevalue("sqlite_url" if backend == "sqlite" else "fresh_pg")
    engine = make_engine(url)
    factory = make_sessionmaker(engine)
    try:
        disclosure_id, reviewer_id = submitted_item(factory, make_world)
        assert_one_review(factory, disclosure_id, race(factory, disclosure_id, reviewer_id))
    finally:
        engine.dispose()


def test_simultaneous_approvals_through_the_http_edge(app, world):
    """The same race through Flask views (threading mode): one 200, the rest clear 409s."""
    from server.domain import users
    from server.extensions import session_scope

    with app.app_context(), session_scope() as s:
        editor = s.get_one(User, world.editor.id)
        d = disclosures.create_draft(
            s, editor,
            DraftInput(area_id=world.village_a.id, catalogue_item_id=world.item_public.id, title="并发审核测试",
                       valid_from=NOW, body="正文"),
            NOW,
        )
        disclosures.submit(s, editor, d.id, NOW)
        disclosure_id = d.id
        token = users.issue_api_token(s, s.get_one(User, world.reviewer.id))
    start = threading.Barrier(RACERS)
    statuses: list[int] = []
    lock = threading.Lock()

    def one() -> None:
        client = app.test_client()
        start.wait()
        resp = client.post(f"/api/v1/disclosures/{disclosure_id}/approve", json={},
                           headers={"Authorization": f"Bearer {token}"})
        with lock:
            statuses.append(resp.status_code)

    threads = [threading.Thread(target=one) for _ in range(RACERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(statuses) == [200] + [409] * (RACERS - 1)
    with app.app_context(), session_scope() as s:
        assert s.scalar(select(func.count(Review.id)).where(Review.disclosure_id == disclosure_id)) == 1
