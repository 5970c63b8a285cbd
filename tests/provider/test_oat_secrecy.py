"""An organization access token's value never appears outside the secret output `token`.

Everything the provider and the client let out is captured - the plugin's stdout and stderr, every
failed RPC's message and traceback, every client exception, the client's DEBUG log lines, the
pickled provider in state, and the create, read and update outputs minus `token` - and searched for
the values the stand-in issued (and for the owner's PAT). Under the mock runtime the resource is
seen to register `additional_secret_outputs=["token"]`, which makes the engine store `token`
encrypted.
"""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Iterable
from typing import Any

import pulumi
import pytest
from pulumi.runtime import mocks
from pulumi.runtime.proto import resource_pb2

from components.clients import ClientError
from components.clients.dockerhub import TokenResource
from components.providers.org_access_token import OrgAccessToken, OrgAccessTokenArgs, OrgAccessTokenProvider
from sandbox import Fault
from sandbox.dockerhub import DockerHubSandbox
from tests.dockerhub_fixtures import (
    ORG,
    OWNER_PAT,
    SECRET_CONFIG_KEYS,
    TOKEN_INPUTS,
    TOKENS_PATH,
    dockerhub_client,
    dockerhub_config,
    repo_resource,
)
from tests.harness.plugin import Plugin, PluginError, serialize

pytest_plugins = ("tests.dockerhub_fixtures",)
pytestmark = pytest.mark.slow

PROVIDER = OrgAccessTokenProvider(orphan_wait_s=0.5)
TOKENS = TOKENS_PATH
INPUTS = TOKEN_INPUTS


def assert_no_secret(secrets: Iterable[str], captured: Iterable[str]) -> None:
    secrets, captured = list(secrets), list(captured)
    assert secrets and all(len(secret) > 20 for secret in secrets)
    assert captured and any(captured), "nothing was captured: the search would prove nothing"
    leaks = [(secret[:12], text[:200]) for secret in secrets for text in captured if secret in text]
    assert leaks == []


def without_token(outs: dict[str, Any]) -> str:
    assert "token" in outs
    return json.dumps({k: v for k, v in outs.items() if k != "token"})


def test_the_plugin_keeps_token_values_in_the_token_output_only(dockerhub: DockerHubSandbox) -> None:
    captured: list[str] = []
    values: set[str] = set()

    def failing(call: Any, *args: Any) -> None:
        with pytest.raises(PluginError) as error:
            call(*args)
        captured.extend([error.value.message, error.value.details, str(error.value)])

    with Plugin() as plugin:
        plugin.configure(dockerhub_config(dockerhub), secret_keys=SECRET_CONFIG_KEYS)
        checked = plugin.check(PROVIDER, INPUTS)
        created = plugin.create(PROVIDER, checked.inputs)
        values.add(created.outs["token"])
        captured.append(without_token(created.outs))

        # a lost answer: an orphan is made, found and deleted, and a second token created
        dockerhub.faults.add(Fault.drop_after(method="POST", path=TOKENS))
        other_inputs = {**INPUTS, "label": "cd-push"}
        other = plugin.create(PROVIDER, plugin.check(PROVIDER, other_inputs).inputs)
        values.add(other.outs["token"])
        captured.append(without_token(other.outs))

        read = plugin.read(PROVIDER, created.id, created.outs, checked.inputs)
        captured.append(without_token(read.outs))
        news = plugin.check(PROVIDER, {**INPUTS, "description": "changed"}, checked.inputs).inputs
        updated = plugin.update(PROVIDER, created.id, read.outs, news)
        captured.append(without_token(updated.outs))

        # failures, each with the token in the state the RPC carries
        collision = plugin.check(PROVIDER, other_inputs)
        captured.extend(reason for _, reason in collision.failures)
        dockerhub.faults.add(Fault.status(500, method="PATCH", body={"detail": "boom"}))
        failing(plugin.update, PROVIDER, created.id, updated.outs, {**news, "description": "again"})
        dockerhub.faults.add(Fault.status(403, times=5, method="GET", path=f"{TOKENS}/.+"))
        failing(plugin.read, PROVIDER, created.id, updated.outs)
        dockerhub.faults.clear()
        dockerhub.faults.add(Fault.drop_after(times=2, method="POST", path=TOKENS))
        failing(plugin.create, PROVIDER, plugin.check(PROVIDER, {**INPUTS, "label": "lost"}).inputs)

        plugin.delete(PROVIDER, created.id, updated.outs)
        plugin.delete(PROVIDER, other.id, other.outs)
    captured.append(plugin.log)  # complete once the plugin has exited
    captured.append(base64.b64decode(serialize(PROVIDER)).decode("latin-1"))

    assert updated.outs["token"] == created.outs["token"] and len(values) == 2
    assert any("got no definite answer twice" in text for text in captured), "the failures were captured"
    assert_no_secret([*values, OWNER_PAT], captured)


