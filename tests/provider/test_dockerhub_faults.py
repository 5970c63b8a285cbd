"""Docker Hub misbehaving under the real plugin: rate limits, 5xx bursts, lost answers, lagging lists.

Whatever happens, the org ends with exactly one token for the label (and its value is the one in
the outputs) or, when the create cannot be confirmed, none at all and an error that says so. Waits
stay tiny: faults carry `Retry-After: 0`, and the orphan search is bounded by a short
`orphan_wait_s`.
"""

from __future__ import annotations

import re
from typing import Any, Literal

import pytest

from components.providers.org_access_token import OrgAccessTokenProvider
from sandbox import Fault
from sandbox.dockerhub import DockerHubSandbox
from tests.dockerhub_fixtures import ORG, TOKEN_INPUTS, TOKENS_PATH
from tests.harness.plugin import Plugin, PluginError

pytest_plugins = ("tests.dockerhub_fixtures",)
pytestmark = pytest.mark.slow

PROVIDER = OrgAccessTokenProvider(orphan_wait_s=0.5)
TOKENS = TOKENS_PATH
INPUTS = TOKEN_INPUTS
NO_WAIT = {"Retry-After": "0"}


def create(plugin: Plugin) -> Any:
    checked = plugin.check(PROVIDER, INPUTS)
    assert checked.failures == []
    return plugin.create(PROVIDER, checked.inputs)


def assert_one_token_matching(hub: DockerHubSandbox, outs: dict[str, Any]) -> None:
    [token] = hub.tokens(ORG)
    assert (token.id, token.value, token.label) == (outs["token_id"], outs["token"], "ci-pull")
    assert token.expires_at is not None and outs["expires_at"] == token.expires_at.strftime("%Y-%m-%dT%H:%M:%SZ")


def statuses(hub: DockerHubSandbox, method: str, path: str) -> list[int | None]:
    return [r.status for r in hub.requests_log if r.method == method and re.fullmatch(path, r.path)]


# -- 429 -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("header", ["Retry-After", "X-Retry-After"])
def test_a_429_storm_during_create_ends_with_one_token(
    dockerhub_plugin: Plugin, dockerhub: DockerHubSandbox, header: Literal["Retry-After", "X-Retry-After"]
) -> None:
    # every kind of request of check and create (the mint, the lists, the POST) is refused at first
    dockerhub.faults.add(dockerhub.rate_limit_fault(retry_after=0, header=header, path="/v2/auth/token"))
    dockerhub.faults.add(dockerhub.rate_limit_fault(times=3, retry_after=0, header=header, method="GET", path=TOKENS))
    dockerhub.faults.add(dockerhub.rate_limit_fault(times=2, retry_after=0, header=header, method="POST", path=TOKENS))
    created = create(dockerhub_plugin)
    assert_one_token_matching(dockerhub, created.outs)
    assert statuses(dockerhub, "POST", "/v2/auth/token") == [429, 200]
    assert statuses(dockerhub, "POST", TOKENS) == [429, 429, 201], "a 429 is retried: Docker did not process it"
    assert statuses(dockerhub, "GET", TOKENS)[:4] == [429, 429, 429, 200]


def test_a_429_storm_during_read_is_ridden_out(dockerhub_plugin: Plugin, dockerhub: DockerHubSandbox) -> None:
    created = create(dockerhub_plugin)
    dockerhub.faults.add(dockerhub.rate_limit_fault(times=4, retry_after=0, method="GET"))
    read = dockerhub_plugin.read(PROVIDER, created.id, created.outs)
    assert read.outs == created.outs
    assert statuses(dockerhub, "GET", f"{TOKENS}/.+") == [429, 429, 429, 429, 200]


# -- 5xx -----------------------------------------------------------------------------------------------


def test_a_5xx_burst_during_create_ends_with_one_token(dockerhub_plugin: Plugin, dockerhub: DockerHubSandbox) -> None:
    dockerhub.faults.add(Fault.status(503, times=3, headers=NO_WAIT, method="GET", path=TOKENS))
    dockerhub.faults.add(Fault.status(502, headers=NO_WAIT, method="POST", path=TOKENS))
    created = create(dockerhub_plugin)
    assert_one_token_matching(dockerhub, created.outs)
    # The 502'd POST is not repeated blindly: the label is looked up (nothing new), then created once more.
    assert statuses(dockerhub, "POST", TOKENS) == [502, 201]
    assert [r.method for r in dockerhub.requests_log if r.path == TOKENS][-2:] == ["GET", "POST"]


