"""The Docker Hub stand-in behaves like Docker Hub: auth, OAT rules and limits, settings, members,
invites, audit logs, pagination, eventual consistency and Docker's 429."""

from __future__ import annotations

import base64
import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests

from sandbox.dockerhub import DockerHubSandbox
from tests.sandbox.conftest import (
    BUSINESS_ORG,
    MEMBER,
    MEMBER_PASSWORD,
    OUTSIDER,
    OUTSIDER_PAT,
    OWNER,
    OWNER_PAT,
    TEAM_ORG,
    FakeClock,
    bearer,
    make_hub,
    repo_resource,
)

TOKENS = f"/v2/orgs/{TEAM_ORG}/access-tokens"


def create_token(
    http: requests.Session, hub: DockerHubSandbox, auth: dict[str, str], org: str = TEAM_ORG, **body: Any
) -> requests.Response:
    payload = {"label": "ci", "resources": [repo_resource(f"{org}/*")], **body}
    return http.post(f"{hub.url}/v2/orgs/{org}/access-tokens", json=payload, headers=auth)


def jwt_claims(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    claims: dict[str, Any] = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return claims


# -- auth ------------------------------------------------------------------------------------------


def test_a_pat_or_password_buys_a_jwt_that_expires_after_the_ttl(http: requests.Session) -> None:
    with make_hub(token_ttl=30) as hub:
        response = http.post(f"{hub.url}/v2/auth/token", json={"identifier": OWNER, "secret": OWNER_PAT})
        claims = jwt_claims(response.json()["access_token"])
        assert claims["sub"] == OWNER
        assert claims["exp"] - claims["iat"] in (30, 31)
        assert bearer(http, hub, MEMBER, MEMBER_PASSWORD)


def test_bad_credentials_answer_401_with_the_error_schema(hub: DockerHubSandbox, http: requests.Session) -> None:
    response = http.post(f"{hub.url}/v2/auth/token", json={"identifier": OWNER, "secret": "dckr_pat_wrong"})
    assert response.status_code == 401
    assert set(response.json()) == {"errinfo", "detail", "message"}


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer not-a-jwt", "Basic YWxpY2U6cHc=", "tampered"],
)
def test_routes_need_a_valid_bearer(
    hub: DockerHubSandbox, http: requests.Session, owner: dict[str, str], authorization: str | None
) -> None:
    if authorization == "tampered":  # a valid token with its payload swapped for another subject
        header, _, signature = owner["Authorization"].removeprefix("Bearer ").split(".")
        forged = base64.urlsafe_b64encode(json.dumps({"sub": "admin", "exp": 2**40}).encode()).rstrip(b"=")
        authorization = f"Bearer {header}.{forged.decode()}.{signature}"
    headers = {"Authorization": authorization} if authorization else {}
    response = http.get(f"{hub.url}{TOKENS}", headers=headers)
    assert response.status_code == 401
    assert set(response.json()) == {"detail", "message"}


def test_an_expired_or_revoked_jwt_is_refused(http: requests.Session) -> None:
    clock = FakeClock()
    with make_hub(clock=clock, token_ttl=5) as hub:
        auth = bearer(http, hub, OWNER, OWNER_PAT)
        assert http.get(f"{hub.url}{TOKENS}", headers=auth).status_code == 200
        clock.advance(5)
        assert http.get(f"{hub.url}{TOKENS}", headers=auth).status_code == 401

        fresh = bearer(http, hub, OWNER, OWNER_PAT)
        hub.revoke_bearers()
        assert http.get(f"{hub.url}{TOKENS}", headers=fresh).status_code == 401
        assert http.get(f"{hub.url}{TOKENS}", headers=bearer(http, hub, OWNER, OWNER_PAT)).status_code == 200


# -- organization access tokens --------------------------------------------------------------------


