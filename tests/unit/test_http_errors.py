"""Error answers become the typed error tree, with messages that carry no credential.

The canary test plants secrets of every shape the clients handle (a PAT, an OAT, a JWT, a SAS
signature, an opaque registered token) where a careless layer would leak them, then searches every
exception text, traceback and log record (all loggers, DEBUG) for them.
"""

from __future__ import annotations

import logging
import traceback
from urllib.parse import urlencode

import pytest

from components.clients import (
    AmbiguousWriteError,
    ApiError,
    AuthError,
    BearerAuth,
    CachedTokenSource,
    ClientError,
    Conflict,
    NotFound,
    RateLimited,
    RetryPolicy,
    ServerError,
    StaticTokenSource,
    TransportError,
    build_session,
    redact,
    register_secret,
    request,
    safe_url,
)
from components.clients._auth import AccessToken
from sandbox import Fault, SandboxResponse, SandboxServer


@pytest.fixture
def server():
    with SandboxServer() as running:
        running.route("GET", r"/things", lambda req: SandboxResponse.json({"ok": True}))
        yield running


@pytest.fixture
def session():
    policy = RetryPolicy(total=1, sleep_fn=lambda _: None)
    with build_session(retry=policy, timeout=(2.0, 5.0)) as built:
        yield built


@pytest.mark.parametrize(
    ("status", "error_type", "body"),
    [
        (400, ApiError, '{"message": "Bad Request"}'),
        (401, AuthError, '{"message": "Unauthorized"}'),
        (403, AuthError, '{"message": "Forbidden"}'),
        (404, NotFound, '{"message": "Not Found"}'),
        (409, Conflict, '{"message": "Conflict"}'),
        (422, ApiError, '{"message": "Unprocessable Entity"}'),
        (501, ServerError, '{"message": "Not Implemented"}'),
    ],
)
def test_status_maps_to_the_error_tree(server, session, status, error_type, body):
    server.faults.add(Fault.status(status))

    with pytest.raises(ApiError) as caught:
        request(session, "get", f"{server.url}/things?page=2")

    error = caught.value
    assert type(error) is error_type
    request_id = server.requests_log[-1].request_id
    assert (error.status, error.method, error.url, error.request_id, error.body_excerpt) == (
        status,
        "GET",
        f"{server.url}/things",
        request_id,
        body,
    )
    assert str(error) == f"GET {server.url}/things returned {status} (request id {request_id}): {body}"


def test_success_passes_through(server, session):
    assert request(session, "GET", f"{server.url}/things").json() == {"ok": True}


@pytest.mark.parametrize("header", ["request-id", "x-ms-request-id"])
def test_graph_and_arm_request_ids_are_preferred(server, session, header):
    server.faults.add(Fault.status(404, headers={header: "6d2c9a3e-graph"}))

    with pytest.raises(NotFound) as caught:
        request(session, "GET", f"{server.url}/things")

    assert caught.value.request_id == "6d2c9a3e-graph"


def test_body_excerpt_is_short_and_on_one_line(server, session):
    server.faults.add(Fault.status(409, body=b"{\n  " + b"x" * 5000 + b"\n}"))

    with pytest.raises(Conflict) as caught:
        request(session, "GET", f"{server.url}/things")

    assert caught.value.body_excerpt == "{ " + "x" * 298


def test_empty_body_gives_no_excerpt(server, session):
    server.faults.add(Fault.status(404, body=b""))

    with pytest.raises(NotFound) as caught:
        request(session, "GET", f"{server.url}/things")

    assert str(caught.value) == (
        f"GET {server.url}/things returned 404 (request id {server.requests_log[-1].request_id})"
    )


def test_every_error_is_a_client_error():
    for error_type in (TransportError, AmbiguousWriteError, ApiError, AuthError, NotFound, RateLimited):
        assert issubclass(error_type, ClientError)


# -- redaction ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("secret dckr_pat_2bXyZ-9_q was wrong", "secret [redacted] was wrong"),
        ('{"token":"dckr_oat_7Hq2Lm"}', '{"token":"[redacted]"}'),
        ("jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl end", "jwt [redacted] end"),
        ("cut eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4", "cut [redacted]"),
        ("Authorization: Bearer abc.def-ghi", "Authorization: Bearer [redacted]"),
        ("Authorization: basic dXNlcjpwYXNz", "Authorization: basic [redacted]"),
        ("/c/f?sv=2024-08-04&sr=b&sig=a%2Fb%3D&se=1", "/c/f?sv=2024-08-04&sr=b&sig=[redacted]&se=1"),
        ("token=abc&client_secret=s3cr3t", "token=[redacted]&client_secret=[redacted]"),
        ('{"access_token": "opaque", "expires_in": 600}', '{"access_token": "[redacted]", "expires_in": 600}'),
        ('{"password" : "hunter22"}', '{"password" : "[redacted]"}'),
        ("nothing secret here: label=ci, id=42", "nothing secret here: label=ci, id=42"),
    ],
)
def test_redact_known_shapes(text, expected):
    assert redact(text) == expected


