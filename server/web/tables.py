"""从 Excel/CSV 导入表格: a draft table disclosure's table from an uploaded spreadsheet.

Upload → preview → apply. The upload is read (server.domain.tabular) and, when it is a
table, kept in DATA_DIR/table-imports under a random id tied to the uploader
(imports.stash); nothing is saved. The preview shows the table as it will appear (the
first rows), a 打码 checkbox per column — ticked for columns that hold ID, bank card or
mobile numbers or whose header says so — and what the pre-publish scanner would still
find in the unticked ones. Apply reads the file again and saves a new version of the
draft through `disclosures.update_draft`, the one path for versions and audit.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Any

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired

from server.clock import now
from server.domain import content, disclosures, imports, numbers, scanner, tabular
from server.domain.access import require
from server.domain.errors import Conflict, DomainError
from server.domain.masking import find
from server.edge import after_commit, flashed, refused
from server.extensions import db_session
from server.models import Disclosure, DisclosureKind, Role
from server.web import web
from server.web.auth import actor, signed_in
from server.web.forms import local_zone

PREVIEW_ROWS = 50
# Headers that name personal numbers (ticked) or names (offered, not ticked).
NUMBER_HEADER = re.compile(r"身份证|证件|电话|手机|联系方式|银行|卡号|账号|帐号")
NAME_HEADER = re.compile(r"姓名|户主|名字|联系人|收款人|住址|地址")


class TableUploadForm(FlaskForm):
    file = FileField(_l("表格文件"), validators=[FileRequired(_l("请选择 .xlsx 或 .csv 文件。"))])


def _stash_dir() -> Path:
    return Path(current_app.config["DATA_DIR"]) / "table-imports"


def _editable(disclosure_id: int) -> Disclosure:
    """A draft or rejected table disclosure the signed-in user may edit."""
    user = actor()
    disclosure = disclosures.get(db_session(), user, disclosure_id)
    require(user, disclosure.area, Role.editor)
    if disclosure.kind is not DisclosureKind.table:
        abort(404)
    if disclosure.status not in disclosures.EDITABLE:
        raise Conflict(_("只有草稿或被退回的事项可以修改。"))
    return disclosure


def suggested_masks(table: tabular.Table) -> tuple[list[int], list[int]]:
    """Columns to tick (their cells hold personal numbers, or the header says they do) and
    columns only to offer (names and addresses: masking them is the editor's choice)."""
    ticked, offered = [], []
    for i, header in enumerate(table.columns):
        if NUMBER_HEADER.search(header) or any(find(row[i]) for row in table.rows):
            ticked.append(i)
        elif NAME_HEADER.search(header):
            offered.append(i)
    return ticked, offered


def _chosen_masks(table: tabular.Table) -> list[int] | None:
    """The columns ticked on the preview form, or None before the editor chose."""
    if request.method != "POST" or "chosen" not in request.form:
        return None
    picked = {int(v) for v in request.form.getlist("mask") if v.isdigit()}
    return sorted(i for i in picked if i < len(table.columns))


def _same_draft(disclosure: Disclosure, table: dict[str, Any]) -> disclosures.DraftInput:
    """The draft's input as it stands, with the new table: every other field unchanged."""
    version = disclosure.latest_version
    known: dict[str, Any] = {
        "area_id": disclosure.area_id,
        "catalogue_item_id": disclosure.catalogue_item_id,
        "title": version.title,
        "valid_from": disclosure.valid_from,
        "valid_to": disclosure.valid_to,
        "kind": DisclosureKind.table,
        "body": version.body_source,
        "table": table,
        "scope": disclosure.scope,
        # the version lists its attachments as {"sha256", "name"}; the input takes the sha256s
        "attachments": [str(a["sha256"]) for a in version.attachments or []],
    }
    # Other fields of the draft input (period, case, stage, ...) are carried over from the
    # version or the disclosure when one holds a field of the same name.
    for f in dataclasses.fields(disclosures.DraftInput):
        if f.name not in known:
            for source in (version, disclosure):
                if hasattr(source, f.name):
                    known[f.name] = getattr(source, f.name)
                    break
    return disclosures.DraftInput(**known)


@web.route("/admin/disclosures/<int:disclosure_id>/table-import", methods=["GET", "POST"])
@signed_in
def table_import(disclosure_id: int):
    disclosure = None
    with refused(flashed):
        disclosure = _editable(disclosure_id)
    if disclosure is None:
        return redirect(url_for("web.disclosure_detail", disclosure_id=disclosure_id))
    form = TableUploadForm()
    problems: list[str] = []
    if form.validate_on_submit():
        upload = form.file.data
        filename, data = (upload.filename or "")[-200:], upload.read(tabular.MAX_BYTES + 1)
        try:
            tabular.read(filename, data)
        except DomainError as err:
            problems = list(err.details.get("problems") or [err.message])
            form.file.errors = [*form.file.errors, err.message]
        else:
            stash_id = imports.stash(_stash_dir(), actor().id, filename, data, now())
            return redirect(url_for("web.table_import_preview", disclosure_id=disclosure_id, stash_id=stash_id))
    return render_template(
        "admin/table_import.html", form=form, d=disclosure, problems=problems,
        limits={"rows": content.MAX_ROWS, "columns": content.MAX_COLUMNS, "cell": content.MAX_CELL},
    ), (422 if form.errors else 200)


@web.route("/admin/disclosures/<int:disclosure_id>/table-import/<stash_id>", methods=["GET", "POST"])
@signed_in
def table_import_preview(disclosure_id: int, stash_id: str):
    """The table as it will appear; POST (the 打码 checkboxes) shows it again as chosen."""
    session = db_session()
    disclosure = _editable(disclosure_id)
    filename, data = imports.unstash(_stash_dir(), stash_id, actor().id, now())
    table = tabular.read(filename, data)
    ticked, offered = suggested_masks(table)
    chosen = _chosen_masks(table)
    masked = ticked if chosen is None else chosen
    cleaned = content.clean_table(table.as_dict(masked))
    allowed = numbers.allowed_digits(session, disclosure.area)
    places = scanner.table_places(cleaned, allowed)
    return render_template(
        "admin/table_import_preview.html", d=disclosure, stash_id=stash_id, filename=filename,
        sheet=table.sheet, table=cleaned, shown=cleaned["rows"][:PREVIEW_ROWS], total=len(cleaned["rows"]),
        masked=set(masked), ticked=set(ticked), offered=set(offered), places=places,
        preview_rows=PREVIEW_ROWS,
    )


@web.route("/admin/disclosures/<int:disclosure_id>/table-import/<stash_id>/apply", methods=["POST"])
@signed_in
def table_import_apply(disclosure_id: int, stash_id: str):
    session, moment = db_session(), now()
    disclosure = _editable(disclosure_id)
    filename, data = imports.unstash(_stash_dir(), stash_id, actor().id, moment)
    table = tabular.read(filename, data)
    masked = _chosen_masks(table) or []
    saved = None
    with refused(flashed):
        saved = disclosures.update_draft(
            session, actor(), disclosure.id, _same_draft(disclosure, table.as_dict(masked)), moment, local_zone()
        )
    if saved is None:
        return redirect(url_for("web.table_import_preview", disclosure_id=disclosure_id, stash_id=stash_id))
    after_commit(lambda: imports.discard(_stash_dir(), stash_id))
    flash(_("已从“%(name)s”导入 %(rows)s 行，保存为新版本 v%(number)s。确认无误后请“提交审核”。",
            name=filename, rows=len(table.rows), number=saved.latest_version.number))
    return redirect(url_for("web.disclosure_detail", disclosure_id=disclosure_id))
