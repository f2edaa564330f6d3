"""Domain: periods and stages a disclosure meets, internal-first-then-public phases,
withdrawal and correction (更正), with a fixed `now`, on both database backends."""

from __future__ import annotations

import datetime as dt
import threading
from collections import Counter

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from server.db import make_engine, make_sessionmaker, write_intent
from server.domain import disclosures
from server.domain.disclosures import DraftInput
from server.domain.errors import Conflict, ValidationFailed
from server.models import (
    AuditEvent,
    CatalogueItem,
    Disclosure,
    DisclosureStatus,
    Period,
    Scope,
    Timing,
    User,
)
from tests.conftest import NOW

DEVELOPMENT = ["确定入党积极分子", "确定发展对象", "接收预备党员", "预备党员转正"]


def items(session, w):
    """A monthly, a staged and an internal-first item in the world's village catalogue."""
    cat = w.item_public.category
    made = {
        "monthly": CatalogueItem(category=cat, title="村级财务收支", scope=Scope.public, timing=Timing.regular,
                                 period=Period.monthly.value, deadline_days=10, position=5),
        "staged": CatalogueItem(category=cat, title="发展党员各阶段公示", scope=Scope.public, timing=Timing.staged,
                                stages=DEVELOPMENT, deadline_days=5, internal_days=5, position=6),
    }
    session.add_all(made.values())
    session.flush()
    return made


def draft(w, item, **over):
    data = dict(
        area_id=w.village_a.id, catalogue_item_id=item.id, title="甲村公开",
        valid_from=NOW, valid_to=NOW + dt.timedelta(days=30), body="正文", case_opened_on=NOW.date(),
    )
    data.update(over)
    return DraftInput(**data)


def publish(session, w, data, at=NOW):
    d = disclosures.create_draft(session, w.editor, data, at)
    disclosures.submit(session, w.editor, d.id, at)
    disclosures.approve(session, w.reviewer, d.id, at + dt.timedelta(hours=1))
    return d


# --------------------------------------------------------------------------- periods


def test_a_regular_item_needs_a_period_in_its_own_form(session, make_world):
    w = make_world(session)
    monthly = items(session, w)["monthly"]
    for bad, message in [("", "2026-11"), ("2026-Q4", "2026-11"), ("2026-13", "2026-11")]:
        with pytest.raises(ValidationFailed, match=message) as err:
            disclosures.create_draft(session, w.editor, draft(w, monthly, period=bad), NOW)
        assert err.value.field == "period"
    with pytest.raises(ValidationFailed, match="不能晚于下一期") as err:
        disclosures.create_draft(session, w.editor, draft(w, monthly, period="2027-01"), NOW)
    d = disclosures.create_draft(session, w.editor, draft(w, monthly, period="2026-10"), NOW)
    assert d.period == "2026-10" and d.slot is None


def test_a_period_already_met_is_refused_naming_the_item_that_met_it(session, make_world):
    w = make_world(session)
    monthly = items(session, w)["monthly"]
    first = publish(session, w, draft(w, monthly, period="2026-10"))
    assert first.slot == f"p:{w.village_a.id}:{monthly.id}:2026-10"
    with pytest.raises(ValidationFailed, match=f"第 {first.id} 号") as err:
        disclosures.create_draft(session, w.editor, draft(w, monthly, period="2026-10"), NOW)
    assert err.value.field == "period"
    # Another village, or another month, is its own obligation.
    publish(session, w, draft(w, monthly, period="2026-10", area_id=w.village_b.id))
    publish(session, w, draft(w, monthly, period="2026-11"))


def test_two_drafts_of_one_period_cannot_both_be_approved(session, make_world):
    w = make_world(session)
    monthly = items(session, w)["monthly"]
    a = disclosures.create_draft(session, w.editor, draft(w, monthly, period="2026-10"), NOW)
    b = disclosures.create_draft(session, w.editor, draft(w, monthly, period="2026-10", title="另一份"), NOW)
    for d in (a, b):
        disclosures.submit(session, w.editor, d.id, NOW)
    disclosures.approve(session, w.reviewer, a.id, NOW)
    with pytest.raises(Conflict, match=f"第 {a.id} 号"):
        disclosures.approve(session, w.reviewer, b.id, NOW)


# --------------------------------------------------------------------------- stages


