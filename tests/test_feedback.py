"""Domain: feedback tickets, answers, the echo wall (both backends)."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from server.domain import feedback
from server.domain.errors import Conflict, Forbidden, NotFound, ValidationFailed
from server.models import Feedback, FeedbackStatus


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
