"""API: disclosures and their review."""

from __future__ import annotations

from server.api import current_actor, endpoint
from server.api.schemas import (
    DisclosureIn,
    DisclosureList,
    DisclosureOut,
    DisclosureQuery,
    PrintQuery,
    ReasonIn,
    ReviewIn,
    ReviewOut,
)
from server.clock import now
from server.domain import disclosures
from server.extensions import db_session
from server.models import Disclosure, DisclosureKind, Scope
from server.printing import board_response
from server.web.forms import local_zone


def serialise(d: Disclosure) -> DisclosureOut:
    v = d.latest_version
    return DisclosureOut(
        id=d.id,
        area_id=d.area_id,
        area=d.area.name,
        catalogue_item_id=d.catalogue_item_id,
        kind=d.kind.value,
        scope=d.scope.value,
        status=d.status.value,
        title=v.title,
        body=v.body_source,
        body_html=v.body_html,
        table=v.table,
        valid_from=d.valid_from,
        valid_to=d.valid_to,
        public_from=d.public_from,
        period=d.period,
        case_id=d.case_id,
        stage=d.stage,
        stage_name=disclosures.stage_name(d),
        corrects_id=d.corrects_id,
        correction_reason=d.correction_reason,
        withdrawn_at=d.withdrawn_at,
        withdraw_reason=d.withdraw_reason,
        attachments=list(v.attachments or []),
        author=d.author.username,
        version=v.number,
        content_hash=v.content_hash,
        reviews=[
            ReviewOut(
                reviewer=r.reviewer.username,
                authors=[a.username for a in r.authors],
                decision=r.decision.value,
                content_hash=r.content_hash,
                comment=r.comment,
                decided_at=r.decided_at,
            )
            for r in d.reviews
        ],
    )


def _draft(payload: DisclosureIn) -> disclosures.DraftInput:
    return disclosures.DraftInput(
        area_id=payload.area_id,
        catalogue_item_id=payload.catalogue_item_id,
        title=payload.title,
        valid_from=payload.valid_from,
        valid_to=payload.valid_to,
        kind=DisclosureKind(payload.kind),
        body=payload.body,
        table=payload.table.model_dump() if payload.table else None,
        scope=Scope(payload.scope) if payload.scope else None,
        period=payload.period,
        case_id=payload.case_id,
        case_title=payload.case_title,
        case_opened_on=payload.case_opened_on,
        stage=payload.stage,
        attachments=list(payload.attachments),
    )


@endpoint("get", "/disclosures", summary="List disclosures in the caller's areas", tag="disclosures", query=DisclosureQuery, response=DisclosureList)
def list_disclosures(query: DisclosureQuery):
    rows = disclosures.list_visible(db_session(), current_actor(), query.status)
    return DisclosureList(items=[serialise(d) for d in rows])


@endpoint("post", "/disclosures", summary="Create a draft", tag="disclosures", body=DisclosureIn, response=DisclosureOut, status=201, responses={422: "invalid field"})
def create_disclosure(payload: DisclosureIn):
    session = db_session()
    created = disclosures.create_draft(session, current_actor(), _draft(payload), now(), local_zone())
    return serialise(created)


@endpoint("get", "/disclosures/{disclosure_id}", summary="One disclosure", tag="disclosures", response=DisclosureOut, responses={404: "missing or outside the caller's areas"})
def get_disclosure(disclosure_id: int):
    return serialise(disclosures.get(db_session(), current_actor(), disclosure_id))


@endpoint("put", "/disclosures/{disclosure_id}", summary="Replace a draft (adds a version)", tag="disclosures", body=DisclosureIn, response=DisclosureOut, responses={409: "not editable", 404: "not found"})
def update_disclosure(disclosure_id: int, payload: DisclosureIn):
    session = db_session()
    updated = disclosures.update_draft(session, current_actor(), disclosure_id, _draft(payload), now(), local_zone())
    return serialise(updated)


@endpoint("post", "/disclosures/{disclosure_id}/submit", summary="Submit a draft for review", tag="disclosures", response=DisclosureOut, responses={409: "already submitted"})
def submit_disclosure(disclosure_id: int):
    session = db_session()
    done = disclosures.submit(session, current_actor(), disclosure_id, now())
    return serialise(done)


@endpoint("post", "/disclosures/{disclosure_id}/approve", summary="Approve (never by the author)", tag="disclosures", body=ReviewIn, response=DisclosureOut, responses={403: "author or not a reviewer", 409: "not submitted or changed"})
def approve_disclosure(disclosure_id: int, payload: ReviewIn):
    session = db_session()
    done = disclosures.approve(
        session, current_actor(), disclosure_id, now(), payload.comment, payload.content_hash, local_zone()
    )
    return serialise(done)


@endpoint("post", "/disclosures/{disclosure_id}/reject", summary="Send back to the editor", tag="disclosures", body=ReviewIn, response=DisclosureOut, responses={403: "author or not a reviewer", 422: "reason missing"})
def reject_disclosure(disclosure_id: int, payload: ReviewIn):
    session = db_session()
    done = disclosures.reject(session, current_actor(), disclosure_id, now(), payload.comment)
    return serialise(done)


@endpoint("get", "/disclosures/{disclosure_id}/print", summary="The approved version as a printed board for the paper 公开栏: a PDF (application/pdf) on A4 or A3, in the area's theme, with a QR code signed for paper", tag="disclosures", query=PrintQuery, responses={404: "missing or outside the caller's areas", 409: "not approved, or its posting period has ended"})
def print_disclosure(disclosure_id: int, query: PrintQuery):
    return board_response(current_actor(), disclosure_id, query.size)


@endpoint("post", "/disclosures/{disclosure_id}/withdraw", summary="Take an approved item off every screen and page before its posting period ends (reviewers; a reason is recorded and archived)", tag="disclosures", body=ReasonIn, response=DisclosureOut, responses={403: "not a reviewer of its area", 409: "not approved", 422: "reason missing"})
def withdraw_disclosure(disclosure_id: int, payload: ReasonIn):
    done = disclosures.withdraw(db_session(), current_actor(), disclosure_id, payload.reason, now(), local_zone())
    return serialise(done)


@endpoint("post", "/disclosures/{disclosure_id}/correct", summary="Start a correction (更正) of an approved item: a new draft with its content, which replaces it once approved", tag="disclosures", body=ReasonIn, response=DisclosureOut, status=201, responses={403: "not an editor of its area", 409: "not approved, or a correction is already open", 422: "reason missing"})
def correct_disclosure(disclosure_id: int, payload: ReasonIn):
    made = disclosures.open_correction(db_session(), current_actor(), disclosure_id, payload.reason, now())
    return serialise(made)
