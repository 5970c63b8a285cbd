"""Every response the Docker Hub stand-in gives on a spec'd route matches Docker's OpenAPI contract,
except the deviations listed (with their evidence) in `tests.contracts.dockerhub_exceptions`."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests

from sandbox import Fault
from sandbox.dockerhub import DockerHubSandbox
from tests.contracts.dockerhub_exceptions import ROUTE_EXCEPTIONS, STATUS_EXCEPTIONS
from tests.contracts.openapi_check import (
    ContractViolation,
    validate_exchange,
    validate_request,
    validate_response,
    validate_schema,
)
from tests.sandbox.conftest import MEMBER, MEMBER_PASSWORD, OWNER, OWNER_PAT, TEAM_ORG, bearer, repo_resource


class Recorder:
    """Sends requests and keeps each exchange with the outcome of its validation."""

    def __init__(self, http: requests.Session, hub: DockerHubSandbox) -> None:
        self.http = http
        self.hub = hub
        self.skipped: list[tuple[str, str, str]] = []  # method, path, documented reason
        self.validated: list[tuple[str, str, int]] = []

    def __call__(self, method: str, path: str, *, whole_exchange: bool = True, **kwargs: Any) -> requests.Response:
        response = self.http.request(method, f"{self.hub.url}{path}", **kwargs)
        check = validate_exchange if whole_exchange else validate_response
        reason = check(response.request, response)
        if reason is None:
            self.validated.append((method, path, response.status_code))
        else:
            self.skipped.append((method, path, reason))
        return response


@pytest.fixture
def call(hub: DockerHubSandbox, http: requests.Session) -> Iterator[Recorder]:
    yield Recorder(http, hub)


def test_successful_responses_match_the_contract(call: Recorder, hub: DockerHubSandbox) -> None:
    token = call("POST", "/v2/auth/token", json={"identifier": OWNER, "secret": OWNER_PAT}).json()
    auth = {"Authorization": f"Bearer {token['access_token']}"}
    tokens = f"/v2/orgs/{TEAM_ORG}/access-tokens"
    for n in range(3):
        hub.seed_token(TEAM_ORG, f"seed-{n}")
    hub.add_invite(TEAM_ORG, "pending@acme.example", inviter=OWNER, team="developers")
    hub.record_event(TEAM_ORG, "org.domain.verify", actor=OWNER, data={"domain": "acme.example"})

    created = call(
        "POST",
        tokens,
        headers=auth,
        json={
            "label": "ci",
            "description": "CI pulls",
            "resources": [repo_resource(), {"type": "TYPE_ORG", "path": TEAM_ORG, "scopes": ["scope-member-read"]}],
            "expires_at": "2099-12-31T23:59:59Z",
        },
    )
    assert created.status_code == 201
    token_id = created.json()["id"]
    listed = call("GET", f"{tokens}?page=2&page_size=2", headers=auth)  # a middle page: both links set
    call("GET", f"{tokens}/{token_id}", headers=auth)
    call("PATCH", f"{tokens}/{token_id}", headers=auth, json={"label": "ci-renamed", "is_active": False})
    call("DELETE", f"{tokens}/{token_id}", headers=auth)

    settings = f"/v2/orgs/{TEAM_ORG}/settings"
    call("GET", settings, headers=auth)
    flags = {"enabled": True, "allow_official_images": True, "allow_verified_publishers": False}
    call("PUT", settings, headers=auth, json={"restricted_images": flags})

    members = call("GET", f"/v2/orgs/{TEAM_ORG}/members?page=1&page_size=1", headers=auth)
    call("GET", f"/v2/orgs/{TEAM_ORG}/invites", headers=auth)
    bulk = call(
        "POST", "/v2/invites/bulk", headers=auth, json={"org": TEAM_ORG, "invitees": ["new@acme.example", MEMBER]}
    )
    call("DELETE", f"/v2/invites/{bulk.json()['invitees'][0]['invite']['id']}", headers=auth)
    call("GET", f"/v2/auditlogs/{TEAM_ORG}?action=org.domain.verify&page=1&page_size=10", headers=auth)
    call("GET", f"/v2/auditlogs/{TEAM_ORG}", headers=auth)

    ram = f"/v2/orgs/{TEAM_ORG}/settings/registry-access-management"
    call("GET", ram, headers=auth)
    call("PUT", ram, headers=auth, json={"enabled": True, "standard_registries": [], "custom_registries": []})

    assert [(method, status) for method, _, status in call.validated] == [
        ("POST", 200),
        ("POST", 201),
        ("GET", 200),
        ("PATCH", 200),
        ("DELETE", 204),
        ("GET", 200),
        ("PUT", 200),
        ("GET", 200),
        ("DELETE", 204),
        ("GET", 200),
        ("GET", 200),
    ]
    assert call.skipped == [
        ("GET", f"{tokens}?page=2&page_size=2", ROUTE_EXCEPTIONS[("GET", "/v2/orgs/{name}/access-tokens")]),
        (
            "GET",
            f"/v2/orgs/{TEAM_ORG}/members?page=1&page_size=1",
            ROUTE_EXCEPTIONS[("GET", "/v2/orgs/{org_name}/members")],
        ),
        ("POST", "/v2/invites/bulk", ROUTE_EXCEPTIONS[("POST", "/v2/invites/bulk")]),
        ("GET", ram, ROUTE_EXCEPTIONS[("GET", "/v2/orgs/{org_name}/settings/registry-access-management")]),
        ("PUT", ram, ROUTE_EXCEPTIONS[("PUT", "/v2/orgs/{org_name}/settings/registry-access-management")]),
    ]
    # every documented deviation is exercised here, so the list cannot silently go stale
    assert len(call.skipped) == len(ROUTE_EXCEPTIONS)

    # What the deviating responses carry still follows the spec's component schemas.
    assert listed.json()["results"] and members.json()["results"]
    for item in listed.json()["results"]:
        validate_schema("orgAccessToken", item)
    for item in members.json()["results"]:
        validate_schema("org_member", item)
    validate_schema("bulk_invite", bulk.json())


def test_error_responses_match_the_contract(call: Recorder, hub: DockerHubSandbox, http: requests.Session) -> None:
    tokens = f"/v2/orgs/{TEAM_ORG}/access-tokens"
    owner = bearer(http, hub, OWNER, OWNER_PAT)
    member = bearer(http, hub, MEMBER, MEMBER_PASSWORD)

    call("POST", "/v2/auth/token", json={"identifier": OWNER, "secret": "wrong"})  # 401 error
    call("POST", tokens, headers=owner, json={"label": "x", "resources": [repo_resource("elsewhere/x")]})  # 400
    call("POST", tokens, headers=member, json={"label": "x", "resources": [repo_resource()]})  # 403
    call("GET", f"{tokens}/no-such-token", headers=owner)  # 404
    call("PATCH", f"{tokens}/no-such-token", headers=owner, json={"label": "x"})
    call("DELETE", f"{tokens}/no-such-token", headers=owner)
    call("GET", f"/v2/orgs/{TEAM_ORG}/settings", whole_exchange=False)  # 401 without a bearer
    call("GET", "/v2/orgs/nope/settings", headers=owner)
    call("GET", f"/v2/orgs/{TEAM_ORG}/invites", headers=member)
    call("DELETE", "/v2/invites/no-such-invite", headers=owner)
    call("GET", f"/v2/auditlogs/{TEAM_ORG}", headers=member)  # rpcStatus via `default`

    assert [status for _, _, status in call.validated] == [401, 400, 403, 404, 404, 404, 401, 404, 403, 404, 403]
    assert call.skipped == []


def test_injected_429_and_5xx_are_skipped_with_their_reason(call: Recorder, hub: DockerHubSandbox) -> None:
    hub.faults.add(hub.rate_limit_fault())
    hub.faults.add(Fault.status(503))
    for _ in range(3):
        call("POST", "/v2/auth/token", json={"identifier": OWNER, "secret": OWNER_PAT})
    assert [reason for _, _, reason in call.skipped] == [STATUS_EXCEPTIONS[429], STATUS_EXCEPTIONS[503]]
    assert [status for _, _, status in call.validated] == [200]


def test_the_checker_rejects_a_response_that_breaks_the_contract(hub: DockerHubSandbox, http: requests.Session) -> None:
    owner = bearer(http, hub, OWNER, OWNER_PAT)
    response = http.get(f"{hub.url}/v2/orgs/{TEAM_ORG}/settings", headers=owner)
    response._content = b'{"restricted_images": {"enabled": "yes"}}'
    with pytest.raises(ContractViolation, match="enabled"):
        validate_response(response.request, response)


def test_the_schema_checker_rejects_a_bad_value() -> None:
    with pytest.raises(ContractViolation, match="is_guest"):
        validate_schema("org_member", {"username": "a", "role": "Owner", "is_guest": "no"})
    with pytest.raises(ContractViolation, match="created_at"):
        validate_schema("orgAccessToken", {"id": "x", "created_at": "yesterday"})


def test_the_checker_rejects_a_request_that_breaks_the_contract(hub: DockerHubSandbox) -> None:
    bad = requests.Request(
        "POST",
        f"{hub.url}/v2/orgs/{TEAM_ORG}/access-tokens",
        json={"label": "x", "resources": [{"type": "TYPE_TEAM", "path": "acme/x", "scopes": []}]},
        headers={"Authorization": "Bearer x"},
    )
    with pytest.raises(ContractViolation, match="TYPE_TEAM"):
        validate_request(bad)
    missing_label = requests.Request(
        "POST", f"{hub.url}/v2/orgs/{TEAM_ORG}/access-tokens", json={}, headers={"Authorization": "Bearer x"}
    )
    with pytest.raises(ContractViolation, match="label"):
        validate_request(missing_label)
