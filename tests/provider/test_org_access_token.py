"""`OrgAccessTokenProvider` through the real plugin (`python -m pulumi.dynamic`) against the Docker Hub stand-in.

The plugin unpickles the provider and receives the stand-in's URL and the owner's PAT through
Configure, exactly as under `pulumi up`; the stand-in is the one place that knows token values.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pulumi.output import Unknown

from components.clients.dockerhub import TokenResource
from components.providers.org_access_token import OrgAccessTokenProvider
from components.spec import ORG_SCOPES, REPO_SCOPES
from sandbox.dockerhub import DockerHubSandbox
from tests.dockerhub_fixtures import ORG, TOKEN_INPUTS, dockerhub_client, org_resource, repo_resource
from tests.harness.plugin import UNKNOWN, Plugin, PluginError, preview, run_lifecycle

pytest_plugins = ("tests.dockerhub_fixtures",)
pytestmark = pytest.mark.slow

PROVIDER = OrgAccessTokenProvider()
INPUTS = TOKEN_INPUTS


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def writes(hub: DockerHubSandbox) -> list[tuple[str, str]]:
    return [(r.method, r.path) for r in hub.requests_log if r.method not in ("GET", "HEAD") and "/auth/" not in r.path]


def create(plugin: Plugin, hub: DockerHubSandbox, inputs: dict[str, Any] | None = None) -> tuple[Any, Any]:
    checked = plugin.check(PROVIDER, inputs or INPUTS)
    assert checked.failures == []
    return checked, plugin.create(PROVIDER, checked.inputs)


# -- lifecycle -----------------------------------------------------------------------------------------


def test_lifecycle_creates_patches_and_deletes_one_token(dockerhub_plugin: Plugin, dockerhub: DockerHubSandbox) -> None:
    updated = {
        **INPUTS,
        "label": "ci-pull-push",
        "description": "CI pushes too",
        # reordered and a scope added: compared as sets, so only the new scope is a change
        "resources": [
            org_resource("scope-member-read"),
            repo_resource(f"{ORG}/*", "scope-image-push", "scope-image-pull"),
        ],
    }
    steps = run_lifecycle(
        dockerhub_plugin,
        PROVIDER,
        INPUTS,
        updated,
        read_gone=lambda id_: all(token.id != id_ for token in dockerhub.tokens()),
    )
    id_ = steps.created.id
    outs = steps.created.outs
    assert outs["token_id"] == id_
    assert outs["token"].startswith("dckr_oat_")
    assert outs["is_active"] is True
    assert "last_used_at" not in outs  # never used yet: None, which the wire drops
    created_at = datetime.fromisoformat(outs["created_at"])
    assert datetime.fromisoformat(outs["expires_at"]) - created_at == timedelta(days=30)

    assert steps.updated.outs["token"] == outs["token"], "the value is carried forward, never re-read"
    assert steps.updated.outs["token_id"] == id_ and steps.updated.outs["label"] == "ci-pull-push"
    assert steps.update_diff.delete_before_replace is False
    assert writes(dockerhub) == [
        ("POST", f"/v2/orgs/{ORG}/access-tokens"),
        ("PATCH", f"/v2/orgs/{ORG}/access-tokens/{id_}"),
        ("DELETE", f"/v2/orgs/{ORG}/access-tokens/{id_}"),
        ("DELETE", f"/v2/orgs/{ORG}/access-tokens/{id_}"),
    ]
    [post] = [r for r in dockerhub.requests_log if r.method == "POST" and "access-tokens" in r.path]
    assert post.json() == {
        "label": "ci-pull",
        "description": "CI pulls images",
        "resources": [{"type": "TYPE_REPO", "path": f"{ORG}/*", "scopes": ["scope-image-pull"]}],
        "expires_at": outs["expires_at"],
    }
    [patch] = [r for r in dockerhub.requests_log if r.method == "PATCH"]
    assert patch.json() == {
        "label": "ci-pull-push",
        "description": "CI pushes too",
        "resources": [
            {"type": "TYPE_ORG", "path": ORG, "scopes": ["scope-member-read"]},
            {"type": "TYPE_REPO", "path": f"{ORG}/*", "scopes": ["scope-image-pull", "scope-image-push"]},
        ],
    }
    assert [r.status for r in dockerhub.requests_log if r.method == "DELETE"] == [204, 404]


def test_the_created_value_is_the_one_docker_holds(dockerhub_plugin: Plugin, dockerhub: DockerHubSandbox) -> None:
    _, created = create(dockerhub_plugin, dockerhub, {**INPUTS, "expires_in_days": None})
    [token] = dockerhub.tokens(ORG)
    assert (created.id, created.outs["token"]) == (token.id, token.value)
    assert token.expires_at is None and "expires_at" not in created.outs


def test_an_absolute_expiry_is_stored_as_docker_writes_it(
    dockerhub_plugin: Plugin, dockerhub: DockerHubSandbox
) -> None:
    expires = (datetime.now(UTC) + timedelta(days=90)).replace(microsecond=0)
    inputs = {**INPUTS, "expires_in_days": None, "expires_at": expires.isoformat()}  # "+00:00", not "Z"
    checked, created = create(dockerhub_plugin, dockerhub, inputs)
    assert checked.inputs["expires_at"] == created.outs["expires_at"] == iso(expires)
    assert dockerhub.token(created.id).expires_at == expires
    unchanged = dockerhub_plugin.diff(PROVIDER, created.id, created.outs, checked.inputs)
    assert (unchanged.changes, unchanged.replaces) == (False, [])


def test_changing_only_the_rotation_policy_updates_without_a_call(
    dockerhub_plugin: Plugin, dockerhub: DockerHubSandbox
) -> None:
    checked, created = create(dockerhub_plugin, dockerhub)
    news = dockerhub_plugin.check(PROVIDER, {**INPUTS, "rotate_before_days": 5}, checked.inputs).inputs
    diff = dockerhub_plugin.diff(PROVIDER, created.id, created.outs, news)
    assert (diff.changes, diff.replaces) == (True, [])
    dockerhub.reset_log()
    updated = dockerhub_plugin.update(PROVIDER, created.id, created.outs, news)
    assert updated.outs == {**created.outs, "rotate_before_days": 5}
    assert dockerhub.requests_log == []


# -- replacement ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "replaces"),
    [
        ({"org": "globex"}, ["org"]),
        ({"expires_in_days": 60}, ["expires_in_days"]),
        ({"expires_in_days": None}, ["expires_at", "expires_in_days"]),  # now never expires
        ({"expires_in_days": None, "expires_at": "SOON"}, ["expires_at", "expires_in_days"]),
    ],
)
def test_what_the_api_cannot_patch_replaces_the_token_before_deleting_it(
    dockerhub_plugin: Plugin, dockerhub: DockerHubSandbox, change: dict[str, Any], replaces: list[str]
) -> None:
    _, created = create(dockerhub_plugin, dockerhub)
    soon = iso(datetime.now(UTC) + timedelta(days=10))
    news = {**INPUTS, **{k: soon if v == "SOON" else v for k, v in change.items()}}
    news = {k: v for k, v in news.items() if v is not None}
    dockerhub.reset_log()
    diff = dockerhub_plugin.diff(PROVIDER, created.id, created.outs, news)
    assert (diff.changes, diff.replaces, diff.delete_before_replace) == (True, replaces, False)
    assert dockerhub.requests_log == [], "diff calls nothing"


def test_a_replacement_keeps_the_old_token_until_the_new_one_exists(
    dockerhub_plugin: Plugin, dockerhub: DockerHubSandbox
) -> None:
    """The engine's create-before-delete: check and create the new token (same label), then delete the old."""
    checked, old = create(dockerhub_plugin, dockerhub)
    news = dockerhub_plugin.check(PROVIDER, {**INPUTS, "expires_in_days": 60}, checked.inputs)
    assert news.failures == [], "the resource's own label does not collide with itself"
    new = dockerhub_plugin.create(PROVIDER, news.inputs)
    assert {token.id for token in dockerhub.tokens(ORG)} == {old.id, new.id}
    dockerhub_plugin.delete(PROVIDER, old.id, old.outs)
    [token] = dockerhub.tokens(ORG)
    assert (token.id, token.value, token.label) == (new.id, new.outs["token"], "ci-pull")
    assert new.outs["token"] != old.outs["token"]


