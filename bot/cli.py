"""`madoguchi`: a thin command layer over the library functions (Typer).

Exit codes follow the contract: 0 done, 1 a staff command refused (wrong state, no such
case), 2 a bad setting or policy. Errors are one line on stderr saying what to do.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer

from bot.app import App, build_app
from bot.logs import configure_logging
from config.policy import PolicyError
from config.settings import Settings, SettingsError, load_deployment, load_settings

cli = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="madoguchi — the personal-information request window (開示等の求め) by email.",
)
cases_cli = typer.Typer(no_args_is_help=True, help="Staff views and actions on cases.")
quarantine_cli = typer.Typer(no_args_is_help=True, help="Messages that could not be processed.")
db_cli = typer.Typer(no_args_is_help=True, help="The case store.")
payments_cli = typer.Typer(no_args_is_help=True, help="Fee payments received by bank transfer.")
policy_cli = typer.Typer(no_args_is_help=True, help="The window's policy file.")
keys_cli = typer.Typer(no_args_is_help=True, help="The key of the encrypted stores (mails, documents).")
audit_cli = typer.Typer(no_args_is_help=True, help="The audit trail of every case (Privacy Mark audits).")
cli.add_typer(cases_cli, name="cases")
cli.add_typer(payments_cli, name="payments")
cli.add_typer(audit_cli, name="audit")
cli.add_typer(keys_cli, name="keys")
cli.add_typer(policy_cli, name="policy")
cli.add_typer(quarantine_cli, name="quarantine")
cli.add_typer(db_cli, name="db")

_state: dict[str, Any] = {}


def _fail(message: str, code: int) -> NoReturn:
    typer.echo(f"madoguchi: {message}", err=True)
    raise typer.Exit(code)


def _app() -> App:
    """The window a staff command acts on: the only one, or the one `--window` names."""
    if "app" not in _state:
        try:
            settings = load_settings(_state.get("config"), window=_state.get("window"))
            configure_logging(settings.log_format, bool(_state.get("verbose")))
            _state["app"] = build_app(settings, actor=_state.get("actor"))
        except (SettingsError, PolicyError) as exc:
            _fail(str(exc), 2)
    app: App = _state["app"]
    return app


def _window_settings() -> list[Settings]:
    """For the commands that serve a deployment (run, worker, health): every window, or the one named."""
    try:
        if _state.get("window") or os.environ.get("MADOGUCHI_WINDOW"):
            return [load_settings(_state.get("config"), window=_state.get("window"))]
        return load_deployment(_state.get("config"))
    except SettingsError as exc:
        _fail(str(exc), 2)


def _apps() -> list[App]:
    apps: list[App] = []
    try:
        for settings in _window_settings():
            configure_logging(settings.log_format, bool(_state.get("verbose")))
            apps.append(build_app(settings, actor=_state.get("actor")))
    except (SettingsError, PolicyError) as exc:
        for app in apps:
            app.close()
        _fail(str(exc), 2)
    return apps


@cli.callback()
def _main(
    config: Annotated[str | None, typer.Option("--config", help="TOML settings file")] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="log progress to stderr")] = False,
    as_: Annotated[str | None, typer.Option("--as", help="who is acting, for the audit trail "
                                                       "(default: MADOGUCHI_STAFF_NAME, else the OS user)")] = None,
    window: Annotated[str | None, typer.Option("--window", help="the window to act on, when the deployment "
                                                                "serves several (else MADOGUCHI_WINDOW)")] = None,
) -> None:
    _state["config"] = config
    _state["window"] = window
    _state["actor"] = as_.strip() if as_ and as_.strip() else None
    _state["verbose"] = verbose
    configure_logging("text", verbose)  # until the settings say which format


@cli.command()
def run(once: Annotated[bool, typer.Option("--once", help="one pass, then exit")] = False) -> None:
    """Ingest new mail, decide, store and send replies; without --once, keep doing it on a schedule."""
    from bot.runner import SchedulerBusy, run_forever, run_once
    from bot.views import print_pass_report

    apps = _apps()
    try:
        if not once:
            run_forever(apps)
            return
        for app in apps:
            report = run_once(app)
            if len(apps) > 1:
                typer.echo(f"window {app.settings.window}:")
            print_pass_report(app, report)
    except SettingsError as exc:
        _fail(str(exc), 2)
    except SchedulerBusy as exc:
        _fail(str(exc), 1)


@cli.command()
def worker(until_idle: Annotated[bool, typer.Option("--until-idle", help="exit once nothing is left to do "
                                                                        "(one worker draining a backlog)")] = False,
           ) -> None:
    """One of several processes sharing the work on PostgreSQL; one of them leads and reads the mailbox."""
    import signal
    import threading

    from bot.workers import WorkerError, require_postgresql, run_worker

    apps = _apps()
    try:
        for app in apps:
            require_postgresql(app)
    except WorkerError as exc:
        _fail(str(exc), 2)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    try:
        report = run_worker(apps, stop, until_idle=until_idle)
    finally:
        for app in apps:
            app.close()
    parts = ", ".join(f"{k}: {v}" for k, v in sorted(report.outcomes.items())) or "none"
    typer.echo(f"worker: {report.handled} messages handled ({parts}); "
               f"{'led' if report.led else 'did not lead'}, {report.queued} read into the queue")


@cases_cli.command("export")
def cases_export(fmt: Annotated[str, typer.Option("--format", help="json")] = "json") -> None:
    """Every case as a JSON array (the contract's schema)."""
    from bot import casestore
    from bot.export import case_to_json

    if fmt != "json":
        _fail(f"--format {fmt!r} is not supported; use json", 2)
    from bot.views import write_json_array

    app = _app()
    with app.session() as s:  # streamed: one case at a time, never the whole store in memory
        write_json_array(case_to_json(case) for case in casestore.iter_cases(s))


@cases_cli.command("list")
def cases_list(
    status: Annotated[str | None, typer.Option(help="only cases in this status")] = None,
    overdue: Annotated[bool, typer.Option("--overdue", help="only cases past their due date")] = False,
    due_within: Annotated[int | None, typer.Option("--due-within", help="only cases due within N days", min=0)]
    = None,
    agent: Annotated[bool, typer.Option("--agent", help="only requests made by an agent")] = False,
    open_only: Annotated[bool, typer.Option("--open", help="only cases not closed or rejected")] = False,
    fmt: Annotated[str, typer.Option("--format", help="table or json")] = "table",
) -> None:
    """Cases, oldest first: id, status, due date and days left, what is missing."""
    from bot.views import CaseFilter, list_cases

    if fmt not in ("table", "json"):
        _fail(f"--format {fmt!r} is not supported; use table or json", 2)
    list_cases(_app(), CaseFilter(status=status, overdue=overdue, due_within=due_within, agent=agent,
                                  open_only=open_only), fmt=fmt)


@cases_cli.command("show")
def cases_show(case_id: str) -> None:
    """One case with its documents, messages and audit trail."""
    from bot.views import show_case

    if not show_case(_app(), case_id):
        _fail(f"no case {case_id!r} (see `madoguchi cases list`)", 1)


def _staff(action: Any, *args: Any) -> None:
    from bot.delivery import deliver_queued
    from bot.staff import StaffError

    app = _app()
    try:
        case = action(app, *args)
    except StaffError as exc:
        _fail(str(exc), 1)
    deliver_queued(app)
    typer.echo(f"{case.id}: {case.status}")


@cases_cli.command("verify")
def cases_verify(case_id: str) -> None:
    """Record that staff confirmed the requester's identity from the documents."""
    from bot.staff import verify

    _staff(verify, case_id)


@cases_cli.command("confirm-sender")
def cases_confirm_sender(case_id: str) -> None:
    """Lift sender_unverified after confirming the requester's address by another channel."""
    from bot.staff import confirm_sender

    _staff(confirm_sender, case_id)


@cases_cli.command("confirm-form")
def cases_confirm_form(
    case_id: str,
    types: Annotated[str | None, typer.Option(
        "--types", help="the request types the image really shows, comma-separated (e.g. disclose,notify_purpose)")]
    = None,
) -> None:
    """Confirm a form read from a scan or photo (flag form_needs_confirmation), correcting its request types."""
    from bot.staff import confirm_form

    _staff(confirm_form, case_id, [t.strip() for t in types.split(",") if t.strip()] if types is not None else None)


@cases_cli.command("record-payment")
def cases_record_payment(
    case_id: str,
    amount: Annotated[int, typer.Option("--amount", help="yen received")],
    method: Annotated[str, typer.Option("--method", help="bank_transfer | registered_cash | postal_money_order")]
    = "bank_transfer",
) -> None:
    """Record a fee payment; a complete payment moves the case on and sends a receipt."""
    from bot.staff import record_payment

    _staff(record_payment, case_id, amount, method)


@cases_cli.command("close")
def cases_close(
    case_id: str,
    outcome: Annotated[str | None, typer.Option(
        help="disclosed | purpose_notified | third_party_records_disclosed | corrected | suspended | "
             "third_party_stopped | no_data_held | partially_refused | refused | withdrawn")] = None,
    reason: Annotated[str | None, typer.Option(help="told to the requester (needed for partially_refused, "
                                                    "refused)")] = None,
) -> None:
    """End a case with its outcome; refusals, no data held, corrections and suspensions notify the requester."""
    from bot.staff import close

    _staff(close, case_id, outcome, reason)


@cases_cli.command("reject")
def cases_reject(case_id: str, reason: Annotated[str, typer.Option("--reason", help="told to the requester")]) -> None:
    """Refuse a request; the requester is sent the reason."""
    from bot.staff import reject

    _staff(reject, case_id, reason)


@payments_cli.command("import")
def payments_import(
    file: Annotated[Path, typer.Argument(help="the bank's CSV export or a 全銀 (Zengin) statement file")],
    columns: Annotated[str | None, typer.Option(
        "--columns", help="date=…,amount=…,payer=…[,withdrawal=…]: header names or 0-based numbers, when the "
                          "columns are not recognised")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="match and list, record nothing")] = False,
) -> None:
    """Record fee payments from a bank statement; list what could not be matched, without guessing."""
    from bot.delivery import deliver_queued
    from bot.payments_import import import_statement
    from bot.views import print_import_report
    from parsers.bank_statement import StatementError, parse_mapping

    try:
        data = file.read_bytes()
    except OSError as exc:
        _fail(f"cannot read {file}: {exc.strerror}", 1)
    app = _app()
    try:
        mapping = parse_mapping(columns) if columns else None
        report = import_statement(app, data, mapping, dry_run=dry_run)
    except StatementError as exc:
        _fail(f"{file}: {exc}", 1)
    if not dry_run:
        deliver_queued(app)
    print_import_report(report, dry_run=dry_run)