def test_the_token_value_is_shown_once(hub: DockerHubSandbox, http: requests.Session, owner: dict[str, str]) -> None:
    created = create_token(http, hub, owner, description="pulls", expires_at="2099-01-01T00:00:00Z")
    assert created.status_code == 201
    body = created.json()
    assert body["token"].startswith("dckr_oat_") and len(body["token"]) > 20
    assert set(body) == {"id", "label", "description", "resources", "token", "is_active", "expires_at", "created_at"}
    assert body["expires_at"] == "2099-01-01T00:00:00Z" and body["is_active"] is True

    assert hub.token(body["id"]).value == body["token"]
    later = [
        http.get(f"{hub.url}{TOKENS}/{body['id']}", headers=owner).json(),
        http.get(f"{hub.url}{TOKENS}", headers=owner).json()["results"][0],
        http.patch(f"{hub.url}{TOKENS}/{body['id']}", json={"label": "ci2"}, headers=owner).json(),
    ]
    for view in later:
        assert "token" not in view and body["token"] not in json.dumps(view)
    assert later[0]["created_by"] == OWNER and later[0]["description"] == "pulls"


def test_only_org_owners_manage_tokens(hub: DockerHubSandbox, http: requests.Session) -> None:
    member = bearer(http, hub, MEMBER, MEMBER_PASSWORD)
    outsider = bearer(http, hub, OUTSIDER, OUTSIDER_PAT)
    for auth in (member, outsider):
        response = create_token(http, hub, auth)
        assert response.status_code == 403 and set(response.json()) == {"detail", "message"}
        assert http.get(f"{hub.url}{TOKENS}", headers=auth).status_code == 403
    missing = create_token(http, hub, member, org="no-such-org")
    assert missing.status_code == 404 and set(missing.json()) == {"detail", "message"}
    assert hub.tokens() == []


def test_team_plan_allows_ten_tokens_and_expired_or_inactive_ones_count(
    hub: DockerHubSandbox, http: requests.Session, owner: dict[str, str]
) -> None:
    seeded = [hub.seed_token(TEAM_ORG, f"old-{n}") for n in range(8)]
    hub.expire_token(seeded[0].id)
    hub.deactivate_token(seeded[1].id)
    assert create_token(http, hub, owner, label="ninth").status_code == 201
    assert create_token(http, hub, owner, label="tenth").status_code == 201

    eleventh = create_token(http, hub, owner, label="eleventh")
    assert eleventh.status_code == 400
    assert "10" in eleventh.json()["text"] and set(eleventh.json()) == {"fields", "text"}

    deleted = http.delete(f"{hub.url}{TOKENS}/{seeded[0].id}", headers=owner)
    assert deleted.status_code == 204
    assert create_token(http, hub, owner, label="eleventh").status_code == 201


def test_business_plan_allows_a_hundred_tokens(
    hub: DockerHubSandbox, http: requests.Session, owner: dict[str, str]
) -> None:
    for n in range(99):
        hub.seed_token(BUSINESS_ORG, f"t{n}")
    assert create_token(http, hub, owner, org=BUSINESS_ORG, label="t99").status_code == 201
    assert create_token(http, hub, owner, org=BUSINESS_ORG, label="t100").status_code == 400


def test_a_token_covers_at_most_fifty_repositories(
    hub: DockerHubSandbox, http: requests.Session, owner: dict[str, str]
) -> None:
    repos = [repo_resource(f"{TEAM_ORG}/repo{n}") for n in range(51)]
    assert create_token(http, hub, owner, label="fifty", resources=repos[:50]).status_code == 201
    too_many = create_token(http, hub, owner, label="fifty-one", resources=repos)
    assert too_many.status_code == 400 and "resources" in too_many.json()["fields"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"label": None}, "label"),
        ({"label": "  "}, "label"),
        ({"resources": []}, "resources"),
        ({"resources": [{"type": "TYPE_TEAM", "path": "acme/x", "scopes": ["scope-image-pull"]}]}, "resources[0].type"),
        ({"resources": [repo_resource("acme/x", "repo-pull")]}, "resources[0].scopes"),
        ({"resources": [{"type": "TYPE_ORG", "path": "acme", "scopes": ["scope-image-pull"]}]}, "resources[0].scopes"),
        ({"resources": [repo_resource("other-org/x")]}, "resources[0].path"),
        ({"resources": [{"type": "TYPE_REPO", "path": "acme/x", "scopes": []}]}, "resources[0].scopes"),
        ({"description": "x" * 201}, "description"),
        ({"expires_at": "2020-01-01T00:00:00Z"}, "expires_at"),
        ({"expires_at": "next tuesday"}, "expires_at"),
    ],
)
def test_create_validates_the_request(
    hub: DockerHubSandbox, http: requests.Session, owner: dict[str, str], body: dict[str, Any], field: str
) -> None:
    response = create_token(http, hub, owner, **body)
    assert response.status_code == 400
    assert field in response.json()["fields"], response.json()
    assert hub.tokens() == []