@pytest.mark.parametrize(
    ("expires_in", "rotate_before_days", "replaces"),
    [
        (timedelta(days=5), 7, ["expires_at"]),  # inside the rotation window
        (timedelta(days=7, seconds=-60), 7, ["expires_at"]),  # just inside
        (timedelta(days=7, seconds=60), 7, []),  # just outside
        (timedelta(days=20), 7, []),
        (timedelta(hours=-1), None, ["expires_at"]),  # expired: only a new token helps
    ],
)
def test_rotation_window_and_expiry_propose_a_replacement(
    dockerhub_plugin: Plugin,
    dockerhub: DockerHubSandbox,
    expires_in: timedelta,
    rotate_before_days: int | None,
    replaces: list[str],
) -> None:
    inputs = {**INPUTS, "rotate_before_days": rotate_before_days} if rotate_before_days else INPUTS
    checked, created = create(dockerhub_plugin, dockerhub, inputs)
    aged = {**created.outs, "expires_at": iso(datetime.now(UTC) + expires_in)}
    diff = dockerhub_plugin.diff(PROVIDER, created.id, aged, checked.inputs)
    assert (diff.changes, diff.replaces) == (bool(replaces), replaces)
    assert diff.delete_before_replace is False


def test_an_expired_token_reads_as_expired_and_is_replaced(
    dockerhub_plugin: Plugin, dockerhub: DockerHubSandbox
) -> None:
    checked, created = create(dockerhub_plugin, dockerhub)
    dockerhub.expire_token(created.id)
    read = dockerhub_plugin.read(PROVIDER, created.id, created.outs, checked.inputs)
    assert datetime.fromisoformat(read.outs["expires_at"]) < datetime.now(UTC)
    assert read.outs["token"] == created.outs["token"]
    diff = dockerhub_plugin.diff(PROVIDER, created.id, read.outs, checked.inputs)
    assert (diff.changes, diff.replaces, diff.delete_before_replace) == (True, ["expires_at"], False)


