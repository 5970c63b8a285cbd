"""The shared retry policy against a real HTTP server: which failures are retried, how long it waits,
when it gives up, and that a write whose response was lost is never sent twice.

Waits are asserted through a recording `sleep_fn` and a pinned `clock`, never by wall time.
"""

from __future__ import annotations

import socket
import time
from email.utils import formatdate

import pytest

from components.clients import (
    AmbiguousWriteError,
    RateLimited,
    RetryPolicy,
    ServerError,
    TransportError,
    build_session,
    request,
)
from components.clients._http import backoff_seconds, equal_jitter
from sandbox import Fault, SandboxResponse, SandboxServer

# The pinned clock of the policy under test. Near the real time, because the message of a RateLimited
# error reads the real clock to report the wait the service asked for.
NOW = float(int(time.time()))


class Things:
    """A tiny service: POST/PATCH/PUT/DELETE change state, GET reads it."""

    def __init__(self, server: SandboxServer) -> None:
        self.applied: list[str] = []
        for method in ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"):
            server.route(method, r"/things", self.handle)

    def handle(self, req) -> SandboxResponse:
        if req.method != "GET":
            self.applied.append(req.method)
        return SandboxResponse.json({"ok": True, "applied": len(self.applied)})


@pytest.fixture
def server():
    with SandboxServer() as running:
        yield running


@pytest.fixture
def things(server):
    return Things(server)


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def make_session(sleeps):
    """A session whose policy records its waits instead of sleeping, with jitter off by default."""
    sessions = []

    def make(timeout=(2.0, 5.0), jitter_fn=lambda s: s, **policy):
        retry = RetryPolicy(sleep_fn=sleeps.append, jitter_fn=jitter_fn, clock=lambda: NOW, **policy)
        session = build_session(retry=retry, timeout=timeout)
        sessions.append(session)
        return session

    yield make
    for session in sessions:
        session.close()


# -- waits -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "headers", "expected_wait"),
    [
        pytest.param(429, {"Retry-After": "7"}, 7.0, id="retry-after-seconds"),
        pytest.param(429, {"Retry-After": formatdate(NOW + 42, usegmt=True)}, 42.0, id="retry-after-date"),
        pytest.param(429, {"X-Retry-After": str(int(NOW) + 13)}, 13.0, id="x-retry-after-unix"),
        pytest.param(429, {"X-RateLimit-Reset": str(int(NOW) + 5)}, 5.0, id="ratelimit-reset-fallback"),
        pytest.param(
            429,
            {"Retry-After": "3", "X-Retry-After": str(int(NOW) + 50)},
            3.0,
            id="retry-after-wins-over-x-retry-after",
        ),
        pytest.param(429, {"Retry-After": formatdate(NOW - 30, usegmt=True)}, 0.0, id="date-in-the-past"),
        pytest.param(503, {"Retry-After": "2"}, 2.0, id="retry-after-on-503"),
    ],
)
def test_retry_waits_what_the_service_asks(server, things, make_session, sleeps, status, headers, expected_wait):
    server.faults.add(Fault.status(status, times=2, headers=headers))

    response = request(make_session(), "GET", f"{server.url}/things")

    assert response.status_code == 200
    assert sleeps == [expected_wait, expected_wait]
    assert server.count("GET", "/things") == 3


def test_unix_time_headers_only_count_on_429(server, things, make_session, sleeps):
    # X-RateLimit-Reset rides on every Docker Hub answer; on a 503 it is not a retry hint.
    server.faults.add(Fault.status(503, times=1, headers={"X-RateLimit-Reset": str(int(NOW) + 40)}))

    request(make_session(backoff_base=0.25), "GET", f"{server.url}/things")

    assert sleeps == [0.25]


def test_backoff_without_hint_is_exponential_capped_and_jittered(server, things, make_session, sleeps):
    server.faults.add(Fault.status(503, times=4))

    session = make_session(backoff_base=0.5, backoff_cap=1.5, jitter_fn=lambda s: s * 0.5)
    request(session, "GET", f"{server.url}/things")

    assert sleeps == [0.25, 0.5, 0.75, 0.75]  # 0.5, 1, 2 -> 1.5, 4 -> 1.5; then halved by the jitter


