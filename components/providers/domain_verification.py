"""`DomainVerification`: is Docker's TXT verification value visible in DNS, and has Docker verified it?

Docker has no public domain API (research §3.1), so verification itself stays a manual step in the
Admin Console. This resource reports what can be observed from outside, and never writes anything:

- `status`: `verified` when a TXT value at the record equals `expected_value`; `mismatch` when
  `docker-verification=` values are there but none is the expected one (`found_values` lists them);
  `pending` when there is nothing yet. Docker allows up to 72 hours for propagation, so an unknown
  name (NXDOMAIN), an empty answer, a timeout or a failing server are all `pending`, with the reason
  in `detail`, never an error that would stop `pulumi up`.
- `verify_event_at`: the time of the newest `org.domain.verify` event naming the domain in the org's
  audit log, when Docker Hub credentials are configured (`audit_log` says `not configured`
  otherwise). A failed lookup is reported in `audit_log`, not raised: this is a read-only signal.

`read` resolves again, so `pulumi refresh` shows drift (a removed record turns `verified` into
`pending`). A change of inputs is an in-place update: a re-check, never a replace.

Only `docker-verification=` values are reported: an apex TXT set usually also holds SPF and other
vendors' values, which are none of this resource's business and would make every refresh noisy.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi.dynamic

from components.clients import ApiError, ClientError
from components.clients.dockerhub import DockerHubClient, format_timestamp
from components.providers._base import Checks, Props, RolloutProvider, is_unknown
from components.providers._settings import Setting, Settings
from components.providers.dockerhub import (
    DOCKER_HUB_SETTINGS,
    DOCKER_HUB_TOKEN,
    DOCKER_HUB_USERNAME,
    build_dockerhub_client,
)

VERIFICATION_PREFIX = "docker-verification="
VERIFY_ACTION = "org.domain.verify"
"""The audit-log action Docker records when a domain is verified (`<group>.<action>`, research §3.3)."""
DEFAULT_TIMEOUT_SECONDS = 3.0
MAX_TIMEOUT_SECONDS = 30.0

OUTPUTS = ("status", "found_values", "detail", "verify_event_at", "audit_log")

_DOMAIN = r"(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}"
_RECORD_NAME = r"@|[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9])?(\.[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9])?)*"
_IP_ADDRESS = r"[0-9a-fA-F:.]+"
_ORG = r"[a-z0-9][a-z0-9_-]{1,254}"

AUDIT_SETTINGS: tuple[Setting, ...] = tuple(dataclasses.replace(s, required=False) for s in DOCKER_HUB_SETTINGS)
"""Docker Hub's settings, all optional here: without credentials the audit-log lookup is skipped."""


def txt_fqdn(domain: str, record_name: str) -> str:
    """The name the TXT record lives at: `@` is the domain itself, anything else is below it."""
    return domain if record_name == "@" else f"{record_name}.{domain}"


# --- DNS --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TxtLookup:
    """The TXT values at a name (empty when there are none) and, when there are none, why."""

    values: tuple[str, ...]
    reason: str = ""


def lookup_txt(fqdn: str, nameservers: list[str], port: int, timeout: float) -> TxtLookup:
    """Resolve the TXT values at `fqdn` with `nameservers` (empty: the system resolver).

    Every DNS failure the outside world can cause (NXDOMAIN, no answer, timeout, no server willing
    to answer) becomes an empty lookup with its reason; only a broken local resolver configuration
    raises.
    """
    import dns.exception
    import dns.resolver

    resolver = dns.resolver.Resolver(configure=not nameservers)
    if nameservers:
        resolver.nameservers = list(nameservers)
    resolver.port = port
    resolver.timeout = timeout
    resolver.lifetime = timeout
    servers = ", ".join(f"{server}:{port}" for server in resolver.nameservers)
    try:
        answer = resolver.resolve(fqdn + ".", "TXT", raise_on_no_answer=False, search=False)
    except dns.resolver.NXDOMAIN:
        return TxtLookup((), f"{fqdn} does not exist (NXDOMAIN)")
    except dns.exception.Timeout:
        return TxtLookup((), f"no answer for TXT {fqdn} within {timeout:g} s from {servers}")
    except dns.resolver.NoNameservers:
        return TxtLookup((), f"no name server answered TXT {fqdn} ({servers})")
    # One TXT record may be split into several <=255-byte strings; they form one value (RFC 7208 §3.3).
    values = tuple(b"".join(record.strings).decode("utf-8", errors="replace") for record in answer)
    return TxtLookup(values, "" if values else f"{fqdn} has no TXT record")


def classify(lookup: TxtLookup, fqdn: str, expected: str) -> tuple[str, list[str], str]:
    """(status, the docker-verification values found, detail) for a lookup."""
    found = sorted({value for value in lookup.values if value.startswith(VERIFICATION_PREFIX)})
    if expected in found:
        return "verified", found, f"TXT {fqdn} holds the expected value"
    if found:
        return "mismatch", found, f"TXT {fqdn} holds {', '.join(found)}, not {expected}"
    reason = lookup.reason or f"{fqdn} has no {VERIFICATION_PREFIX} TXT value"
    return "pending", found, f"{reason}; Docker allows up to 72 hours for DNS propagation"


