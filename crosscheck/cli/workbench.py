"""`crosscheck users ...` and `crosscheck workbench` (mounted by crosscheck.cli).

    crosscheck users add NAME --role supervisor|reviewer|department|admin [--districts A,B] [--domains D,E]
                         [--unmask] [--store FILE] --password-stdin
    crosscheck users list | disable NAME | passwd NAME --password-stdin
    crosscheck workbench [--host 127.0.0.1] [--port 8765] [--store FILE] [--project DIR]
"""
from __future__ import annotations

import getpass
import sys
from pathlib import Path
from typing import Optional

import typer

from crosscheck.cli.review import PROJECT_HELP, STORE_HELP, store_path

users_app = typer.Typer(no_args_is_help=True, add_completion=False, help="Workbench accounts.")

_store_opt = typer.Option(None, "--store", help=STORE_HELP)
_project_opt = typer.Option(None, "--project", help=PROJECT_HELP)


def _fail(message: str, code: int = 2) -> None:
    typer.echo(f"crosscheck: {message}", err=True)
    raise typer.Exit(code)


def _casework(store: Path | None, project: Path | None):
    from crosscheck.casework import Casework, CaseworkError, casework_path
    from crosscheck.privacy.files import private_dirs, private_files

    path = casework_path(store_path(store, project))
    private_dirs(path.parent)
    try:
        with private_files():
            return Casework.open(path)
    except CaseworkError as exc:
        _fail(str(exc))


def _password(from_stdin: bool) -> str:
    if from_stdin:
        line = sys.stdin.readline()
        return line[:-1] if line.endswith("\n") else line
    first = getpass.getpass("password: ")
    if getpass.getpass("again: ") != first:
        _fail("the two passwords differ")
    return first


def _split(value: str | None) -> list[str]:
    return [v.strip() for v in (value or "").replace("，", ",").split(",") if v.strip()]


@users_app.command("add")
def users_add(
    name: str = typer.Argument(..., help="User name (letters, digits, Chinese characters, . _ - @)."),
    role: str = typer.Option(..., "--role", help="supervisor | reviewer | department | admin."),
    districts: Optional[str] = typer.Option(None, "--districts", help="Comma-separated districts (所属区县). Default: every district."),
    domains: Optional[str] = typer.Option(None, "--domains", help="Comma-separated rule domains (folders under rules/). Default: every domain; required for a department."),
    unmask: bool = typer.Option(False, "--unmask", help="May ask to see identity numbers and names in full (each view is logged)."),
    force: bool = typer.Option(False, "--force", help="Take a district no complete run has found anything in yet."),
    password_stdin: bool = typer.Option(False, "--password-stdin", help="Read the password from the first line of standard input."),
    store: Optional[Path] = _store_opt,
    project: Optional[Path] = _project_opt,
) -> None:
    """Create a workbench account (the password is kept only as an argon2id hash). Districts and
    domains must be known: the districts of the clues (and 市本级), the rule domains."""
    from crosscheck.casework import CaseworkError
    from crosscheck.store.lock import current_user

    password = _password(password_stdin)
    with _casework(store, project) as cw:
        _known(cw, _split(districts), _split(domains), project, force)
        try:
            account = cw.add_user(name, role, password, districts=_split(districts), domains=_split(domains),
                                  unmask=unmask, actor=f"operator ({current_user()})")
        except CaseworkError as exc:
            _fail(str(exc))
    scope = "、".join(account.districts) or "every district"
    typer.echo(f"user {account.username} added: {account.role}, {scope}"
               + (f", domains {', '.join(account.domains)}" if account.domains else "")
               + (", may unmask" if account.unmask else ""))


def _known(cw, districts: list[str], domains: list[str], project: Path | None, force: bool) -> None:
    """Refuse a district or a domain nobody knows, naming the known ones (a typo would make an
    account that sees nothing, silently)."""
    from crosscheck.casework.scope import CITY_LEVEL
    from crosscheck.config import ProjectConfig

    known = sorted({r["district"] for r in cw.rows("SELECT DISTINCT district FROM clues WHERE district <> ''")}
                   | {CITY_LEVEL})
    unknown = [d for d in districts if d not in known]
    if unknown and not force:
        _fail(f"区县 {'、'.join(unknown)} 不在数据中（已知：{'、'.join(known)}）；尚无数据的区县请加 --force / "
              f"unknown district(s) {', '.join(unknown)} (known: {', '.join(known)}); --force takes a district "
              "that has no data yet")
    try:
        rules_dir = ProjectConfig.load(project).rules_dir
    except ValueError:
        rules_dir = None
    folders = {p.name for p in rules_dir.iterdir() if p.is_dir() and not p.name.startswith(("_", "."))} \
        if rules_dir is not None and rules_dir.is_dir() else set()
    domains_known = sorted(folders | {r["domain"] for r in cw.rows("SELECT DISTINCT domain FROM rules") if r["domain"]})
    bad = [d for d in domains if d not in domains_known]
    if bad:
        _fail(f"领域 {'、'.join(bad)} 不存在（已知：{'、'.join(domains_known)}） / unknown domain(s) {', '.join(bad)} "
              f"(known: {', '.join(domains_known)})")


