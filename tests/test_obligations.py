"""Obligations: the pure derivation with a fixed day, and the loader over real rows."""

from __future__ import annotations

import datetime as dt

from server.domain import disclosures, obligations
from server.domain.disclosures import DraftInput
from server.domain.obligations import Case, Met, Place, Rule, State
from server.models import AreaKind, CatalogueItem, Period, Scope, Timing
from tests.conftest import NOW

TODAY = dt.date(2026, 12, 4)
VILLAGE = Place(7, "东山村", AreaKind.village)
DUES = Rule(1, "党费收缴情况", "财务与党费", Timing.regular, Period.quarterly, (), 10, dt.date(2026, 1, 1))
ACCOUNTS = Rule(2, "村级财务收支", "财务与党费", Timing.regular, Period.monthly, (), 10, dt.date(2026, 9, 15))
MEMBERS = Rule(3, "发展党员", "组织建设", Timing.staged, None, ("积极分子", "发展对象", "预备党员", "转正"), 5,
               dt.date(2026, 1, 1))
SPENDING = Rule(4, "大额经费开支", "财务与党费", Timing.ad_hoc, None, (), 5, dt.date(2026, 1, 1))


def derive(rules, cases=(), met=None, places=(VILLAGE,), today=TODAY):
    return obligations.derive(list(places), {AreaKind.village: list(rules)}, list(cases), met or {}, today)


def test_a_quarterly_item_owes_every_quarter_since_it_joined_due_after_the_quarter_ends():
    found = derive([DUES])
    assert [(o.period, o.due, o.state) for o in found] == [
        ("2026-Q1", dt.date(2026, 4, 10), State.overdue),
        ("2026-Q2", dt.date(2026, 7, 10), State.overdue),
        ("2026-Q3", dt.date(2026, 10, 10), State.overdue),
        ("2026-Q4", dt.date(2027, 1, 10), State.due),  # the running quarter: due after it ends
    ]


def test_a_monthly_item_starts_with_the_month_it_joined_and_a_met_period_says_by_what():
    met = {"p:7:2:2026-10": Met(41, dt.date(2026, 11, 12)), "p:7:2:2026-09": Met(40, dt.date(2026, 10, 9))}
    found = derive([ACCOUNTS], met=met)
    assert [(o.period, o.state, o.met_by, o.late) for o in found] == [
        ("2026-09", State.met, 40, False),
        ("2026-10", State.met, 41, True),  # due 11-10, met 11-12: late
        ("2026-11", State.due, None, False),  # due 12-10, today is 12-04
        ("2026-12", State.due, None, False),
    ]
    assert found[2].due == dt.date(2026, 12, 10)


def test_the_day_after_the_due_date_it_is_overdue():
    (nov,) = [o for o in derive([ACCOUNTS], today=dt.date(2026, 12, 10)) if o.period == "2026-11"]
    assert nov.state is State.due
    (nov,) = [o for o in derive([ACCOUNTS], today=dt.date(2026, 12, 11)) if o.period == "2026-11"]
    assert nov.state is State.overdue


def test_a_staged_case_owes_its_next_stage_only_and_the_first_within_the_deadline():
    case = Case(9, 7, 3, "发展党员：刘某", dt.date(2026, 11, 20))
    (first,) = derive([MEMBERS], [case])
    assert (first.stage, first.stage_name, first.due, first.state) == (0, "积极分子", dt.date(2026, 11, 25), State.overdue)
    met = {"c:9:0": Met(50, dt.date(2026, 11, 24)), "c:9:1": Met(51, dt.date(2026, 12, 1))}
    found = derive([MEMBERS], [case], met)
    assert [(o.stage_name, o.state) for o in found] == [
        ("积极分子", State.met), ("发展对象", State.met), ("预备党员", State.due),
    ]
    assert found[-1].due is None  # a later stage waits for its event


def test_an_ad_hoc_item_owes_only_for_registered_cases():
    assert derive([SPENDING]) == []
    (one,) = derive([SPENDING], [Case(11, 7, 4, "村道硬化工程支出", dt.date(2026, 12, 1))])
    assert (one.due, one.state, one.key) == (dt.date(2026, 12, 6), State.due, "c:11:0")


def test_other_organisation_types_owe_their_own_catalogue():
    community = Place(8, "清河社区", AreaKind.community)
    found = obligations.derive([VILLAGE, community], {AreaKind.village: [DUES]}, [], {}, TODAY)
    assert {o.area for o in found} == {"东山村"}


def test_tally_and_the_editors_list_put_overdue_first():
    found = derive([DUES, ACCOUNTS], met={"p:7:2:2026-10": Met(41, dt.date(2026, 11, 12))})
    (row,) = obligations.tally(found)
    assert (row.overdue, row.due, row.met, row.late) == (4, 3, 1, 1)  # Q1-Q3 and September overdue; Q4, Nov, Dec due
    todo = obligations.unmet_first(found)
    assert [o.state for o in todo[:4]] == [State.overdue] * 4
    assert todo[4].due == dt.date(2026, 12, 10)