@audit_cli.command("export")
def audit_export(
    fmt: Annotated[str, typer.Option("--format", help="csv or json")] = "csv",
    case_id: Annotated[str | None, typer.Option("--case", help="only this case")] = None,
    since: Annotated[str | None, typer.Option(help="from this day (YYYY-MM-DD), local time")] = None,
    until: Annotated[str | None, typer.Option(help="up to and including this day (YYYY-MM-DD)")] = None,
) -> None:
    """Every audit event (mail in, decisions with their rules, replies, staff actions and who did them)."""
    import datetime as dt

    from bot.audit import export_events

    if fmt not in ("csv", "json"):
        _fail(f"--format {fmt!r} is not supported; use csv or json", 2)
    try:
        first = dt.date.fromisoformat(since) if since else None
        last = dt.date.fromisoformat(until) if until else None
    except ValueError:
        _fail("--since and --until take a date as YYYY-MM-DD", 2)
    sys.stdout.write(export_events(_app(), fmt, case_id=case_id, since=first, until=last))


@policy_cli.command("check")
def policy_check(
    file: Annotated[Path, typer.Argument(help="the policy YAML to check before switching to it")],
    fmt: Annotated[str, typer.Option("--format", help="text or json")] = "text",
) -> None:
    """Validate a policy file and replay the open cases under it: what would change (exit 0 when valid)."""
    from bot.policy_check import check_policy, lines, to_json

    if fmt not in ("text", "json"):
        _fail(f"--format {fmt!r} is not supported; use text or json", 2)
    try:
        check = check_policy(_app(), str(file))
    except PolicyError as exc:
        _fail(str(exc), 2)
    if fmt == "json":
        typer.echo(json.dumps(to_json(check), ensure_ascii=False, indent=2))
        return
    for line in lines(check):
        typer.echo(line)


