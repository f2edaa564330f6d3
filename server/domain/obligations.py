"""Obligations: what each area must disclose, for which period or stage, and by when.

`derive` is a pure function of the catalogue rules, the cases, the slots already met and
today's date (in the township's zone); `for_user` loads those facts for the areas a user
may see and calls it. An obligation is met by an approved disclosure holding its slot
(`disclosures.slot_of`): a withdrawn item no longer meets it, an approved correction
(更正) takes over the slot of what it corrects.

- Regular items (定期): one obligation per period that has started since the item joined the
  catalogue (at most `LOOKBACK_DAYS` back); due `deadline_days` after the period's last day.
- Staged items (逐段): per case, the next stage not yet disclosed; the first stage is due
  `deadline_days` after the case opened; a later stage is due `deadline_days` after the day
  an editor records its event happened (`cases.record_stage`), and has no due date until then.
- Ad hoc items (随时): per case registered in advance, due `deadline_days` after its event;
  an ad hoc disclosure made without a case owes nothing.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Iterable
from dataclasses import dataclass, replace

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.domain import cases as cases_
from server.domain import periods
from server.domain.access import area_clause
from server.domain.text import N_
from server.models import (
    CATALOGUE_KINDS,
    Area,
    AreaKind,
    CatalogueCategory,
    CatalogueItem,
    Disclosure,
    DisclosureCase,
    Period,
    Review,
    ReviewDecision,
    Timing,
    User,
)
from signage_layouts import dates

LOOKBACK_DAYS = 366


class State(enum.Enum):
    met = "met"  # 已公开
    due = "due"  # 待公开
    overdue = "overdue"  # 逾期未公开


STATE_LABELS = {State.met: N_("已公开"), State.due: N_("待公开"), State.overdue: N_("逾期未公开")}


@dataclass(frozen=True)
class Rule:
    """A catalogue item as obligations see it."""

    id: int
    title: str
    category: str
    timing: Timing
    period: Period | None
    stages: tuple[str, ...]
    deadline_days: int
    since: dt.date  # the first day it is owed
    responsible: str = ""


@dataclass(frozen=True)
class Place:
    id: int
    name: str
    kind: AreaKind


@dataclass(frozen=True)
class Case:
    id: int
    area_id: int
    item_id: int
    title: str
    opened_on: dt.date
    stage_days: tuple[tuple[int, dt.date], ...] = ()  # (stage, the day its event happened)


@dataclass(frozen=True)
class Met:
    disclosure_id: int
    on: dt.date  # the day it was first approved


@dataclass(frozen=True)
class Obligation:
    area_id: int
    area: str
    item_id: int
    item: str
    category: str
    timing: Timing
    state: State
    due: dt.date | None
    period: str = ""
    case_id: int | None = None
    case: str = ""
    stage: int | None = None
    stage_name: str = ""
    met_by: int | None = None
    met_on: dt.date | None = None
    responsible: str = ""

    @property
    def late(self) -> bool:
        """Met, but after its due date."""
        return self.met_on is not None and self.due is not None and self.met_on > self.due

    @property
    def key(self) -> str:
        """The slot it is met by (`disclosures.slot_of`)."""
        if self.case_id is not None:
            return f"c:{self.case_id}:{self.stage or 0}"
        return f"p:{self.area_id}:{self.item_id}:{self.period}"


def _state(met: Met | None, due: dt.date | None, today: dt.date) -> State:
    if met is not None:
        return State.met
    return State.overdue if due is not None and today > due else State.due


def derive(
    places: Iterable[Place],
    rules: dict[AreaKind, list[Rule]],
    cases: Iterable[Case],
    met: dict[str, Met],
    today: dt.date,
) -> list[Obligation]:
    """Every obligation of `places` as of `today`, in area, catalogue and time order."""
    by_area_item: dict[tuple[int, int], list[Case]] = {}
    for case in cases:
        by_area_item.setdefault((case.area_id, case.item_id), []).append(case)
    out: list[Obligation] = []
    first_day = today - dt.timedelta(days=LOOKBACK_DAYS)
    # The periods owed and their due dates depend on the item only: made once per item.
    owed: dict[int, list[tuple[str, dt.date, State]]] = {}
    for kind_rules in rules.values():
        for rule in kind_rules:
            if rule.timing is Timing.regular and rule.period is not None:
                owed[rule.id] = [
                    (span.code, due, State.overdue if today > due else State.due)
                    for span in periods.between(rule.period, max(rule.since, first_day), today)
                    for due in (span.end + dt.timedelta(days=rule.deadline_days),)
                ]
    for place in places:
        for rule in rules.get(place.kind, []):
            if rule.id in owed:
                prefix = f"p:{place.id}:{rule.id}:"
                for code, due, unmet in owed[rule.id]:
                    hit = met.get(prefix + code)
                    out.append(Obligation(
                        place.id, place.name, rule.id, rule.title, rule.category, rule.timing,
                        State.met if hit else unmet, due, period=code, responsible=rule.responsible,
                        met_by=hit.disclosure_id if hit else None, met_on=hit.on if hit else None,
                    ))
                continue
            base = Obligation(
                area_id=place.id, area=place.name, item_id=rule.id, item=rule.title, category=rule.category,
                timing=rule.timing, state=State.due, due=None, responsible=rule.responsible,
            )
            for case in sorted(by_area_item.get((place.id, rule.id), []), key=lambda c: (c.opened_on, c.id)):
                out.extend(_case_obligations(base, rule, case, met, today))
    return out


def _case_obligations(base: Obligation, rule: Rule, case: Case, met: dict[str, Met], today: dt.date) -> list[Obligation]:
    """A case's stages met so far and the next one owed (an ad hoc case has one stage)."""
    names = rule.stages if rule.timing is Timing.staged and rule.stages else ("",)
    happened = dict(case.stage_days)
    happened[0] = case.opened_on
    out = []
    for stage, name in enumerate(names):
        hit = met.get(f"c:{case.id}:{stage}")
        day = happened.get(stage)
        due = day + dt.timedelta(days=rule.deadline_days) if day is not None else None
        out.append(replace(
            base, state=_state(hit, due, today), due=due, case_id=case.id, case=case.title,
            stage=stage, stage_name=name, met_by=hit.disclosure_id if hit else None,
            met_on=hit.on if hit else None,
        ))
        if hit is None:
            break  # later stages wait for this one
    return out


