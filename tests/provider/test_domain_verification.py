"""`DomainVerification` through the real plugin, against the DNS stand-in (UDP) and the Docker Hub stand-in.

The provider runs in the plugin process; what it resolved and looked up comes back over the wire,
and the stand-ins' own logs say what it asked (and that it wrote nothing).
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from components.providers.domain_verification import DomainVerificationProvider
from components.spec import RolloutSpec
from components.stack_config import load_stack
from sandbox.dns import DnsSandbox
from sandbox.dockerhub import DockerHubSandbox
from sandbox.serve import DEMO_DOMAIN, DEMO_OWNER, DEMO_PAT, DEMO_TXT, demo_hub
from tests.dockerhub_fixtures import ORG, OWNER, SECRET_CONFIG_KEYS, dockerhub_config, make_dockerhub
from tests.harness.plugin import UNKNOWN, Plugin, preview
from tests.stacks import REPO_ROOT

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("provider_domain_verification")]

MEMBER, MEMBER_PASSWORD = "acme-dev", "dev-password-1"
EXPECTED = "docker-verification=3f1c0d2e-provider-test"
PROPAGATION = "Docker allows up to 72 hours for DNS propagation"
VERIFIED_AT = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)


@pytest.fixture(scope="module")
def dns_server() -> Iterator[DnsSandbox]:
    zone = {
        "verified.example.test": ["v=spf1 include:_spf.example.test -all", EXPECTED],
        "mismatch.example.test": ["docker-verification=stale-value", "google-site-verification=abc"],
        "other-txt.example.test": ["v=spf1 -all"],
        "_docker.sub.example.test": [EXPECTED],
    }
    with DnsSandbox(zone) as server:
        yield server


@pytest.fixture(scope="module")
def hub() -> Iterator[DockerHubSandbox]:
    with make_dockerhub() as server:
        server.add_user(MEMBER, MEMBER_PASSWORD)
        server.add_member(ORG, MEMBER)
        verify = "org.domain.verify"
        server.record_event(ORG, verify, actor=OWNER, data={"domain": "verified.example.test"}, timestamp=VERIFIED_AT)
        older = datetime(2026, 10, 1, tzinfo=UTC)
        server.record_event(ORG, verify, actor=OWNER, data={"domain": "verified.example.test"}, timestamp=older)
        newer = datetime(2026, 12, 1, tzinfo=UTC)
        server.record_event(ORG, verify, actor=OWNER, data={"domain": "elsewhere.example.test"}, timestamp=newer)
        server.record_event(ORG, "org.domain.create", data={"domain": "verified.example.test"}, timestamp=newer)
        yield server


def hub_plugin(config: dict[str, Any]) -> Plugin:
    """A plugin configured as `pulumi up` would configure it with this stack config."""
    assert "DOCKER_HUB_USERNAME" not in os.environ and "DOCKER_HUB_TOKEN" not in os.environ
    plugin = Plugin()
    plugin.configure(config, secret_keys=SECRET_CONFIG_KEYS)
    return plugin


@pytest.fixture(scope="module")
def plugin(hub: DockerHubSandbox) -> Iterator[Plugin]:
    """Configured with the owner's credentials (one plugin for the module: it starts a process)."""
    with hub_plugin(dict(dockerhub_config(hub))) as running:
        yield running


def inputs(dns_server: DnsSandbox, domain: str, **overrides: Any) -> dict[str, Any]:
    return {
        "domain": domain,
        "expected_value": EXPECTED,
        "record_name": "@",
        "nameservers": ["127.0.0.1"],
        "port": dns_server.port,
        "org": ORG,
        "timeout_seconds": 2.0,
        **overrides,
    }


