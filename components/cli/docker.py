"""`rollout docker invite-uncaptured AUDIT.csv`: invite the users Docker's domain audit found outside the org.

The Admin Console's domain audit ("Export Users") lists uncaptured users: Docker users who signed in
with an email of a verified domain but are not members (columns Name, Username, Email). Docker has
no API for the audit itself, so the export is the input; the rest is the Hub API:

1. read the CSV (UTF-8, with or without a BOM; header names in any case; extra columns and blank
   lines ignored);
2. list the org's members and pending invites, and set aside every row that matches one by
   username or email (case-insensitive), as well as rows without a usable username or email and
   repeats of an earlier row;
3. print the plan; with `--apply`, send the rest through `POST /v2/invites/bulk` and print each
   invitee's status.

Each user is invited by email when the row has a valid one (the verified-domain address is what the
audit is about, and the invitation mail goes there), else by Docker ID. Docker documents no limit for
the bulk API; its Admin Console takes at most 1,000 invitees at a time, so requests carry at most
`MAX_INVITEES_PER_REQUEST`.

Credentials come from the environment only (`DOCKER_HUB_USERNAME`, `DOCKER_HUB_TOKEN`): a value on
the command line would land in shell history and CI logs. Exit codes: 0 done, 1 the Hub failed or
refused an invitee, 2 a usage problem (missing credential, malformed CSV, unknown stack).
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import re
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from components.providers.dockerhub import DOCKER_HUB_TOKEN, DOCKER_HUB_URL, DOCKER_HUB_USERNAME

if TYPE_CHECKING:
    from components.clients.dockerhub import DockerHubClient, Invite, Member

ROLES = ("member", "editor", "owner")
# The same variables and default the Docker Hub providers read (components.providers.dockerhub).
DEFAULT_HUB_URL = str(DOCKER_HUB_URL.default)
USERNAME_ENV, TOKEN_ENV = str(DOCKER_HUB_USERNAME.env), str(DOCKER_HUB_TOKEN.env)
MAX_INVITEES_PER_REQUEST = 1000
ACCEPTED_STATUSES = frozenset({"invited", "existing_org_member"})
"""Bulk-invite statuses that need no action: anything else is reported with exit code 1."""

_COLUMNS = ("name", "username", "email")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_DOCKER_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
_ORG = re.compile(r"[a-z0-9][a-z0-9_-]{1,254}")


class UsageError(Exception):
    """A problem the user fixes before anything is sent: one line, exit code 2."""


# --- the audit export -------------------------------------------------------------------------------


@dataclass(frozen=True)
class AuditRow:
    line: int
    name: str
    username: str
    email: str

    @property
    def invitee(self) -> str:
        """Who to invite: the email when it is one, else the Docker ID."""
        return self.email if _EMAIL.fullmatch(self.email) else self.username

    @property
    def keys(self) -> set[str]:
        """The lower-cased username and email, for matching members, invites and repeats."""
        return {key.lower() for key in (self.username, self.email) if key}

    def describe(self) -> str:
        others = [part for part in (self.username, self.email, self.name) if part and part != self.invitee]
        return f"{self.invitee}  ({', '.join(others)})" if others else self.invitee


@dataclass(frozen=True)
class AuditExport:
    rows: list[AuditRow]
    """Rows with a usable username or email, first occurrence of each user."""
    unusable: list[str]
    """`line N: why` for every row set aside."""


def read_audit_export(path: Path) -> AuditExport:
    """Parse the domain-audit CSV; `UsageError` when it is not one."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise UsageError(f"{path} is not UTF-8 text: expected the domain audit export (CSV)") from None
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from None
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        records = [(reader.line_num, record) for record in reader if any(cell.strip() for cell in record)]
    except csv.Error as exc:
        raise UsageError(f"{path} line {reader.line_num}: not valid CSV ({exc})") from None
    if not records:
        raise UsageError(f"{path} is empty: expected the domain audit export with columns Name, Username, Email")
    header = [cell.strip().lower() for cell in records[0][1]]
    if "username" not in header or "email" not in header:
        found = ", ".join(cell for cell in records[0][1] if cell.strip()) or "none"
        raise UsageError(
            f"{path}: the header has no Username and Email columns (found: {found}); "
            "expected the domain audit export with columns Name, Username, Email"
        )
    index = {column: header.index(column) for column in _COLUMNS if column in header}
    rows: list[AuditRow] = []
    unusable: list[str] = []
    seen: dict[str, int] = {}
    for line, record in records[1:]:
        cell = {column: record[i].strip() if i < len(record) else "" for column, i in index.items()}
        row = AuditRow(line, cell.get("name", ""), cell["username"], cell["email"])
        if not (_EMAIL.fullmatch(row.email) or _DOCKER_ID.fullmatch(row.username)):
            unusable.append(f"line {line}: no usable username or email")
            continue
        earlier = next((seen[key] for key in sorted(row.keys) if key in seen), None)
        if earlier is not None:
            unusable.append(f"line {line}: repeats line {earlier}")
            continue
        seen.update(dict.fromkeys(row.keys, line))
        rows.append(row)
    return AuditExport(rows, unusable)


