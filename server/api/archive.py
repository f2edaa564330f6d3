"""API: an area's disclosure archive (公开档案) for its supervisors, reviewers and admins:
the entries of a span of days as JSON, and the inspector's ZIP (same as the admin page)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from pydantic import BaseModel, Field, create_model

from server.api import current_actor, endpoint
from server.api.schemas import Strict
from server.domain import archive
from server.extensions import db_session
from server.web.archive import zip_response
from server.web.forms import local_day_end, local_midnight

# `from` is a Python keyword: the query schema is built with it as a field name.
_DAYS: dict[str, Any] = {
    "from": (dt.date, Field(description="first day (YYYY-MM-DD, in the township's zone)")),
    "to": (dt.date, Field(description="last day, included")),
}
ArchiveQuery: type[BaseModel] = create_model("ArchiveQuery", __base__=Strict, **_DAYS)


class ArchiveEntryOut(BaseModel):
    id: int
    seq: int = Field(description="place in the area's chain, from 1")
    kind: str = Field(description="approved, withdrawn or corrected")
    kind_label: str = Field(description="the kind in Chinese")
    disclosure_id: int
    version_id: int | None
    recorded_at: dt.datetime
    title: str
    valid_from: dt.datetime | None = Field(description="start of the posting period (公示期)")
    valid_to: dt.datetime | None = Field(description="end of the posting period (exclusive); null: no end")
    public_from: dt.datetime | None = Field(description="internal first, public from this moment")
    approver: str = Field(description="who approved the archived version")
    reason: str = Field(description="of a withdrawal or correction")
    corrected_by: int | None = Field(description="for a corrected entry: the correcting disclosure")
    payload_hash: str
    prev_hash: str
    entry_hash: str
    payload: dict[str, Any] = Field(description="the archived record (canonical JSON hashed to payload_hash)")


class ArchiveOut(BaseModel):
    area_id: int
    intact: bool = Field(description="the area's whole chain verifies")
    problems: list[str] = Field(description="one line per problem found, naming the entry")
    head: str = Field(description="entry_hash of the area's last entry (64 zeros when empty)")
    items: list[ArchiveEntryOut]


def _days(query: Any) -> tuple[dt.date, dt.date]:
    return getattr(query, "from"), query.to


def serialise(row: archive.Listed) -> ArchiveEntryOut:
    e = row.entry
    return ArchiveEntryOut(
        id=e.id, seq=e.seq, kind=e.kind, kind_label=archive.KIND_LABELS.get(e.kind, e.kind),
        disclosure_id=e.disclosure_id, version_id=e.version_id, recorded_at=e.recorded_at, title=row.title,
        valid_from=row.valid_from, valid_to=row.valid_to, public_from=row.public_from, approver=row.approver,
        reason=row.reason, corrected_by=row.corrected_by, payload_hash=e.payload_hash, prev_hash=e.prev_hash,
        entry_hash=e.entry_hash, payload=json.loads(e.payload),
    )


@endpoint("get", "/areas/{area_id}/archive", summary="The area's archive entries recorded on the given days, in chain order, and whether its chain verifies (supervisors, reviewers, admins)", tag="archive", query=ArchiveQuery, response=ArchiveOut, responses={403: "in sight but not a supervisor, reviewer or admin there", 404: "area outside the caller's areas", 422: "to before from"})
def area_archive(area_id: int, query: Any):
    session = db_session()
    first, last = _days(query)
    found = archive.entries(session, current_actor(), area_id, local_midnight(first), local_day_end(last))
    problems, chains = archive.verify_with_summary(session, area_id)
    return ArchiveOut(
        area_id=area_id, intact=not problems, problems=[p.line() for p in problems], head=chains[0].head,
        items=[serialise(archive.listed(e)) for e in found],
    )


@endpoint("get", "/areas/{area_id}/archive.zip", summary="The inspector's ZIP of the area's archive for the given days (application/zip): entries.json, chain.json, the boards as PDFs, manifest.json, README.txt and a standalone verify.py; audited", tag="archive", query=ArchiveQuery, responses={403: "in sight but not a supervisor, reviewer or admin there", 404: "area outside the caller's areas", 422: "to before from, or too many entries for one ZIP"})
def area_archive_zip(area_id: int, query: Any):
    first, last = _days(query)
    return zip_response(current_actor(), area_id, first, last)