@keys_cli.command("status")
def keys_status() -> None:
    """The current key's id, keys kept during a rotation, and how many stored files each key sealed."""
    from bot.keys import key_status

    for line in key_status(_app()).lines():
        typer.echo(line)


@keys_cli.command("rotate")
def keys_rotate() -> None:
    """Make a new key and re-encrypt every stored file with it (stop `madoguchi run` first; resumable)."""
    from bot.keys import RotationError, rotate

    try:
        report = rotate(_app())
    except RotationError as exc:
        _fail(str(exc), 1)
    for line in report.lines():
        typer.echo(line)


@cli.command()
def chase(dry_run: Annotated[bool, typer.Option("--dry-run", help="list, send nothing")] = False) -> None:
    """Remind requesters who owe documents or the fee; lapse requests left unanswered (daily in `run`)."""
    from bot.chasing import chase_cases
    from bot.delivery import deliver_queued

    app = _app()
    report = chase_cases(app, dry_run=dry_run)
    if not dry_run:
        deliver_queued(app)
    typer.echo(f"reminders: {len(report.reminded)} {' '.join(report.reminded)}".rstrip())
    typer.echo(f"lapsed: {len(report.lapsed)} {' '.join(report.lapsed)}".rstrip())
    if dry_run:
        typer.echo("(dry run: nothing was sent or changed)")


