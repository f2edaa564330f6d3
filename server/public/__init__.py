"""Phone pages reached from a board's QR code: the full item, feedback, ticket status.

Public output only: internal items never render here, authors' names and phones never
appear, and a bad or forged QR path gets the same friendly 404 as a missing one.

The pages' own wording is in Simplified, Traditional or English (server/i18n.py chooses);
what editors and villagers wrote is shown as written.
"""

from __future__ import annotations

import datetime as dt

from flask import Blueprint, abort, current_app, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_limiter.util import get_remote_address
from flask_wtf import FlaskForm
from limits import parse_many
from wtforms import (
    BooleanField,
    RadioField,
    SelectChoice,
    StringField,
    TextAreaField,
    ValidationError,
)

from server import blobs
from server.clock import now
from server.domain import attachments, disclosures, feedback, qrlinks
from server.domain.errors import DomainError, NotFound
from server.edge import onto, refused, transaction
from server.extensions import csrf, db_session, limiter
from server.models import Area, Device, Disclosure, DisclosureStatus, DisclosureVersion

public = Blueprint("public", __name__)


class FeedbackForm(FlaskForm):
    kind = RadioField(
        _l("类型"),
        choices=[SelectChoice(kind.value, _l(label)) for kind, label in feedback.KIND_LABELS.items()],
        default="question",
    )
    body = TextAreaField(_l("内容"))
    anonymous = BooleanField(_l("匿名提交（不留姓名和电话）"), default=True)
    name = StringField(_l("姓名（选填）"))
    phone = StringField(_l("电话（选填，仅工作人员可见）"))

    def validate_body(self, field: TextAreaField) -> None:
        # The domain says the same in Chinese only (feedback.submit): here in the page's language.
        count = len((field.data or "").strip())
        if count > feedback.MAX_BODY:
            raise ValidationError(_("内容最多 %(max)s 个字，现在有 %(count)s 个。", max=feedback.MAX_BODY, count=count))


def _translated(form: FeedbackForm):
    """Report a refused submission beside its field, in the page's language: the domain's
    fixed messages are msgids (feedback.py marks them)."""
    report = onto(form, "body")

    def translated(err: DomainError) -> None:
        err.message = _(err.message)
        report(err)

    return translated


def _resolve(token: str):
    """The board a QR token names: (area, disclosure or None, device)."""
    target = qrlinks.parse_token(current_app.config["SECRET_KEY"].encode(), token)
    if target is None:
        abort(404)
    session = db_session()
    # A printed board's code (qrlinks.PAPER) names no screen: the item's page, no device.
    paper = target.on_paper and target.kind == "d"
    device = None if paper else session.get(Device, target.device_id)
    if device is None and not paper:
        abort(404)
    if target.kind == "e":
        area = session.get(Area, target.board_id)
        if area is None:
            abort(404)
        return area, None, device
    disclosure = session.get(Disclosure, target.board_id)
    if disclosure is None or disclosure.status is not DisclosureStatus.approved:
        abort(404)
    return disclosure.area, disclosure, device


def _public_version(disclosure: Disclosure | None, moment: dt.datetime) -> DisclosureVersion | None:
    """The version a phone may read, with its attachments: content only while it is
    posted, and never internal content (or an item in its internal phase) on a public page."""
    if disclosure is None or disclosures.internal_now(disclosure, moment):
        return None
    if disclosures.posting_phase(disclosure, moment) is not disclosures.Phase.posted:
        return None
    return disclosure.published_version


# Reading is generous (a whole hall may share one address), writing is strict.
PAGE_RATE = "120 per minute"
FILE_RATE = "600 per minute"
TOO_MANY = _l("操作太频繁了：这里刚刚收到很多留言。请过一两分钟再点“提交”，您写的内容已保留，不用重写。")
EXPIRED = _l("页面已过期，请再点一次“提交”。您写的内容已保留，不用重写。")