def create(plugin: Plugin, props: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    provider = DomainVerificationProvider()
    checked = plugin.check(provider, props)
    assert checked.failures == []
    created = plugin.create(provider, checked.inputs)
    return created.id, created.outs


def outputs(outs: dict[str, Any]) -> dict[str, Any]:
    """The computed outputs; a None output does not travel over the wire, so absent means None."""
    return {k: outs.get(k) for k in ("status", "found_values", "detail", "verify_event_at", "audit_log")}


# --- status -------------------------------------------------------------------------------------------


def test_verified_reports_the_audit_event(plugin: Plugin, dns_server: DnsSandbox, hub: DockerHubSandbox) -> None:
    id_, outs = create(plugin, inputs(dns_server, "verified.example.test"))
    assert id_ == "verified.example.test"
    assert outputs(outs) == {
        "status": "verified",
        "found_values": [EXPECTED],
        "detail": "TXT verified.example.test holds the expected value",
        "verify_event_at": "2026-11-02T09:30:00Z",
        "audit_log": "checked",
    }


def test_mismatch_lists_what_was_found(plugin: Plugin, dns_server: DnsSandbox) -> None:
    _id, outs = create(plugin, inputs(dns_server, "mismatch.example.test"))
    assert outputs(outs) == {
        "status": "mismatch",
        "found_values": ["docker-verification=stale-value"],
        "detail": f"TXT mismatch.example.test holds docker-verification=stale-value, not {EXPECTED}",
        "verify_event_at": None,
        "audit_log": "checked",
    }


@pytest.mark.parametrize(
    ("domain", "reason"),
    [
        ("pending.example.test", "pending.example.test does not exist (NXDOMAIN)"),
        ("other-txt.example.test", "other-txt.example.test has no docker-verification= TXT value"),
    ],
)
def test_pending_when_nothing_is_there_yet(plugin: Plugin, dns_server: DnsSandbox, domain: str, reason: str) -> None:
    _id, outs = create(plugin, inputs(dns_server, domain))
    assert (outs["status"], outs["found_values"], outs["detail"]) == ("pending", [], f"{reason}; {PROPAGATION}")


def test_record_name_below_the_domain(plugin: Plugin, dns_server: DnsSandbox) -> None:
    id_, outs = create(plugin, inputs(dns_server, "sub.example.test", record_name="_docker"))
    assert (id_, outs["status"]) == ("_docker.sub.example.test", "verified")


def test_a_resolver_timeout_is_pending(plugin: Plugin) -> None:
    """A UDP port held by a socket that never answers: the resolver can only time out."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as silent:
        silent.bind(("127.0.0.1", 0))
        port = silent.getsockname()[1]
        props = {
            "domain": "slow.example.test",
            "expected_value": EXPECTED,
            "record_name": "@",
            "nameservers": ["127.0.0.1"],
            "port": port,
            "timeout_seconds": 0.2,
        }
        _id, outs = create(plugin, props)
        silent.settimeout(0)
        question, _sender = silent.recvfrom(512)  # the query did reach the silent server
    assert b"slow" in question
    assert outputs(outs) == {
        "status": "pending",
        "found_values": [],
        "detail": f"no answer for TXT slow.example.test within 0.2 s from 127.0.0.1:{port}; {PROPAGATION}",
        "verify_event_at": None,
        "audit_log": "not configured",
    }


# --- drift and updates --------------------------------------------------------------------------------


def test_read_shows_drift(plugin: Plugin, dns_server: DnsSandbox) -> None:
    name = "drift.example.test"
    dns_server.set_txt(name, [EXPECTED])
    provider = DomainVerificationProvider()
    props = plugin.check(provider, inputs(dns_server, name)).inputs
    created = plugin.create(provider, props)
    assert created.outs["status"] == "verified"

    dns_server.remove(name)
    gone = plugin.read(provider, created.id, created.outs, props)
    assert gone.id == created.id, "the check still exists when the record does not"
    assert (gone.outs["status"], gone.outs["found_values"]) == ("pending", [])
    assert gone.outs["detail"] == f"{name} does not exist (NXDOMAIN); {PROPAGATION}"

    dns_server.set_txt(name, ["docker-verification=replaced-by-someone"])
    changed = plugin.read(provider, created.id, gone.outs, props)
    assert (changed.outs["status"], changed.outs["found_values"]) == (
        "mismatch",
        ["docker-verification=replaced-by-someone"],
    )
    # Drift in what DNS says is an output change: `pulumi up` does not re-run the check for it.
    assert plugin.diff(provider, created.id, changed.outs, props).changes is False


def test_changed_inputs_update_in_place_and_recheck(plugin: Plugin, dns_server: DnsSandbox) -> None:
    provider = DomainVerificationProvider()
    old = plugin.check(provider, inputs(dns_server, "mismatch.example.test")).inputs
    created = plugin.create(provider, old)
    new = plugin.check(
        provider, inputs(dns_server, "mismatch.example.test", expected_value="docker-verification=stale-value"), old
    ).inputs
    diff = plugin.diff(provider, created.id, created.outs, new)
    assert (diff.changes, diff.replaces) == (True, [])
    updated = plugin.update(provider, created.id, created.outs, new)
    assert (updated.outs["status"], updated.outs["expected_value"]) == ("verified", "docker-verification=stale-value")


def test_delete_writes_nothing(plugin: Plugin, dns_server: DnsSandbox, hub: DockerHubSandbox) -> None:
    provider = DomainVerificationProvider()
    id_, outs = create(plugin, inputs(dns_server, "verified.example.test"))
    plugin.delete(provider, id_, outs)
    after = plugin.read(provider, id_, outs)
    assert after.outs["status"] == "verified", "the record is untouched"
    assert {(r.method, r.path) for r in hub.requests_log} <= {
        ("POST", "/v2/auth/token"),
        ("GET", f"/v2/auditlogs/{ORG}"),
    }
    assert {kind for _name, kind in dns_server.queries} == {"TXT"}


# --- the audit log ------------------------------------------------------------------------------------


def test_without_hub_credentials_no_event_and_no_error(hub: DockerHubSandbox, dns_server: DnsSandbox) -> None:
    hub.reset_log()
    with hub_plugin({"endpoints": {"dockerHub": hub.url}}) as bare:
        _id, outs = create(bare, inputs(dns_server, "verified.example.test"))
    assert (outs["status"], outs.get("verify_event_at"), outs["audit_log"]) == ("verified", None, "not configured")
    assert hub.requests_log == []


def test_an_audit_log_the_credential_cannot_read_is_reported_not_raised(
    hub: DockerHubSandbox, dns_server: DnsSandbox
) -> None:
    member_config = {**dockerhub_config(hub), "dockerHubUsername": MEMBER, "dockerHubToken": MEMBER_PASSWORD}
    with hub_plugin(member_config) as member:
        _id, outs = create(member, inputs(dns_server, "verified.example.test"))
    assert (outs["status"], outs.get("verify_event_at")) == ("verified", None)
    assert outs["audit_log"] == "unavailable: Docker Hub answered 403 to the audit-log request"


def test_no_org_no_lookup(plugin: Plugin, dns_server: DnsSandbox) -> None:
    _id, outs = create(plugin, inputs(dns_server, "verified.example.test", org=None))
    assert (outs.get("verify_event_at"), outs["audit_log"]) == (None, "not configured")


# --- check and preview --------------------------------------------------------------------------------


def test_check_names_each_bad_field(plugin: Plugin, dns_server: DnsSandbox) -> None:
    bad = inputs(
        dns_server,
        "Acme.COM",
        expected_value="verify-me",
        nameservers=["dns.example"],
        port=70000,
        org="Acme",
        timeout_seconds=0,
    )
    assert plugin.check(DomainVerificationProvider(), bad).failures == [
        ("domain", "domain must be a lowercase DNS domain name"),
        ("expected_value", "expected_value must be the Admin Console's TXT Record Value, docker-verification=<value>"),
        ("nameservers[0]", "nameservers[0] must be an IP address"),
        ("port", "port must be an integer at least 1 and at most 65535"),
        ("org", "org must be a Docker organization name"),
        ("timeout_seconds", "timeout_seconds must be a number above 0 and at most 30"),
    ]


def test_preview_resolves_nothing(plugin: Plugin, dns_server: DnsSandbox) -> None:
    before = len(dns_server.queries)
    provider = DomainVerificationProvider()
    old = plugin.check(provider, inputs(dns_server, "verified.example.test")).inputs
    _id, outs = create(plugin, old)
    asked = len(dns_server.queries)
    assert asked == before + 1
    planned = preview(
        plugin,
        provider,
        inputs(dns_server, "verified.example.test", expected_value=UNKNOWN),
        id_="verified.example.test",
        old_inputs=old,
        old_outs=outs,
    )
    assert planned.check.failures == []
    assert planned.diff is not None and (planned.diff.changes, planned.diff.replaces) == (True, [])
    assert len(dns_server.queries) == asked


def test_a_broken_record_name_or_missing_port(plugin: Plugin, dns_server: DnsSandbox) -> None:
    bad = inputs(dns_server, "acme.test", record_name="a b", port=None)
    assert plugin.check(DomainVerificationProvider(), bad).failures == [
        ("record_name", "record_name must be @ (the domain itself) or a relative DNS name"),
        ("port", "port is required"),
    ]


# --- the sandbox demo ---------------------------------------------------------------------------------


def test_the_sandbox_stack_verifies_against_the_sandbox_demo() -> None:
    """`rollout sandbox serve` seeds what `stacks/Pulumi.sandbox.yaml` declares: DNS value and audit event."""
    spec = RolloutSpec.from_config(load_stack("sandbox", REPO_ROOT / "stacks").areas, offline=True)
    assert spec.docker is not None
    domain = spec.docker.domains[0]
    assert (domain.name, domain.verification_value) == (DEMO_DOMAIN, DEMO_TXT)
    with demo_hub("127.0.0.1", 0) as hub, DnsSandbox({DEMO_DOMAIN: [DEMO_TXT]}) as dns_server:
        config = {"endpoints": {"dockerHub": hub.url}, "dockerHubUsername": DEMO_OWNER, "dockerHubToken": DEMO_PAT}
        with hub_plugin(config) as sandbox_plugin:
            props = inputs(dns_server, domain.name, expected_value=domain.verification_value, org=spec.docker.org)
            _id, outs = create(sandbox_plugin, props)
    assert (outs["status"], outs["audit_log"]) == ("verified", "checked")
    assert outs.get("verify_event_at") is not None
