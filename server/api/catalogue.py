"""API: the disclosure catalogue of an organisation type (read by any signed-in user)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from server.api import current_actor, endpoint
from server.api.schemas import Strict
from server.domain import catalogue
from server.extensions import db_session
from server.models import Timing

OrgKind = Literal["village", "community", "township", "department", "enterprise"]


class CatalogueQuery(Strict):
    org_kind: OrgKind = Field(
        default="village", description="whose catalogue: village, community, township (乡镇机关), department or enterprise"
    )


class CatalogueItemOut(BaseModel):
    id: int
    title: str
    scope: Literal["internal", "public"]
    internal_days: int = Field(description="days shown inside the party first (先党内、后党外); 0 for none")
    timing: Literal["regular", "staged", "ad_hoc"]
    period: str = Field(description="monthly, quarterly or yearly for a regular item; empty otherwise")
    stages: list[str] = Field(description="the named stages of a staged item, in order")
    deadline_days: int
    forms: list[str] = Field(description="screen, board, meeting, document, website")
    responsible_department: str
    responsible_person: str


class CategoryOut(BaseModel):
    id: int
    name: str
    items: list[CatalogueItemOut]


class CatalogueOut(BaseModel):
    org_kind: OrgKind
    categories: list[CategoryOut]


@endpoint("get", "/catalogue", summary="The disclosure catalogue of an organisation type (live items, in order)",
          tag="meta", query=CatalogueQuery, response=CatalogueOut)
def catalogue_of(query: CatalogueQuery):
    current_actor()
    kind = catalogue.catalogue_kind(query.org_kind)
    return CatalogueOut(
        org_kind=query.org_kind,
        categories=[
            CategoryOut(
                id=c.id, name=c.name,
                items=[
                    CatalogueItemOut(
                        id=i.id, title=i.title, scope=i.scope.value, internal_days=i.internal_days,
                        timing=i.timing.value, period=i.period if i.timing is Timing.regular else "",
                        stages=list(i.stages or []) if i.timing is Timing.staged else [],
                        deadline_days=i.deadline_days, forms=i.form_list(),
                        responsible_department=i.responsible_department, responsible_person=i.responsible_person,
                    )
                    for i in c.items if i.retired_at is None
                ],
            )
            for c in catalogue.categories(db_session(), kind)
        ],
    )
