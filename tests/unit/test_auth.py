"""Token sources and `BearerAuth`: caching, refresh on 401 (exactly once), thread safety, Azure."""

from __future__ import annotations

import io
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest
import requests
from azure.core.credentials import AccessToken as AzureAccessToken

from components.clients import (
    ARM_SCOPE,
    GRAPH_SCOPE,
    AccessToken,
    AuthError,
    AzureTokenSource,
    BearerAuth,
    CachedTokenSource,
    RetryPolicy,
    StaticTokenSource,
    TokenSource,
    build_session,
    redact,
    request,
)
from sandbox import SandboxResponse, SandboxServer

ROOT = Path(__file__).resolve().parents[2]


class Minter:
    """Mints `<prefix>-1`, `<prefix>-2`, ... each valid for `lifetime` seconds from `clock()`."""

    def __init__(self, lifetime: float = 600.0, clock=time.time, pause: float = 0.0) -> None:
        self.prefix = f"tok{uuid.uuid4().hex[:12]}"  # unique: minted values are registered as secrets
        self.lifetime = lifetime
        self.clock = clock
        self.pause = pause
        self.minted: list[str] = []
        self._lock = threading.Lock()

    def __call__(self) -> AccessToken:
        time.sleep(self.pause)  # widens the window in which a second mint could slip in
        with self._lock:
            value = f"{self.prefix}-{len(self.minted) + 1}"
            self.minted.append(value)
        return AccessToken(value, self.clock() + self.lifetime)


class Clock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


# -- token sources -----------------------------------------------------------------------------


def test_cached_source_keeps_the_token_until_the_margin():
    clock = Clock()
    mint = Minter(lifetime=600.0, clock=clock)
    source = CachedTokenSource(mint, refresh_margin_s=60.0, clock=clock)

    first = source.token()
    clock.now += 539.0
    assert source.token() == first
    clock.now += 1.0  # 60 s before expiry
    second = source.token()

    assert (first.value, second.value) == (mint.minted[0], mint.minted[1])
    assert second.expires_at == clock.now + 600.0


def test_force_refresh_mints_again():
    mint = Minter()
    source = CachedTokenSource(mint, clock=Clock())

    assert source.token().value == mint.minted[0]
    assert source.token(force_refresh=True).value == mint.minted[1]
    assert source.token().value == mint.minted[1]


def test_short_lived_token_is_kept_for_half_its_life():
    clock = Clock()
    mint = Minter(lifetime=30.0, clock=clock)
    source = CachedTokenSource(mint, refresh_margin_s=60.0, clock=clock)

    source.token()
    clock.now += 14.9
    source.token()
    assert len(mint.minted) == 1
    clock.now += 0.1
    source.token()
    assert len(mint.minted) == 2


