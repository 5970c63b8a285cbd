"""`rollout docker invite-uncaptured` in-process against the Docker Hub stand-in over HTTP.

The stand-in's request log is the witness: a dry run sends no invite, `--apply` sends exactly the
uncaptured users, and a usage error sends nothing at all.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from components.cli import docker as docker_cli
from components.cli.main import main
from sandbox.dockerhub import DockerHubSandbox
from tests.dockerhub_fixtures import ORG, OWNER, OWNER_PAT, make_dockerhub
from tests.stacks import write_stack

AUTH_PATH = "/v2/auth/token"

EXPORT = (
    "Name,Username,Email\n"
    "Alice Developer,dev-alice,alice@acme.example\n"  # member (by username)
    "Bob B,bob-personal,BOB@acme.example\n"  # member (by email, other case)
    "New Hire,new-hire,new-hire@acme.example\n"  # invited (by email)
    "Dana,dana-dev,dana@acme.example\n"  # to invite by email
    "Erin,erin-dev,not-an-email\n"  # to invite by Docker ID
    ",,\n"  # blank cells: skipped like a blank line
    "Nobody,,\n"  # unusable
    "Dana again,DANA-DEV,\n"  # repeats line 5
)


@pytest.fixture
def hub() -> Iterator[DockerHubSandbox]:
    with make_dockerhub() as server:
        server.add_member(ORG, "dev-alice", email="alice@acme.example")
        server.add_member(ORG, "dev-bob", email="bob@acme.example")
        server.add_invite(ORG, "new-hire@acme.example", inviter=OWNER)
        server.add_user("erin-dev", "erin-password")
        yield server


@pytest.fixture
def credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKER_HUB_USERNAME", OWNER)
    monkeypatch.setenv("DOCKER_HUB_TOKEN", OWNER_PAT)


def export_file(tmp_path: Path, text: str = EXPORT, *, encoding: str = "utf-8") -> Path:
    path = tmp_path / "domain-audit.csv"
    path.write_bytes(text.encode(encoding))
    return path


def posts(hub: DockerHubSandbox) -> list[tuple[str, object]]:
    """Every POST but the sign-in: (path, JSON body)."""
    return [(r.path, r.json()) for r in hub.requests_log if r.method == "POST" and r.path != AUTH_PATH]


PLAN = """\
acme at {url}: 7 row(s) in {csv}
to invite as member (2):
  dana@acme.example  (dana-dev, Dana)
  erin-dev  (not-an-email, Erin)
already members (2):
  alice@acme.example  (dev-alice, Alice Developer)
  BOB@acme.example  (bob-personal, Bob B)
already invited (1):
  new-hire@acme.example  (new-hire, New Hire)
unusable rows (2):
  line 8: no usable username or email
  line 9: repeats line 5
