"""`DockerHubClient` against the Docker Hub stand-in over HTTP.

Every exchange of every test here (the auth call and each 401 a re-mint answers included) is checked
against Docker's OpenAPI contract by the autouse `contract` fixture, with the documented exceptions.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import pytest
import requests

from components.clients import AmbiguousWriteError, ApiError, AuthError, NotFound, RetryPolicy, ServerError
from components.clients.dockerhub import (
    CustomRegistry,
    DockerHubClient,
    ImageAccess,
    InviteResult,
    Member,
    RegistryAccess,
    TokenResource,
    jwt_expiry,
)
from sandbox import Fault, SandboxRequest, SandboxResponse, SandboxServer
from sandbox.dockerhub import DockerHubSandbox
from tests.contracts.openapi_check import ContractViolation, validate_exchange
from tests.dockerhub_fixtures import ORG, OWNER, OWNER_PAT, dockerhub_client, make_dockerhub

pytest_plugins = ("tests.dockerhub_fixtures",)

TOKENS = f"/v2/orgs/{ORG}/access-tokens"
PULL = TokenResource("TYPE_REPO", f"{ORG}/*", ("scope-image-pull",))
MEMBERS = TokenResource("TYPE_ORG", ORG, ("scope-member-read",))


class Clock:
    """Unix seconds that move only when a test says so; shared by the stand-in and the client."""

    def __init__(self, now: float = 1_900_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture(autouse=True)
def contract(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[requests.Response]]:
    """Record every response a session gets (with the 401s a re-mint left in `history`); validate all."""
    exchanges: list[requests.Response] = []
    send = requests.Session.send

    def recording_send(self: requests.Session, prepared: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        response = send(self, prepared, **kwargs)
        exchanges.extend([*response.history, response])
        return response

    monkeypatch.setattr(requests.Session, "send", recording_send)
    yield exchanges
    violations = []
    for response in exchanges:
        try:
            validate_exchange(response.request, response)
        except ContractViolation as violation:
            violations.append(str(violation))
    assert violations == []


def paths(hub: DockerHubSandbox, method: str | None = None) -> list[str]:
    return [f"{r.method} {r.path}" for r in hub.requests_log if method is None or r.method == method]


# -- organization access tokens ----------------------------------------------------------------------


def test_token_lifecycle(dockerhub: DockerHubSandbox, contract: list[requests.Response]) -> None:
    client = dockerhub_client(dockerhub)
    expires = datetime(2031, 5, 6, 7, 8, 9, tzinfo=UTC)
    created = client.create_org_access_token(
        ORG, label="ci", description="CI pulls", resources=[PULL, MEMBERS], expires_at=expires
    )
    stored = dockerhub.token(created.token.id)
    assert created.value == stored.value and created.value.startswith("dckr_oat_")
    assert created.value not in repr(created)
    assert created.token.label == "ci" and created.token.description == "CI pulls" and created.token.is_active
    assert created.token.expires_at == expires and created.token.last_used_at is None
    assert created.token.created_at == stored.created_at
    assert created.token.resources == (PULL, MEMBERS)
    assert dockerhub.requests_log[1].json() == {
        "label": "ci",
        "description": "CI pulls",
        "resources": [
            {"type": "TYPE_REPO", "path": f"{ORG}/*", "scopes": ["scope-image-pull"]},
            {"type": "TYPE_ORG", "path": ORG, "scopes": ["scope-member-read"]},
        ],
        "expires_at": "2031-05-06T07:08:09Z",
    }

    fetched = client.get_org_access_token(ORG, created.token.id)
    assert fetched == created.token
    [listed] = client.list_org_access_tokens(ORG)
    assert (listed.id, listed.label, listed.description, listed.resources) == (created.token.id, "ci", None, ())

    patched = client.update_org_access_token(ORG, created.token.id, label="ci2", resources=[PULL], is_active=False)
    assert (patched.label, patched.description, patched.resources, patched.is_active) == (
        "ci2",
        "CI pulls",
        (PULL,),
        False,
    )
    assert dockerhub.requests_log[-1].json() == {
        "label": "ci2",
        "resources": [{"type": "TYPE_REPO", "path": f"{ORG}/*", "scopes": ["scope-image-pull"]}],
        "is_active": False,
    }

    client.delete_org_access_token(ORG, created.token.id)
    assert dockerhub.tokens() == []
    with pytest.raises(NotFound) as gone:
        client.get_org_access_token(ORG, created.token.id)
    assert gone.value.status == 404
    with pytest.raises(NotFound):
        client.delete_org_access_token(ORG, created.token.id)
    assert paths(dockerhub, "POST") == ["POST /v2/auth/token", f"POST {TOKENS}"], "one JWT served every call"
    assert len(contract) == len(dockerhub.requests_log)


def test_a_token_without_expiry_omits_expires_at(dockerhub: DockerHubSandbox) -> None:
    created = dockerhub_client(dockerhub).create_org_access_token(
        ORG, label="forever", description="", resources=[PULL], expires_at=None
    )
    assert created.token.expires_at is None
    assert "expires_at" not in dockerhub.requests_log[-1].json()


def test_the_token_list_follows_every_page(dockerhub: DockerHubSandbox) -> None:
    seeded = [dockerhub.seed_token(ORG, f"t{n}").id for n in range(5)]
    listed = dockerhub_client(dockerhub, page_size=2).list_org_access_tokens(ORG)
    assert [token.id for token in listed] == seeded
    assert [r.query.get("page") for r in dockerhub.requests_log if r.path == TOKENS] == [["1"], ["2"], ["3"]]


class ForeignLinks(SandboxServer):
    """A list that counts with `count`, links to the real hub host, and offers a `next` page even after
    the last item (page 4 would be empty): the client must stay on its own host and stop at `count`."""

    def __init__(self) -> None:
        super().__init__()
        self.route("POST", "/v2/auth/token", lambda _: SandboxResponse.json({"access_token": "not-a-jwt"}))
        self.route("GET", TOKENS, self._page)

    def _page(self, request: SandboxRequest) -> SandboxResponse:
        page = int(request.query_value("page") or 1)
        items = [{"id": f"t{page}", "label": f"l{page}", "is_active": True}] if page <= 3 else []
        link = f"https://hub.docker.com{TOKENS}?page={page + 1}&page_size=1"
        return SandboxResponse.json({"count": 3, "next": link, "previous": None, "results": items})


def test_next_links_are_followed_on_the_configured_host_and_count_works_as_total(
    contract: list[requests.Response],
) -> None:
    with ForeignLinks() as server:
        listed = DockerHubClient(server.url, OWNER, OWNER_PAT, page_size=1).list_org_access_tokens(ORG)
        assert [token.id for token in listed] == ["t1", "t2", "t3"]
        assert [r.query.get("page") for r in server.requests_log if r.method == "GET"] == [["1"], ["2"], ["3"]]
    contract.clear()  # not Docker Hub: its made-up JWT is not the contract's business


def test_the_team_plan_limit_surfaces_docker_s_message(dockerhub: DockerHubSandbox) -> None:
    dockerhub.add_org("tiny", owners=[OWNER], plan="team")
    for n in range(10):
        dockerhub.seed_token("tiny", f"t{n}", is_active=n % 2 == 0)
    resource = TokenResource("TYPE_REPO", "tiny/*", ("scope-image-pull",))
    with pytest.raises(ApiError) as refused:
        dockerhub_client(dockerhub).create_org_access_token(
            "tiny", label="eleventh", description="", resources=[resource], expires_at=None
        )
    assert type(refused.value) is ApiError and refused.value.status == 400
    assert "the team plan allows 10 organization access tokens; expired and inactive tokens count until deleted" in str(
        refused.value
    )
    assert len(dockerhub.tokens("tiny")) == 10


def test_a_create_answered_with_5xx_is_not_sent_again(dockerhub: DockerHubSandbox) -> None:
    dockerhub.faults.add(Fault.status(503, method="POST", path=TOKENS, headers={"Retry-After": "0"}))
    with pytest.raises(ServerError) as failed:
        dockerhub_client(dockerhub).create_org_access_token(
            ORG, label="ci", description="", resources=[PULL], expires_at=None
        )
    assert failed.value.status == 503
    assert dockerhub.count("POST", TOKENS) == 1


def test_a_create_whose_answer_is_lost_surfaces_as_ambiguous(dockerhub: DockerHubSandbox) -> None:
    dockerhub.faults.add(Fault.drop_after(method="POST", path=TOKENS))
    client = dockerhub_client(dockerhub)
    client.list_org_access_tokens(ORG)  # a kept-alive connection, as in a real run
    with pytest.raises(AmbiguousWriteError):
        client.create_org_access_token(ORG, label="ci", description="", resources=[PULL], expires_at=None)
    assert dockerhub.count("POST", TOKENS) == 1
    assert [token.label for token in dockerhub.tokens(ORG)] == ["ci"], "the service did apply it"


@pytest.mark.parametrize("header", ["Retry-After", "X-Retry-After"])
def test_429_waits_what_docker_asks_in_either_header(header: Literal["Retry-After", "X-Retry-After"]) -> None:
    clock = Clock()
    waits: list[float] = []
    with make_dockerhub(clock=clock) as hub:
        hub.faults.add(hub.rate_limit_fault(times=2, retry_after=7, header=header, method="GET", path=TOKENS))
        client = dockerhub_client(hub, retry=RetryPolicy(sleep_fn=waits.append, clock=clock))
        assert client.list_org_access_tokens(ORG) == []
        assert hub.count("GET", TOKENS) == 3
    assert waits == [7.0, 7.0]


def test_a_get_rides_out_a_5xx_burst(dockerhub: DockerHubSandbox) -> None:
    token = dockerhub.seed_token(ORG, "ci")
    dockerhub.faults.add(Fault.status(502, times=3, method="GET", headers={"Retry-After": "0"}))
    client = dockerhub_client(dockerhub, retry=RetryPolicy(sleep_fn=lambda _: None))
    assert client.get_org_access_token(ORG, token.id).label == "ci"
    assert dockerhub.count("GET", f"{TOKENS}/{token.id}") == 4


# -- authentication ------------------------------------------------------------------------------------


def test_jwt_expiry_is_read_from_the_payload_without_verification() -> None:
    payload = json.dumps({"sub": "x", "exp": 1234567890}).encode()
    body = base64.urlsafe_b64encode(payload).rstrip(b"=").decode()
    assert jwt_expiry(f"eyJhbGciOiJIUzI1NiJ9.{body}.bad-signature") == 1234567890.0
    assert jwt_expiry("not-a-jwt") is None
    assert jwt_expiry("a.!!!.c") is None
    assert jwt_expiry("a.e30.c") is None  # {} has no exp


def test_one_jwt_serves_many_calls_and_a_revoked_one_is_reminted_once(dockerhub: DockerHubSandbox) -> None:
    client = dockerhub_client(dockerhub)
    for _ in range(3):
        client.list_org_access_tokens(ORG)
    assert dockerhub.count("POST", "/v2/auth/token") == 1

    dockerhub.revoke_bearers()
    assert client.list_org_access_tokens(ORG) == []
    assert dockerhub.count("POST", "/v2/auth/token") == 2
    statuses = [(r.method, r.path, r.status) for r in dockerhub.requests_log[-3:]]
    assert statuses == [("GET", TOKENS, 401), ("POST", "/v2/auth/token", 200), ("GET", TOKENS, 200)]


def test_the_jwt_is_reminted_a_minute_before_it_expires() -> None:
    clock = Clock()
    with make_dockerhub(clock=clock) as hub:  # JWTs live 600 s, as Docker's
        client = dockerhub_client(hub, clock=clock)
        client.list_org_access_tokens(ORG)
        clock.now += 539
        client.list_org_access_tokens(ORG)
        assert hub.count("POST", "/v2/auth/token") == 1
        clock.now += 1
        client.list_org_access_tokens(ORG)
        assert hub.count("POST", "/v2/auth/token") == 2
        assert all(r.status == 200 for r in hub.requests_log), "refreshed before Docker refused it"


def test_a_wrong_pat_is_an_auth_error_naming_no_secret(dockerhub: DockerHubSandbox) -> None:
    client = DockerHubClient(dockerhub.url, OWNER, "dckr_pat_wrongwrongwrong")
    with pytest.raises(AuthError) as refused:
        client.list_org_access_tokens(ORG)
    [denied] = dockerhub.requests_log
    assert str(refused.value) == (
        f"POST {dockerhub.url}/v2/auth/token returned 401 (request id {denied.request_id}): "
        '{"errinfo": {}, "detail": "Incorrect username or password.", "message": "Incorrect username or password."}'
    )
    assert paths(dockerhub) == ["POST /v2/auth/token"], "no API call without a JWT"


def test_an_unknown_org_is_not_found(dockerhub: DockerHubSandbox) -> None:
    with pytest.raises(NotFound) as missing:
        dockerhub_client(dockerhub).list_org_access_tokens("globex")
    assert "organization 'globex' not found" in str(missing.value)


# -- org settings ----------------------------------------------------------------------------------------


def test_image_access_round_trips(dockerhub: DockerHubSandbox) -> None:
    client = dockerhub_client(dockerhub)
    assert client.get_image_access(ORG) == ImageAccess(False, True, True)
    wanted = ImageAccess(enabled=True, allow_official_images=True, allow_verified_publishers=False)
    assert client.put_image_access(ORG, wanted) == wanted
    assert client.get_image_access(ORG) == wanted
    assert dockerhub.requests_log[-2].json() == {
        "restricted_images": {"enabled": True, "allow_official_images": True, "allow_verified_publishers": False}
    }


def test_registry_access_is_put_then_read_back(dockerhub: DockerHubSandbox) -> None:
    client = dockerhub_client(dockerhub)
    assert client.get_registry_access(ORG) == RegistryAccess(False, True, ())
    wanted = RegistryAccess(
        True, False, (CustomRegistry("ghcr.io", "GitHub", True), CustomRegistry("quay.io", "Quay", False))
    )
    dockerhub.reset_log()
    assert client.put_registry_access(ORG, wanted) == wanted
    assert paths(dockerhub) == [
        f"PUT /v2/orgs/{ORG}/settings/registry-access-management",
        f"GET /v2/orgs/{ORG}/settings/registry-access-management",
    ]
    assert dockerhub.requests_log[0].json() == {
        "enabled": True,
        "standard_registries": [{"id": "DockerHub", "allowed": False}],
        "custom_registries": [
            {"address": "ghcr.io", "friendly_name": "GitHub", "allowed": True},
            {"address": "quay.io", "friendly_name": "Quay", "allowed": False},
        ],
    }


# -- members, invites, audit log ----------------------------------------------------------------------


def test_members_are_read_across_pages(dockerhub: DockerHubSandbox) -> None:
    dockerhub.set_verified_domains(ORG, ["acme.example"])
    for name in ("ann", "ben", "cat", "dan"):
        dockerhub.add_member(ORG, name, email=f"{name}@{'acme.example' if name != 'dan' else 'gmail.com'}")
    members = dockerhub_client(dockerhub, page_size=2).list_members(ORG)
    assert members == [
        Member(OWNER, f"{OWNER}@example.com", "owner", True),
        Member("ann", "ann@acme.example", "member", False),
        Member("ben", "ben@acme.example", "member", False),
        Member("cat", "cat@acme.example", "member", False),
        Member("dan", "dan@gmail.com", "member", True),
    ]
    assert dockerhub.count("GET", f"/v2/orgs/{ORG}/members") == 3


def test_invites_list_and_bulk_invite(dockerhub: DockerHubSandbox) -> None:
    client = dockerhub_client(dockerhub)
    dockerhub.add_member(ORG, "ann", email="ann@acme.example")
    dockerhub.add_invite(ORG, "old@acme.example", inviter=OWNER)

    dry = client.bulk_invite(ORG, ["new@acme.example"], dry_run=True)
    assert dry == [InviteResult("new@acme.example", "invited")]
    assert [invite.invitee for invite in client.list_invites(ORG)] == ["old@acme.example"]

    results = client.bulk_invite(ORG, ["new@acme.example", "ann", "not an id"], role="member", team="devs")
    assert results == [
        InviteResult("new@acme.example", "invited"),
        InviteResult("ann", "existing_org_member"),
        InviteResult("not an id", "invalid_email_or_docker_id"),
    ]
    assert dockerhub.requests_log[-1].json() == {
        "org": ORG,
        "invitees": ["new@acme.example", "ann", "not an id"],
        "role": "member",
        "dry_run": False,
        "team": "devs",
    }
    invites = client.list_invites(ORG)
    assert [invite.invitee for invite in invites] == ["old@acme.example", "new@acme.example"]
    assert all(invite.role is None and invite.created_at is not None for invite in invites)


def test_bulk_invite_is_not_sent_twice_after_a_5xx(dockerhub: DockerHubSandbox) -> None:
    dockerhub.faults.add(Fault.status(500, method="POST", path="/v2/invites/bulk"))
    with pytest.raises(ServerError):
        dockerhub_client(dockerhub).bulk_invite(ORG, ["new@acme.example"])
    assert dockerhub.count("POST", "/v2/invites/bulk") == 1


def test_audit_events_filter_by_action_and_time_across_pages(dockerhub: DockerHubSandbox) -> None:
    start = datetime(2030, 1, 1, tzinfo=UTC)
    for day in range(5):
        dockerhub.record_event(
            ORG,
            "org.domain.verify",
            actor=OWNER,
            data={"domain": f"d{day}.example"},
            timestamp=start + timedelta(days=day),
        )
    dockerhub.record_event(ORG, "org.domain.create", timestamp=start)
    client = dockerhub_client(dockerhub, page_size=2)

    events = client.list_audit_events(ORG, action="org.domain.verify", since=start + timedelta(days=1))
    assert [event.data["domain"] for event in events] == ["d4.example", "d3.example", "d2.example", "d1.example"]
    assert events[0].timestamp == start + timedelta(days=4) and events[0].actor == OWNER and events[0].name == ORG
    queries = [r.query for r in dockerhub.requests_log if r.path == f"/v2/auditlogs/{ORG}"]
    assert [q["page"] for q in queries] == [["1"], ["2"], ["3"]]
    assert queries[0]["from"] == ["2030-01-02T00:00:00Z"] and queries[0]["action"] == ["org.domain.verify"]
    assert len(client.list_audit_events(ORG)) == 6


def test_every_exchange_was_recorded_for_the_contract(
    dockerhub: DockerHubSandbox, contract: list[requests.Response]
) -> None:
    """The contract fixture itself: it sees the auth call, the refused bearer and its re-sent call."""
    client = dockerhub_client(dockerhub)
    client.list_org_access_tokens(ORG)
    dockerhub.revoke_bearers()
    client.list_org_access_tokens(ORG)
    seen = [(r.request.method, r.status_code) for r in contract]
    # The re-mint completes inside the refused call, before that call's 401 and retry are returned.
    assert seen == [("POST", 200), ("GET", 200), ("POST", 200), ("GET", 401), ("GET", 200)]
    assert len(contract) == len(dockerhub.requests_log)