def _feedback_spent(device: Device | None, disclosure: Disclosure | None = None) -> bool:
    """Count one post against its address and against the screen its QR code names (a
    hall's phones may share one address), or for a printed board against its item's paper
    code; True when either budget is spent."""
    if not limiter.enabled:
        return False
    config = current_app.config
    budgets = [
        (config["FEEDBACK_RATE"], "address", get_remote_address()),
        (config["FEEDBACK_SCREEN_RATE"], "screen",
         str(device.id) if device is not None else f"paper-d{disclosure.id if disclosure else 0}"),
    ]
    for rate, kind, key in budgets:
        for item in parse_many(rate):
            if not limiter.limiter.hit(item, "feedback", kind, key):
                return True
    return False


# The form checks its own CSRF token, so that a refused post re-shows the villager's
# text with a message instead of the generic error page.
@csrf.exempt
@public.route("/q/<token>", methods=["GET", "POST"])
@limiter.limit(PAGE_RATE, methods=["GET"])
@transaction
def board_page(token: str):
    area, disclosure, device = _resolve(token)
    session, moment = db_session(), now()
    internal = disclosure is not None and disclosures.internal_now(disclosure, moment)
    phase = disclosures.posting_phase(disclosure, moment) if disclosure is not None else None
    form = FeedbackForm()
    notice, status = None, 200
    if request.method == "POST" and _feedback_spent(device, disclosure):
        notice, status = TOO_MANY, 429
    elif form.validate_on_submit():
        data = feedback.FeedbackInput(
            kind=form.kind.data or "",
            body=form.body.data or "",
            anonymous=bool(form.anonymous.data),
            name=form.name.data or "",
            phone=form.phone.data or "",
        )
        ticket = None
        with refused(_translated(form)):
            ticket = feedback.submit(
                session, data, area=area, disclosure=disclosure, device=device, now=moment
            )
        if ticket is not None:
            return redirect(url_for("public.ticket_status", code=ticket.ticket_code, new=1))
    if form.errors:
        expired = "csrf_token" in form.errors
        notice, status = (EXPIRED, 400) if expired else (notice, 422)
    echo = feedback.echo_wall(session, area, limit=10) if disclosure is None else []
    # Content only while it is posted, and never internal content on a public page.
    version = _public_version(disclosure, moment)
    return render_template(
        "public/board.html",
        area=area,
        disclosure=disclosure,
        version=version,
        internal=internal,
        starts=disclosures.shown_from(disclosure, False) if disclosure is not None else None,
        stage=disclosures.stage_name(disclosure) if disclosure is not None else "",
        phase=phase.value if phase else None,
        echo=echo,
        form=form,
        limit=feedback.MAX_BODY,
        notice=notice,
    ), status


@public.route("/q/<token>/files/<sha256>")
@limiter.limit(FILE_RATE)  # a page with a 20-page PDF asks for 20-odd files at once
def board_file(token: str, sha256: str):
    """A photo, PDF page image, video or PDF original of the item a QR code names, under
    the page's own rule (`_public_version`); anything else is the same 404."""
    _, disclosure, _ = _resolve(token)
    found = attachments.published_in(db_session(), _public_version(disclosure, now()), sha256)
    return blobs.send_attachment(current_app.config, found)


@public.route("/t/<code>")
@limiter.limit(PAGE_RATE)
def ticket_status(code: str):
    try:
        item = feedback.by_ticket(db_session(), code[:16])
    except NotFound:
        abort(404)
    return render_template(
        "public/ticket.html",
        item=item,
        new=request.args.get("new") == "1",
        kinds=feedback.KIND_LABELS,
        statuses=feedback.STATUS_LABELS,
    )


@public.route("/t", methods=["GET"])
def ticket_lookup():
    code = (request.args.get("code") or "").strip().upper()
    if code:
        return redirect(url_for("public.ticket_status", code=code[:16]))
    return render_template("public/ticket_lookup.html")


@public.route("/healthz")
def healthz():
    from sqlalchemy import text

    db_session().execute(text("SELECT 1"))
    return {"status": "ok", "service": "sunwall"}