"""


def test_dry_run_prints_the_plan_and_sends_nothing(
    hub: DockerHubSandbox, credentials: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    csv_path = export_file(tmp_path)
    code = main(["docker", "invite-uncaptured", str(csv_path), "--org", ORG, "--hub-url", hub.url])
    captured = capsys.readouterr()
    assert (code, captured.err) == (0, "")
    assert captured.out == PLAN.format(url=hub.url, csv=csv_path) + (
        "dry run: nothing sent; --apply sends 2 invite(s) in 1 request(s)\n"
    )
    assert posts(hub) == []
    assert {(r.method, r.path) for r in hub.requests_log} == {
        ("POST", AUTH_PATH),
        ("GET", f"/v2/orgs/{ORG}/members"),
        ("GET", f"/v2/orgs/{ORG}/invites"),
    }


def test_apply_invites_exactly_the_uncaptured_users_in_one_request(
    hub: DockerHubSandbox, credentials: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    csv_path = export_file(tmp_path)
    code = main(["docker", "invite-uncaptured", str(csv_path), "--org", ORG, "--hub-url", hub.url, "--apply"])
    captured = capsys.readouterr()
    assert (code, captured.err) == (0, "")
    assert captured.out == PLAN.format(url=hub.url, csv=csv_path) + (
        "sending 2 invite(s) in 1 request(s):\n  dana@acme.example: invited\n  erin-dev: invited\n"
    )
    assert posts(hub) == [
        (
            "/v2/invites/bulk",
            {"org": ORG, "invitees": ["dana@acme.example", "erin-dev"], "role": "member", "dry_run": False},
        )
    ]


def test_a_second_apply_finds_everyone_invited(
    hub: DockerHubSandbox, credentials: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["docker", "invite-uncaptured", str(export_file(tmp_path)), "--org", ORG, "--hub-url", hub.url, "--apply"]
    assert main(argv) == 0
    hub.reset_log()
    capsys.readouterr()
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "to invite as member (0):\n" in out
    assert "already invited (3):\n" in out
    assert out.endswith("nothing to invite\n")
    assert posts(hub) == []


def test_role_and_team_reach_the_request(
    hub: DockerHubSandbox, credentials: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = [str(export_file(tmp_path)), "--org", ORG, "--hub-url", hub.url, "--role", "editor", "--team", "devs"]
    assert main(["docker", "invite-uncaptured", *argv, "--apply"]) == 0
    assert "to invite as editor, team devs (2):" in capsys.readouterr().out
    assert [body for _path, body in posts(hub)] == [
        {"org": ORG, "invitees": ["dana@acme.example", "erin-dev"], "role": "editor", "dry_run": False, "team": "devs"}
    ]


def test_bom_header_case_extra_columns_and_blank_lines(
    hub: DockerHubSandbox, credentials: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = (
        "\r\n"
        " EMAIL ,Department,username,NAME\r\n"
        "\r\n"
        'dana@acme.example,"Platform, EMEA",dana-dev,"Dana ""DD"" Dev"\r\n'
        "alice@ACME.example,Apps,,Alice\r\n"
        "\r\n"
    )
    csv_path = export_file(tmp_path, text, encoding="utf-8-sig")
    assert csv_path.read_bytes().startswith(b"\xef\xbb\xbf")
    assert main(["docker", "invite-uncaptured", str(csv_path), "--org", ORG, "--hub-url", hub.url, "--apply"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(
        f"acme at {hub.url}: 2 row(s) in {csv_path}\n"
        "to invite as member (1):\n"
        '  dana@acme.example  (dana-dev, Dana "DD" Dev)\n'
        "already members (1):\n"
        "  alice@ACME.example  (Alice)\n"
    )
    assert [body["invitees"] for _path, body in posts(hub)] == [["dana@acme.example"]]  # type: ignore[index]


def test_invites_are_chunked(
    hub: DockerHubSandbox,
    credentials: None,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(docker_cli, "MAX_INVITEES_PER_REQUEST", 2)
    rows = "".join(f"User {n},,user{n}@acme.example\n" for n in range(5))
    csv_path = export_file(tmp_path, "Name,Username,Email\n" + rows)
    assert main(["docker", "invite-uncaptured", str(csv_path), "--org", ORG, "--hub-url", hub.url]) == 0
    assert capsys.readouterr().out.endswith("--apply sends 5 invite(s) in 3 request(s)\n")
    assert main(["docker", "invite-uncaptured", str(csv_path), "--org", ORG, "--hub-url", hub.url, "--apply"]) == 0
    assert [body["invitees"] for _path, body in posts(hub)] == [  # type: ignore[index]
        ["user0@acme.example", "user1@acme.example"],
        ["user2@acme.example", "user3@acme.example"],
        ["user4@acme.example"],
    ]


def test_a_refused_invitee_gives_exit_1(
    hub: DockerHubSandbox, credentials: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    csv_path = export_file(tmp_path, "Name,Username,Email\nGhost,no-such-user,\n")
    assert main(["docker", "invite-uncaptured", str(csv_path), "--org", ORG, "--hub-url", hub.url, "--apply"]) == 1
    captured = capsys.readouterr()
    assert captured.out.endswith("  no-such-user: invalid_email_or_docker_id\n")
    assert captured.err == "1 invitee(s) not invited: see their status above\n"


def test_org_and_endpoint_from_the_stack_file(
    hub: DockerHubSandbox, credentials: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    stacks = tmp_path / "stacks"
    write_stack(stacks, "ops", {"endpoints": {"dockerHub": hub.url + "/"}, "docker": {"org": ORG}})
    argv = [str(export_file(tmp_path)), "--stack", "ops", "--stacks-dir", str(stacks)]
    assert main(["docker", "invite-uncaptured", *argv]) == 0
    assert capsys.readouterr().out.startswith(f"acme at {hub.url}: 7 row(s)")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (
            "Name,Login,Mail\nA,a,a@acme.example\n",
            ": the header has no Username and Email columns (found: Name, Login, Mail); "
            "expected the domain audit export with columns Name, Username, Email",
        ),
        ("\n\n", " is empty: expected the domain audit export with columns Name, Username, Email"),
        (
            'Name,Username,Email\n"Alice,dev-alice,alice@acme.example\n',
            " line 2: not valid CSV (unexpected end of data)",
        ),
        (
            'Name,Username,Email\nA "x" B,"dev-alice"x,alice@acme.example\n',
            " line 2: not valid CSV (',' expected after '\"')",
        ),
    ],
)
def test_malformed_csv_is_a_one_line_error(
    content: str,
    message: str,
    hub: DockerHubSandbox,
    credentials: None,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    csv_path = export_file(tmp_path, content)
    code = main(["docker", "invite-uncaptured", str(csv_path), "--org", ORG, "--hub-url", hub.url, "--apply"])
    captured = capsys.readouterr()
    assert (code, captured.out) == (2, "")
    assert captured.err == f"error: {csv_path}{message}\n"
    assert hub.requests_log == []


def test_a_csv_that_is_not_utf8_is_a_one_line_error(
    hub: DockerHubSandbox, credentials: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    csv_path = export_file(tmp_path, "Name,Username,Email\nJosé,jose,jose@acme.example\n", encoding="latin-1")
    assert main(["docker", "invite-uncaptured", str(csv_path), "--org", ORG, "--hub-url", hub.url]) == 2
    assert capsys.readouterr().err == (f"error: {csv_path} is not UTF-8 text: expected the domain audit export (CSV)\n")
    assert hub.requests_log == []


@pytest.mark.parametrize(
    ("present", "missing"),
    [({}, "DOCKER_HUB_USERNAME and DOCKER_HUB_TOKEN"), ({"DOCKER_HUB_USERNAME": OWNER}, "DOCKER_HUB_TOKEN")],
)
def test_missing_credentials_are_a_one_line_error(
    present: dict[str, str],
    missing: str,
    hub: DockerHubSandbox,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("DOCKER_HUB_USERNAME", raising=False)
    monkeypatch.delenv("DOCKER_HUB_TOKEN", raising=False)
    for name, value in present.items():
        monkeypatch.setenv(name, value)
    code = main(["docker", "invite-uncaptured", str(export_file(tmp_path)), "--org", ORG, "--hub-url", hub.url])
    captured = capsys.readouterr()
    assert (code, captured.out) == (2, "")
    assert captured.err == f"error: set {missing} in the environment (credentials are never taken from arguments)\n"
    assert hub.requests_log == []


def test_hub_url_goes_with_org_only(tmp_path: Path, credentials: None, capsys: pytest.CaptureFixture[str]) -> None:
    argv = [str(export_file(tmp_path)), "--stack", "sandbox", "--hub-url", "http://127.0.0.1:1"]
    assert main(["docker", "invite-uncaptured", *argv]) == 2
    assert capsys.readouterr().err == (
        "error: --hub-url goes with --org; a stack names its endpoint in endpoints.dockerHub\n"
    )


def test_a_stack_without_a_docker_org(tmp_path: Path, credentials: None, capsys: pytest.CaptureFixture[str]) -> None:
    write_stack(tmp_path, "empty", {"groups": {}})
    argv = [str(export_file(tmp_path)), "--stack", "empty", "--stacks-dir", str(tmp_path)]
    assert main(["docker", "invite-uncaptured", *argv]) == 2
    assert capsys.readouterr().err == "error: stack empty declares no docker.org\n"


@pytest.mark.parametrize("org", ["../v2/orgs/other", "Acme"])
def test_an_org_that_is_no_org_name(
    org: str, tmp_path: Path, credentials: None, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["docker", "invite-uncaptured", str(export_file(tmp_path)), "--org", org]) == 2
    assert capsys.readouterr().err == (
        f"error: {org!r} is not a Docker organization name (lowercase letters, digits, - and _)\n"
    )


def test_a_missing_file(tmp_path: Path, credentials: None, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "nowhere.csv"
    assert main(["docker", "invite-uncaptured", str(missing), "--org", ORG]) == 2
    assert capsys.readouterr().err == f"error: cannot read {missing}: No such file or directory\n"


def test_a_rejected_credential_is_reported_without_the_secret(
    hub: DockerHubSandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DOCKER_HUB_USERNAME", OWNER)
    monkeypatch.setenv("DOCKER_HUB_TOKEN", "dckr_pat_wrong_wrong_wrong")
    code = main(["docker", "invite-uncaptured", str(export_file(tmp_path)), "--org", ORG, "--hub-url", hub.url])
    captured = capsys.readouterr()
    assert (code, captured.out) == (1, "")
    assert captured.err.startswith(f"error: POST {hub.url}{AUTH_PATH} returned 401")
    assert "dckr_pat_wrong_wrong_wrong" not in captured.err
    assert posts(hub) == []


def test_the_command_is_listed(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["docker", "--help"])
    assert exit_info.value.code == 0
    assert "invite-uncaptured" in capsys.readouterr().out
    assert json.dumps(docker_cli.ROLES) == '["member", "editor", "owner"]'
