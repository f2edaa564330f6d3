"""Admin pages for the bulk import: template download, upload and preview, apply.

The uploaded file waits in DATA_DIR/imports under a random id tied to the uploader;
"apply" names only that id, so the client never sends the rows it previewed again,
and the server checks everything once more before creating anything.
"""

from __future__ import annotations

from pathlib import Path

from flask import Response, abort, current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired

from server.clock import now
from server.domain import imports
from server.domain.access import ROLE_LABELS
from server.domain.areas import KIND_LABELS
from server.domain.errors import DomainError
from server.edge import abandon, after_commit
from server.extensions import db_session
from server.web import web
from server.web.areas import admin
from server.web.auth import signed_in

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class UploadForm(FlaskForm):
    file = FileField(_l("导入文件"), validators=[FileRequired(_l("请选择 .xlsx 或 .csv 文件。"))])


def _stash_dir() -> Path:
    return Path(current_app.config["DATA_DIR"]) / "imports"


def _preview(plan: imports.Plan, stash_id: str | None, filename: str):
    status = 422 if plan.problems else 200
    return render_template(
        "admin/import_preview.html", plan=plan, stash_id=stash_id, filename=filename,
        kind_labels=KIND_LABELS, role_labels=ROLE_LABELS,
    ), status


@web.route("/admin/imports", methods=["GET", "POST"])
@signed_in
def import_upload():
    user = admin()
    form = UploadForm()
    if form.validate_on_submit():
        upload = form.file.data
        filename, data = upload.filename or "", upload.read()
        plan = imports.preview(db_session(), user, filename, data)
        stash_id = None
        if not plan.problems:
            stash_id = imports.stash(_stash_dir(), user.id, filename, data, now())
        return _preview(plan, stash_id, filename)
    return render_template("admin/import_upload.html", form=form, sheets=imports.SHEETS,
                           columns=imports.COLUMNS), (422 if form.errors else 200)


@web.route("/admin/imports/<stash_id>/apply", methods=["POST"])
@signed_in
def import_apply(stash_id: str):
    session, user, moment = db_session(), admin(), now()
    filename, data = imports.unstash(_stash_dir(), stash_id, user.id, moment)
    try:
        counts = imports.apply(session, user, filename, data, moment)
    except DomainError:
        # Something changed since the preview: show the file's problems as they are now.
        abandon()
        return _preview(imports.preview(session, user, filename, data), None, filename)
    after_commit(lambda: imports.discard(_stash_dir(), stash_id))
    flash(_("已导入：%(areas)s 个区域、%(sites)s 个场所、%(users)s 个用户。", **counts))
    return redirect(url_for("web.area_list"))


@web.route("/admin/imports/template.xlsx")
@signed_in
def import_template_xlsx():
    admin()
    return Response(imports.template_xlsx(), mimetype=XLSX_TYPE,
                    headers={"Content-Disposition": "attachment; filename=sunwall-import.xlsx"})


@web.route("/admin/imports/template-<kind>.csv")
@signed_in
def import_template_csv(kind: str):
    admin()
    if kind not in imports.SHEETS:
        abort(404)
    return Response(imports.template_csv(kind), mimetype="text/csv",
                    headers={"Content-Disposition": f"attachment; filename=sunwall-{kind}.csv"})