def test_concurrent_callers_share_one_mint():
    mint = Minter(pause=0.05)
    source = CachedTokenSource(mint)
    start = threading.Barrier(16)
    seen: list[str] = []

    def use() -> None:
        start.wait()
        seen.append(source.token().value)

    threads = [threading.Thread(target=use) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(mint.minted) == 1
    assert seen == [mint.minted[0]] * 16


def test_static_source_and_token_repr():
    source = StaticTokenSource("static-sandbox-token-7f3a")

    assert source.token().value == "static-sandbox-token-7f3a"
    assert source.token(force_refresh=True) is source.token()
    assert "static-sandbox-token-7f3a" not in repr(source.token())
    assert repr(AccessToken("v4lue-hidden", 12.0)) == "AccessToken(expires_at=12.0)"


def test_minted_tokens_are_redacted_everywhere():
    mint = Minter()
    value = CachedTokenSource(mint).token().value

    assert redact(f"got {value} back") == "got [redacted] back"


class FakeCredential:
    """An azure-core `TokenCredential`: what AzureTokenSource asks of azure-identity."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, ...]] = []

    def get_token(self, *scopes, claims=None, tenant_id=None, enable_cae=False, **kwargs) -> AzureAccessToken:
        self.calls.append(scopes)
        return AzureAccessToken(f"azure-{uuid.uuid4().hex}-{len(self.calls)}", int(time.time()) + 3600)


@pytest.mark.parametrize("scope", [GRAPH_SCOPE, ARM_SCOPE])
def test_azure_source_mints_for_its_scope_and_caches(scope):
    credential = FakeCredential()
    source = AzureTokenSource(scope, credential)

    first = source.token()
    assert source.token() == first
    refreshed = source.token(force_refresh=True)

    assert credential.calls == [(scope,), (scope,)]
    assert first.value.endswith("-1")
    assert refreshed.value.endswith("-2")
    assert first.expires_at == pytest.approx(time.time() + 3600, abs=5)
    assert redact(first.value) == "[redacted]"


def test_scopes():
    assert GRAPH_SCOPE == "https://graph.microsoft.com/.default"
    assert ARM_SCOPE == "https://management.azure.com/.default"


def test_importing_the_clients_does_not_import_azure():
    code = (
        "import sys\n"
        "from components.clients import AzureTokenSource, GRAPH_SCOPE\n"
        "AzureTokenSource(GRAPH_SCOPE)\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('azure', 'pulumi')))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout.strip() == "[]"


# -- BearerAuth against a server ---------------------------------------------------------------


class Protected:
    """A service that accepts exactly the bearer tokens in `valid` and logs what it saw."""

    def __init__(self, server: SandboxServer) -> None:
        self.valid: set[str] = set()
        self.seen: list[str | None] = []
        self.bodies: list[bytes] = []
        server.route("GET", r"/me", self.handle)
        server.route("POST", r"/things", self.handle)

    def handle(self, req) -> SandboxResponse:
        self.seen.append(req.header("authorization"))
        self.bodies.append(req.body)
        if req.header("authorization") in {f"Bearer {token}" for token in self.valid}:
            return SandboxResponse.json({"ok": True})
        return SandboxResponse.json({"message": "token expired"}, status=401)


@pytest.fixture
def server():
    with SandboxServer() as running:
        yield running


@pytest.fixture
def protected(server):
    return Protected(server)


def _session(source: TokenSource) -> requests.Session:
    return build_session(auth=BearerAuth(source), retry=RetryPolicy(sleep_fn=lambda _: None))


def test_401_refreshes_once_and_resends(server, protected):
    mint = Minter()
    source = CachedTokenSource(mint)
    protected.valid = {f"{mint.prefix}-2"}  # the first token was revoked early

    with _session(source) as session:
        response = request(session, "POST", f"{server.url}/things", json={"label": "ci"})

    assert response.json() == {"ok": True}
    assert len(mint.minted) == 2
    assert protected.seen == [f"Bearer {mint.minted[0]}", f"Bearer {mint.minted[1]}"]
    assert protected.bodies == [b'{"label": "ci"}'] * 2
    assert [r.status_code for r in response.history] == [401]


def test_persistent_401_raises_auth_error_after_one_refresh(server, protected):
    mint = Minter()

    with _session(CachedTokenSource(mint)) as session, pytest.raises(AuthError) as caught:
        request(session, "GET", f"{server.url}/me")

    assert len(mint.minted) == 2
    assert server.count("GET", "/me") == 2
    assert str(caught.value) == (
        f"GET {server.url}/me returned 401 (request id {server.requests_log[-1].request_id}): "
        '{"message": "token expired"}'
    )


def test_static_token_401_is_not_resent(server, protected):
    with _session(StaticTokenSource("static-rejected-token-91c2")) as session, pytest.raises(AuthError):
        request(session, "GET", f"{server.url}/me")

    assert server.count("GET", "/me") == 1


def test_token_refreshed_by_another_request_is_used_without_forcing(server, protected):
    class Rotated:
        """Its first answer is stale; by the time of the 401, another request has refreshed it."""

        def __init__(self) -> None:
            self.answers = iter(["stale-token-3b1d", "fresh-token-3b1d"])
            self.forced = 0

        def token(self, force_refresh: bool = False) -> AccessToken:
            self.forced += force_refresh
            return AccessToken(next(self.answers), 4e9)

    source = Rotated()
    protected.valid = {"fresh-token-3b1d"}
    with _session(source) as session:
        assert request(session, "GET", f"{server.url}/me").status_code == 200

    assert source.forced == 0
    assert protected.seen == ["Bearer stale-token-3b1d", "Bearer fresh-token-3b1d"]


def test_streamed_body_is_not_replayed_after_401(server, protected):
    mint = Minter()

    with _session(CachedTokenSource(mint)) as session, pytest.raises(AuthError):
        request(session, "POST", f"{server.url}/things", data=io.BytesIO(b"payload"))

    assert server.count("POST", "/things") == 1
    assert len(mint.minted) == 1


def test_401_after_redirect_to_another_host_gets_no_token(server, protected):
    mint = Minter()
    protected.valid = {f"{mint.prefix}-1"}
    with SandboxServer() as elsewhere:
        elsewhere.route("GET", r"/blob", lambda req: SandboxResponse.json({}, status=401))
        server.route(
            "GET", r"/download", lambda req: SandboxResponse(302, headers={"Location": f"{elsewhere.url}/blob"})
        )
        with _session(CachedTokenSource(mint)) as session, pytest.raises(AuthError) as caught:
            request(session, "GET", f"{server.url}/download")

        assert [entry.headers.get("authorization") for entry in elsewhere.requests_log] == [None]
    assert caught.value.url == f"{elsewhere.url}/blob"
    assert server.requests_log[0].headers["authorization"] == f"Bearer {mint.minted[0]}"
    assert len(mint.minted) == 1