# --------------------------------------------------------------------------- loading


def _rules(session: Session, kinds: set[AreaKind], zone: str, today: dt.date) -> dict[AreaKind, list[Rule]]:
    rules: dict[AreaKind, list[Rule]] = {}
    query = (
        select(CatalogueItem)
        .join(CatalogueItem.category)
        .where(CatalogueCategory.org_kind.in_(kinds), CatalogueItem.retired_at.is_(None))
        .order_by(CatalogueCategory.position, CatalogueCategory.id, CatalogueItem.position, CatalogueItem.id)
    )
    for item in session.scalars(query):
        # Owed from the period it joined the catalogue (an item of unknown age: from today's).
        since = dates.local_day(item.created_at, zone) if item.created_at else today
        period = Period(item.period) if item.timing is Timing.regular and item.period in Period._value2member_map_ else None
        responsible = "，".join(p for p in (item.responsible_department, item.responsible_person) if p)
        rules.setdefault(item.category.org_kind, []).append(Rule(
            id=item.id, title=item.title, category=item.category.name, timing=item.timing, period=period,
            stages=tuple(item.stages or ()), deadline_days=item.deadline_days, since=since, responsible=responsible,
        ))
    return rules


def _met(session: Session, area_ids: list[int], zone: str) -> dict[str, Met]:
    """The slots held by approved items of the areas, each with the day its first version
    was approved (a correction counts from the approval of what it corrects)."""
    holders = list(session.execute(
        select(Disclosure.id, Disclosure.slot, Disclosure.corrects_id)
        .where(Disclosure.area_id.in_(area_ids), Disclosure.slot.is_not(None))
    ))
    originals = {row.id: row.corrects_id for row in holders}
    # Follow corrections back to the first approved item of each slot.
    first: dict[int, int] = {}
    parents: dict[int, int | None] = {row[0]: row[1] for row in session.execute(
        select(Disclosure.id, Disclosure.corrects_id).where(
            Disclosure.area_id.in_(area_ids), Disclosure.corrects_id.is_not(None)
        )
    )}
    for holder, corrects in originals.items():
        root = holder
        while corrects is not None:
            root, corrects = corrects, parents.get(corrects)
        first[holder] = root
    approved = {row[0]: row[1] for row in session.execute(
        select(Review.disclosure_id, Review.decided_at).where(
            Review.disclosure_id.in_(set(first.values())), Review.decision == ReviewDecision.approved
        ).order_by(Review.decided_at.desc())
    )}
    return {
        row.slot: Met(row.id, dates.local_day(approved[first[row.id]], zone))
        for row in holders if first[row.id] in approved
    }


def for_user(session: Session, user: User, now: dt.datetime, zone: str, area_id: int | None = None) -> list[Obligation]:
    """The obligations of every area with a catalogue that `user` may see (or of the
    subtree of `area_id` among them)."""
    today = dates.local_day(now, zone)
    query = select(Area).where(area_clause(user), Area.retired_at.is_(None), Area.kind.in_(CATALOGUE_KINDS))
    if area_id is not None:
        root = session.get(Area, area_id)
        if root is None:
            return []
        query = query.where(Area.path.startswith(root.path, autoescape=True))
    areas = list(session.scalars(query.order_by(Area.path)))
    if not areas:
        return []
    ids = [a.id for a in areas]
    cases = [
        Case(c.id, c.area_id, c.catalogue_item_id, c.title, c.opened_on, cases_.stage_days(c))
        for c in session.scalars(select(DisclosureCase).where(DisclosureCase.area_id.in_(ids)))
    ]
    return derive(
        [Place(a.id, a.name, a.kind) for a in areas],
        _rules(session, {a.kind for a in areas}, zone, today),
        cases,
        _met(session, ids, zone),
        today,
    )


@dataclass(frozen=True)
class Tally:
    area_id: int
    area: str
    overdue: int
    due: int
    met: int
    late: int


def tally(obligations: Iterable[Obligation]) -> list[Tally]:
    """Per area: how many obligations are overdue, due, met, and met late; most overdue first."""
    names: dict[int, str] = {}
    counts: dict[int, dict[str, int]] = {}
    for o in obligations:
        names[o.area_id] = o.area
        row = counts.setdefault(o.area_id, {"overdue": 0, "due": 0, "met": 0, "late": 0})
        row[o.state.value] += 1
        row["late"] += o.late
    rows = [Tally(area_id, names[area_id], **row) for area_id, row in counts.items()]
    # The villages furthest behind first, then in the order they came (tree order).
    return sorted(rows, key=lambda t: -t.overdue)


def unmet_first(obligations: Iterable[Obligation]) -> list[Obligation]:
    """Overdue first, then due by date (undated last): an editor's 待公开 list."""
    far = dt.date.max
    return sorted(
        (o for o in obligations if o.state is not State.met),
        key=lambda o: (o.state is not State.overdue, o.due or far, o.area, o.item),
    )

