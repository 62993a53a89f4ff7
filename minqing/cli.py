"""`minqing` — the operators' command line.

minqing run                               migrate, load demo data, start every service and the gateway
minqing serve SERVICE                     run one service process (intake, routing, feedback, points, gateway)
minqing migrate                           bring every service database to the latest schema
minqing token --role R --community C      mint a JWT with the configured secret
minqing seed-demo [--now ISO]             load the Maxian demo data as of now or a given instant (idempotent)
minqing import-households FILE.xlsx --community C
minqing accounts import FILE.xlsx         staff accounts (用户名, 姓名, 角色, 社区 …); new passwords to a 0600 file
minqing dlq list | minqing dlq replay --queue Q
minqing outbox status
minqing points verify                     every member's balance equals the sum of their ledger entries
minqing calendar import FILE              load a year's holiday schedule (docs/calendar.md) into routing
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
import warnings
from datetime import UTC, datetime

from minqing import config as settings

RUN_ORDER = ("intake", "routing", "feedback", "points", "accounts", "gateway")


def cmd_token(args) -> int:
    from gateway.auth import mint

    # only a district admin is district-wide by default; any other role names its communities
    communities = args.community or (["*"] if args.role == "district_admin" else [])
    try:
        if not communities:
            raise ValueError(f"a {args.role} token names its communities: --community CODE (repeatable)")
        sub = args.sub or f"{args.role}-cli"
        token = mint(settings.jwt_secret(), sub, args.role, communities, args.hours, args.bureau)
    except ValueError as exc:
        print(f"minqing token: {exc}", file=sys.stderr)
        return 2
    print(token)
    return 0


def cmd_migrate(args) -> int:
    from minqing.migrate import upgrade_all

    upgrade_all()
    print("databases at the latest schema: " + ", ".join(f"{s} ({settings.db_url(s)})" for s in settings.SERVICES))
    return 0


def _instant(text: str) -> datetime:
    value = datetime.fromisoformat(text)
    if value.tzinfo is None:
        raise argparse.ArgumentTypeError(f"{text!r} has no UTC offset; write e.g. 2026-12-01T20:00:00+00:00")
    return value.astimezone(UTC)


def load_demo_year(ls, rs, fs, now: datetime, progress=None) -> tuple[dict, list[dict]]:
    """Everything of the demo that depends on `now`, but for what only follows the events it produces:
    intake's cases, routing's year and feedback's (answers, ratings, reopenings, visits, supervision, polls).
    Returns the counts and the year's events, in the order they happened, for the ledger and points."""
    from minqing.outbox import take_unsent
    from services.feedback import demo as feedback_demo
    from services.intake import demo as intake_demo
    from services.routing import demo as routing_demo

    counts = intake_demo.load(ls, now, progress=progress)
    cases = intake_demo.cases_for_routing(ls)
    counts |= routing_demo.load(rs, cases, now)
    routing_events, reworked = take_unsent(rs, "routing"), []
    counts |= feedback_demo.load(fs, rs, cases, routing_events, now, reworked)
    grids = {g: intake_demo.grid_households(ls, "maxian", g) for g in intake_demo.grid_codes(ls, "maxian")}
    counts["visits"] = feedback_demo.load_visits(fs, grids, cases, now)
    counts["supervision"] = feedback_demo.load_supervision(fs, now)
    counts["polls"] = feedback_demo.load_polls(fs, intake_demo.estate_households(ls, "船政新村"), now)
    events = routing_events + reworked + take_unsent(fs, "feedback")
    events.sort(key=lambda e: (e["time"], e["version"]))
    return counts, events