def test_backoff_and_jitter_functions():
    assert [backoff_seconds(n, 0.5, 30.0) for n in range(1, 9)] == [0.5, 1, 2, 4, 8, 16, 30, 30]
    waits = [equal_jitter(10.0) for _ in range(200)]
    assert all(5.0 <= wait <= 10.0 for wait in waits)
    assert len(set(waits)) > 1


def test_default_policy_jitters_the_backoff(server, things, sleeps):
    server.faults.add(Fault.status(503, times=1))
    policy = RetryPolicy(sleep_fn=sleeps.append, backoff_base=0.2)
    with build_session(retry=policy) as session:
        request(session, "GET", f"{server.url}/things")

    assert len(sleeps) == 1
    assert 0.1 <= sleeps[0] <= 0.2


# -- giving up ---------------------------------------------------------------------------------


def test_429_gives_up_after_the_cap_with_rate_limited(server, things, make_session, sleeps):
    server.faults.add(Fault.status(429, times=10, headers={"Retry-After": "1"}))

    with pytest.raises(RateLimited) as caught:
        request(make_session(total=2), "GET", f"{server.url}/things")

    assert server.count("GET", "/things") == 3
    assert sleeps == [1.0, 1.0]
    last_id = server.requests_log[-1].request_id
    assert caught.value.status == 429
    assert caught.value.retry_after == 1.0
    assert str(caught.value) == (
        f'GET {server.url}/things returned 429 (request id {last_id}): {{"message": "Too Many Requests"}}'
        " [the service asked to wait 1 s]"
    )


def test_5xx_gives_up_after_the_cap_with_server_error(server, things, make_session, sleeps):
    server.faults.add(Fault.status(502, times=10))

    with pytest.raises(ServerError) as caught:
        request(make_session(total=1, backoff_base=0.1), "PUT", f"{server.url}/things", json={"a": 1})

    assert server.count("PUT", "/things") == 2
    assert things.applied == []
    assert sleeps == [0.1]
    assert caught.value.status == 502
    assert str(caught.value) == (
        f"PUT {server.url}/things returned 502 (request id {server.requests_log[-1].request_id}): "
        '{"message": "Bad Gateway"}'
    )


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({"Retry-After": "3600"}, id="retry-after-seconds"),
        pytest.param({"Retry-After": formatdate(NOW + 3600, usegmt=True)}, id="retry-after-date"),
        pytest.param({"X-Retry-After": str(int(NOW) + 3600)}, id="x-retry-after-unix"),
    ],
)
def test_wait_beyond_the_cap_gives_up_at_once(server, things, make_session, sleeps, headers):
    server.faults.add(Fault.status(429, times=5, headers=headers))

    with pytest.raises(RateLimited) as caught:
        request(make_session(max_wait=60.0), "GET", f"{server.url}/things")

    assert server.count("GET", "/things") == 1
    assert sleeps == []
    assert str(caught.value).startswith(f"GET {server.url}/things returned 429 (request id ")
    assert caught.value.retry_after is not None
    assert caught.value.retry_after > 60.0


def test_501_is_not_retried(server, things, make_session, sleeps):
    server.faults.add(Fault.status(501, times=5))

    with pytest.raises(ServerError):
        request(make_session(), "GET", f"{server.url}/things")

    assert server.count("GET", "/things") == 1
    assert sleeps == []


# -- writes ------------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["POST", "PATCH"])
def test_write_with_lost_response_is_not_sent_twice(server, things, make_session, sleeps, method):
    server.faults.add(Fault.drop_after(method=method, times=5))

    with pytest.raises(AmbiguousWriteError) as caught:
        request(make_session(), method, f"{server.url}/things", json={"label": "ci"})

    assert server.count(method, "/things") == 1
    assert things.applied == [method]  # the service did apply it
    assert sleeps == []
    assert caught.value.method == method
    assert caught.value.url == f"{server.url}/things"
    assert str(caught.value).startswith(
        f"{method} {server.url}/things: the response was lost and the request may have been applied "
        "(ProtocolError: ('Connection aborted.', RemoteDisconnected("
    )