def test_documented_resource_forms_and_org_scopes_are_accepted(
    hub: DockerHubSandbox, http: requests.Session, owner: dict[str, str]
) -> None:
    resources = [
        repo_resource("acme/base", "scope-image-pull", "scope-image-push"),
        repo_resource("*/*/public"),
        {"type": "TYPE_ORG", "path": TEAM_ORG, "scopes": ["scope-activity-read", "scope-member-read"]},
    ]
    response = create_token(http, hub, owner, resources=resources)
    assert response.status_code == 201 and response.json()["resources"] == resources


def test_patch_changes_label_resources_and_activity_but_never_expiry(
    hub: DockerHubSandbox, http: requests.Session, owner: dict[str, str]
) -> None:
    token_id = create_token(http, hub, owner).json()["id"]
    url = f"{hub.url}{TOKENS}/{token_id}"
    changed = http.patch(
        url, json={"label": "renamed", "is_active": False, "resources": [repo_resource("acme/app")]}, headers=owner
    )
    assert changed.status_code == 200
    assert (changed.json()["label"], changed.json()["is_active"]) == ("renamed", False)
    assert http.get(url, headers=owner).json()["resources"] == [repo_resource("acme/app")]

    expiry = http.patch(url, json={"expires_at": "2099-01-01T00:00:00Z"}, headers=owner)
    assert expiry.status_code == 400 and "expires_at" in expiry.json()["fields"]

    hub.expire_token(token_id)
    assert http.patch(url, json={"label": "again"}, headers=owner).status_code == 400
    assert http.patch(f"{hub.url}{TOKENS}/nope", json={"label": "x"}, headers=owner).status_code == 404


def test_delete_then_get_or_delete_again_is_404(
    hub: DockerHubSandbox, http: requests.Session, owner: dict[str, str]
) -> None:
    token_id = create_token(http, hub, owner).json()["id"]
    url = f"{hub.url}{TOKENS}/{token_id}"
    assert http.delete(url, headers=owner).status_code == 204
    for response in (http.get(url, headers=owner), http.delete(url, headers=owner)):
        assert response.status_code == 404 and set(response.json()) == {"detail", "message"}


def test_a_token_deleted_behind_the_api_is_gone(
    hub: DockerHubSandbox, http: requests.Session, owner: dict[str, str]
) -> None:
    token_id = create_token(http, hub, owner).json()["id"]
    hub.delete_token(token_id)
    assert http.get(f"{hub.url}{TOKENS}/{token_id}", headers=owner).status_code == 404


def test_the_list_pages_with_total_and_absolute_links(
    hub: DockerHubSandbox, http: requests.Session, owner: dict[str, str]
) -> None:
    ids = {hub.seed_token(BUSINESS_ORG, f"t{n}").id for n in range(23)}
    url: str | None = f"{hub.url}/v2/orgs/{BUSINESS_ORG}/access-tokens?page_size=10"
    pages = []
    while url:
        page = http.get(url, headers=owner).json()
        pages.append(page)
        url = page["next"]
    assert [len(p["results"]) for p in pages] == [10, 10, 3]
    assert {p["total"] for p in pages} == {23}
    assert {item["id"] for p in pages for item in p["results"]} == ids
    assert pages[0]["previous"] is None
    assert pages[0]["next"] == f"{hub.url}/v2/orgs/{BUSINESS_ORG}/access-tokens?page_size=10&page=2"
    assert pages[2]["previous"].startswith("http://127.0.0.1:") and "page=2" in pages[2]["previous"]
    assert "description" not in pages[0]["results"][0]

    bad = http.get(f"{hub.url}/v2/orgs/{BUSINESS_ORG}/access-tokens?page=zero", headers=owner)
    assert bad.status_code == 400 and set(bad.json()) == {"fields", "text"}


