"""API: what each area owes by its catalogue (待公开, 逾期未公开), for reviewers and supervisors."""

from __future__ import annotations

from server.api import current_actor, endpoint
from server.api.schemas import ObligationList, ObligationOut, ObligationQuery, ObligationTally
from server.clock import now
from server.domain import obligations
from server.extensions import db_session
from server.web.forms import local_zone


def serialise(o: obligations.Obligation) -> ObligationOut:
    return ObligationOut(
        area_id=o.area_id, area=o.area, item_id=o.item_id, item=o.item, category=o.category,
        timing=o.timing.value, period=o.period, case_id=o.case_id, case=o.case, stage=o.stage,
        stage_name=o.stage_name, due=o.due, state=o.state.value, met_by=o.met_by, met_on=o.met_on,
        late=o.late,
    )


@endpoint("get", "/obligations", summary="Obligations of the caller's areas by the catalogue: per period or stage, due date and state, with a tally per area (overdue first)", tag="obligations", query=ObligationQuery, response=ObligationList)
def list_obligations(query: ObligationQuery):
    found = obligations.for_user(db_session(), current_actor(), now(), local_zone(), query.area_id)
    state = obligations.State(query.state) if query.state else None
    ordered = obligations.unmet_first(found) + [o for o in found if o.state is obligations.State.met]
    return ObligationList(
        tally=[ObligationTally(**vars(t)) for t in obligations.tally(found)],
        items=[serialise(o) for o in ordered if state is None or o.state is state],
    )
