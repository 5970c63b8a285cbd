"""`RolloutProvider` through the real plugin (`python -m pulumi.dynamic`) against a real HTTP server.

The sample provider (`tests.harness.sample_provider`) is unpickled and configured inside the plugin
process; its URL and token reach it through Configure (the env vars it could fall back to are unset,
except where a test hands one to the plugin on purpose), so every passing call proves configure works.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from typing import Any

import pulumi.dynamic
import pytest
from pulumi.output import Unknown

from sandbox._server import HttpError, SandboxRequest, SandboxResponse, SandboxServer
from sandbox.faults import Fault
from tests.harness.plugin import UNKNOWN, Plugin, PluginError, preview, run_lifecycle
from tests.harness.sample_provider import (
    TOKEN_ENV,
    URL_ENV,
    SessionHoldingProvider,
    WidgetProvider,
)

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("provider_base_roundtrip")]

TOKEN = "widgets-token-5c1e0d7a9b"


class WidgetService(SandboxServer):
    """The widget API of the sample provider, strict about auth and about integers."""

    def __init__(self) -> None:
        super().__init__()
        self.widgets: dict[str, dict[str, Any]] = {}
        self._created = 0
        self.route("GET", "/client-hello", lambda request: self._authorized(request, SandboxResponse.json({})))
        self.route("POST", "/widgets", self._create)
        self.route("GET", r"/widgets/(?P<id>[^/]+)", self._get)
        self.route("PATCH", r"/widgets/(?P<id>[^/]+)", self._patch)
        self.route("DELETE", r"/widgets/(?P<id>[^/]+)", self._delete)

    def _authorized(self, request: SandboxRequest, response: SandboxResponse) -> SandboxResponse:
        if request.header("Authorization") != f"Bearer {TOKEN}":
            raise HttpError(SandboxResponse.json({"message": "invalid token"}, 401))
        return response

    def _widget(self, request: SandboxRequest) -> dict[str, Any]:
        self._authorized(request, SandboxResponse.empty())
        widget = self.widgets.get(request.path_params["id"])
        if widget is None:
            raise HttpError(SandboxResponse.json({"message": "no such widget"}, 404))
        return widget

    @staticmethod
    def _require_integer_size(body: dict[str, Any]) -> None:
        if "size" in body and type(body["size"]) is not int:
            raise HttpError(SandboxResponse.json({"message": f"size must be an integer, got {body['size']}"}, 400))

    def _create(self, request: SandboxRequest) -> SandboxResponse:
        self._authorized(request, SandboxResponse.empty())
        body = request.json()
        self._require_integer_size(body)
        self._created += 1
        widget = {**body, "id": f"w-{self._created}", "revision": 1}
        self.widgets[widget["id"]] = widget
        return SandboxResponse.json(widget, 201)

    def _get(self, request: SandboxRequest) -> SandboxResponse:
        return SandboxResponse.json(self._widget(request))

    def _patch(self, request: SandboxRequest) -> SandboxResponse:
        widget = self._widget(request)
        body = request.json()
        self._require_integer_size(body)
        widget.update(body, revision=widget["revision"] + 1)
        return SandboxResponse.json(widget)

    def _delete(self, request: SandboxRequest) -> SandboxResponse:
        del self.widgets[self._widget(request)["id"]]
        return SandboxResponse.empty()


@pytest.fixture(scope="module")
def service() -> Iterator[WidgetService]:
    with WidgetService() as server:
        yield server


def without_fallback_env() -> None:
    """The settings must come through Configure: their env-var fallbacks are unset here."""
    assert URL_ENV not in os.environ and TOKEN_ENV not in os.environ


def configured_plugin(service: WidgetService) -> Plugin:
    without_fallback_env()
    plugin = Plugin()
    plugin.configure(
        {"endpoints": {"widgets": service.url, "jamf": "https://unused.example"}, "widgetsToken": TOKEN},
        secret_keys={"widgetsToken"},
    )
    return plugin


@pytest.fixture(scope="module")
def plugin(service: WidgetService) -> Iterator[Plugin]:
    with configured_plugin(service) as running:
        yield running


def test_lifecycle(plugin: Plugin, service: WidgetService) -> None:
    service.reset_log()
    steps = run_lifecycle(
        plugin,
        WidgetProvider(),
        {"name": "alpha", "size": 3, "color": "blue", "tags": ["a", "b"]},
        {"name": "alpha", "size": 4, "color": "green", "tags": ["c", "b", "a"]},
        read_gone=lambda id_: id_ not in service.widgets,
    )
    assert steps.created.outs == {"name": "alpha", "size": 3, "color": "blue", "tags": ["a", "b"], "revision": 1}
    assert steps.updated.outs == {
        "name": "alpha",
        "size": 4,
        "color": "green",
        "tags": ["c", "b", "a"],
        "revision": 2,
    }
    writes = [(r.method, r.path, r.json() if r.body else None) for r in service.requests_log if r.method != "GET"]
    id_ = steps.created.id
    assert writes == [
        ("POST", "/widgets", {"name": "alpha", "size": 3, "color": "blue", "tags": ["a", "b"]}),
        ("PATCH", f"/widgets/{id_}", {"size": 4, "color": "green", "tags": ["c", "b", "a"]}),
        ("DELETE", f"/widgets/{id_}", None),
        ("DELETE", f"/widgets/{id_}", None),
    ]
    # The wire carried 3.0 and 4.0; the service got JSON integers (it answers 400 to anything else).
    assert [type(body["size"]) for _, _, body in writes[:2] if body] == [int, int]
    assert [r.status for r in service.requests_log if r.method == "DELETE"] == [204, 404]


def test_read_reports_an_object_deleted_outside_pulumi(plugin: Plugin, service: WidgetService) -> None:
    provider = WidgetProvider()
    checked = plugin.check(provider, {"name": "beta", "size": 1})
    created = plugin.create(provider, checked.inputs)
    del service.widgets[created.id]
    gone = plugin.read(provider, created.id, created.outs, checked.inputs)
    assert (gone.id, gone.outs, gone.inputs) == ("", {}, None)
    plugin.delete(provider, created.id, created.outs)


def test_check_failures_travel_as_check_failures(plugin: Plugin) -> None:
    checked = plugin.check(WidgetProvider(), {"name": "Beta", "size": 11, "color": "pink", "tags": ["x", 2]})
    assert checked.failures == [
        ("name", "name must be 1-31 lowercase letters, digits or dashes, starting with a letter"),
        ("size", "size must be an integer at least 1 and at most 10"),
        ("color", "color must be one of: blue, green, red (got 'pink')"),
        ("tags[1]", "tags[1] must be a string"),
    ]


def test_preview_tolerates_unknowns_and_calls_nothing(plugin: Plugin, service: WidgetService) -> None:
    provider = WidgetProvider()
    checked = plugin.check(provider, {"name": "gamma", "size": 2})
    created = plugin.create(provider, checked.inputs)
    service.reset_log()

    fresh = preview(plugin, provider, {"name": UNKNOWN, "size": 2, "tags": ["a", UNKNOWN]})
    assert fresh.check.failures == [] and fresh.diff is None
    assert isinstance(fresh.check.inputs["name"], Unknown) and isinstance(fresh.check.inputs["tags"][1], Unknown)

    renamed = preview(
        plugin, provider, {"name": UNKNOWN, "size": 2}, id_=created.id, old_inputs=checked.inputs, old_outs=created.outs
    )
    assert renamed.diff is not None and (renamed.diff.changes, renamed.diff.replaces) == (True, ["name"])
    resized = preview(
        plugin,
        provider,
        {"name": "gamma", "size": UNKNOWN},
        id_=created.id,
        old_inputs=checked.inputs,
        old_outs=created.outs,
    )
    assert resized.diff is not None and (resized.diff.changes, resized.diff.replaces) == (True, [])
    assert service.requests_log == [], "check and diff must not call the API"
    plugin.delete(provider, created.id, created.outs)


def test_without_credentials_preview_works_and_create_names_the_missing_setting() -> None:
    provider = WidgetProvider()
    without_fallback_env()
    with Plugin() as unconfigured:
        checked = unconfigured.check(provider, {"name": "delta", "size": 2})
        assert checked.failures == []
        unchanged = unconfigured.diff(provider, "w-0", {**checked.inputs, "revision": 1}, checked.inputs)
        assert unchanged.changes is False
        with pytest.raises(PluginError) as error:
            unconfigured.create(provider, checked.inputs)
    assert error.value.message == (
        "components.providers._settings.SettingError: missing setting endpoints.widgets: set the stack "
        "config key docker-desktop-rollout:endpoints.widgets (pulumi config set --path endpoints.widgets "
        "<value>) or the environment variable SAMPLE_WIDGETS_URL"
    )


def test_settings_fall_back_to_the_plugin_environment(service: WidgetService) -> None:
    provider = WidgetProvider()
    without_fallback_env()
    with Plugin(env={TOKEN_ENV: TOKEN}) as plugin:
        plugin.configure({"endpoints": {"widgets": service.url}})  # no token in stack config
        created = plugin.create(provider, {"name": "from-env", "size": 1})
        plugin.delete(provider, created.id, created.outs)
    assert created.id not in service.widgets


def test_concurrent_creates_on_one_provider_build_one_client(service: WidgetService) -> None:
    provider = WidgetProvider()
    # Hold the first client build open so the other Create RPCs arrive while it is in progress;
    # an unlocked cache would then build (and greet the service) more than once.
    service.faults.add(Fault.delay(0.3, method="GET", path="^/client-hello$"))
    service.reset_log()
    with configured_plugin(service) as fresh:
        results: dict[str, str] = {}

        def create(name: str) -> None:
            results[name] = fresh.create(provider, {"name": name, "size": 1}).id

        workers = [threading.Thread(target=create, args=(f"conc-{n}",)) for n in range(4)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(timeout=60)
    assert sorted(results) == [f"conc-{n}" for n in range(4)]
    assert service.count("GET", "^/client-hello$") == 1
    posts = [r for r in service.requests_log if r.method == "POST"]
    assert len(posts) == 4 and len({r.headers["x-client-instance"] for r in posts}) == 1
    for id_ in results.values():
        service.widgets.pop(id_)


def test_no_secret_reaches_plugin_output_or_errors(service: WidgetService) -> None:
    provider = WidgetProvider()
    service.faults.add(Fault.status(401, method="POST", path="^/widgets$", body={"message": "invalid token"}))
    with configured_plugin(service) as fresh:
        with pytest.raises(PluginError) as error:
            fresh.create(provider, {"name": "epsilon", "size": 1})
        created = fresh.create(provider, {"name": "epsilon", "size": 1})
        fresh.delete(provider, created.id, created.outs)
    [rejected] = [r for r in service.requests_log if r.status == 401]
    assert error.value.message == (
        f"components.clients._errors.AuthError: POST {service.url}/widgets returned 401 "
        f'(request id {rejected.request_id}): {{"message": "invalid token"}}'
    )
    assert TOKEN not in error.value.details
    assert TOKEN not in fresh.log


def test_a_provider_holding_a_session_fails_at_resource_construction(plugin: Plugin, service: WidgetService) -> None:
    expected = (
        "SessionHoldingProvider.session holds a requests.sessions.Session: dynamic providers are pickled "
        "into Pulumi state, so they may hold only plain data (str, int, float, bool, None and lists, "
        "tuples and dicts of them) and no secret. Build sessions, clients and locks in build_client() "
        "and use self.client(); keep per-resource data in the resource's props."
    )
    with pytest.raises(TypeError) as at_construction:
        pulumi.dynamic.Resource(SessionHoldingProvider(), "leaky", {"name": "zeta", "size": 1})
    assert str(at_construction.value) == expected
    service.reset_log()
    with pytest.raises(TypeError) as at_harness:
        plugin.create(SessionHoldingProvider(), {"name": "zeta", "size": 1})
    assert str(at_harness.value) == expected
    assert service.requests_log == []