def test_a_new_token_is_hidden_from_reads_for_the_consistency_delay(http: requests.Session) -> None:
    clock = FakeClock()
    with make_hub(clock=clock, consistency_delay=3.0) as hub:
        owner = bearer(http, hub, OWNER, OWNER_PAT)
        token_id = create_token(http, hub, owner).json()["id"]
        assert http.get(f"{hub.url}{TOKENS}/{token_id}", headers=owner).status_code == 404
        assert http.get(f"{hub.url}{TOKENS}", headers=owner).json()["total"] == 0
        assert len(hub.tokens(TEAM_ORG)) == 1  # stored, only not yet readable

        clock.advance(3.0)
        assert http.get(f"{hub.url}{TOKENS}/{token_id}", headers=owner).status_code == 200
        assert [t["id"] for t in http.get(f"{hub.url}{TOKENS}", headers=owner).json()["results"]] == [token_id]


# -- OAT sign-in -----------------------------------------------------------------------------------


def test_an_oat_signs_in_with_the_org_name_and_is_confined_to_its_scopes(
    hub: DockerHubSandbox, http: requests.Session, owner: dict[str, str]
) -> None:
    reader = hub.seed_token(
        TEAM_ORG, "reader", resources=[{"type": "TYPE_ORG", "path": TEAM_ORG, "scopes": ["scope-member-read"]}]
    )
    oat = bearer(http, hub, TEAM_ORG, reader.value)
    assert hub.token(reader.id).last_used_at is not None
    assert http.get(f"{hub.url}/v2/orgs/{TEAM_ORG}/members", headers=oat).status_code == 200
    assert http.get(f"{hub.url}/v2/orgs/{TEAM_ORG}/invites", headers=oat).status_code == 403
    refused = create_token(http, hub, oat)
    assert refused.status_code == 403 and "organization access token" in refused.json()["detail"]
    assert http.get(f"{hub.url}/v2/orgs/{TEAM_ORG}/settings", headers=oat).status_code == 403


def test_an_oat_of_another_org_an_inactive_or_an_expired_oat_cannot_sign_in(
    hub: DockerHubSandbox, http: requests.Session
) -> None:
    other = hub.seed_token(BUSINESS_ORG, "other")
    inactive = hub.seed_token(TEAM_ORG, "inactive", is_active=False)
    expired = hub.seed_token(TEAM_ORG, "expired", expires_at=datetime.now(UTC) - timedelta(seconds=1))
    for identifier, token in ((TEAM_ORG, other), (TEAM_ORG, inactive), (TEAM_ORG, expired)):
        response = http.post(f"{hub.url}/v2/auth/token", json={"identifier": identifier, "secret": token.value})
        assert response.status_code == 401


# -- settings --------------------------------------------------------------------------------------


def test_image_access_settings_need_all_three_flags_and_an_owner(
    hub: DockerHubSandbox, http: requests.Session, owner: dict[str, str]
) -> None:
    url = f"{hub.url}/v2/orgs/{TEAM_ORG}/settings"
    member = bearer(http, hub, MEMBER, MEMBER_PASSWORD)
    assert http.get(url, headers=member).json()["restricted_images"]["enabled"] is False
    wanted = {"enabled": True, "allow_official_images": True, "allow_verified_publishers": False}

    partial = http.put(url, json={"restricted_images": {"enabled": True}}, headers=owner)
    assert partial.status_code == 400 and "restricted_images.allow_official_images" in partial.json()["fields"]
    assert http.put(url, json={"restricted_images": wanted}, headers=member).status_code == 403
    assert http.put(url, json={"restricted_images": wanted}, headers=owner).json() == {"restricted_images": wanted}
    assert http.get(url, headers=owner).json() == {"restricted_images": wanted}


def test_registry_access_management_round_trips(
    hub: DockerHubSandbox, http: requests.Session, owner: dict[str, str]
) -> None:
    url = f"{hub.url}/v2/orgs/{TEAM_ORG}/settings/registry-access-management"
    assert http.get(url, headers=owner).json()["enabled"] is False
    wanted = {
        "enabled": True,
        "standard_registries": [{"id": "DockerHub", "allowed": True}],
        "custom_registries": [{"address": "ghcr.io", "friendly_name": "GitHub", "allowed": True}],
    }
    assert http.put(url, json=wanted, headers=owner).json() == wanted
    assert http.get(url, headers=owner).json() == wanted
    bad = http.put(url, json={"enabled": "yes", "standard_registries": [], "custom_registries": [{}]}, headers=owner)
    assert bad.status_code == 400 and set(bad.json()["fields"]) == {"enabled", "custom_registries"}


# -- members and invites ---------------------------------------------------------------------------