def test_post_read_timeout_is_ambiguous_and_not_resent(server, things, make_session, sleeps):
    server.faults.add(Fault.delay(0.5, method="POST"))

    with pytest.raises(AmbiguousWriteError) as caught:
        request(make_session(timeout=(2.0, 0.1)), "POST", f"{server.url}/things", json={})

    # The delayed request is logged only once answered, so count what the handler applied: a resent
    # POST would have been applied again (and, the fault used up, answered without an error).
    assert things.applied == ["POST"]
    assert sleeps == []
    assert "ReadTimeoutError" in caught.value.reason


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_post_5xx_is_not_retried(server, things, make_session, sleeps, status):
    server.faults.add(Fault.status(status, method="POST", times=3))

    with pytest.raises(ServerError) as caught:
        request(make_session(), "POST", f"{server.url}/things", json={"label": "ci"})

    assert caught.value.status == status
    assert server.count("POST", "/things") == 1
    assert sleeps == []


@pytest.mark.parametrize("method", ["POST", "PATCH"])
def test_write_on_429_is_retried_and_applied_once(server, things, make_session, sleeps, method):
    server.faults.add(Fault.status(429, method=method, times=2, headers={"Retry-After": "2"}))

    response = request(make_session(), method, f"{server.url}/things", json={"label": "ci"})

    assert response.json() == {"ok": True, "applied": 1}
    assert server.count(method, "/things") == 3
    assert [entry.json() for entry in server.requests_log] == [{"label": "ci"}] * 3  # body re-sent
    assert things.applied == [method]
    assert sleeps == [2.0, 2.0]


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_post_connect_error_is_retried_then_transport_error(make_session, sleeps):
    url = f"http://127.0.0.1:{_closed_port()}/things"

    with pytest.raises(TransportError) as caught:
        request(make_session(total=2, backoff_base=0.1), "POST", url, json={})

    assert type(caught.value) is TransportError  # not ambiguous: nothing was sent
    assert sleeps == [0.1, 0.2]
    assert str(caught.value).startswith(f"POST {url}: NewConnectionError: ")
    assert "Connection refused" in str(caught.value)


# -- reads and idempotent writes ----------------------------------------------------------------


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE", "HEAD"])
@pytest.mark.parametrize("drop", [Fault.drop_after, Fault.drop_before], ids=["drop-after", "drop-before"])
def test_idempotent_request_is_retried_after_a_drop(server, things, make_session, sleeps, method, drop):
    server.faults.add(drop(method=method))

    response = request(make_session(backoff_base=0.1), method, f"{server.url}/things")

    assert response.status_code == 200
    assert server.count(method, "/things") == 2
    assert sleeps == [0.1]


def test_get_read_timeout_is_retried(server, things, make_session, sleeps):
    server.faults.add(Fault.delay(0.4, method="GET"))

    response = request(make_session(timeout=(2.0, 0.1), backoff_base=0.1), "GET", f"{server.url}/things")

    assert response.status_code == 200
    assert sleeps == [0.1]  # one retry (the delayed attempt is logged by the server only once answered)


def test_get_dropped_every_time_ends_in_transport_error(server, things, make_session, sleeps):
    server.faults.add(Fault.drop_after(method="GET", times=10))

    with pytest.raises(TransportError) as caught:
        request(make_session(total=2, backoff_base=0.1), "GET", f"{server.url}/things")

    assert type(caught.value) is TransportError
    assert server.count("GET", "/things") == 3
    assert str(caught.value).startswith(
        f"GET {server.url}/things: ProtocolError: ('Connection aborted.', RemoteDisconnected("
    )


# -- session defaults --------------------------------------------------------------------------


def test_session_timeout_applies_unless_the_call_sets_one(server, things, make_session):
    session = make_session(timeout=(2.0, 0.1), total=0)
    server.faults.add(Fault.delay(0.3, method="GET"))
    with pytest.raises(TransportError):
        request(session, "GET", f"{server.url}/things")

    server.faults.add(Fault.delay(0.3, method="GET"))
    assert request(session, "GET", f"{server.url}/things", timeout=(2.0, 2.0)).status_code == 200


def test_session_sends_the_project_user_agent(server, things):
    with build_session() as session:
        request(session, "GET", f"{server.url}/things")
    with build_session(user_agent="custom/1") as session:
        request(session, "GET", f"{server.url}/things")

    agents = [entry.headers["user-agent"] for entry in server.requests_log]
    assert agents[0].startswith("docker-desktop-rollout/0.1.0 python-requests/")
    assert agents[1] == "custom/1"
