"""Docker Hub fixtures for client, provider and component tests: a seeded stand-in and a plugin wired to it.

Load them in a test module with `pytest_plugins = ("tests.dockerhub_fixtures",)`, then ask for:

- `dockerhub`: a started `DockerHubSandbox`, fresh per test: org `ORG` (`acme`, business plan) owned
  by `OWNER` (`owner`), who signs in with the PAT `OWNER_PAT`;
- `dockerhub_plugin`: a real `python -m pulumi.dynamic` plugin (`tests.harness.plugin.Plugin`)
  configured, as the engine would, with the stack config of `dockerhub_config(dockerhub)`.

Constants: `TOKEN_INPUTS` (one token's inputs) and `TOKENS_PATH` (its collection route).

Helpers: `make_dockerhub(**kwargs)` for a stand-in with another clock, JWT lifetime or consistency
delay (not started); `dockerhub_config(hub)` for the stack config; `dockerhub_client(hub, **kwargs)`
for a `DockerHubClient` signed in as the owner; `repo_resource(...)` / `org_resource(...)` for token
resources.

Test modules import the helpers before pytest loads this module as a plugin, so it cannot be
assertion-rewritten (it asserts nothing): PYTEST_DONT_REWRITE.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from components.clients.dockerhub import DockerHubClient
from sandbox.dockerhub import DockerHubSandbox
from tests.harness.plugin import ConfigValue, Plugin

ORG = "acme"
OWNER = "owner"
OWNER_PAT = "dckr_pat_OWNER7f3c9a1e5b2d8046"
SECRET_CONFIG_KEYS = frozenset({"dockerHubToken"})
"""The stack config keys the engine would send as secrets."""


TOKENS_PATH = f"/v2/orgs/{ORG}/access-tokens"
TOKEN_INPUTS: dict[str, Any] = {
    "org": ORG,
    "label": "ci-pull",
    "description": "CI pulls images",
    "resources": [{"type": "TYPE_REPO", "path": f"{ORG}/*", "scopes": ["scope-image-pull"]}],
    "expires_in_days": 30,
}
"""The inputs of one `OrgAccessToken`, as the provider tests create it."""


def make_dockerhub(**kwargs: Any) -> DockerHubSandbox:
    """The seeded stand-in, not started; `kwargs` go to `DockerHubSandbox` (clock, token_ttl, ...)."""
    return DockerHubSandbox({OWNER: OWNER_PAT}, {ORG: {"owners": [OWNER], "plan": "business"}}, **kwargs)


def dockerhub_config(hub: DockerHubSandbox, *, token: str = OWNER_PAT) -> dict[str, ConfigValue]:
    """The stack config (unnamespaced keys) that points the Docker Hub providers at `hub` as the owner."""
    return {"endpoints": {"dockerHub": hub.url}, "dockerHubUsername": OWNER, "dockerHubToken": token}


def dockerhub_client(hub: DockerHubSandbox, **kwargs: Any) -> DockerHubClient:
    """A client of `hub` signed in as the owner; `kwargs` go to `DockerHubClient` (retry, clock, page_size)."""
    return DockerHubClient(hub.url, OWNER, OWNER_PAT, **kwargs)


def repo_resource(path: str = f"{ORG}/*", *scopes: str) -> dict[str, Any]:
    return {"type": "TYPE_REPO", "path": path, "scopes": list(scopes or ("scope-image-pull",))}


def org_resource(*scopes: str, path: str = ORG) -> dict[str, Any]:
    return {"type": "TYPE_ORG", "path": path, "scopes": list(scopes or ("scope-member-read",))}


@pytest.fixture
def dockerhub() -> Iterator[DockerHubSandbox]:
    with make_dockerhub() as hub:
        yield hub


@pytest.fixture
def dockerhub_plugin(dockerhub: DockerHubSandbox) -> Iterator[Plugin]:
    with Plugin() as plugin:
        plugin.configure(dockerhub_config(dockerhub), secret_keys=SECRET_CONFIG_KEYS)
        yield plugin