def test_members_page_and_flag_guests_outside_verified_domains(
    hub: DockerHubSandbox, http: requests.Session, owner: dict[str, str]
) -> None:
    for n in range(4):
        hub.add_member(TEAM_ORG, f"dev{n}", email=f"dev{n}@acme.example")
    hub.set_verified_domains(TEAM_ORG, ["acme.example"])
    url = f"{hub.url}/v2/orgs/{TEAM_ORG}/members"

    first = http.get(url, params={"page_size": 4}, headers=owner).json()
    assert first["count"] == 6 and len(first["results"]) == 4 and first["next"].endswith("page=2")
    everyone = first["results"] + http.get(first["next"], headers=owner).json()["results"]
    guests = {m["username"]: m["is_guest"] for m in everyone}
    assert guests[OWNER] is True  # alice@example.com is outside acme.example
    assert guests[MEMBER] is False and guests["dev0"] is False
    roles = {m["username"]: m["role"] for m in everyone}
    assert roles[OWNER] == "Owner" and roles[MEMBER] == "Member"

    owners = http.get(url, params={"role": "owner"}, headers=owner).json()
    assert [m["username"] for m in owners["results"]] == [OWNER]
    found = http.get(url, params={"search": "builder"}, headers=owner).json()
    assert [m["username"] for m in found["results"]] == [MEMBER]
    assert http.get(url, headers=bearer(http, hub, OUTSIDER, OUTSIDER_PAT)).status_code == 403


def test_bulk_invite_reports_each_invitee_and_dry_run_changes_nothing(
    hub: DockerHubSandbox, http: requests.Session, owner: dict[str, str]
) -> None:
    body = {"org": TEAM_ORG, "invitees": ["new@acme.example", MEMBER, "bob@acme.example", OUTSIDER, "nobody"]}
    dry = http.post(f"{hub.url}/v2/invites/bulk", json={**body, "dry_run": True}, headers=owner)
    assert dry.status_code == 202
    statuses = [(i["invitee"], i["status"], "invite" in i) for i in dry.json()["invitees"]]
    assert statuses == [
        ("new@acme.example", "invited", False),
        (MEMBER, "existing_org_member", False),
        ("bob@acme.example", "existing_org_member", False),
        (OUTSIDER, "invited", False),
        ("nobody", "invalid_email_or_docker_id", False),
    ]
    invites_url = f"{hub.url}/v2/orgs/{TEAM_ORG}/invites"
    assert http.get(invites_url, headers=owner).json() == {"data": []}

    real = http.post(f"{hub.url}/v2/invites/bulk", json={**body, "team": "developers"}, headers=owner).json()
    invited = [i["invite"] for i in real["invitees"] if i["status"] == "invited"]
    assert [i["invitee"] for i in invited] == ["new@acme.example", OUTSIDER]
    assert invited[0]["inviter_username"] == OWNER and invited[0]["team"] == "developers"

    again = http.post(f"{hub.url}/v2/invites/bulk", json=body, headers=owner).json()
    assert again["invitees"][0]["invite"]["id"] == invited[0]["id"]  # no duplicate invite
    pending = http.get(invites_url, headers=owner).json()["data"]
    assert sorted(i["id"] for i in pending) == sorted(i["id"] for i in invited)

    members = http.get(f"{hub.url}/v2/orgs/{TEAM_ORG}/members", params={"type": "invitee"}, headers=owner).json()
    assert {m["role"] for m in members["results"]} == {"Invitee"} and members["count"] == 2


def test_bulk_invite_validation_and_permissions(
    hub: DockerHubSandbox, http: requests.Session, owner: dict[str, str]
) -> None:
    url = f"{hub.url}/v2/invites/bulk"
    for body in (
        {"invitees": ["a@b.example"]},
        {"org": TEAM_ORG, "invitees": []},
        {"org": TEAM_ORG, "invitees": ["a@b.example"], "role": "boss"},
    ):
        response = http.post(url, json=body, headers=owner)
        assert response.status_code == 400 and set(response.json()) == {"errinfo", "detail", "message"}
    member = bearer(http, hub, MEMBER, MEMBER_PASSWORD)
    assert http.post(url, json={"org": TEAM_ORG, "invitees": ["a@b.example"]}, headers=member).status_code == 403