def test_a_5xx_burst_during_read_is_ridden_out(dockerhub_plugin: Plugin, dockerhub: DockerHubSandbox) -> None:
    created = create(dockerhub_plugin)
    dockerhub.faults.add(Fault.status(500, times=2, headers=NO_WAIT, method="GET"))
    dockerhub.faults.add(Fault.status(504, headers=NO_WAIT, method="GET"))
    read = dockerhub_plugin.read(PROVIDER, created.id, created.outs)
    assert read.outs == created.outs
    assert statuses(dockerhub, "GET", f"{TOKENS}/.+") == [500, 500, 504, 200]


# -- lost answers --------------------------------------------------------------------------------------


def test_a_lost_create_answer_leaves_exactly_the_token_in_the_outputs(
    dockerhub_plugin: Plugin, dockerhub: DockerHubSandbox
) -> None:
    dockerhub.faults.add(Fault.drop_after(method="POST", path=TOKENS))
    created = create(dockerhub_plugin)
    assert_one_token_matching(dockerhub, created.outs)
    assert statuses(dockerhub, "POST", TOKENS) == [None, 201]
    [orphan_delete] = [r for r in dockerhub.requests_log if r.method == "DELETE"]
    assert orphan_delete.status == 204 and orphan_delete.path != f"{TOKENS}/{created.id}"


def test_a_lost_answer_is_found_although_the_list_lags(dockerhub_plugin: Plugin, dockerhub: DockerHubSandbox) -> None:
    dockerhub.consistency_delay = 0.2  # a new token stays out of lists for 0.2 s, like a lagging replica
    dockerhub.faults.add(Fault.drop_after(method="POST", path=TOKENS))
    created = create(dockerhub_plugin)
    dockerhub.consistency.settle()
    assert_one_token_matching(dockerhub, created.outs)
    assert [r.status for r in dockerhub.requests_log if r.method == "DELETE"] == [204]
    assert dockerhub.count("GET", f"^{TOKENS}$") >= 3, "the first look after the lost answer saw nothing yet"


def test_two_lost_answers_leave_no_token_and_say_so(dockerhub_plugin: Plugin, dockerhub: DockerHubSandbox) -> None:
    dockerhub.faults.add(Fault.drop_after(times=2, method="POST", path=TOKENS))
    with pytest.raises(PluginError) as failed:
        create(dockerhub_plugin)
    assert dockerhub.tokens() == []
    assert statuses(dockerhub, "POST", TOKENS) == [None, None]
    assert [r.status for r in dockerhub.requests_log if r.method == "DELETE"] == [204, 204]
    assert failed.value.message == (
        "components.providers.org_access_token.OrgAccessTokenCreateError: creating the organization access token "
        f"'ci-pull' in {ORG} got no definite answer twice; any token either attempt made was deleted, so the org "
        "holds no token for this label. Run the update again. The last answer: "
        f"POST {dockerhub.url}{TOKENS}: the response was lost and the request may have been applied "
        "(ProtocolError: ('Connection aborted.', RemoteDisconnected('Remote end closed connection without response')))"
    )


def test_a_5xx_then_a_lost_answer_leave_no_token(dockerhub_plugin: Plugin, dockerhub: DockerHubSandbox) -> None:
    dockerhub.faults.add(Fault.status(500, method="POST", path=TOKENS))
    dockerhub.faults.add(Fault.drop_after(method="POST", path=TOKENS))
    with pytest.raises(PluginError) as failed:
        create(dockerhub_plugin)
    assert dockerhub.tokens() == []
    assert statuses(dockerhub, "POST", TOKENS) == [500, None]
    assert failed.value.message.startswith(
        "components.providers.org_access_token.OrgAccessTokenCreateError: creating the organization access token "
        f"'ci-pull' in {ORG} got no definite answer twice; any token either attempt made was deleted, so the org "
        f"holds no token for this label. Run the update again. The last answer: POST {dockerhub.url}{TOKENS}: "
        "the response was lost"
    )


def test_a_pre_existing_token_with_the_label_survives_a_lost_answer(
    dockerhub_plugin: Plugin, dockerhub: DockerHubSandbox
) -> None:
    """A replacement creates its token while the old one (same label) still exists: never delete that one."""
    first = create(dockerhub_plugin)
    dockerhub.faults.add(Fault.drop_after(method="POST", path=TOKENS))
    second = dockerhub_plugin.create(PROVIDER, dockerhub_plugin.check(PROVIDER, INPUTS, INPUTS).inputs)
    assert {token.id for token in dockerhub.tokens(ORG)} == {first.id, second.id}
    assert dockerhub.token(first.id).value == first.outs["token"]
    assert dockerhub.token(second.id).value == second.outs["token"]