def cmd_seed_demo(args) -> int:
    from tqdm import tqdm

    from minqing.db import UnitOfWork, make_engine
    from minqing.migrate import upgrade_all
    from services.accounts import demo as accounts_demo
    from services.feedback import demo as feedback_demo
    from services.intake import demo as intake_demo
    from services.points import demo as points_demo
    from services.routing import demo as routing_demo

    upgrade_all()
    now = args.now or datetime.now(UTC)  # the one reading of the clock: every loader below is given `now`
    intake, routing, feedback, points, accounts = (
        UnitOfWork(make_engine(settings.db_url(s))) for s in ("intake", "routing", "feedback", "points", "accounts")
    )
    # one transaction per database, all open until everything is loaded: a failure anywhere leaves nothing
    with (
        tqdm(desc="demo cases", unit="case", disable=args.quiet) as bar,
        intake.transaction() as ls,
        routing.transaction() as rs,
        feedback.transaction() as fs,
        points.transaction() as ps,
        accounts.transaction() as acs,
    ):
        counts, events = load_demo_year(ls, rs, fs, now, progress=bar.update)
        # the demo year is history: its events go straight into the ledger, not to the broker
        counts["ledger_events"] = intake_demo.apply_events(ls, events)
        roster = routing_demo.roster_people(rs)
        counts |= points_demo.load(ps, roster, events + feedback_demo.visit_events(fs), now)
        counts["demo_logins"] = accounts_demo.load(acs, settings.var_dir() / "demo-accounts.json", now)
    print("demo data loaded (new rows): " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    return 0


def cmd_import_households(args) -> int:
    from nameko.standalone.rpc import ClusterRpcProxy
    from tqdm import tqdm

    from minqing.errors import MinqingError
    from services.intake.households_xlsx import read_households

    rows = read_households(args.file)
    scope = {"sub": "cli-import", "role": "district_admin", "communities": ["*"]}
    totals = {"created": 0, "updated": 0}
    config = {"AMQP_URI": str(settings.get("amqp_uri"))}
    with ClusterRpcProxy(config, timeout=120) as rpc, tqdm(total=len(rows), unit="household") as bar:
        for start in range(0, len(rows), args.batch):
            batch = rows[start : start + args.batch]
            try:
                result = rpc.intake.import_households(args.community, {"items": batch}, scope)
            except MinqingError as exc:
                detail = getattr(exc, "errors", None) or exc.detail
                print(
                    f"\nrows {start + 2}..{start + len(batch) + 1} rejected: {json.dumps(detail, ensure_ascii=False)}"
                )
                return 1
            totals["created"] += result["created"]
            totals["updated"] += result["updated"]
            bar.update(len(batch))
    print(f"imported into {args.community}: {totals['created']} new, {totals['updated']} updated")
    return 0


def cmd_accounts(args) -> int:
    """Staff accounts from an xlsx sheet, through the running accounts service; generated passwords go to a
    file only the operator can read, never to the terminal or a log."""
    from nameko.standalone.rpc import ClusterRpcProxy

    from minqing.errors import MinqingError
    from services.accounts.accounts_xlsx import read_accounts

    rows = read_accounts(args.file)
    scope = {"sub": "cli-import", "role": "district_admin", "communities": ["*"]}
    created, updated, failed = [], 0, False
    config = {"AMQP_URI": str(settings.get("amqp_uri"))}
    with ClusterRpcProxy(config, timeout=120) as rpc:
        for start in range(0, len(rows), args.batch):
            batch = rows[start : start + args.batch]
            try:
                result = rpc.accounts.import_accounts({"items": batch}, scope)
            except MinqingError as exc:
                detail = getattr(exc, "errors", None) or exc.detail
                # the service names the item of the batch; the sheet's row is 2 + its place (row 1 is the header)
                if isinstance(detail, dict):
                    detail = {f"row {start + int(k) + 2}": v for k, v in detail.items() if str(k).isdigit()} or detail
                print(f"rows {start + 2}..{start + len(batch) + 1} rejected: {json.dumps(detail, ensure_ascii=False)}")
                failed = True
                break
            created += result["created"]
            updated += result["updated"]
    if created:
        out = settings.var_dir() / f"initial-passwords-{datetime.now(UTC):%Y%m%dT%H%M%S}.json"
        out.touch(mode=0o600)
        out.write_text(json.dumps(created, ensure_ascii=False, indent=1))
        print(f"initial passwords (to hand over, then delete): {out}")
    print(f"accounts: {len(created)} new, {updated} updated")
    return 1 if failed else 0


def cmd_calendar(args) -> int:
    from nameko.standalone.rpc import ClusterRpcProxy

    from minqing.errors import MinqingError
    from services.routing.holidays import read_file

    year, body = read_file(args.file)
    scope = {"sub": "cli-calendar-import", "role": "district_admin", "communities": ["*"]}
    with ClusterRpcProxy({"AMQP_URI": str(settings.get("amqp_uri"))}, timeout=60) as rpc:
        try:
            result = rpc.routing.put_calendar(year, body, scope)
        except MinqingError as exc:
            detail = getattr(exc, "errors", None) or {}
            print(f"{args.file}: {exc.detail}", file=sys.stderr)
            for where, messages in detail.items():
                print(f"  {where}: {'; '.join(map(str, messages))}", file=sys.stderr)
            return 1
    kinds = [d["kind"] for d in result["days"]]
    print(
        f"loaded the {year} calendar: {kinds.count('holiday')} days off, "
        f"{kinds.count('workday')} adjusted working day(s) ({result['notice'] or 'no notice named'})"
    )
    return 0


def _service_queues() -> dict[str, list[str]]:
    from minqing.topology import handler_queues, service_class

    return {name: handler_queues(service_class(name)) for name in settings.SERVICES}


def cmd_dlq(args) -> int:
    from minqing.dlq import list_dead_letters, replay

    amqp = str(settings.get("amqp_uri"))
    queues = [q for qs in _service_queues().values() for q in qs]
    if args.action == "list":
        found = list_dead_letters(amqp, queues)
        total = sum(len(v) for v in found.values())
        for queue, items in found.items():
            print(f"{queue}.dlq: {len(items)} message(s)")
            for item in items:
                print("  " + json.dumps(item, ensure_ascii=False, default=str))
        print(f"{total} dead letter(s)")
        return 0
    targets = [args.queue] if args.queue else queues
    unknown = [q for q in targets if q not in queues]
    if unknown:
        print(f"unknown queue {unknown[0]!r}; known: {', '.join(queues)}", file=sys.stderr)
        return 2
    moved = sum(replay(amqp, queue) for queue in targets)
    print(f"replayed {moved} message(s)")
    return 0


def cmd_outbox(args) -> int:
    from sqlalchemy.exc import SQLAlchemyError

    from minqing.db import UnitOfWork, make_engine
    from minqing.outbox import outbox_status

    failed = 0
    for service in settings.SERVICES:
        uow = UnitOfWork(make_engine(settings.db_url(service)))
        try:
            with uow.transaction() as session:
                print(f"{service}: {json.dumps(outbox_status(session))}")
        except SQLAlchemyError as exc:
            failed += 1
            print(f"{service}: unavailable ({exc.__class__.__name__}; run `minqing migrate`?)")
        finally:
            uow.engine.dispose()
    return 1 if failed else 0


def cmd_points(args) -> int:
    """The points ledger's own audit: every balance equals the sum of its entries."""
    from sqlalchemy import text

    from minqing.db import UnitOfWork, make_engine
    from services.points import ledger

    uow = UnitOfWork(make_engine(settings.db_url("points")))
    try:
        with uow.transaction() as session:
            wrong = ledger.mismatches(session)
            members = session.scalar(text("SELECT count(*) FROM members"))
            entries = session.scalar(text("SELECT count(*) FROM point_entries"))
    finally:
        uow.engine.dispose()
    for item in wrong:
        print(f"member {item['member']}: balance {item['balance']}, entries sum to {item['entries_sum']}")
    print(f"{members} members, {entries} ledger entries, {len(wrong)} balance(s) not equal to their entries")
    return 1 if wrong else 0


def cmd_serve(args) -> int:
    # a fresh interpreter, so eventlet patches the standard library before anything imports it
    os.execv(sys.executable, [sys.executable, "-m", "minqing.serve", args.service])


def _wait_ready(url: str, procs: list[subprocess.Popen], timeout: float = 90) -> bool:
    import requests

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(p.poll() is not None for p in procs):
            return False
        try:
            if requests.get(url + "/readyz", timeout=2).status_code == 200:
                return True
        except requests.RequestException:
            pass
        time.sleep(0.5)
    return False


def _print_console(url: str) -> None:
    from gateway import console

    if not (console.dist_dir() / "index.html").is_file():
        print(f"\nweb console not built ({console.dist_dir()}): `make run` builds it")
        return
    print(f"\nweb console: {url}/  (staff: a demo login above; residents, by phone code: {url}/login?community=maxian)")


def cmd_run(args) -> int:
    from gateway.auth import mint

    cmd_seed_demo(argparse.Namespace(quiet=False, now=None))
    log_dir = settings.var_dir() / "log"
    log_dir.mkdir(exist_ok=True)
    procs = []
    for service in RUN_ORDER:
        log = open(log_dir / f"{service}.log", "a")  # noqa: SIM115  kept open for the child's lifetime
        procs.append(subprocess.Popen([sys.executable, "-m", "minqing.serve", service], stdout=log, stderr=log))
    url = f"http://{settings.gateway_address()}"
    stopping = False

    def stop(*_):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    if not _wait_ready(url, procs):
        print(f"services did not become ready; see {log_dir}/*.log", file=sys.stderr)
        stopping = True
    else:
        secret = settings.jwt_secret()
        print(f"\nMinqing is up at {url}  (API: {url}/api/v1, spec: {url}/api/v1/openapi.json)")
        print(
            "metrics: "
            + ", ".join(f"http://{settings.metrics_address(s)}/metrics" for s in ("gateway", *settings.SERVICES))
        )
        print(f"logs: {log_dir}/")
        print(
            f"\nsign in (POST {url}/api/v1/auth/login) as, per role (from {settings.var_dir() / 'demo-accounts.json'}):"
        )
        for login in json.loads((settings.var_dir() / "demo-accounts.json").read_text(encoding="utf-8")):
            print(f"  {login['role']:<16} {login['username']:<16} {login['password']}")
        sms_log = settings.get("sms_log") or settings.var_dir() / "sms.log"
        print(f'residents: POST /api/v1/auth/code {{"phone": ...}}; the SMS (code included) go to {sms_log}')
        print("\ndistrict admin token (12 h):\n" + mint(secret, "admin", "district_admin", ["*"]))
        print("\nMaxian community admin token:\n" + mint(secret, "maxian-admin", "community_admin", ["maxian"]))
        _print_console(url)
        print("\nPress Ctrl-C to stop.")
    while not stopping and all(p.poll() is None for p in procs):
        time.sleep(0.5)
    for p in procs:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
    for p in procs:
        try:
            p.wait(timeout=20)
        except subprocess.TimeoutExpired:
            p.kill()
    print("stopped")
    return 0 if not any(p.returncode not in (0, -signal.SIGTERM) for p in procs) else 1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="minqing", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("run", help="migrate, seed, start everything").set_defaults(fn=cmd_run)
    serve = sub.add_parser("serve", help="run one service")
    serve.add_argument("service", choices=RUN_ORDER)
    serve.set_defaults(fn=cmd_serve)
    sub.add_parser("migrate", help="upgrade every service database").set_defaults(fn=cmd_migrate)
    token = sub.add_parser("token", help="mint a JWT")
    token.add_argument("--role", required=True)
    token.add_argument("--community", action="append", help="community code, repeatable; '*' for district-wide")
    token.add_argument("--sub", help="user id (default: <role>-cli)")
    token.add_argument("--bureau", help="bureau code for bureau_handler tokens")
    token.add_argument("--hours", type=float, default=12)
    token.set_defaults(fn=cmd_token)
    seed = sub.add_parser("seed-demo", help="load the demo district (idempotent)")
    seed.add_argument("--quiet", action="store_true")
    seed.add_argument(
        "--now", type=_instant, help="seed as if the time were this ISO 8601 instant with offset (e.g. for tests)"
    )
    seed.set_defaults(fn=cmd_seed_demo)
    imp = sub.add_parser("import-households", help="import households from an xlsx sheet")
    imp.add_argument("file")
    imp.add_argument("--community", required=True)
    imp.add_argument("--batch", type=int, default=500)
    imp.set_defaults(fn=cmd_import_households)
    acc = sub.add_parser("accounts", help="staff accounts")
    acc.add_argument("action", choices=("import",))
    acc.add_argument(
        "file", help="xlsx: username, display_name, role, communities, bureau, phone, roster_id, member_id"
    )
    acc.add_argument("--batch", type=int, default=200)
    acc.set_defaults(fn=cmd_accounts)
    dlq = sub.add_parser("dlq", help="dead-lettered events")
    dlq.add_argument("action", choices=("list", "replay"))
    dlq.add_argument("--queue", help="replay only this handler queue")
    dlq.set_defaults(fn=cmd_dlq)
    outbox = sub.add_parser("outbox", help="outbox state per service")
    outbox.add_argument("action", choices=("status",))
    outbox.set_defaults(fn=cmd_outbox)
    points = sub.add_parser("points", help="points ledger audit")
    points.add_argument("action", choices=("verify",))
    points.set_defaults(fn=cmd_points)
    cal = sub.add_parser("calendar", help="the holiday calendar (docs/calendar.md)")
    cal.add_argument("action", choices=("import",))
    cal.add_argument("file", help="a YAML calendar file: year, notice, holidays, workdays")
    cal.set_defaults(fn=cmd_calendar)
    return parser


def main(argv: list[str] | None = None) -> int:
    warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")
    args = build_parser().parse_args(argv)
    try:
        return args.fn(args) or 0
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