def test_cancel_an_invite(hub: DockerHubSandbox, http: requests.Session, owner: dict[str, str]) -> None:
    invite_id = hub.add_invite(TEAM_ORG, "carol@acme.example", inviter=OWNER)
    member = bearer(http, hub, MEMBER, MEMBER_PASSWORD)
    assert http.delete(f"{hub.url}/v2/invites/{invite_id}", headers=member).status_code == 403
    assert http.delete(f"{hub.url}/v2/invites/{invite_id}", headers=owner).status_code == 204
    assert http.get(f"{hub.url}/v2/orgs/{TEAM_ORG}/invites", headers=owner).json() == {"data": []}
    gone = http.delete(f"{hub.url}/v2/invites/{invite_id}", headers=owner)
    assert gone.status_code == 404 and set(gone.json()) == {"errinfo", "detail", "message"}


# -- audit logs ------------------------------------------------------------------------------------


def test_token_changes_and_seeded_events_reach_the_audit_log(
    hub: DockerHubSandbox, http: requests.Session, owner: dict[str, str]
) -> None:
    token_id = create_token(http, hub, owner, label="audited").json()["id"]
    http.patch(f"{hub.url}{TOKENS}/{token_id}", json={"description": "d"}, headers=owner)
    http.delete(f"{hub.url}{TOKENS}/{token_id}", headers=owner)
    hub.record_event(
        TEAM_ORG,
        "org.domain.verify",
        actor=OWNER,
        data={"domain": "acme.example"},
        timestamp=datetime(2030, 1, 2, tzinfo=UTC),
    )
    url = f"{hub.url}/v2/auditlogs/{TEAM_ORG}"

    logs = http.get(url, headers=owner).json()["logs"]
    assert [e["action"] for e in logs] == [
        "org.domain.verify",
        "org.access_token.delete",
        "org.access_token.update",
        "org.access_token.create",
    ]
    assert logs[3]["actor"] == OWNER and logs[3]["data"] == {"label": "audited", "token_id": token_id}

    verified = http.get(url, params={"action": "org.domain.verify"}, headers=owner).json()["logs"]
    assert verified == [
        {
            "account": TEAM_ORG,
            "action": "org.domain.verify",
            "name": TEAM_ORG,
            "actor": OWNER,
            "data": {"domain": "acme.example"},
            "timestamp": "2030-01-02T00:00:00Z",
            "action_description": "",
        }
    ]
    window = {"from": "2030-01-01T00:00:00Z", "to": "2030-01-03T00:00:00Z"}
    assert len(http.get(url, params=window, headers=owner).json()["logs"]) == 1
    assert len(http.get(url, params={"page_size": 3, "page": 2}, headers=owner).json()["logs"]) == 1


def test_audit_log_errors_use_the_rpc_status_schema(hub: DockerHubSandbox, http: requests.Session) -> None:
    member = bearer(http, hub, MEMBER, MEMBER_PASSWORD)
    refused = http.get(f"{hub.url}/v2/auditlogs/{TEAM_ORG}", headers=member)
    assert refused.status_code == 403 and refused.json() == {
        "code": 7,
        "message": "You don't have permission to perform this action.",
        "details": [],
    }
    assert http.get(f"{hub.url}/v2/auditlogs/{TEAM_ORG}").json()["code"] == 16


# -- 429 -------------------------------------------------------------------------------------------


def test_rate_limit_faults_speak_both_retry_headers(
    hub: DockerHubSandbox, http: requests.Session, owner: dict[str, str]
) -> None:
    hub.faults.add(hub.rate_limit_fault(retry_after=2, method="GET", path=r"/access-tokens$"))
    limited = http.get(f"{hub.url}{TOKENS}", headers=owner)
    assert limited.status_code == 429 and limited.headers["Retry-After"] == "2"
    assert limited.json() == {"detail": "Rate limit exceeded", "error": False}
    assert limited.headers["X-RateLimit-Limit"] == "1000"

    before = time.time()
    hub.faults.add(hub.rate_limit_fault(header="X-Retry-After", retry_after=3))
    old_style = http.get(f"{hub.url}{TOKENS}", headers=owner)
    assert old_style.status_code == 429 and "Retry-After" not in old_style.headers
    assert before + 3 <= int(old_style.headers["X-Retry-After"]) <= time.time() + 4
    assert http.get(f"{hub.url}{TOKENS}", headers=owner).status_code == 200