def test_stages_of_a_case_are_disclosed_in_order(session, make_world):
    w = make_world(session)
    staged = items(session, w)["staged"]
    with pytest.raises(ValidationFailed, match="事项案卷") as err:
        disclosures.create_draft(session, w.editor, draft(w, staged, stage=0), NOW)
    assert err.value.field == "case_id"
    with pytest.raises(ValidationFailed, match="第一个阶段"):
        disclosures.create_draft(session, w.editor, draft(w, staged, stage=1, case_title="发展党员：刘某"), NOW)
    first = publish(session, w, draft(w, staged, stage=0, case_title="发展党员：刘某"))
    case = first.case
    assert case.title == "发展党员：刘某" and case.opened_on == NOW.date()
    with pytest.raises(ValidationFailed, match="上一阶段“确定发展对象”") as err:
        disclosures.create_draft(session, w.editor, draft(w, staged, case_id=case.id, stage=2), NOW)
    assert err.value.field == "stage"
    with pytest.raises(ValidationFailed, match="“确定入党积极分子”阶段已经公开"):
        disclosures.create_draft(session, w.editor, draft(w, staged, case_id=case.id, stage=0), NOW)
    for stage in (1, 2, 3):
        d = publish(session, w, draft(w, staged, case_id=case.id, stage=stage))
        assert disclosures.stage_name(d) == DEVELOPMENT[stage]
    assert case.closed_at is not None  # the last stage closes the case
    with pytest.raises(ValidationFailed, match="已办结"):
        disclosures.create_draft(session, w.editor, draft(w, staged, case_id=case.id, stage=3), NOW)


def test_a_case_belongs_to_one_area_and_item(session, make_world):
    w = make_world(session)
    staged = items(session, w)["staged"]
    first = publish(session, w, draft(w, staged, stage=0, case_title="发展党员：刘某"))
    with pytest.raises(ValidationFailed, match="不属于") as err:
        disclosures.create_draft(
            session, w.editor, draft(w, staged, case_id=first.case_id, stage=1, area_id=w.village_b.id), NOW
        )
    assert err.value.field == "case_id"


# --------------------------------------------------------------------------- two phases


def test_internal_first_then_public_from_one_approval(session, make_world):
    w = make_world(session)
    staged = items(session, w)["staged"]  # 5 days inside the party first
    d = publish(session, w, draft(w, staged, stage=0, case_title="发展党员：刘某"))
    assert d.scope is Scope.public and d.public_from == NOW + dt.timedelta(days=5)
    assert disclosures.shown_from(d, internal=True) == NOW
    assert disclosures.shown_from(d, internal=False) == NOW + dt.timedelta(days=5)
    assert disclosures.internal_now(d, NOW + dt.timedelta(days=4, hours=23))
    assert not disclosures.internal_now(d, NOW + dt.timedelta(days=5))
    with pytest.raises(ValidationFailed, match="公示期必须更长") as err:
        disclosures.create_draft(session, w.editor, draft(
            w, staged, stage=0, case_title="发展党员：王某", valid_to=NOW + dt.timedelta(days=3)), NOW)
    assert err.value.field == "valid_to"


def test_an_internal_item_has_no_public_phase(session, make_world):
    w = make_world(session)
    d = publish(session, w, draft(w, w.item_internal))
    assert d.public_from is None and disclosures.internal_now(d, NOW + dt.timedelta(days=300))


# --------------------------------------------------------------------------- withdraw, correct


def test_withdrawal_needs_a_reviewer_and_a_reason_and_frees_the_period(session, make_world):
    w = make_world(session)
    monthly = items(session, w)["monthly"]
    d = publish(session, w, draft(w, monthly, period="2026-10"))
    with pytest.raises(ValidationFailed, match="原因") as err:
        disclosures.withdraw(session, w.reviewer, d.id, " ", NOW)
    assert err.value.field == "reason"
    with pytest.raises(Exception, match="审核人"):
        disclosures.withdraw(session, w.editor, d.id, "数据有误", NOW)
    later = NOW + dt.timedelta(days=2)
    disclosures.withdraw(session, w.reviewer, d.id, "金额录入有误，核实后重新公开", later)
    assert d.status is DisclosureStatus.withdrawn and d.slot is None
    assert (d.withdrawn_at, d.withdrawn_by_id) == (later, w.reviewer.id)
    actions = session.scalars(select(AuditEvent.action).where(AuditEvent.target_id == str(d.id))).all()
    assert "disclosure.withdraw" in actions
    with pytest.raises(Conflict):
        disclosures.withdraw(session, w.reviewer, d.id, "再撤一次", later)
    publish(session, w, draft(w, monthly, period="2026-10", title="重新公开"))  # the period is open again