# -- drift -----------------------------------------------------------------------------------------------


def test_a_token_deleted_outside_pulumi_reads_as_gone(dockerhub_plugin: Plugin, dockerhub: DockerHubSandbox) -> None:
    checked, created = create(dockerhub_plugin, dockerhub)
    dockerhub.delete_token(created.id)
    gone = dockerhub_plugin.read(PROVIDER, created.id, created.outs, checked.inputs)
    assert (gone.id, gone.outs, gone.inputs) == ("", {}, None)
    dockerhub_plugin.delete(PROVIDER, created.id, created.outs)  # deleting a gone token succeeds


def test_a_deactivated_token_is_reactivated(dockerhub_plugin: Plugin, dockerhub: DockerHubSandbox) -> None:
    checked, created = create(dockerhub_plugin, dockerhub)
    dockerhub.deactivate_token(created.id)
    read = dockerhub_plugin.read(PROVIDER, created.id, created.outs, checked.inputs)
    assert read.outs == {**created.outs, "is_active": False}

    diff = dockerhub_plugin.diff(PROVIDER, created.id, read.outs, checked.inputs)
    assert (diff.changes, diff.replaces) == (True, [])
    dockerhub.reset_log()
    updated = dockerhub_plugin.update(PROVIDER, created.id, read.outs, checked.inputs)
    assert [(r.method, r.json()) for r in dockerhub.requests_log if r.method == "PATCH"] == [
        ("PATCH", {"is_active": True})
    ]
    assert dockerhub.token(created.id).is_active is True
    assert updated.outs == created.outs


def test_out_of_band_edits_show_on_read_and_are_patched_back(
    dockerhub_plugin: Plugin, dockerhub: DockerHubSandbox
) -> None:
    checked, created = create(dockerhub_plugin, dockerhub)
    # another owner edits the token through the API
    by_hand = TokenResource("TYPE_ORG", ORG, ("scope-member-read",))
    dockerhub_client(dockerhub).update_org_access_token(
        ORG, created.id, description="edited by hand", resources=[by_hand]
    )
    read = dockerhub_plugin.read(PROVIDER, created.id, created.outs, checked.inputs)
    assert (read.outs["description"], read.outs["resources"]) == ("edited by hand", [org_resource()])
    diff = dockerhub_plugin.diff(PROVIDER, created.id, read.outs, checked.inputs)
    assert (diff.changes, diff.replaces) == (True, [])
    updated = dockerhub_plugin.update(PROVIDER, created.id, read.outs, checked.inputs)
    assert updated.outs == created.outs
    assert dockerhub.token(created.id).description == "CI pulls images"


# -- check -----------------------------------------------------------------------------------------------

REPO_LIST = ", ".join(sorted(REPO_SCOPES))
ORG_LIST = ", ".join(sorted(ORG_SCOPES))
FAR = iso(datetime.now(UTC) + timedelta(days=400))


