"""The sandbox framework: routing, the request log, rate-limit headers, faults, eventual consistency."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
import requests

from sandbox import (
    Clock,
    EventualConsistency,
    Fault,
    FaultKind,
    HttpError,
    RateLimit,
    SandboxRequest,
    SandboxResponse,
    SandboxServer,
)
from tests.sandbox.conftest import FakeClock


class ItemStore(SandboxServer):
    """A minimal stand-in: POST /items stores a JSON body, GET /items/{n} reads it back."""

    def __init__(self, *, rate_limit: RateLimit | None = None, clock: Clock = time.time) -> None:
        super().__init__(rate_limit=rate_limit, clock=clock)
        self.items: list[object] = []
        self.handled = threading.Event()
        self.route("POST", r"/items", self._create)
        self.route("GET", r"/items/(?P<index>\d+)", self._get)
        self.route("GET", r"/boom", self._boom)

    def _create(self, request: SandboxRequest) -> SandboxResponse:
        self.items.append(request.json())
        self.handled.set()
        return SandboxResponse.json({"index": len(self.items) - 1}, 201)

    def _get(self, request: SandboxRequest) -> SandboxResponse:
        index = int(request.path_params["index"])
        if index >= len(self.items):
            raise HttpError(SandboxResponse.json({"message": "no such item"}, 404))
        return SandboxResponse.json(self.items[index])

    def _boom(self, request: SandboxRequest) -> SandboxResponse:
        raise RuntimeError("handler bug")


@pytest.fixture
def store() -> Iterator[ItemStore]:
    with ItemStore() as server:
        yield server


ITEMS = r"^/items$"


def test_routes_answer_json_and_unknown_routes_404_or_405(store: ItemStore, http: requests.Session) -> None:
    created = http.post(f"{store.url}/items", json={"name": "a"})
    assert created.status_code == 201 and created.json() == {"index": 0}
    assert http.get(f"{store.url}/items/0").json() == {"name": "a"}

    missing = http.get(f"{store.url}/items/7")
    assert missing.status_code == 404 and missing.json() == {"message": "no such item"}
    unknown = http.get(f"{store.url}/nothing/here")
    assert unknown.status_code == 404 and unknown.headers["Content-Type"] == "application/json"
    wrong_method = http.delete(f"{store.url}/items")
    assert wrong_method.status_code == 405 and wrong_method.headers["Allow"] == "POST"


def test_a_failing_handler_answers_500_and_the_server_keeps_serving(
    store: ItemStore, http: requests.Session, capsys: pytest.CaptureFixture[str]
) -> None:
    assert http.get(f"{store.url}/boom").status_code == 500
    assert "handler bug" in capsys.readouterr().err
    assert http.post(f"{store.url}/items", json=1).status_code == 201


def test_the_log_records_each_request_and_counts_by_method_and_path(store: ItemStore, http: requests.Session) -> None:
    http.post(f"{store.url}/items?dry=1&dry=2", json={"n": 1}, headers={"X-Trace": "t1"})
    response = http.get(f"{store.url}/items/0")

    first, second = store.requests_log
    assert (first.method, first.path, first.query, first.status) == ("POST", "/items", {"dry": ["1", "2"]}, 201)
    assert first.headers["x-trace"] == "t1" and first.json() == {"n": 1} and first.fault is None
    assert second.request_id == response.headers["X-Request-Id"]
    assert first.request_id != second.request_id
    assert first.timestamp <= second.timestamp
    assert store.count("POST", ITEMS) == 1
    assert store.count(None, r"^/items") == 2
    assert store.count("DELETE", r"^/items") == 0

    store.reset_log()
    assert store.requests_log == [] and store.count(None, ".") == 0


def test_rate_limit_headers_count_down_then_429_until_the_window_resets(http: requests.Session) -> None:
    clock = FakeClock()
    with ItemStore(rate_limit=RateLimit(limit=2, window=60.0), clock=clock) as store:
        first = http.get(f"{store.url}/items/0")
        second = http.get(f"{store.url}/items/0")
        assert (first.headers["X-RateLimit-Limit"], first.headers["X-RateLimit-Remaining"]) == ("2", "1")
        assert second.headers["X-RateLimit-Remaining"] == "0"
        assert first.headers["X-RateLimit-Reset"] == str(int(clock.now + 60))

        clock.advance(15)
        limited = http.post(f"{store.url}/items", json={})
        assert limited.status_code == 429 and limited.headers["Retry-After"] == "45"
        assert store.items == []  # a limited request is not applied

        clock.advance(45)
        assert http.post(f"{store.url}/items", json={}).status_code == 201


def test_without_a_rate_limit_responses_carry_no_rate_limit_headers(store: ItemStore, http: requests.Session) -> None:
    response = http.get(f"{store.url}/items/0")
    assert "X-RateLimit-Limit" not in response.headers and response.headers["X-Request-Id"]


def test_a_429_fault_carries_its_headers_and_is_used_up_after_times(store: ItemStore, http: requests.Session) -> None:
    fault = store.faults.add(Fault.status(429, times=2, headers={"Retry-After": "1"}, method="POST", path=ITEMS))

    for expected_remaining in (1, 0):
        response = http.post(f"{store.url}/items", json={"n": 1})
        assert response.status_code == 429
        assert response.headers["Retry-After"] == "1"
        assert response.json() == {"message": "Too Many Requests"}
        assert store.faults.remaining(fault) == expected_remaining
    assert store.items == []  # answered by the fault: nothing applied

    assert http.post(f"{store.url}/items", json={"n": 1}).status_code == 201
    assert store.items == [{"n": 1}]
    assert [entry.status for entry in store.requests_log] == [429, 429, 201]
    assert [entry.fault for entry in store.requests_log] == [FaultKind.STATUS, FaultKind.STATUS, None]


def test_a_5xx_burst_with_a_custom_body(store: ItemStore, http: requests.Session) -> None:
    store.faults.add(Fault.status(503, times=2, body={"error": "maintenance"}))
    statuses = [http.get(f"{store.url}/items/0") for _ in range(3)]
    assert [r.status_code for r in statuses] == [503, 503, 404]
    assert statuses[0].json() == {"error": "maintenance"}


def test_faults_only_hit_matching_method_and_path(store: ItemStore, http: requests.Session) -> None:
    fault = store.faults.add(Fault.status(500, method="POST", path=ITEMS))
    assert http.get(f"{store.url}/items/0").status_code == 404  # other method
    assert http.get(f"{store.url}/boomless").status_code == 404  # other path
    assert store.faults.remaining(fault) == 1
    assert http.post(f"{store.url}/items", json={}).status_code == 500
    assert store.faults.remaining(fault) == 0


def test_faults_fire_in_arming_order_and_clear_disarms(store: ItemStore, http: requests.Session) -> None:
    store.faults.add(Fault.status(502))
    store.faults.add(Fault.status(504))
    assert http.get(f"{store.url}/items/0").status_code == 502
    store.faults.clear()
    assert http.get(f"{store.url}/items/0").status_code == 404


def test_drop_before_closes_the_connection_and_applies_nothing(store: ItemStore, http: requests.Session) -> None:
    store.faults.add(Fault.drop_before(method="POST", path=ITEMS))
    with pytest.raises(requests.ConnectionError):
        http.post(f"{store.url}/items", json={"n": 1})
    assert store.items == []
    (entry,) = store.requests_log
    assert entry.status is None and entry.fault is FaultKind.DROP_BEFORE

    assert http.post(f"{store.url}/items", json={"n": 2}).status_code == 201  # times=1 honoured


def test_drop_after_applies_the_change_but_loses_the_response(store: ItemStore, http: requests.Session) -> None:
    http.get(f"{store.url}/items/0")  # a kept-alive connection, as a client pool would reuse
    store.faults.add(Fault.drop_after(method="POST", path=ITEMS))
    with pytest.raises(requests.ConnectionError):
        http.post(f"{store.url}/items", json={"n": 1})
    assert store.items == [{"n": 1}]
    assert store.requests_log[-1].status is None
    assert store.requests_log[-1].fault is FaultKind.DROP_AFTER


def test_delay_slows_the_response_after_applying_the_change(store: ItemStore, http: requests.Session) -> None:
    store.faults.add(Fault.delay(0.3, method="POST", path=ITEMS))
    started = time.monotonic()
    response = http.post(f"{store.url}/items", json={"n": 1})
    assert response.status_code == 201 and time.monotonic() - started >= 0.25  # timer slack

    store.faults.add(Fault.delay(5.0, method="POST", path=ITEMS))
    with pytest.raises(requests.ReadTimeout):
        http.post(f"{store.url}/items", json={"n": 2}, timeout=0.2)
    assert store.items == [{"n": 1}, {"n": 2}]  # the client gave up; the service did not


def test_stop_cuts_a_delayed_response_short(http: requests.Session) -> None:
    store = ItemStore().start()
    store.faults.add(Fault.delay(60.0))
    errors: list[BaseException] = []

    def call() -> None:
        try:
            http.post(f"{store.url}/items", json={}, timeout=30)
        except requests.RequestException as exc:
            errors.append(exc)

    caller = threading.Thread(target=call)
    caller.start()
    assert store.handled.wait(5)
    started = time.monotonic()
    store.stop()
    caller.join(10)
    assert not caller.is_alive()
    assert time.monotonic() - started < 5
    assert errors == [] or isinstance(errors[0], requests.ConnectionError)


def test_fault_arguments_are_checked_when_built() -> None:
    with pytest.raises(ValueError, match="times"):
        Fault.status(500, times=0)
    with pytest.raises(ValueError, match="seconds"):
        Fault.delay(-1)
    with pytest.raises(Exception, match="unterminated"):
        Fault.drop_after(path="([")


def test_eventual_consistency_hides_writes_for_the_delay() -> None:
    clock = FakeClock()
    consistency = EventualConsistency(2.0, clock)
    consistency.written("a")
    consistency.written("b")
    assert not consistency.visible("a")
    assert consistency.visible("never-written")
    clock.advance(1.999)
    assert not consistency.visible("a")
    clock.advance(0.001)
    assert consistency.visible("a")

    consistency.written("c")
    consistency.settle()
    assert consistency.visible("b") and consistency.visible("c")


def test_consistency_delay_is_a_server_setting(store: ItemStore) -> None:
    assert store.consistency_delay == 0.0
    store.consistency_delay = 1.5
    assert store.consistency.delay == 1.5