# --- the plan ---------------------------------------------------------------------------------------


@dataclass
class InvitePlan:
    to_invite: list[AuditRow] = field(default_factory=list)
    members: list[AuditRow] = field(default_factory=list)
    invited: list[AuditRow] = field(default_factory=list)


def plan_invites(rows: Iterable[AuditRow], members: Iterable[Member], invites: Iterable[Invite]) -> InvitePlan:
    """Sort rows into already members, already invited (matched on username or email) and the rest."""
    member_keys = {key.lower() for member in members for key in (member.username, member.email) if key}
    invited_keys = {invite.invitee.lower() for invite in invites}
    plan = InvitePlan()
    for row in rows:
        if row.keys & member_keys:
            plan.members.append(row)
        elif row.keys & invited_keys:
            plan.invited.append(row)
        else:
            plan.to_invite.append(row)
    return plan


def _chunks(items: Sequence[str], size: int) -> list[Sequence[str]]:
    return [items[start : start + size] for start in range(0, len(items), size)]


def _print_section(title: str, lines: Sequence[str]) -> None:
    print(f"{title} ({len(lines)}):")
    for line in lines:
        print(f"  {line}")


# --- the command ------------------------------------------------------------------------------------


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("docker", help="operate the Docker organization")
    commands = parser.add_subparsers(dest="docker_command", required=True, metavar="COMMAND")
    invite = commands.add_parser(
        "invite-uncaptured",
        help="invite the uncaptured users of a domain audit export (dry run unless --apply)",
        description="Invite the users listed in the Admin Console's domain audit export (Name, Username, "
        "Email) who are neither members nor invited yet. Prints the plan and sends nothing unless --apply. "
        f"Credentials: the environment variables {USERNAME_ENV} and {TOKEN_ENV}.",
    )
    invite.add_argument("audit_csv", type=Path, metavar="AUDIT.csv", help="the domain audit export")
    invite.add_argument("--role", choices=ROLES, default="member", help="role of the invitees (default member)")
    invite.add_argument("--team", help="also add the invitees to this team")
    invite.add_argument("--apply", action="store_true", help="send the invites (default: dry run)")
    where = invite.add_mutually_exclusive_group(required=True)
    where.add_argument("--stack", help="read docker.org and endpoints.dockerHub from stacks/Pulumi.<stack>.yaml")
    where.add_argument("--org", help="the Docker organization")
    invite.add_argument("--hub-url", help=f"Docker Hub API with --org (default {DEFAULT_HUB_URL})")
    invite.add_argument("--stacks-dir", type=Path, default=Path("stacks"), help="default: ./stacks")
    invite.set_defaults(func=invite_uncaptured)