def test_the_client_keeps_token_values_out_of_errors_and_logs(
    dockerhub: DockerHubSandbox, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    client = dockerhub_client(dockerhub)
    captured: list[str] = [repr(client)]
    resource = TokenResource("TYPE_REPO", f"{ORG}/*", ("scope-image-pull",))
    created = client.create_org_access_token(ORG, label="ci", description="", resources=[resource], expires_at=None)
    captured += [repr(created), repr(created.token), str(created.token)]

    def failing(call: Any, *args: Any, **kwargs: Any) -> None:
        with pytest.raises(ClientError) as error:
            call(*args, **kwargs)
        captured.append(str(error.value))

    # a service that echoes the value in an error body: the client registered it as a secret
    echo = {"detail": f"token {created.value} is in use", "value": created.value.removeprefix("dckr_oat_")}
    dockerhub.faults.add(Fault.status(400, method="PATCH", body=echo))
    failing(client.update_org_access_token, ORG, created.token.id, label="x")
    failing(client.get_org_access_token, ORG, "no-such-token")
    dockerhub.faults.add(Fault.drop_after(method="POST", path=TOKENS))
    failing(client.create_org_access_token, ORG, label="lost", description="", resources=[resource], expires_at=None)
    lost = next(token for token in dockerhub.tokens(ORG) if token.label == "lost")
    bad = type(client)(dockerhub.url, "owner", "dckr_pat_" + "x" * 24)
    failing(bad.list_org_access_tokens, ORG)

    captured += [record.getMessage() for record in caplog.records]
    assert any("[redacted]" in text for text in captured), "the echoed value was redacted, not absent"
    assert any("/access-tokens" in record.getMessage() for record in caplog.records), "DEBUG lines were captured"
    assert_no_secret([created.value, OWNER_PAT, "dckr_pat_" + "x" * 24], captured)
    assert lost.value not in "".join(captured)


# -- the engine's side: additional_secret_outputs --------------------------------------------------------


class RecordingMonitor(mocks.MockMonitor):
    """The mock engine, keeping every RegisterResource request as the SDK sent it."""

    def __init__(self, mock: mocks.Mocks) -> None:
        super().__init__(mock)
        self.registered: list[resource_pb2.RegisterResourceRequest] = []

    def RegisterResource(self, request: resource_pb2.RegisterResourceRequest) -> Any:
        self.registered.append(request)
        return super().RegisterResource(request)  # type: ignore[no-untyped-call]


class TokenMocks(mocks.Mocks):
    def new_resource(self, args: mocks.MockResourceArgs) -> tuple[str | None, dict[Any, Any]]:
        return f"{args.name}-id", {k: v for k, v in args.inputs.items() if k != "__provider"}

    def call(self, args: mocks.MockCallArgs) -> tuple[dict[Any, Any], list[tuple[str, str]] | None]:
        return {}, None


def test_the_resource_registers_token_as_an_additional_secret_output() -> None:
    token_mocks = TokenMocks()
    monitor = RecordingMonitor(token_mocks)
    mocks.set_mocks(token_mocks, project="docker-desktop-rollout", stack="test", preview=False, monitor=monitor)
    args = OrgAccessTokenArgs(org=ORG, label="ci", description="", resources=[repo_resource()], expires_in_days=30)

    @pulumi.runtime.test  # type: ignore[untyped-decorator]
    def program() -> pulumi.Output[Any]:
        plain = OrgAccessToken("plain", args)
        extra = OrgAccessToken("extra", args, pulumi.ResourceOptions(additional_secret_outputs=["last_used_at"]))
        return pulumi.Output.all(plain.token_id, extra.token_id)

    program()
    tokens = {request.name: request for request in monitor.registered if request.name in ("plain", "extra")}
    assert {name: request.type for name, request in tokens.items()} == {
        "plain": "pulumi-python:dynamic/dockerhub:OrgAccessToken",
        "extra": "pulumi-python:dynamic/dockerhub:OrgAccessToken",
    }
    assert list(tokens["plain"].additionalSecretOutputs) == ["token"]
    assert sorted(tokens["extra"].additionalSecretOutputs) == ["last_used_at", "token"], "merged, not replaced"
