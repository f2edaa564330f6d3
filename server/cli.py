"""The `sunwall` command: init, serve, demo, db upgrade, user create/token, kiosk."""

from __future__ import annotations

import getpass
import os
import sys

import click

from server.db import utcnow


def _app(extra: dict | None = None):
    from server.app import create_app

    return create_app(extra)


@click.group()
def main() -> None:
    """Sunwall 阳光公开屏 — public-disclosure signage for village halls."""


def _async_mode() -> str:
    return os.environ.get("SUNWALL_ASYNC_MODE", "gevent")


def _restart_under_gevent(command: list[str]) -> None:
    """gevent must patch the standard library before anything imports it, which is too
    late by now: start over through server.gevent_serve, which patches first (same pid)."""
    patched = sys.modules.get("gevent.monkey")
    if _async_mode() == "gevent" and not (patched and patched.is_module_patched("socket")):
        os.execv(sys.executable, [sys.executable, "-m", "server.gevent_serve", *command])


def _public_url_default(host: str, port: int) -> None:
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    os.environ.setdefault("SUNWALL_PUBLIC_URL", f"http://{shown}:{port}")


def _run(app, host: str, port: int) -> None:
    from server import voice
    from server.extensions import socketio

    voice.sweep(app)
    click.echo(f"Sunwall listening on http://{host}:{port}  (data: {app.config['DATA_DIR']})")
    socketio.run(app, host=host, port=port, allow_unsafe_werkzeug=True, use_reloader=False, log_output=False)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
def serve(host: str, port: int) -> None:
    """Run the server: gevent by default, threaded Werkzeug with SUNWALL_ASYNC_MODE=threading
    (docs/performance.md says why)."""
    _restart_under_gevent(["serve", "--host", host, "--port", str(port)])
    _public_url_default(host, port)
    app = _app()
    from server.migrate import upgrade

    upgrade(app.config["DATABASE_URL"])
    _run(app, host, port)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--no-serve", is_flag=True, help="Seed and print, then exit.")
def demo(host: str, port: int, no_serve: bool) -> None:
    """Seed the demo township (once) and run the server."""
    if not no_serve:
        _restart_under_gevent(["demo", "--host", host, "--port", str(port)])
    _public_url_default(host, port)
    from server import demo as demo_data
    from server.extensions import session_scope
    from server.migrate import upgrade

    app = _app({"DEMO": True})
    upgrade(app.config["DATABASE_URL"])
    data_dir = app.config["DATA_DIR"]
    with app.app_context(), session_scope(write=True) as session:
        if not demo_data.is_seeded(session):
            click.echo("Seeding the demo township 清河镇 …")
            info = demo_data.seed(session, utcnow())
            session.flush()
            demo_data.save_screens(data_dir, info)
    info = demo_data.load_screens(data_dir)
    base = app.config["PUBLIC_URL"].rstrip("/")
    click.echo("")
    click.echo("=" * 72)
    click.echo(f" 阳光公开屏 Sunwall demo — {demo_data.TOWNSHIP}")
    click.echo(f" Admin UI:   {base}/login")
    click.echo(" Logins:     admin, editor, reviewer, scheduler, handler, supervisor")
    click.echo(f"             password: {demo_data.DEMO_PASSWORD}   (demo mode only)")
    click.echo(" Screens (open one in a browser, full screen = F11):")
    for s in info["screens"][:6]:
        tag = "，党内" if s["internal"] else ""
        click.echo(f"   {s['village']} {s['name']}（{s['orientation']}{tag}）: {base}/player/{s['key']}")
    click.echo(f"   … {len(info['screens'])} screens in all; full list in {data_dir / 'demo-screens.json'}")
    click.echo("=" * 72)
    if not no_serve:
        _run(app, host, port)


ROOT_KINDS = {"township": "township", "乡镇": "township", "镇": "township", "乡": "township",
              "街道": "township", "county": "county", "县": "county", "市": "county", "区": "county"}


def _setting(env: str, prompt: str, default: str | None = None, secret: bool = False) -> tuple[str, bool]:
    """A value from the environment, else asked for; also says whether it came from the environment."""
    if os.environ.get(env):
        return os.environ[env], True
    return click.prompt(prompt, default=default, hide_input=secret, confirmation_prompt=secret), False


def _admin_password(username: str) -> tuple[str, bool]:
    from server.domain import users

    while True:
        password, from_env = _setting("SUNWALL_ADMIN_PASSWORD", "管理员密码 / Admin password", secret=True)
        problem = users.password_problem(password, username)
        if problem is None:
            return password, from_env
        if from_env:
            raise click.ClickException(f"SUNWALL_ADMIN_PASSWORD: {problem}")
        click.echo(problem)