@pytest.mark.parametrize(
    ("change", "failures"),
    [
        ({"resources": []}, [("resources", "resources must list at least one resource ({type, path, scopes})")]),
        (
            {"resources": [repo_resource(f"{ORG}/r{n}") for n in range(51)]},
            [("resources", "resources must name at most 50 repositories (TYPE_REPO) per token (got 51)")],
        ),
        (
            {"resources": [repo_resource(f"{ORG}/*", "scope-image-pull", "scope-image-fly")]},
            [
                (
                    "resources[0].scopes[1]",
                    f"resources[0].scopes[1] must be one of: {REPO_LIST} (got 'scope-image-fly')",
                )
            ],
        ),
        (
            {"resources": [repo_resource(f"{ORG}/*", "scope-member-read")]},
            [
                (
                    "resources[0].scopes[0]",
                    f"resources[0].scopes[0] must be one of: {REPO_LIST} (got 'scope-member-read', a TYPE_ORG scope)",
                )
            ],
        ),
        (
            {"resources": [org_resource("scope-image-push")]},
            [
                (
                    "resources[0].scopes[0]",
                    f"resources[0].scopes[0] must be one of: {ORG_LIST} (got 'scope-image-push', a TYPE_REPO scope)",
                )
            ],
        ),
        (
            {"resources": [{"type": "TYPE_TEAM", "path": f"{ORG}/devs", "scopes": ["scope-image-pull"]}]},
            [("resources[0].type", "resources[0].type must be one of: TYPE_ORG, TYPE_REPO (got 'TYPE_TEAM')")],
        ),
        (
            {"resources": [{"type": "TYPE_REPO", "path": "", "scopes": []}]},
            [
                ("resources[0].path", "resources[0].path is required"),
                ("resources[0].scopes", "resources[0].scopes must list at least one scope"),
            ],
        ),
        (
            {"resources": [repo_resource(), repo_resource()]},
            [("resources[1].path", f"resources[1].path repeats resources[0] (TYPE_REPO '{ORG}/*')")],
        ),
        (
            {"expires_in_days": None, "expires_at": "2020-01-01T00:00:00Z"},
            [("expires_at", "expires_at must be in the future (got 2020-01-01T00:00:00Z)")],
        ),
        (
            {"expires_in_days": None, "expires_at": FAR},
            [("expires_at", f"expires_at must be at most 365 days ahead, Docker's longest token lifetime (got {FAR})")],
        ),
        (
            {"expires_in_days": None, "expires_at": "next tuesday"},
            [("expires_at", "expires_at must be an ISO 8601 date-time in UTC, such as 2027-01-31T00:00:00Z")],
        ),
        (
            {"expires_in_days": 366},
            [("expires_in_days", "expires_in_days must be an integer at least 1 and at most 365")],
        ),
        (
            {"expires_at": iso(datetime.now(UTC) + timedelta(days=30))},
            [("expires_in_days", "set expires_at or expires_in_days, not both")],
        ),
        (
            {"rotate_before_days": 30},
            [
                (
                    "rotate_before_days",
                    "rotate_before_days (30) must be less than expires_in_days (30), "
                    "or every run would rotate the token",
                )
            ],
        ),
        (
            {"expires_in_days": None, "rotate_before_days": 3},
            [
                (
                    "rotate_before_days",
                    "rotate_before_days needs expires_in_days: a token rotated before a fixed expires_at would get "
                    "the same expiry and be rotated again on every run",
                )
            ],
        ),
        ({"label": ""}, [("label", "label is required")]),
        ({"label": "x" * 101}, [("label", "label must be at most 100 characters (got 101)")]),
        ({"description": "y" * 201}, [("description", "description must be at most 200 characters (got 201)")]),
        ({"org": None}, [("org", "org is required")]),
    ],
)
def test_check_rejects_what_docker_would(
    dockerhub_plugin: Plugin,
    dockerhub: DockerHubSandbox,
    change: dict[str, Any],
    failures: list[tuple[str, str]],
) -> None:
    inputs = {k: v for k, v in {**INPUTS, **change}.items() if v is not None}
    assert dockerhub_plugin.check(PROVIDER, inputs).failures == failures
    assert dockerhub.requests_log == [], "invalid inputs are not even looked up"


def test_check_normalizes_resources_and_expiry(dockerhub_plugin: Plugin) -> None:
    expires = datetime.now(UTC).replace(microsecond=0) + timedelta(days=10)
    checked = dockerhub_plugin.check(
        PROVIDER,
        {
            **INPUTS,
            "expires_in_days": None,
            "expires_at": expires.astimezone(UTC).isoformat(),
            "resources": [
                repo_resource(f"{ORG}/b", "scope-image-push", "scope-image-pull", "scope-image-push"),
                org_resource(),
                repo_resource(f"{ORG}/a"),
            ],
        },
    )
    assert checked.failures == []
    assert checked.inputs["expires_at"] == iso(expires)
    assert checked.inputs["resources"] == [
        org_resource(),
        repo_resource(f"{ORG}/a"),
        repo_resource(f"{ORG}/b", "scope-image-pull", "scope-image-push"),
    ]


# -- label collisions --------------------------------------------------------------------------------------