def test_a_correction_is_reviewed_and_replaces_what_it_corrects(session, make_world):
    w = make_world(session)
    monthly = items(session, w)["monthly"]
    original = publish(session, w, draft(w, monthly, period="2026-10", body="支出 3,260 元"))
    fix = disclosures.open_correction(session, w.editor, original.id, "路灯维修金额写错", NOW)
    assert fix.corrects_id == original.id and fix.period == "2026-10" and fix.status is DisclosureStatus.draft
    assert fix.latest_version.body_source == "支出 3,260 元"
    with pytest.raises(Conflict, match="已有一份更正稿"):
        disclosures.open_correction(session, w.editor, original.id, "再开一份", NOW)
    # The correction edits its text; the period stays (it is the same obligation).
    disclosures.update_draft(session, w.editor, fix.id, draft(w, monthly, period="2026-10", body="支出 3,620 元"), NOW)
    disclosures.submit(session, w.editor, fix.id, NOW)
    assert original.status is DisclosureStatus.approved  # still shown while the correction is reviewed
    disclosures.approve(session, w.reviewer, fix.id, NOW + dt.timedelta(hours=2))
    assert original.status is DisclosureStatus.superseded and original.slot is None
    assert fix.status is DisclosureStatus.approved and fix.slot == f"p:{w.village_a.id}:{monthly.id}:2026-10"


def test_a_correction_of_a_withdrawn_item_cannot_be_approved(session, make_world):
    w = make_world(session)
    original = publish(session, w, draft(w, w.item_public))
    fix = disclosures.open_correction(session, w.editor, original.id, "错别字", NOW)
    disclosures.submit(session, w.editor, fix.id, NOW)
    disclosures.withdraw(session, w.reviewer, original.id, "整体撤下", NOW)
    with pytest.raises(Conflict, match="已经撤回"):
        disclosures.approve(session, w.reviewer, fix.id, NOW)


def test_a_correction_keeps_its_area_and_item(session, make_world):
    w = make_world(session)
    original = publish(session, w, draft(w, w.item_public))
    fix = disclosures.open_correction(session, w.editor, original.id, "错别字", NOW)
    with pytest.raises(ValidationFailed, match="不能改"):
        disclosures.update_draft(session, w.editor, fix.id, draft(w, w.item_public, area_id=w.village_b.id), NOW)


# --------------------------------------------------------------------------- race


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_simultaneous_approvals_of_one_period_meet_it_once(request, backend, make_world):
    """Ten drafts of the same month approved at the same moment by ten threads: one wins,
    nine conflict, one slot."""
    url = request.getfixturevalue("sqlite_url" if backend == "sqlite" else "fresh_pg")
    engine = make_engine(url)
    factory = make_sessionmaker(engine)
    racers = 10
    with factory() as s, s.begin():
        w = make_world(s)
        monthly = items(s, w)["monthly"]
        ids = []
        for n in range(racers):
            d = disclosures.create_draft(s, w.editor, draft(w, monthly, period="2026-10", title=f"第{n}份"), NOW)
            disclosures.submit(s, w.editor, d.id, NOW)
            ids.append(d.id)
        reviewer_id = w.reviewer.id
    start = threading.Barrier(racers)
    outcomes: Counter[str] = Counter()
    lock = threading.Lock()

    def one(disclosure_id: int) -> None:
        write_intent.set(True)
        start.wait()
        with Session(bind=engine, expire_on_commit=False) as s:
            try:
                with s.begin():
                    disclosures.approve(s, s.get_one(User, reviewer_id), disclosure_id, NOW)
                result = "approved"
            except Conflict:
                result = "conflict"
        with lock:
            outcomes[result] += 1

    threads = [threading.Thread(target=one, args=(i,)) for i in ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert outcomes == Counter({"approved": 1, "conflict": racers - 1})
    with factory() as s:
        approved = s.scalars(select(Disclosure).where(Disclosure.status == DisclosureStatus.approved)).all()
        assert len(approved) == 1 and approved[0].slot is not None
    engine.dispose()


def test_an_internal_first_item_printed_in_its_internal_phase_is_marked_internal(session, make_world):
    from server.domain import printing

    w = make_world(session)
    staged = items(session, w)["staged"]
    d = publish(session, w, draft(w, staged, stage=0, case_title="发展党员：刘某"))
    inside = printing._board_data(d, d.published_version, "Asia/Shanghai", NOW + dt.timedelta(days=1))
    outside = printing._board_data(d, d.published_version, "Asia/Shanghai", NOW + dt.timedelta(days=6))
    assert inside["scope"] == "internal" and inside["public_from"] is not None
    assert outside["scope"] == "public" and outside["valid_from"] == (NOW + dt.timedelta(days=5)).isoformat()


def test_which_period_is_next_follows_the_townships_day_not_utc(session, make_world):
    """At 01:00 on 1 December in Beijing (still 30 November in UTC) January is next month."""
    w = make_world(session)
    monthly = items(session, w)["monthly"]
    moment = dt.datetime(2026, 11, 30, 17, 0, tzinfo=dt.UTC)
    d = disclosures.create_draft(session, w.editor, draft(w, monthly, period="2027-01"), moment, "Asia/Shanghai")
    assert d.period == "2027-01"
    with pytest.raises(ValidationFailed, match="不能晚于下一期"):
        disclosures.create_draft(session, w.editor, draft(w, monthly, period="2027-01"), moment, "UTC")
