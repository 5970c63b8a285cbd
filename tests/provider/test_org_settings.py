"""`OrgSettingsProvider` through the real plugin against the Docker Hub stand-in: Image and Registry
Access Management as a singleton per org."""

from __future__ import annotations

from typing import Any

import pytest

from components.clients.dockerhub import CustomRegistry, ImageAccess, RegistryAccess
from components.providers.org_settings import OrgSettingsProvider
from sandbox.dockerhub import DockerHubSandbox
from tests.dockerhub_fixtures import ORG, dockerhub_client
from tests.harness.plugin import UNKNOWN, Plugin, preview

pytest_plugins = ("tests.dockerhub_fixtures",)
pytestmark = pytest.mark.slow

PROVIDER = OrgSettingsProvider()
SETTINGS = f"/v2/orgs/{ORG}/settings"
RAM = f"{SETTINGS}/registry-access-management"
OPEN_IMAGE_ACCESS = ImageAccess(enabled=False, allow_official_images=True, allow_verified_publishers=True)
OPEN_REGISTRY_ACCESS = RegistryAccess(enabled=False, allow_docker_hub=True, registries=())
GHCR = {"address": "ghcr.io", "friendly_name": "GitHub", "allowed": True}
QUAY = {"address": "quay.io", "friendly_name": "Quay", "allowed": True}
INPUTS: dict[str, Any] = {
    "org": ORG,
    "image_access": {"enabled": True, "allow_official_images": True, "allow_verified_publishers": False},
    "registry_access": {"enabled": True, "allow_docker_hub": True, "registries": [QUAY, GHCR]},
}


def calls(hub: DockerHubSandbox) -> list[tuple[str, str, Any]]:
    return [(r.method, r.path, r.json() if r.body else None) for r in hub.requests_log if "/auth/" not in r.path]


def test_lifecycle_puts_reads_and_restores_the_open_defaults(
    dockerhub_plugin: Plugin, dockerhub: DockerHubSandbox
) -> None:
    """Create, read, no-op diff, update, read, delete. Not `run_lifecycle`: a singleton is never gone,
    so delete restores the defaults and a later read still finds the org's settings."""
    plugin, client = dockerhub_plugin, dockerhub_client(dockerhub)
    checked = plugin.check(PROVIDER, INPUTS)
    assert checked.failures == []
    assert checked.inputs["registry_access"]["registries"] == [GHCR, QUAY], "sorted: compared as a set"
    created = plugin.create(PROVIDER, checked.inputs)
    assert (created.id, created.outs) == (ORG, checked.inputs)
    read = plugin.read(PROVIDER, created.id, created.outs, checked.inputs)
    assert (read.id, read.outs) == (ORG, created.outs)
    assert plugin.diff(PROVIDER, created.id, read.outs, checked.inputs).changes is False

    updated_inputs = {
        "org": ORG,
        "image_access": {"enabled": False},
        "registry_access": {"enabled": True, "allow_docker_hub": False, "registries": [GHCR]},
    }
    news = plugin.check(PROVIDER, updated_inputs, checked.inputs)
    assert news.inputs["image_access"] == {
        "enabled": False,
        "allow_official_images": True,
        "allow_verified_publishers": True,
    }
    diff = plugin.diff(PROVIDER, created.id, read.outs, news.inputs)
    assert (diff.changes, diff.replaces) == (True, [])
    updated = plugin.update(PROVIDER, created.id, read.outs, news.inputs)
    assert updated.outs == news.inputs
    reread = plugin.read(PROVIDER, created.id, updated.outs, news.inputs)
    assert reread.outs == updated.outs
    assert client.get_registry_access(ORG) == RegistryAccess(True, False, (CustomRegistry("ghcr.io", "GitHub", True),))

    plugin.delete(PROVIDER, created.id, reread.outs)
    assert (client.get_image_access(ORG), client.get_registry_access(ORG)) == (OPEN_IMAGE_ACCESS, OPEN_REGISTRY_ACCESS)
    open_image = ("PUT", SETTINGS, {"restricted_images": _flags(OPEN_IMAGE_ACCESS)})
    open_registry = (
        "PUT",
        RAM,
        {"enabled": False, "standard_registries": [{"id": "DockerHub", "allowed": True}], "custom_registries": []},
    )
    assert [call for call in calls(dockerhub) if call[0] == "PUT"] == [
        ("PUT", SETTINGS, {"restricted_images": INPUTS["image_access"]}),
        (
            "PUT",
            RAM,
            {
                "enabled": True,
                "standard_registries": [{"id": "DockerHub", "allowed": True}],
                "custom_registries": [GHCR, QUAY],
            },
        ),
        ("PUT", SETTINGS, {"restricted_images": news.inputs["image_access"]}),
        (
            "PUT",
            RAM,
            {
                "enabled": True,
                "standard_registries": [{"id": "DockerHub", "allowed": False}],
                "custom_registries": [GHCR],
            },
        ),
        open_image,  # delete: back to the open defaults
        open_registry,
    ]