@main.command()
def init() -> None:
    """Set up a real install: migrate the database, create the root area and its first
    admin, and seed the disclosure catalogue. Running it again changes nothing.

    Asks for each value, or reads SUNWALL_ADMIN_USERNAME, SUNWALL_ADMIN_PASSWORD,
    SUNWALL_ADMIN_NAME, SUNWALL_ROOT_AREA and SUNWALL_ROOT_KIND (township or county).
    A password typed here must be changed at the first sign-in; one from the
    environment (a deployment's secret store) is kept."""
    from sqlalchemy import select

    from server.domain import catalogue, users
    from server.domain.errors import DomainError
    from server.extensions import session_scope
    from server.migrate import upgrade
    from server.models import AreaKind, User

    app = _app()
    upgrade(app.config["DATABASE_URL"])
    click.echo("database is at the latest revision")
    with app.app_context():
        with session_scope() as session:
            has_users = session.scalar(select(User.id).limit(1)) is not None
        made = None
        if not has_users:
            username, _ = _setting("SUNWALL_ADMIN_USERNAME", "管理员用户名 / Admin username", "admin")
            name, _ = _setting("SUNWALL_ADMIN_NAME", "管理员姓名 / Admin display name", username)
            password, from_env = _admin_password(username)
            root, _ = _setting("SUNWALL_ROOT_AREA", "最上级区域名称（如 清河镇）/ Root area name")
            kind_word, _ = _setting("SUNWALL_ROOT_KIND", "区域类型 township（乡镇）或 county（县）/ Root area kind", "township")
            if kind_word.strip() not in ROOT_KINDS:
                raise click.ClickException(f"SUNWALL_ROOT_KIND: {kind_word!r} is not township (乡镇) or county (县)")
            try:
                with session_scope(write=True) as session:
                    made = users.create_first_admin(
                        session, utcnow(), username=username.strip(), display_name=name, password=password,
                        root_name=root, root_kind=AreaKind(ROOT_KINDS[kind_word.strip()]),
                        must_change_password=not from_env,
                    )
            except DomainError as err:
                raise click.ClickException(f"{err.field}: {err.message}") from None
        with session_scope(write=True) as session:
            items = catalogue.seed_catalogue(session)
    if made is not None:
        change = "must change the password at first sign-in" if made.must_change_password else "password kept as given"
        click.echo(f"created admin {made.username} of {made.grants[0].area.name} ({change})")
    if items:
        click.echo(f"seeded the disclosure catalogue ({items} items)")
    if made is None and not items:
        click.echo("already set up: users and the catalogue exist; nothing changed")
    elif made is None:
        click.echo("users already exist: no admin created")
    base = app.config["PUBLIC_URL"].rstrip("/")
    click.echo(f"next: sunwall serve, then sign in at {base}/login")


@main.group()
def db() -> None:
    """Database commands."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Apply all migrations to SUNWALL_DATABASE_URL (or the SQLite file)."""
    from server.config import load
    from server.migrate import upgrade

    upgrade(load()["DATABASE_URL"])
    click.echo("database is at the latest revision")


@main.group()
def user() -> None:
    """User accounts."""


@user.command("create")
@click.argument("username")
@click.option("--role", "roles", multiple=True, required=True,
              type=click.Choice(["admin", "editor", "reviewer", "scheduler", "handler", "supervisor"]))
@click.option("--area", "area_ref", required=True, help="Area id or exact name the roles apply to.")
@click.option("--name", "display_name", default="", help="Display name.")
@click.option("--password", envvar="SUNWALL_NEW_PASSWORD", default=None,
              help="Password (else asked; or SUNWALL_NEW_PASSWORD).")
def user_create(username: str, roles: tuple[str, ...], area_ref: str, display_name: str, password: str | None) -> None:
    """Create a user with ROLE(s) on an area subtree."""
    from sqlalchemy import select

    from server.domain import users
    from server.domain.errors import DomainError
    from server.extensions import session_scope
    from server.models import Area, Role

    app = _app()
    if password is None:
        password = getpass.getpass("Password: ")
    with app.app_context():
        try:
            with session_scope(write=True) as session:
                query = select(Area).where(Area.id == int(area_ref)) if area_ref.isdigit() else select(Area).where(Area.name == area_ref)
                area = session.scalars(query).first()
                if area is None:
                    raise click.ClickException(f"no area {area_ref!r}")
                users.create_user(session, username=username, password=password, display_name=display_name,
                                  grants=[(Role(r), area) for r in roles])
        except DomainError as err:
            raise click.ClickException(f"{err.field}: {err.message}") from None
    click.echo(f"created {username}")


