"""API: disclosures and their review."""

from __future__ import annotations

from server.api import current_actor, endpoint
from server.api.schemas import (
    DisclosureIn,
    DisclosureList,
    DisclosureOut,
    DisclosureQuery,
    PrintQuery,
    ReviewIn,
    ReviewOut,
)
from server.clock import now
from server.domain import disclosures
from server.extensions import db_session
from server.models import Disclosure, DisclosureKind, Scope
from server.printing import board_response


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
    )


@endpoint("get", "/disclosures", summary="List disclosures in the caller's areas", tag="disclosures", query=DisclosureQuery, response=DisclosureList)
def list_disclosures(query: DisclosureQuery):
    rows = disclosures.list_visible(db_session(), current_actor(), query.status)
    return DisclosureList(items=[serialise(d) for d in rows])


@endpoint("post", "/disclosures", summary="Create a draft", tag="disclosures", body=DisclosureIn, response=DisclosureOut, status=201, responses={422: "invalid field"})
def create_disclosure(payload: DisclosureIn):
    session = db_session()
    created = disclosures.create_draft(session, current_actor(), _draft(payload), now())
    return serialise(created)


@endpoint("get", "/disclosures/{disclosure_id}", summary="One disclosure", tag="disclosures", response=DisclosureOut, responses={404: "missing or outside the caller's areas"})
def get_disclosure(disclosure_id: int):
    return serialise(disclosures.get(db_session(), current_actor(), disclosure_id))


@endpoint("put", "/disclosures/{disclosure_id}", summary="Replace a draft (adds a version)", tag="disclosures", body=DisclosureIn, response=DisclosureOut, responses={409: "not editable", 404: "not found"})
def update_disclosure(disclosure_id: int, payload: DisclosureIn):
    session = db_session()
    updated = disclosures.update_draft(session, current_actor(), disclosure_id, _draft(payload), now())
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
        session, current_actor(), disclosure_id, now(), payload.comment, payload.content_hash
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