def test_loader_reads_periods_met_by_approved_items_and_not_by_withdrawn_ones(session, make_world):
    w = make_world(session)
    monthly = CatalogueItem(category=w.item_public.category, title="村级财务收支", scope=Scope.public,
                            timing=Timing.regular, period="monthly", deadline_days=10,
                            created_at=dt.datetime(2026, 10, 1, tzinfo=dt.UTC))
    session.add(monthly)
    session.flush()

    def publish(period: str):
        d = disclosures.create_draft(session, w.editor, DraftInput(
            area_id=w.village_a.id, catalogue_item_id=monthly.id, title="财务公开", period=period,
            valid_from=NOW, body="正文"), NOW)
        disclosures.submit(session, w.editor, d.id, NOW)
        disclosures.approve(session, w.reviewer, d.id, NOW)
        return d

    oct_item = publish("2026-10")
    nov_item = publish("2026-11")
    disclosures.withdraw(session, w.reviewer, nov_item.id, "数据有误", NOW)
    found = obligations.for_user(session, w.supervisor, NOW, "Asia/Shanghai")
    mine = {(o.area, o.period): o for o in found if o.item_id == monthly.id}
    assert mine[("甲村", "2026-10")].met_by == oct_item.id
    assert mine[("甲村", "2026-10")].state is State.met
    assert mine[("甲村", "2026-11")].state is State.due  # withdrawn: owed again
    assert mine[("乙村", "2026-10")].state is State.overdue  # due 11-10, today 11-20
    # A village editor sees their own village only.
    assert {o.area for o in obligations.for_user(session, w.editor_a, NOW, "Asia/Shanghai")} == {"甲村"}


def test_a_later_stage_is_due_once_its_event_is_recorded():
    case = Case(9, 7, 3, "发展党员：刘某", dt.date(2026, 11, 20), ((1, dt.date(2026, 11, 26)),))
    met = {"c:9:0": Met(50, dt.date(2026, 11, 24))}
    found = derive([MEMBERS], [case], met)
    assert [(o.stage_name, o.due, o.state) for o in found] == [
        ("积极分子", dt.date(2026, 11, 25), State.met),
        ("发展对象", dt.date(2026, 12, 1), State.overdue),  # happened 11-26, 5 days to disclose
    ]


def test_an_editor_records_when_the_next_stage_happened(session, make_world):
    import pytest

    from server.domain import cases
    from server.domain.errors import Conflict, ValidationFailed

    w = make_world(session)
    staged = CatalogueItem(category=w.item_public.category, title="发展党员各阶段公示", scope=Scope.public,
                           timing=Timing.staged, stages=["确定入党积极分子", "确定发展对象", "接收预备党员"], deadline_days=5)
    session.add(staged)
    session.flush()
    first = disclosures.create_draft(session, w.editor, DraftInput(
        area_id=w.village_a.id, catalogue_item_id=staged.id, title="积极分子公示", valid_from=NOW, body="正文",
        stage=0, case_title="发展党员：刘某", case_opened_on=dt.date(2026, 11, 1)), NOW)
    case_id = first.case_id
    with pytest.raises(Conflict, match="先公开上一阶段"):  # the first stage is not disclosed yet
        cases.record_stage(session, w.editor, case_id, 1, dt.date(2026, 11, 10), NOW)
    disclosures.submit(session, w.editor, first.id, NOW)
    disclosures.approve(session, w.reviewer, first.id, NOW)
    with pytest.raises(ValidationFailed, match="晚于今天") as err:
        cases.record_stage(session, w.editor, case_id, 1, dt.date(2026, 12, 30), NOW)
    assert err.value.field == "day"
    with pytest.raises(Conflict, match="先公开上一阶段"):
        cases.record_stage(session, w.editor, case_id, 2, dt.date(2026, 11, 10), NOW)
    with pytest.raises(Exception, match="未找到"):  # another village's editor
        cases.record_stage(session, _other_editor(session, w), case_id, 1, dt.date(2026, 11, 10), NOW)
    cases.record_stage(session, w.editor, case_id, 1, dt.date(2026, 11, 10), NOW)
    with pytest.raises(Conflict, match="已经登记过"):
        cases.record_stage(session, w.editor, case_id, 1, dt.date(2026, 11, 11), NOW)
    found = [o for o in obligations.for_user(session, w.editor, NOW, "Asia/Shanghai") if o.case_id == case_id]
    assert [(o.stage_name, o.due, o.state) for o in found][-1] == ("确定发展对象", dt.date(2026, 11, 15), State.overdue)


def _other_editor(session, w):
    from server.domain import users
    from server.models import Role

    return users.create_user(session, username="editor_b", password="correct-horse", display_name="乙村经办人",
                             grants=[(Role.editor, w.village_b)])
