"""API: the audit log of the caller's subtrees, with the admin page's filters."""

from __future__ import annotations

from server.api import current_actor, endpoint
from server.api.schemas import AuditEventOut, AuditList, AuditQuery
from server.domain import audit
from server.extensions import db_session
from server.models import AuditEvent
from server.web.forms import local_day_end, local_midnight


def serialise(event: AuditEvent, areas: dict[str, str]) -> AuditEventOut:
    return AuditEventOut(
        id=event.id,
        occurred_at=event.occurred_at,
        username=event.username,
        address=event.address,
        action=event.action,
        action_label=audit.ACTION_LABELS.get(event.action, event.action),
        target_type=event.target_type,
        target_id=event.target_id,
        area=areas.get(event.area_path, ""),
        before_digest=event.before_digest,
        after_digest=event.after_digest,
        detail=event.detail,
    )


def audit_filter(query: AuditQuery) -> audit.AuditFilter:
    """Days are the township's days, as typed on the admin page."""
    return audit.AuditFilter(
        area_id=query.area_id,
        username=query.username or "",
        action=query.action or "",
        since=local_midnight(query.since) if query.since else None,
        until=local_day_end(query.until) if query.until else None,
        limit=query.limit,
        offset=query.offset,
    )


@endpoint("get", "/audit", summary="Audit log of the caller's areas, newest first (supervisors, admins)", tag="audit", query=AuditQuery, response=AuditList, responses={403: "not a supervisor or admin", 404: "area outside the caller's areas", 422: "until before since"})
def audit_log(query: AuditQuery):
    session = db_session()
    found = audit.page(session, current_actor(), audit_filter(query))
    names = audit.area_names(session, found.rows)
    return AuditList(
        items=[serialise(e, names) for e in found.rows],
        next_offset=query.offset + query.limit if found.more else None,
    )