@cli.command()
def digest(
    print_: Annotated[bool, typer.Option("--print", help="print instead of sending")] = False,
    html: Annotated[bool, typer.Option("--html", help="print the HTML part (what mail programs show)")] = False,
) -> None:
    """The staff digest: what waits on whom, with days left."""
    from bot.digest_job import digest_html, digest_text

    if not print_:
        _fail("sending the digest by mail is done by `madoguchi run`; use --print to see it", 2)
    typer.echo((digest_html if html else digest_text)(_app()), nl=False)


@cli.command()
def form(out: Annotated[Path, typer.Option("--out", help="where to write the PDF")]) -> None:
    """Write the blank fillable request form (個人情報開示等請求書)."""
    from bot.replying import blank_form

    app = _app()
    pdf = blank_form(app.policy, app.settings.window_address).data
    out.write_bytes(pdf)
    typer.echo(f"wrote {out} ({len(pdf):,} bytes)")


@quarantine_cli.command("list")
def quarantine_list() -> None:
    """Messages that failed, with the step and the reason."""
    from bot.views import list_quarantine

    list_quarantine(_app())


@quarantine_cli.command("replay")
def quarantine_replay(sha: Annotated[str, typer.Argument(help="sha256 (or a unique prefix) from the list")]) -> None:
    """Process a quarantined message again (after a fix)."""
    from bot.views import replay

    if not replay(_app(), sha):
        _fail(f"no quarantined message {sha!r} (see `madoguchi quarantine list`)", 1)


@db_cli.command("upgrade")
def db_upgrade() -> None:
    """Migrate the case store to the newest schema (also done at every start)."""
    _app()
    typer.echo("database is at the newest schema")


@cli.command()
def health() -> None:
    """Check, changing nothing, that settings, policy, database schema, store key and data folder are usable."""
    from bot.health import problems

    windows = _window_settings()
    found = [f"window {settings.window}: {line}" if len(windows) > 1 else line
             for settings in windows for line in problems(settings)]
    for line in found:
        typer.echo(f"madoguchi: {line}", err=True)
    if found:
        raise typer.Exit(1)
    typer.echo("ok")


@cli.command()
def housekeep() -> None:
    """Remove what crashes left behind, apply the retention policy, checkpoint the database (daily in `run`)."""
    from bot.housekeeping import housekeep as run_housekeeping

    report = run_housekeeping(_app())
    typer.echo(f"housekeeping: {report.stale_files_removed} stale temporary files removed, "
               f"{report.ocr_results_expired} OCR results expired, "
               f"database WAL checkpointed: {'yes' if report.wal_checkpointed else 'no'}")
    typer.echo(f"retention: {report.documents_deleted} documents, {report.raw_messages_deleted} raw mails deleted; "
               f"{report.replies_purged} reply copies and {report.cases_purged} cases purged"
               + ("; FAILED, see the log" if report.retention_failed else ""))
    if report.retention_failed:
        raise typer.Exit(1)


@cli.command()
def retention(dry_run: Annotated[bool, typer.Option("--dry-run", help="show what would go; change nothing")]
              = False) -> None:
    """Delete what the policy's retention periods say has expired (daily in housekeeping)."""
    from bot import retention as kept

    app = _app()
    if dry_run:
        for line in kept.describe(kept.dry_run(app)):
            typer.echo(line)
        typer.echo("(dry run: nothing was deleted)")
        return
    result = kept.run(app, actor=app.actor)
    typer.echo(f"retention: {result.documents_deleted} documents ({result.document_files_deleted} files), "
               f"{result.raw_messages_deleted} raw mails deleted; {result.replies_purged} reply copies, "
               f"{result.cases_purged} cases and {result.senders_purged} senders purged; "
               f"{result.events} audit events written")


def main() -> None:
    try:
        cli()
    except (SettingsError, PolicyError) as exc:
        print(f"madoguchi: {exc}", file=sys.stderr)
        sys.exit(2)