@users_app.command("list")
def users_list(store: Optional[Path] = _store_opt, project: Optional[Path] = _project_opt) -> None:
    """Every account with its role and scope."""
    from crosscheck.cli.review import _table

    with _casework(store, project) as cw:
        users = cw.users()
    if not users:
        typer.echo("no users")
        return
    typer.echo(_table(["user", "role", "districts", "domains", "unmask", "state"],
                      [[u.username, u.role, ",".join(u.districts) or "(all)", ",".join(u.domains) or "(all)",
                        "yes" if u.unmask else "", "disabled" if u.disabled else "active"] for u in users]))


@users_app.command("disable")
def users_disable(name: str = typer.Argument(...), store: Optional[Path] = _store_opt,
                  project: Optional[Path] = _project_opt) -> None:
    """Disable an account: its sessions end at once, it cannot log in."""
    from crosscheck.casework import CaseworkError
    from crosscheck.store.lock import current_user

    with _casework(store, project) as cw:
        try:
            cw.disable_user(name, actor=f"operator ({current_user()})")
        except CaseworkError as exc:
            _fail(str(exc))
    typer.echo(f"user {name} disabled")


@users_app.command("passwd")
def users_passwd(name: str = typer.Argument(...), password_stdin: bool = typer.Option(False, "--password-stdin"),
                 store: Optional[Path] = _store_opt, project: Optional[Path] = _project_opt) -> None:
    """Set an account's password (its sessions end)."""
    from crosscheck.casework import CaseworkError
    from crosscheck.store.lock import current_user

    password = _password(password_stdin)
    with _casework(store, project) as cw:
        try:
            cw.set_password(name, password, actor=f"operator ({current_user()})")
        except CaseworkError as exc:
            _fail(str(exc))
    typer.echo(f"password of {name} changed")


@users_app.command("channel")
def users_channel(name: str = typer.Argument(...),
                  url: str = typer.Argument("", help="An Apprise URL (wecombot://..., dingtalk://..., mailtos://...); empty: none."),
                  store: Optional[Path] = _store_opt, project: Optional[Path] = _project_opt) -> None:
    """Where an account's reminders go: assigned, yellow, red, sent back, handed over, answered,
    and a supervisor's daily list of red clues."""
    from crosscheck.casework import CaseworkError
    from crosscheck.reports.alerts import mask_url
    from crosscheck.store.lock import current_user

    with _casework(store, project) as cw:
        try:
            cw.accounts.set_channel(name, url.strip() or None, shown=mask_url(url) if url.strip() else "",
                                    actor=f"operator ({current_user()})")
        except CaseworkError as exc:
            _fail(str(exc))
    typer.echo(f"reminders of {name}: {mask_url(url) if url.strip() else 'none'}")


@users_app.command("notify")
def users_notify(store: Optional[Path] = _store_opt, project: Optional[Path] = _project_opt) -> None:
    """Send the reminders due now (what `crosscheck workbench` does every [workbench] notify_seconds)."""
    from crosscheck.casework import Settings
    from crosscheck.config import ProjectConfig

    with _casework(store, project) as cw:
        cw.settings = Settings.of(ProjectConfig.load(project))
        counts = cw.notices.run()
    typer.echo(", ".join(f"{n} {k}" for k, n in counts.items()))


def prepare(store: Path) -> None:
    """Before serving: a findings store whose reviews are not yet in the casework database (an
    earlier crosscheck wrote it) is opened once for writing, which moves them (and publishes
    any complete run not yet published). Waits, saying so, while a run holds the store."""
    from crosscheck.casework import Casework, casework_path
    from crosscheck.store import Store, StoreBusy, StoreError

    if not store.exists():
        return
    cw_path = casework_path(store)
    if cw_path.exists():
        with Casework.open(cw_path) as cw:
            if cw.meta("moved_from_store") == "yes":
                return
    try:
        with Store.open(store, lock_timeout=3600, purpose="workbench start (moving reviews)"):
            pass
    except (StoreBusy, StoreError) as exc:
        _fail(str(exc))


def workbench(
    host: Optional[str] = typer.Option(None, "--host", help="Address to listen on. Default: [workbench] host, 127.0.0.1."),
    port: Optional[int] = typer.Option(None, "--port", help="Port. Default: [workbench] port, 8765."),
    store: Optional[Path] = _store_opt,
    project: Optional[Path] = _project_opt,
    workers: int = typer.Option(1, "--workers", min=1, help="Server processes (they share the casework database)."),
    log_file: Optional[Path] = typer.Option(None, "--log-file", help="Also write its events here, one a line, rotated. Default: crosscheck.toml's log_file."),
) -> None:
    """Serve the workbench (线索核查工作台): clues, dispositions, feedback, closure, dashboard, audit log."""
    import logging

    from crosscheck.config import ProjectConfig
    from crosscheck.service.logfile import start_logging
    from crosscheck.workbench.server import LOGGERS, serve

    try:
        config = ProjectConfig.load(project)
    except ValueError as exc:
        _fail(str(exc))
    start_logging(config, log_file, also=LOGGERS)
    path = store_path(store, project).absolute()
    prepare(path)
    host = host or config.workbench.host
    port = port or config.workbench.port
    log = logging.getLogger("crosscheck.workbench")
    typer.echo(f"crosscheck workbench on http://{host}:{port}/ (store {path}); Ctrl-C stops it", err=True)
    log.info("workbench on http://%s:%d/ (store %s, %d server process(es))", host, port, path, workers)
    serve(path, config, host=host, port=port, workers=workers)  # uvicorn logs its own start and stop
