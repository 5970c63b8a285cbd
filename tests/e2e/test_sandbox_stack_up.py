"""The sandbox stack deploys against `rollout sandbox serve`'s stand-ins: a miniature `pulumi up`.

The real program runs under the mock runtime with `stacks/Pulumi.sandbox.yaml`, which yields exactly
what the engine would hand the provider plugin for every dynamic resource (inputs and the pickled
provider). Those are then applied through the real `python -m pulumi.dynamic` plugin against the
stand-ins `rollout sandbox serve` runs: check + create ("up"), diff (a second "up" changes nothing),
delete ("destroy"). Only the endpoints' ports differ from the stack file (ephemeral, so tests can run
in parallel).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import dill
import pulumi
import pytest
from pulumi.dynamic import ResourceProvider
from pulumi.runtime import mocks, rpc

from components import program
from components.clients.dockerhub import DockerHubClient
from components.spec import PROJECT
from components.stack_config import load_stack
from sandbox.serve import DEMO_ORG, DEMO_OWNER, DEMO_PAT, running_sandboxes
from tests.harness.plugin import Plugin
from tests.stacks import REPO_ROOT

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("plugin")]


@dataclass(frozen=True)
class Planned:
    type: str
    name: str
    inputs: dict[str, Any]
    provider: ResourceProvider


class _PlanMocks(mocks.Mocks):
    """Keep each dynamic resource's inputs and its pickled provider, as the engine would receive them."""

    def __init__(self) -> None:
        self.planned: list[Planned] = []

    def new_resource(self, args: mocks.MockResourceArgs) -> tuple[str | None, dict[Any, Any]]:
        inputs = dict(args.inputs)
        pickled = inputs.pop("__provider", None)
        if pickled is not None:
            text = pickled["value"] if rpc.is_rpc_secret(pickled) else pickled
            provider = dill.loads(base64.b64decode(text))
            self.planned.append(Planned(args.typ, args.name, inputs, provider))
        return f"{args.name}-id", inputs

    def call(self, args: mocks.MockCallArgs) -> tuple[dict[Any, Any], list[tuple[str, str]] | None]:
        return {}, None


@dataclass(frozen=True)
class Sandbox:
    hub_url: str
    dns_port: int


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with running_sandboxes("127.0.0.1", 0, azurite=False) as endpoints:
        urls = {endpoint.name: endpoint.url for endpoint in endpoints}
        yield Sandbox(hub_url=urls["docker-hub"], dns_port=int(urls["dns"].rsplit(":", 1)[1]))


def sandbox_areas(sandbox: Sandbox) -> dict[str, Any]:
    areas = dict(load_stack("sandbox", REPO_ROOT / "stacks").areas)
    areas["endpoints"] = {**areas["endpoints"], "dockerHub": sandbox.hub_url, "dnsPort": sandbox.dns_port}
    return areas


def plan(areas: dict[str, Any]) -> list[Planned]:
    recorder = _PlanMocks()
    pulumi.runtime.set_all_config({f"{PROJECT}:{k}": json.dumps(v) for k, v in areas.items()}, [])
    mocks.set_mocks(recorder, project=PROJECT, stack="sandbox", preview=False)
    mocks.test(program.run)()  # type: ignore[no-untyped-call]
    return recorder.planned


def test_the_sandbox_stack_goes_up_converges_and_comes_down(sandbox: Sandbox) -> None:
    areas = sandbox_areas(sandbox)
    planned = plan(areas)
    assert sorted(p.type.rsplit(":", 1)[1] for p in planned) == [
        "DomainVerification",
        "OrgAccessToken",
        "OrgAccessToken",
        "OrgSettings",
    ]
    hub = DockerHubClient(sandbox.hub_url, DEMO_OWNER, DEMO_PAT)

    with Plugin() as plugin:
        plugin.configure(
            {**areas, "dockerHubUsername": DEMO_OWNER, "dockerHubToken": DEMO_PAT}, secret_keys={"dockerHubToken"}
        )
        # up
        state: dict[str, tuple[Planned, str, dict[str, Any], dict[str, Any]]] = {}
        for resource in planned:
            checked = plugin.check(resource.provider, resource.inputs)
            assert checked.failures == [], resource.name
            created = plugin.create(resource.provider, checked.inputs)
            state[resource.name] = (resource, created.id, checked.inputs, created.outs)

        tokens = {t.label: t for t in hub.list_org_access_tokens(DEMO_ORG)}
        assert set(tokens) == {"ci-pull", "audit-reader"}
        for resource, id_, _inputs, outs in state.values():
            if resource.type.endswith("OrgAccessToken"):
                assert outs["token"].startswith("dckr_oat_") and tokens[outs["label"]].id == id_
            if resource.type.endswith("DomainVerification"):
                assert outs["status"] == "verified" and outs["verify_event_at"]
        assert hub.get_image_access(DEMO_ORG).enabled
        assert [r.address for r in hub.get_registry_access(DEMO_ORG).registries] == ["ghcr.io"]

        # a second up: refresh + diff change nothing
        for resource, id_, inputs, outs in state.values():
            refreshed = plugin.read(resource.provider, id_, outs, inputs)
            assert refreshed.id == id_
            diff = plugin.diff(resource.provider, id_, refreshed.outs, inputs)
            assert diff.changes is False, (resource.name, diff)

        # destroy
        for resource, id_, _inputs, outs in state.values():
            plugin.delete(resource.provider, id_, outs)
        assert hub.list_org_access_tokens(DEMO_ORG) == []
        assert not hub.get_image_access(DEMO_ORG).enabled
    secrets = [outs["token"] for resource, _id, _inputs, outs in state.values() if "token" in outs]
    assert secrets and not any(secret in plugin.log for secret in secrets)