def test_a_label_taken_by_another_token_fails_check(dockerhub_plugin: Plugin, dockerhub: DockerHubSandbox) -> None:
    other = dockerhub.seed_token(ORG, "ci-pull")
    checked = dockerhub_plugin.check(PROVIDER, INPUTS)
    assert checked.failures == [
        (
            "label",
            f"label 'ci-pull' is already used by the organization access token {other.id} in {ORG}; "
            "labels must be unique: delete that token or choose another label",
        )
    ]
    assert [(r.method, r.path) for r in dockerhub.requests_log] == [
        ("POST", "/v2/auth/token"),
        ("GET", f"/v2/orgs/{ORG}/access-tokens"),
    ], "one read-only list, nothing written"


def test_renaming_onto_a_taken_label_fails_but_keeping_ones_own_label_does_not(
    dockerhub_plugin: Plugin, dockerhub: DockerHubSandbox
) -> None:
    checked, created = create(dockerhub_plugin, dockerhub)
    other = dockerhub.seed_token(ORG, "cd-push")
    dockerhub.reset_log()
    # the engine sends the previous inputs as olds; a harness may send outs (with token_id): both own the label
    for olds in (checked.inputs, created.outs):
        assert dockerhub_plugin.check(PROVIDER, {**INPUTS, "description": "new"}, olds).failures == []
    assert dockerhub.requests_log == [], "a label the resource already holds is not looked up"

    renamed = dockerhub_plugin.check(PROVIDER, {**INPUTS, "label": "cd-push"}, checked.inputs)
    assert renamed.failures == [
        (
            "label",
            f"label 'cd-push' is already used by the organization access token {other.id} in {ORG}; "
            "labels must be unique: delete that token or choose another label",
        )
    ]


def test_an_unknown_org_fails_check_on_org(dockerhub_plugin: Plugin, dockerhub: DockerHubSandbox) -> None:
    checked = dockerhub_plugin.check(PROVIDER, {**INPUTS, "org": "globex"})
    assert checked.failures == [("org", "org: organization 'globex' was not found (or its tokens are not visible)")]


# -- preview and credentials -----------------------------------------------------------------------------


def test_preview_with_unknowns_calls_nothing(dockerhub_plugin: Plugin, dockerhub: DockerHubSandbox) -> None:
    checked, created = create(dockerhub_plugin, dockerhub)
    dockerhub.reset_log()

    fresh = preview(dockerhub_plugin, PROVIDER, {**INPUTS, "org": UNKNOWN})
    assert fresh.check.failures == [] and isinstance(fresh.check.inputs["org"], Unknown)
    named_later = preview(dockerhub_plugin, PROVIDER, {**INPUTS, "label": UNKNOWN})
    assert named_later.check.failures == []

    rescoped = preview(
        dockerhub_plugin,
        PROVIDER,
        {**INPUTS, "resources": [repo_resource(f"{ORG}/*", UNKNOWN)]},
        id_=created.id,
        old_inputs=checked.inputs,
        old_outs=created.outs,
    )
    assert rescoped.check.failures == []
    assert rescoped.diff is not None and (rescoped.diff.changes, rescoped.diff.replaces) == (True, [])
    moved = preview(
        dockerhub_plugin,
        PROVIDER,
        {**INPUTS, "org": UNKNOWN},
        id_=created.id,
        old_inputs=checked.inputs,
        old_outs=created.outs,
    )
    assert moved.diff is not None and (moved.diff.changes, moved.diff.replaces) == (True, ["org"])
    assert dockerhub.requests_log == [], "check and diff with unknowns must not call Docker Hub"


def test_without_credentials_check_skips_the_lookup_and_create_names_the_setting(dockerhub: DockerHubSandbox) -> None:
    assert "DOCKER_HUB_USERNAME" not in os.environ and "DOCKER_HUB_TOKEN" not in os.environ
    dockerhub.seed_token(ORG, "ci-pull")  # would collide, were it looked up
    with Plugin() as unconfigured:
        unconfigured.configure({"endpoints": {"dockerHub": dockerhub.url}})
        checked = unconfigured.check(PROVIDER, INPUTS)
        assert checked.failures == []
        with pytest.raises(PluginError) as missing:
            unconfigured.create(PROVIDER, checked.inputs)
    assert missing.value.message == (
        "components.providers._settings.SettingError: missing setting dockerHubUsername: set the stack config "
        "key docker-desktop-rollout:dockerHubUsername (pulumi config set dockerHubUsername <value>) or the "
        "environment variable DOCKER_HUB_USERNAME"
    )
    assert dockerhub.requests_log == []