def _flags(value: ImageAccess) -> dict[str, bool]:
    return {
        "enabled": value.enabled,
        "allow_official_images": value.allow_official_images,
        "allow_verified_publishers": value.allow_verified_publishers,
    }


def test_a_registry_order_change_is_no_change(dockerhub_plugin: Plugin, dockerhub: DockerHubSandbox) -> None:
    checked = dockerhub_plugin.check(PROVIDER, INPUTS)
    created = dockerhub_plugin.create(PROVIDER, checked.inputs)
    reordered = dockerhub_plugin.check(
        PROVIDER, {**INPUTS, "registry_access": {**INPUTS["registry_access"], "registries": [GHCR, QUAY]}}
    )
    diff = dockerhub_plugin.diff(PROVIDER, created.id, created.outs, reordered.inputs)
    assert diff.changes is False


def test_out_of_band_changes_show_on_read_and_are_put_back(
    dockerhub_plugin: Plugin, dockerhub: DockerHubSandbox
) -> None:
    checked = dockerhub_plugin.check(PROVIDER, INPUTS)
    created = dockerhub_plugin.create(PROVIDER, checked.inputs)
    client = dockerhub_client(dockerhub)
    client.put_image_access(ORG, OPEN_IMAGE_ACCESS)
    client.put_registry_access(ORG, RegistryAccess(True, True, (CustomRegistry("ghcr.io", "GitHub", False),)))

    read = dockerhub_plugin.read(PROVIDER, created.id, created.outs, checked.inputs)
    assert read.outs == {
        "org": ORG,
        "image_access": {"enabled": False, "allow_official_images": True, "allow_verified_publishers": True},
        "registry_access": {
            "enabled": True,
            "allow_docker_hub": True,
            "registries": [{"address": "ghcr.io", "friendly_name": "GitHub", "allowed": False}],
        },
    }
    diff = dockerhub_plugin.diff(PROVIDER, created.id, read.outs, checked.inputs)
    assert (diff.changes, diff.replaces) == (True, [])
    updated = dockerhub_plugin.update(PROVIDER, created.id, read.outs, checked.inputs)
    assert updated.outs == created.outs
    assert client.get_image_access(ORG) == ImageAccess(True, True, False)
    assert client.get_registry_access(ORG).registries == (
        CustomRegistry("ghcr.io", "GitHub", True),
        CustomRegistry("quay.io", "Quay", True),
    )


def test_a_part_never_declared_is_never_touched(dockerhub_plugin: Plugin, dockerhub: DockerHubSandbox) -> None:
    client = dockerhub_client(dockerhub)
    hand_made = RegistryAccess(True, False, (CustomRegistry("ghcr.io", "GitHub", True),))
    client.put_registry_access(ORG, hand_made)
    dockerhub.reset_log()
    inputs = {"org": ORG, "image_access": {"enabled": True}}
    checked = dockerhub_plugin.check(PROVIDER, inputs)
    created = dockerhub_plugin.create(PROVIDER, checked.inputs)
    dockerhub_plugin.read(PROVIDER, created.id, created.outs, checked.inputs)
    dockerhub_plugin.delete(PROVIDER, created.id, created.outs)
    assert {path for _, path, _ in calls(dockerhub)} == {SETTINGS}
    assert client.get_registry_access(ORG) == hand_made
    assert client.get_image_access(ORG) == OPEN_IMAGE_ACCESS


