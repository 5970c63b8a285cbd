"""The DNS stand-in answers a real resolver (dnspython) from its in-memory zone."""

from __future__ import annotations

from collections.abc import Iterator

import dns.resolver
import pytest

from sandbox.dns import DnsSandbox


@pytest.fixture
def server() -> Iterator[DnsSandbox]:
    with DnsSandbox({"acme.example": ["docker-verification=abc123", "v=spf1 -all"]}) as running:
        yield running


@pytest.fixture
def resolver(server: DnsSandbox) -> dns.resolver.Resolver:
    resolver = dns.resolver.Resolver(configure=False)
    resolver.nameservers = ["127.0.0.1"]
    resolver.port = server.port
    resolver.lifetime = 5.0
    return resolver


def txt(resolver: dns.resolver.Resolver, name: str) -> set[str]:
    answer = resolver.resolve(name, "TXT")
    return {b"".join(record.strings).decode() for record in answer}


def test_txt_records_are_answered_authoritatively(server: DnsSandbox, resolver: dns.resolver.Resolver) -> None:
    answer = resolver.resolve("acme.example", "TXT")
    assert answer.response.flags & dns.flags.AA
    assert txt(resolver, "ACME.example.") == {"docker-verification=abc123", "v=spf1 -all"}
    assert server.queries[-1] == ("ACME.example.", "TXT")


def test_unknown_names_are_nxdomain_and_other_types_empty(resolver: dns.resolver.Resolver) -> None:
    with pytest.raises(dns.resolver.NXDOMAIN):
        resolver.resolve("other.example", "TXT")
    with pytest.raises(dns.resolver.NoAnswer):
        resolver.resolve("acme.example", "A")


def test_the_zone_changes_at_runtime(server: DnsSandbox, resolver: dns.resolver.Resolver) -> None:
    long_value = "docker-verification=" + "x" * 300  # longer than one 255-byte TXT string
    server.set_txt("new.example", [long_value])
    assert txt(resolver, "new.example") == {long_value}
    server.remove("acme.example")
    with pytest.raises(dns.resolver.NXDOMAIN):
        resolver.resolve("acme.example", "TXT")