def test_registered_secrets_are_redacted_longest_first():
    register_secret("Zq81-opaque-registered")
    register_secret("Zq81-opaque-registered-and-longer")
    register_secret("abc")  # too short to register: it would eat ordinary words

    text = "a Zq81-opaque-registered-and-longer b Zq81-opaque-registered c"
    assert redact(text) == "a [redacted] b [redacted] c"
    assert redact("abc") == "abc"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://acct.blob.core.windows.net/c/f?sv=1&sig=x", "https://acct.blob.core.windows.net/c/f"),
        ("https://user:pw@hub.docker.com/v2/orgs/acme#frag", "https://hub.docker.com/v2/orgs/acme"),
        ("/v2/orgs/acme/access-tokens?page=2", "/v2/orgs/acme/access-tokens"),
    ],
)
def test_safe_url(url, expected):
    assert safe_url(url) == expected


CANARIES = (
    "dckr_pat_CANARYpat0001",
    "dckr_oat_CANARYoat0002",
    "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJDQU5BUlkifQ.CANARYjwtSignature0003",
    "CANARYsas0004",
    "CANARYopaque0005",
    "CANARYpassword0006",
)
PAT, OAT, JWT, SAS_SIG, OPAQUE, PASSWORD = CANARIES


def _echo_everything(req) -> SandboxResponse:
    """A careless service: its error body repeats the request's credentials back."""
    authorization = req.header("authorization") or ""
    return SandboxResponse.json(
        {
            "detail": f"rejected {authorization} for {req.path}?{urlencode(req.query, doseq=True)}",
            "seen_token": authorization.removeprefix("Bearer "),
            "body": req.body.decode(),
            "new_token": OAT,
            "session": JWT,
        },
        status=401,
    )


@pytest.fixture
def leaky_server():
    with SandboxServer() as running:
        running.route("POST", r"/v2/auth/token", _echo_everything)
        running.route("GET", r"/v2/orgs/acme/members", _echo_everything)
        running.route("PUT", r"/upload", _echo_everything)
        running.route("POST", r"/upload", lambda req: SandboxResponse.json({}, 201))
        running.route("GET", r"/limited", lambda req: SandboxResponse.json({}))
        yield running


def _collect(errors: list[BaseException], action) -> None:
    with pytest.raises(ClientError) as caught:
        action()
    errors.append(caught.value)


def test_no_credential_reaches_an_exception_or_a_log_line(leaky_server, caplog):
    caplog.set_level(logging.DEBUG)
    url = leaky_server.url
    sas = f"?sv=2024-08-04&sr=b&sp=w&sig={SAS_SIG}"
    register_secret(PASSWORD)  # the way a client registers a secret it was configured with
    errors: list[BaseException] = []
    policy = RetryPolicy(total=1, sleep_fn=lambda _: None)

    with build_session(retry=policy, timeout=(2.0, 5.0)) as plain:
        # A PAT and a password in a login body, echoed back in a 401.
        _collect(
            errors,
            lambda: request(plain, "POST", f"{url}/v2/auth/token", json={"identifier": "ci", "secret": PAT}),
        )
        _collect(
            errors,
            lambda: request(plain, "POST", f"{url}/v2/auth/token", data=f"user=ci&pw={PASSWORD}"),
        )
        # A SAS URL: a 401, a lost response (ambiguous write), a 429 that gives up, no server at all.
        _collect(errors, lambda: request(plain, "PUT", f"{url}/upload{sas}", data=b"block"))
        leaky_server.faults.add(Fault.drop_after(method="POST", path="/upload"))
        _collect(errors, lambda: request(plain, "POST", f"{url}/upload{sas}", data=b"block"))
        leaky_server.faults.add(Fault.status(429, headers={"Retry-After": "9999"}))
        _collect(errors, lambda: request(plain, "GET", f"{url}/limited{sas}"))
        _collect(errors, lambda: request(plain, "GET", f"http://127.0.0.1:9/upload{sas}", timeout=(0.5, 0.5)))

    # Bearer tokens, opaque and JWT: a refresh, then the second 401 surfaces as AuthError.
    minted = iter([OPAQUE, JWT])
    source = CachedTokenSource(lambda: AccessToken(next(minted), 4e9))
    with build_session(retry=policy, auth=BearerAuth(source)) as authed:
        _collect(errors, lambda: request(authed, "GET", f"{url}/v2/orgs/acme/members{sas}"))
    with build_session(retry=policy, auth=BearerAuth(StaticTokenSource(OPAQUE))) as static:
        _collect(errors, lambda: request(static, "GET", f"{url}/v2/orgs/acme/members"))

    # The service did receive the secrets, so a clean result below is not for lack of trying.
    received = " ".join(f"{e.query} {e.headers} {e.body!r}" for e in leaky_server.requests_log)
    assert all(canary in received for canary in (PAT, SAS_SIG, OPAQUE, JWT, PASSWORD))
    assert [type(error) for error in errors] == [
        AuthError,
        AuthError,
        AuthError,
        AmbiguousWriteError,
        RateLimited,
        TransportError,
        AuthError,
        AuthError,
    ]
    texts = []
    for error in errors:
        texts += [str(error), repr(error), "".join(traceback.format_exception(error))]
    for record in caplog.records:
        texts.append(record.getMessage())
    assert any(record.name == "urllib3.connectionpool" for record in caplog.records)
    assert any(record.name == "components.clients._http" for record in caplog.records)
    leaks = [(canary, text) for text in texts for canary in CANARIES if canary in text]
    assert leaks == []
    assert "[redacted]" in str(errors[0])