def test_dropping_a_part_restores_its_default(dockerhub_plugin: Plugin, dockerhub: DockerHubSandbox) -> None:
    checked = dockerhub_plugin.check(PROVIDER, INPUTS)
    created = dockerhub_plugin.create(PROVIDER, checked.inputs)
    news = dockerhub_plugin.check(PROVIDER, {"org": ORG, "image_access": INPUTS["image_access"]}, checked.inputs)
    diff = dockerhub_plugin.diff(PROVIDER, created.id, created.outs, news.inputs)
    assert (diff.changes, diff.replaces) == (True, [])
    dockerhub.reset_log()
    updated = dockerhub_plugin.update(PROVIDER, created.id, created.outs, news.inputs)
    assert "registry_access" not in updated.outs
    assert [(m, p) for m, p, _ in calls(dockerhub) if m == "PUT"] == [("PUT", RAM)]
    assert dockerhub_client(dockerhub).get_registry_access(ORG) == OPEN_REGISTRY_ACCESS


def test_another_org_replaces(dockerhub_plugin: Plugin, dockerhub: DockerHubSandbox) -> None:
    checked = dockerhub_plugin.check(PROVIDER, INPUTS)
    created = dockerhub_plugin.create(PROVIDER, checked.inputs)
    news = dockerhub_plugin.check(PROVIDER, {**INPUTS, "org": "globex"})
    diff = dockerhub_plugin.diff(PROVIDER, created.id, created.outs, news.inputs)
    assert (diff.changes, diff.replaces, diff.delete_before_replace) == (True, ["org"], False)


@pytest.mark.parametrize(
    ("inputs", "failures"),
    [
        ({"org": ORG}, [("image_access", "image_access or registry_access (or both) must be declared")]),
        (
            {"org": ORG, "image_access": {"enabled": "yes", "allow_everything": True}},
            [
                (
                    "image_access.allow_everything",
                    "image_access.allow_everything is not a setting; allowed: allow_official_images, "
                    "allow_verified_publishers, enabled",
                ),
                ("image_access.enabled", "image_access.enabled must be true or false"),
            ],
        ),
        ({"org": ORG, "image_access": {}}, [("image_access.enabled", "image_access.enabled is required")]),
        (
            {"org": ORG, "image_access": True},
            [
                (
                    "image_access",
                    "image_access must be an object with keys allow_official_images, allow_verified_publishers, "
                    "enabled",
                )
            ],
        ),
        (
            {
                "org": ORG,
                "registry_access": {
                    "enabled": True,
                    "allow_docker_hub": 1,
                    "registries": [GHCR, {"address": "", "friendly_name": "x", "allowed": "no"}, GHCR],
                },
            },
            [
                ("registry_access.allow_docker_hub", "registry_access.allow_docker_hub must be true or false"),
                ("registry_access.registries[1].address", "registry_access.registries[1].address is required"),
                (
                    "registry_access.registries[1].allowed",
                    "registry_access.registries[1].allowed must be true or false",
                ),
                (
                    "registry_access.registries[2].address",
                    "registry_access.registries[2].address repeats registries[0] ('ghcr.io')",
                ),
            ],
        ),
        (
            {"org": ORG, "registry_access": {"enabled": True, "registries": "ghcr.io"}},
            [("registry_access.registries", "registry_access.registries must be a list of registries")],
        ),
        ({"org": "", "image_access": {"enabled": True}}, [("org", "org is required")]),
    ],
)
def test_check_failures_name_the_field(
    dockerhub_plugin: Plugin, dockerhub: DockerHubSandbox, inputs: dict[str, Any], failures: list[tuple[str, str]]
) -> None:
    assert dockerhub_plugin.check(PROVIDER, inputs).failures == failures
    assert dockerhub.requests_log == []


def test_preview_with_unknowns_calls_nothing(dockerhub_plugin: Plugin, dockerhub: DockerHubSandbox) -> None:
    checked = dockerhub_plugin.check(PROVIDER, INPUTS)
    created = dockerhub_plugin.create(PROVIDER, checked.inputs)
    dockerhub.reset_log()
    unknown_flag = {**INPUTS, "image_access": {"enabled": UNKNOWN}}
    planned = preview(
        dockerhub_plugin, PROVIDER, unknown_flag, id_=created.id, old_inputs=checked.inputs, old_outs=created.outs
    )
    assert planned.check.failures == []
    assert planned.diff is not None and (planned.diff.changes, planned.diff.replaces) == (True, [])
    assert preview(dockerhub_plugin, PROVIDER, {**INPUTS, "org": UNKNOWN}).check.failures == []
    assert dockerhub.requests_log == []