@user.command("token")
@click.argument("username")
@click.option("--name", default="cli", help="A label for the token.")
def user_token(username: str, name: str) -> None:
    """Print a new API token for USERNAME (Authorization: Bearer ...)."""
    from server.domain import users
    from server.domain.errors import DomainError
    from server.extensions import session_scope

    app = _app()
    with app.app_context():
        try:
            with session_scope(write=True) as session:
                token = users.issue_api_token(session, users.get_user(session, username), name)
        except DomainError as err:
            raise click.ClickException(err.message) from None
    click.echo(token)


@main.command()
@click.option("--server", "server_url", required=True, help="The Sunwall server, e.g. https://sunwall.example.gov.cn")
@click.option("--code", default=None, help="One-time enrolment code (first start only).")
@click.option("--data-dir", default=None, help="Where the credential and cache live (default ~/.local/share/sunwall-kiosk).")
@click.option("--port", default=8765, show_default=True, type=int, help="Local player port on 127.0.0.1.")
def kiosk(server_url: str, code: str | None, data_dir: str | None, port: int) -> None:
    """Run the screen agent: enrol, sync, cache, and serve the player on 127.0.0.1."""
    from kiosk_client.agent import main as agent_main

    sys.exit(agent_main(server_url, code, data_dir, port))



@main.group()
def attachments() -> None:
    """Uploaded photos, documents and videos."""


@attachments.command("prune")
@click.option("--days", default=7, show_default=True, type=click.IntRange(1, 3650),
              help="Keep unused uploads younger than this many days.")
def attachments_prune(days: int) -> None:
    """Remove uploads that no disclosure version uses (drafts abandoned after choosing
    files), older than --days; for cron."""
    from server.blobs import BlobStore
    from server.clock import now
    from server.domain import attachments as files
    from server.extensions import session_scope

    app = _app()
    with app.app_context():
        with session_scope(write=True) as session:
            gone = files.prune(session, now(), days)
        store = BlobStore.of(app.config)
        for sha in gone:  # after the commit: a row never points at a missing file
            store.remove(sha)
    click.echo(f"removed {len(gone)} unused file(s)")


@main.group()
def archive() -> None:
    """The disclosure archive: check its hash chains, export an area for an inspector."""


@archive.command("verify")
@click.option("--area", "area_id", type=int, default=None, help="Only this area's chain (default: every area).")
def archive_verify(area_id: int | None) -> None:
    """Check the archive: exit 0 with a summary when intact, else exit 1 with one line per
    problem (edited, moved or deleted entry, broken link). For cron (docs/archive.md)."""
    from server.domain import archive as archives
    from server.extensions import session_scope

    app = _app()
    with app.app_context(), session_scope() as session:
        problems, chains = archives.verify_with_summary(session, area_id)
    if problems:
        for problem in problems:
            click.echo(problem.line())
        sys.exit(1)
    total = sum(c.entries for c in chains)
    click.echo(f"archive intact: {len(chains)} area(s), {total} entries")
    for c in chains:
        click.echo(f"  area {c.area_id} {c.area_name}: {c.entries} entries, head {c.head}")


CONSOLE_EXPORT_LIMIT = 5000  # entries per ZIP from the console (the web allows fewer: it waits on the PDFs)


@archive.command("export")
@click.option("--area", "area_id", type=int, required=True, help="The area whose chain is exported.")
@click.option("--from", "first", required=True, type=click.DateTime(["%Y-%m-%d"]), help="First day (YYYY-MM-DD).")
@click.option("--to", "last", required=True, type=click.DateTime(["%Y-%m-%d"]), help="Last day, included.")
@click.option("--out", required=True, type=click.Path(dir_okay=False, writable=True), help="The ZIP file to write.")
def archive_export(area_id: int, first, last, out: str) -> None:
    """Write an inspector's ZIP of one area's archive for a period (days in the township's
    zone): the entries, the chain, the boards as PDFs and a standalone verify.py."""
    from server.clock import now
    from server.domain import archive as archives
    from server.domain.errors import DomainError
    from server.extensions import session_scope

    app = _app()
    config = app.config
    with app.app_context():
        try:
            with session_scope(write=True) as session:
                made = archives.export_zip(
                    session, None, area_id, first.date(), last.date(), now(),
                    public_url=config["PUBLIC_URL"], secret=config["SECRET_KEY"].encode(), timezone=config["TIMEZONE"],
                    limit=CONSOLE_EXPORT_LIMIT,
                )
        except DomainError as err:
            raise click.ClickException(err.message) from None
    with open(out, "wb") as handle:
        handle.write(made.data)
    click.echo(f"wrote {out}: {made.entries} entries; check it with: python3 verify.py {os.path.basename(out)}")


if __name__ == "__main__":
    main()
