"""Domain: feedback tickets, answers, the echo wall (both backends)."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from server.domain import feedback
from server.domain.errors import Conflict, Forbidden, NotFound, ValidationFailed
from server.models import Feedback, FeedbackStatus
from tests.test_manifests import build


def submit(session, w, area=None, **over):
    data = {"kind": "question", "body": "什么时候发补贴？"}
    data.update(over)
    return feedback.submit(session, feedback.FeedbackInput(**data), area=area or w.village_a,
                           disclosure=None, device=None, now=dt.datetime(2026, 11, 20, 2, tzinfo=dt.UTC))


def test_every_submission_gets_a_ticket_an_owner_area_and_a_deadline(session, make_world):
    w = make_world(session)
    t = submit(session, w)
    assert len(t.ticket_code) == 8 and t.status is FeedbackStatus.open
    # Friday + 5 working days = the next Friday.
    assert t.due_at == dt.datetime(2026, 11, 27, 2, tzinfo=dt.UTC)
    assert feedback.by_ticket(session, t.ticket_code.lower()).id == t.id


def test_anonymous_by_default_drops_name_and_phone(session, make_world):
    w = make_world(session)
    t = submit(session, w, name="张三", phone="13800001111")
    assert t.anonymous and t.author_name == "" and t.author_phone == ""
    named = submit(session, w, anonymous=False, name="张三", phone="138 0000 1111")
    assert not named.anonymous and named.author_phone == "13800001111"


@pytest.mark.parametrize(
    ("over", "field"),
    [({"body": ""}, "body"), ({"body": "字" * 5000}, "body"), ({"kind": "praise"}, "kind"),
     ({"anonymous": False, "phone": "abc"}, "phone"), ({"anonymous": False, "name": "名" * 40}, "name")],
)
def test_bad_feedback_names_the_field_and_saves_nothing(session, make_world, over, field):
    w = make_world(session)
    with pytest.raises(ValidationFailed) as err:
        submit(session, w, **over)
    assert err.value.field == field
    assert session.scalar(select(func.count(Feedback.id))) == 0


def test_handlers_answer_within_their_area_and_reports_stay_private(session, make_world):
    w = make_world(session)
    t = submit(session, w)
    with pytest.raises(Forbidden):
        feedback.answer(session, w.editor, t.id, "答复", True, dt.datetime.now(dt.UTC))
    with pytest.raises(NotFound):
        feedback.answer(session, w.editor_a, submit(session, w, area=w.village_b).id, "答复", False, dt.datetime.now(dt.UTC))
    with pytest.raises(ValidationFailed):
        feedback.answer(session, w.handler, t.id, "  ", True, dt.datetime.now(dt.UTC))
    feedback.answer(session, w.handler, t.id, "下周一发放", True, dt.datetime.now(dt.UTC))
    assert t.status is FeedbackStatus.answered
    report = submit(session, w, kind="report", body="有人冒领补贴")
    with pytest.raises(Conflict):
        feedback.answer(session, w.handler, report.id, "已核查", True, dt.datetime.now(dt.UTC))
    feedback.answer(session, w.handler, report.id, "已核查", False, dt.datetime.now(dt.UTC))
    wall = feedback.echo_wall(session, w.village_a)
    assert [e.answer for e in wall] == ["下周一发放"]


def test_inbox_is_scoped_to_the_users_subtree(session, make_world):
    w = make_world(session)
    submit(session, w, area=w.village_a)
    submit(session, w, area=w.village_b)
    assert len(feedback.inbox(session, w.handler)) == 2
    assert len(feedback.inbox(session, w.supervisor)) == 2
    assert {f.area_id for f in feedback.inbox(session, w.editor_a)} == {w.village_a.id}


def test_feedback_inherits_the_scope_of_its_item_or_screen(session, make_world, now):
    """Defect: internal feedback answered 'public' reached every public screen."""
    from server.domain import disclosures
    from server.domain.disclosures import DraftInput
    from server.models import Scope

    w = make_world(session)
    internal_item = disclosures.create_draft(
        session, w.editor,
        DraftInput(area_id=w.village_a.id, catalogue_item_id=w.item_internal.id, title="预备党员转正公示",
                   valid_from=now, body="正文"),
        now,
    )
    ask = feedback.FeedbackInput(kind="question", body="转正材料哪里看？")
    on_item = feedback.submit(session, ask, area=w.village_a, disclosure=internal_item, device=w.screen_a, now=now)
    from_party_room = feedback.submit(session, ask, area=w.village_a, disclosure=None, device=w.screen_a_internal, now=now)
    from_hall = feedback.submit(session, ask, area=w.village_a, disclosure=None, device=w.screen_a, now=now)
    assert (on_item.scope, from_party_room.scope, from_hall.scope) == (Scope.internal, Scope.internal, Scope.public)

    feedback.answer(session, w.handler, on_item.id, "党员活动室可查阅", True, now)
    feedback.answer(session, w.handler, from_party_room.id, "支部书记处可查阅", True, now)
    assert feedback.echo_wall(session, w.village_a) == []
    assert len(feedback.echo_wall(session, w.village_a, internal=True)) == 2

    public = build(session, w.screen_a, now)
    party_room = build(session, w.screen_a_internal, now)
    assert "党员活动室可查阅" not in str(public) and "支部书记处可查阅" not in str(public)
    assert "党员活动室可查阅" in str(party_room)


def named_feedback(session, w, kind="question", area=None):
    data = feedback.FeedbackInput(kind=kind, body="低保名单有问题", anonymous=False, name="王五", phone="13900001111")
    return feedback.submit(session, data, area=area or w.village_a, disclosure=None, device=None, now=NOW)


NOW = dt.datetime(2026, 11, 20, 2, tzinfo=dt.UTC)


def test_reporter_contact_is_only_for_handlers_and_supervisors(session, make_world):
    """Defect: a village editor read a real-name reporter's name and phone."""
    w = make_world(session)
    item = named_feedback(session, w)
    assert feedback.contact_visible(w.handler, item) and feedback.contact_visible(w.supervisor, item)
    assert not feedback.contact_visible(w.editor_a, item)
    assert not feedback.contact_visible(w.reviewer, item)


def test_reports_are_hidden_from_users_of_the_village_concerned(session, make_world):
    """Reports: supervisors, and handlers above the village; never a village-only grant."""
    from server.domain import users
    from server.models import Role

    w = make_world(session)
    village_handler = users.create_user(session, username="handler_a", password="correct-horse",
                                        display_name="村承办人", grants=[(Role.handler, w.village_a)])
    village_supervisor = users.create_user(session, username="supervisor_a", password="correct-horse",
                                           display_name="村监督员", grants=[(Role.supervisor, w.village_a)])
    report = named_feedback(session, w, kind="report")
    question = named_feedback(session, w)

    def sees(user):
        return {f.id for f in feedback.inbox(session, user)}

    assert sees(w.supervisor) == sees(w.handler) == {report.id, question.id}
    assert sees(village_supervisor) == {report.id, question.id}  # supervisors see all of their subtree
    assert sees(village_handler) == {question.id}
    assert sees(w.editor_a) == {question.id} and sees(w.editor) == {question.id}
    with pytest.raises(NotFound):
        feedback.get(session, village_handler, report.id)