def invite_uncaptured(args: argparse.Namespace) -> int:
    try:
        org, hub_url = _target(args)
        username, secret = _credentials()
        export = read_audit_export(args.audit_csv)
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2

    from components.clients import ClientError
    from components.clients.dockerhub import DockerHubClient

    client = DockerHubClient(hub_url, username, secret)
    try:
        plan = plan_invites(export.rows, client.list_members(org), client.list_invites(org))
        _print_plan(args, org, hub_url, export, plan)
        if not args.apply:
            requests = len(_chunks([row.invitee for row in plan.to_invite], MAX_INVITEES_PER_REQUEST))
            print(f"dry run: nothing sent; --apply sends {len(plan.to_invite)} invite(s) in {requests} request(s)")
            return 0
        return _send(client, args, org, plan)
    except ClientError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


def _target(args: argparse.Namespace) -> tuple[str, str]:
    """(org, Docker Hub URL) from the arguments or the stack file."""
    if args.org is not None:
        org, hub_url = args.org, (args.hub_url or DEFAULT_HUB_URL).rstrip("/")
    elif args.hub_url is not None:
        raise UsageError("--hub-url goes with --org; a stack names its endpoint in endpoints.dockerHub")
    else:
        org, hub_url = _stack_target(args.stack, args.stacks_dir)
    if not isinstance(org, str) or not _ORG.fullmatch(org):
        raise UsageError(f"{org!r} is not a Docker organization name (lowercase letters, digits, - and _)")
    return org, hub_url


def _stack_target(stack_name: str, stacks_dir: Path) -> tuple[Any, str]:
    """(docker.org as written, endpoints.dockerHub or its default) of a stack file."""
    from pydantic import ValidationError

    from components.spec import EndpointsSpec
    from components.stack_config import StackFileError, load_stack

    try:
        stack = load_stack(stack_name, stacks_dir)
    except StackFileError as exc:
        raise UsageError(str(exc)) from None
    docker: Any = stack.areas.get("docker")
    if not isinstance(docker, dict) or "org" not in docker:
        raise UsageError(f"stack {stack_name} declares no docker.org")
    try:
        endpoints = EndpointsSpec.model_validate(stack.areas.get("endpoints") or {})
    except ValidationError as exc:
        problem = exc.errors(include_url=False)[0]
        where = ".".join(str(part) for part in problem["loc"])
        raise UsageError(f"stack {stack_name}: endpoints.{where}: {problem['msg']}") from None
    return docker["org"], endpoints.docker_hub


def _credentials() -> tuple[str, str]:
    missing = [name for name in (USERNAME_ENV, TOKEN_ENV) if not os.environ.get(name)]
    if missing:
        raise UsageError(f"set {' and '.join(missing)} in the environment (credentials are never taken from arguments)")
    return os.environ[USERNAME_ENV], os.environ[TOKEN_ENV]


def _print_plan(args: argparse.Namespace, org: str, hub_url: str, export: AuditExport, plan: InvitePlan) -> None:
    total = len(export.rows) + len(export.unusable)
    print(f"{org} at {hub_url}: {total} row(s) in {args.audit_csv}")
    team = f", team {args.team}" if args.team else ""
    _print_section(f"to invite as {args.role}{team}", [row.describe() for row in plan.to_invite])
    _print_section("already members", [row.describe() for row in plan.members])
    _print_section("already invited", [row.describe() for row in plan.invited])
    _print_section("unusable rows", export.unusable)


def _send(client: DockerHubClient, args: argparse.Namespace, org: str, plan: InvitePlan) -> int:
    invitees = [row.invitee for row in plan.to_invite]
    if not invitees:
        print("nothing to invite")
        return 0
    chunks = _chunks(invitees, MAX_INVITEES_PER_REQUEST)
    print(f"sending {len(invitees)} invite(s) in {len(chunks)} request(s):")
    refused = 0
    for chunk in chunks:
        for result in client.bulk_invite(org, list(chunk), role=args.role, team=args.team):
            print(f"  {result.invitee}: {result.status}")
            refused += result.status not in ACCEPTED_STATUSES
    if refused:
        print(f"{refused} invitee(s) not invited: see their status above", file=sys.stderr)
        return 1
    return 0
