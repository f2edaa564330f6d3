"""API: the feedback inbox and answers."""

from __future__ import annotations

from server.api import current_actor, endpoint
from server.api.schemas import AnswerIn, AnswerOut, FeedbackList, FeedbackOut, FeedbackQuery
from server.clock import now
from server.domain import feedback
from server.extensions import db_session
from server.models import Feedback


def serialise(f: Feedback) -> FeedbackOut:
    contact = feedback.contact_visible(current_actor(), f)
    return FeedbackOut(
        id=f.id,
        ticket_code=f.ticket_code,
        area=f.area.name,
        disclosure_id=f.disclosure_id,
        device_id=f.device_id,
        kind=f.kind.value,
        body=f.body,
        anonymous=f.anonymous,
        scope=f.scope.value,
        author_name=f.author_name if contact else "",
        author_phone=f.author_phone if contact else "",
        status=f.status.value,
        created_at=f.created_at,
        due_at=f.due_at,
        answers=[
            AnswerOut(body=a.body, public=a.public, handler=a.handler.username, answered_at=a.answered_at)
            for a in f.answers
        ],
    )


@endpoint("get", "/feedback", summary="The feedback inbox of the caller's areas", tag="feedback", query=FeedbackQuery, response=FeedbackList)
def list_feedback(query: FeedbackQuery):
    rows = feedback.inbox(db_session(), current_actor(), query.status)
    return FeedbackList(items=[serialise(f) for f in rows])


@endpoint("get", "/feedback/{feedback_id}", summary="One ticket", tag="feedback", response=FeedbackOut, responses={404: "not found"})
def get_feedback(feedback_id: int):
    return serialise(feedback.get(db_session(), current_actor(), feedback_id))


@endpoint("post", "/feedback/{feedback_id}/answers", summary="Answer a ticket; public answers go to the echo wall", tag="feedback", body=AnswerIn, response=FeedbackOut, status=201, responses={403: "not a handler", 409: "reports are answered privately"})
def answer_feedback(feedback_id: int, payload: AnswerIn):
    session = db_session()
    reply = feedback.answer(session, current_actor(), feedback_id, payload.body, payload.public, now())
    return serialise(reply.feedback)
