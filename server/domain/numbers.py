"""Official numbers an area may publish unmasked (a hall's duty mobile, a hotline).

The pre-publish scanner (server.domain.scanner) refuses any resident ID, bank card or
mobile number left unmasked in a disclosure — except the numbers an admin allowed here for
the disclosure's area or any area above it. Numbers are stored as digits only and compared
as digits, so "138-1234-5678" and "138 1234 5678" are one number. Adding and removing are
audited; admins act on their own subtree only.
"""

from __future__ import annotations

import datetime as dt
import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.domain import audit
from server.domain.areas import ancestors, get_area
from server.domain.errors import NotFound, ValidationFailed
from server.models import AllowedNumber, Area, User

MIN_DIGITS, MAX_DIGITS = 5, 20
MAX_LABEL = 64
_FOLD = str.maketrans("０１２３４５６７８９－＋\u3000", "0123456789-+ ")
_SEPARATORS = re.compile(r"[ \-()（）]")


def clean_digits(number: str) -> str:
    """The digits of a number as typed (spaces, dashes and brackets dropped, full-width digits
    read as ASCII, a leading + allowed), refused unless 5–20 digits remain."""
    text = _SEPARATORS.sub("", (number or "").translate(_FOLD).strip()).removeprefix("+")
    if not text:
        raise ValidationFailed("请填写号码。", field="digits")
    if not text.isascii() or not text.isdigit():
        raise ValidationFailed("号码只能有数字（可以带空格或短横线）。", field="digits")
    if not MIN_DIGITS <= len(text) <= MAX_DIGITS:
        raise ValidationFailed(
            f"号码应有 {MIN_DIGITS}–{MAX_DIGITS} 位数字，现在有 {len(text)} 位。", field="digits"
        )
    return text


def national(digits: str) -> str:
    """A mobile written with China's country code (86 or 0086) as its 11 national digits."""
    for prefix in ("0086", "86"):
        rest = digits.removeprefix(prefix)
        if rest != digits and len(rest) == 11 and rest.startswith("1"):
            return rest
    return digits


def allowed_digits(session: Session, area: Area) -> set[str]:
    """The digits allowed in `area`: its own numbers and those of every area above it."""
    rows = session.scalars(select(AllowedNumber.digits).where(AllowedNumber.area_id.in_(area.ancestor_ids())))
    return {national(d) for d in rows}


def listed(session: Session, actor: User, area_id: int) -> tuple[Area, list[AllowedNumber], list[tuple[Area, AllowedNumber]]]:
    """An area an admin manages, its own numbers and the ones it inherits from above."""
    area = get_area(session, actor, area_id)
    above = [a for a in ancestors(session, area) if a.id != area.id]
    names = {a.id: a for a in above}
    own: list[AllowedNumber] = []
    inherited: list[tuple[Area, AllowedNumber]] = []
    query = select(AllowedNumber).where(AllowedNumber.area_id.in_(area.ancestor_ids())).order_by(AllowedNumber.id)
    for row in session.scalars(query):
        if row.area_id == area.id:
            own.append(row)
        elif row.area_id in names:
            inherited.append((names[row.area_id], row))
    return area, own, inherited


def allow(
    session: Session, actor: User, area_id: int, number: str, label: str, now: dt.datetime
) -> AllowedNumber:
    """An admin of the area (or above) allows one official number in it and below."""
    area = get_area(session, actor, area_id)
    digits = clean_digits(number)
    label = " ".join((label or "").split())
    if not label:
        raise ValidationFailed("请写明这是什么号码，例如“村委会值班电话”。", field="label")
    if len(label) > MAX_LABEL:
        raise ValidationFailed(f"说明最多 {MAX_LABEL} 个字。", field="label")
    taken = session.scalar(
        select(AllowedNumber).where(AllowedNumber.area_id == area.id, AllowedNumber.digits == digits)
    )
    if taken is not None:
        raise ValidationFailed(f"这个号码已在列表中（{taken.label}）。", field="digits")
    row = AllowedNumber(area_id=area.id, digits=digits, label=label, created_at=now, created_by_id=actor.id)
    session.add(row)
    session.flush()
    audit.record(
        session, actor, "allowed_number.add", now, target=("allowed_number", row.id), area=area,
        after={"digits": digits, "label": label}, detail={"digits": digits, "label": label},
    )
    return row


def remove(session: Session, actor: User, area_id: int, number_id: int, now: dt.datetime) -> None:
    """An admin takes a number off the list; disclosures already approved are not touched,
    new submissions holding it are refused again."""
    area = get_area(session, actor, area_id)
    row = session.get(AllowedNumber, number_id)
    if row is None or row.area_id != area.id:
        raise NotFound("未找到该号码。")
    state = {"digits": row.digits, "label": row.label}
    session.delete(row)
    session.flush()
    audit.record(
        session, actor, "allowed_number.remove", now, target=("allowed_number", number_id), area=area,
        before=state, detail=state,
    )