# --- the audit log ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class AuditLog:
    """Docker Hub's audit log for the check, or nothing (`hub` None) when no credentials are set."""

    hub: DockerHubClient | None

    def verify_event_at(self, org: str | None, domain: str) -> tuple[str | None, str]:
        """(timestamp of the newest verify event naming `domain`, how the lookup went)."""
        if self.hub is None or not org:
            return None, "not configured"
        try:
            events = self.hub.list_audit_events(org, action=VERIFY_ACTION)
        except ApiError as exc:
            return None, f"unavailable: Docker Hub answered {exc.status} to the audit-log request"
        except ClientError as exc:
            return None, f"unavailable: {type(exc).__name__}"
        newest = max((e.timestamp for e in events if _names_domain(e.name, e.data, domain)), default=None)
        return (None if newest is None else format_timestamp(newest)), "checked"


def _names_domain(name: str, data: Any, domain: str) -> bool:
    """Whether an event is about `domain`. Docker does not document the event's fields, so any
    string field (the event's name or a `data` value) equal to the domain counts."""
    fields = [name, *(data.values() if isinstance(data, dict) else ())]
    return any(isinstance(value, str) and value.lower().rstrip(".") == domain for value in fields)


# --- the provider -----------------------------------------------------------------------------------


class DomainVerificationProvider(RolloutProvider[AuditLog]):
    settings = AUDIT_SETTINGS
    outputs = frozenset(OUTPUTS)

    @classmethod
    def build_client(cls, settings: Settings) -> AuditLog:
        configured = DOCKER_HUB_USERNAME.key in settings and DOCKER_HUB_TOKEN.key in settings
        return AuditLog(build_dockerhub_client(settings) if configured else None)

    def validate(self, props: Props, checks: Checks) -> None:
        checks.text("domain", pattern=_DOMAIN, hint="a lowercase DNS domain name")
        checks.text(
            "expected_value",
            pattern=VERIFICATION_PREFIX + r"[A-Za-z0-9-]+",
            hint="the Admin Console's TXT Record Value, docker-verification=<value>",
        )
        checks.text("record_name", pattern=_RECORD_NAME, hint="@ (the domain itself) or a relative DNS name")
        checks.text_list("nameservers", required=False)
        for index, server in enumerate(props.get("nameservers") or []):
            if isinstance(server, str) and re.fullmatch(_IP_ADDRESS, server) is None:
                checks.fail(f"nameservers[{index}]", f"nameservers[{index}] must be an IP address")
        checks.integer("port", minimum=1, maximum=65535)
        checks.text("org", required=False, pattern=_ORG, hint="a Docker organization name")
        timeout = props.get("timeout_seconds")
        if timeout is not None and not _unknown_or_number(timeout, 0.0, MAX_TIMEOUT_SECONDS):
            checks.fail(
                "timeout_seconds", f"timeout_seconds must be a number above 0 and at most {MAX_TIMEOUT_SECONDS:g}"
            )

    def create_object(self, client: AuditLog, props: Props) -> tuple[str, Props]:
        return txt_fqdn(props["domain"], props["record_name"]), self._check(client, props)

    def read_object(self, client: AuditLog, id_: str, props: Props) -> Props:
        return self._check(client, props)

    def update_object(self, client: AuditLog, id_: str, olds: Props, news: Props) -> Props:
        return self._check(client, news)

    def delete_object(self, client: AuditLog, id_: str, props: Props) -> None:
        """Nothing to delete: the check owns nothing."""

    @staticmethod
    def _check(audit: AuditLog, props: Props) -> Props:
        fqdn = txt_fqdn(props["domain"], props["record_name"])
        timeout = float(props.get("timeout_seconds") or DEFAULT_TIMEOUT_SECONDS)
        lookup = lookup_txt(fqdn, list(props.get("nameservers") or []), int(props["port"]), timeout)
        status, found, detail = classify(lookup, fqdn, props["expected_value"])
        event_at, audit_status = audit.verify_event_at(props.get("org"), props["domain"])
        return {
            "status": status,
            "found_values": found,
            "detail": detail,
            "verify_event_at": event_at,
            "audit_log": audit_status,
        }


def _unknown_or_number(value: Any, above: float, at_most: float) -> bool:
    if is_unknown(value):
        return True
    return isinstance(value, int | float) and not isinstance(value, bool) and above < value <= at_most


# --- the resource -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class DomainVerificationArgs:
    domain: pulumi.Input[str]
    expected_value: pulumi.Input[str]
    record_name: pulumi.Input[str] = "@"
    nameservers: pulumi.Input[list[str]] = dataclasses.field(default_factory=list)
    """Resolvers to ask (IP addresses); empty: the system resolver."""
    port: pulumi.Input[int] = 53
    org: pulumi.Input[str] | None = None
    """The Docker organization whose audit log is searched for the verify event."""
    timeout_seconds: pulumi.Input[float] = DEFAULT_TIMEOUT_SECONDS


class DomainVerification(pulumi.dynamic.Resource, module="dockerhub", name="DomainVerification"):
    """The check described in this module's docstring; it writes nothing anywhere."""

    status: pulumi.Output[str]
    found_values: pulumi.Output[list[str]]
    detail: pulumi.Output[str]
    verify_event_at: pulumi.Output[str | None]
    audit_log: pulumi.Output[str]

    def __init__(
        self, resource_name: str, args: DomainVerificationArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        inputs = {field.name: getattr(args, field.name) for field in dataclasses.fields(args)}
        props: dict[str, Any] = {**dict.fromkeys(OUTPUTS), **inputs}
        super().__init__(DomainVerificationProvider(), resource_name, props, opts)
