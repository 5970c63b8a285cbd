"""Fixtures for the sandbox tests: an HTTP session, a controllable clock and a seeded Docker Hub."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
import requests

from sandbox import Clock
from sandbox.dockerhub import DockerHubSandbox

OWNER, OWNER_PAT = "alice", "dckr_pat_alice"
MEMBER, MEMBER_PASSWORD = "bob", "bob-password"
OUTSIDER, OUTSIDER_PAT = "mallory", "dckr_pat_mallory"
TEAM_ORG, BUSINESS_ORG = "acme", "globex"


class FakeClock:
    """Wall-clock seconds that only move when a test says so."""

    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def http() -> Iterator[requests.Session]:
    with requests.Session() as session:
        session.trust_env = False  # never route 127.0.0.1 through a proxy from the environment
        yield session


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def make_hub(*, clock: Clock = time.time, token_ttl: float = 600.0, consistency_delay: float = 0.0) -> DockerHubSandbox:
    """Owner alice of `acme` (team) and `globex` (business); bob a plain member of `acme`."""
    hub = DockerHubSandbox(
        {OWNER: OWNER_PAT, MEMBER: MEMBER_PASSWORD, OUTSIDER: OUTSIDER_PAT},
        {TEAM_ORG: {"owners": [OWNER], "plan": "team"}, BUSINESS_ORG: {"owners": [OWNER], "plan": "business"}},
        clock=clock,
        token_ttl=token_ttl,
        consistency_delay=consistency_delay,
    )
    hub.add_member(TEAM_ORG, MEMBER, email="bob@acme.example", full_name="Bob Builder")
    return hub


@pytest.fixture
def hub() -> Iterator[DockerHubSandbox]:
    with make_hub() as server:
        yield server


def bearer(http: requests.Session, hub: DockerHubSandbox, identifier: str, secret: str) -> dict[str, str]:
    response = http.post(f"{hub.url}/v2/auth/token", json={"identifier": identifier, "secret": secret})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


@pytest.fixture
def owner(http: requests.Session, hub: DockerHubSandbox) -> dict[str, str]:
    return bearer(http, hub, OWNER, OWNER_PAT)


def repo_resource(path: str = f"{TEAM_ORG}/*", *scopes: str) -> dict[str, object]:
    return {"type": "TYPE_REPO", "path": path, "scopes": list(scopes or ["scope-image-pull"])}
