"""A small `RolloutProvider` used only by the harness tests: widgets kept by a local HTTP server.

It runs inside the real plugin process (imported as `tests.harness.sample_provider` from the repo
root), so everything the tests learn about it comes over the wire: outs, errors, and the requests the
server logged. The widget API:

    GET    /client-hello          made once by each client as it is built (counts client builds)
    POST   /widgets               {"name", "size", "color"?, "tags"?} -> 201 {"id", "revision", ...}
    GET    /widgets/{id}          -> 200 widget | 404
    PATCH  /widgets/{id}          changed fields -> 200 widget | 404
    DELETE /widgets/{id}          -> 204 | 404

Every call sends `Authorization: Bearer <widgetsToken>` and `X-Client-Instance: <uuid of the client>`.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from components.clients._errors import ApiError, AuthError, NotFound
from components.providers._base import Checks, Props, RolloutProvider
from components.providers._settings import Setting, Settings

if TYPE_CHECKING:
    import requests

COLORS = ("blue", "green", "red")
FIELDS = ("name", "size", "color", "tags")
URL_ENV, TOKEN_ENV = "SAMPLE_WIDGETS_URL", "SAMPLE_WIDGETS_TOKEN"
URL_SETTING = Setting("endpoints.widgets", env=URL_ENV)
TOKEN_SETTING = Setting("widgetsToken", env=TOKEN_ENV, secret=True)


class WidgetClient:
    """Just enough REST client for the widget API, mapping statuses onto the project's error tree."""

    def __init__(self, base_url: str, token: str) -> None:
        import requests  # heavy: only in the plugin process, only when a client is built

        self.base_url = base_url.rstrip("/")
        self.instance = uuid.uuid4().hex
        self._session: requests.Session = requests.Session()
        self._session.headers.update({"Authorization": f"Bearer {token}", "X-Client-Instance": self.instance})
        self._request("GET", "/client-hello")

    def _request(self, method: str, path: str, body: Any = None) -> Any:
        url = self.base_url + path
        response = self._session.request(method, url, json=body, timeout=30)
        if response.status_code >= 400:
            error = {401: AuthError, 403: AuthError, 404: NotFound}.get(response.status_code, ApiError)
            request_id = response.headers.get("X-Request-Id")
            raise error(response.status_code, method, url, request_id=request_id, body_excerpt=response.text[:200])
        return response.json() if response.content else None

    def create(self, body: Props) -> Props:
        created: Props = self._request("POST", "/widgets", body)
        return created

    def get(self, id_: str) -> Props:
        found: Props = self._request("GET", f"/widgets/{id_}")
        return found

    def patch(self, id_: str, body: Props) -> Props:
        patched: Props = self._request("PATCH", f"/widgets/{id_}", body)
        return patched

    def delete(self, id_: str) -> None:
        self._request("DELETE", f"/widgets/{id_}")


class WidgetProvider(RolloutProvider[WidgetClient]):
    settings = (URL_SETTING, TOKEN_SETTING)
    replace_on = frozenset({"name"})
    unordered = frozenset({"tags"})
    outputs = frozenset({"revision"})

    @classmethod
    def build_client(cls, settings: Settings) -> WidgetClient:
        return WidgetClient(settings[URL_SETTING.key], settings[TOKEN_SETTING.key])

    def validate(self, props: Props, checks: Checks) -> None:
        checks.text(
            "name",
            pattern=r"[a-z][a-z0-9-]{0,30}",
            hint="1-31 lowercase letters, digits or dashes, starting with a letter",
        )
        checks.integer("size", minimum=1, maximum=10)
        checks.one_of("color", COLORS, required=False)
        checks.text_list("tags", required=False)

    def create_object(self, client: WidgetClient, props: Props) -> tuple[str, Props]:
        widget = client.create({k: props[k] for k in FIELDS if k in props})
        return widget["id"], {"revision": widget["revision"]}

    def read_object(self, client: WidgetClient, id_: str, props: Props) -> Props:
        widget = client.get(id_)
        return {k: widget.get(k) for k in (*FIELDS, "revision") if k in widget}

    def update_object(self, client: WidgetClient, id_: str, olds: Props, news: Props) -> Props:
        changed = {k: news.get(k) for k in FIELDS if olds.get(k) != news.get(k)}
        return {"revision": client.patch(id_, changed)["revision"]}

    def delete_object(self, client: WidgetClient, id_: str, props: Props) -> None:
        client.delete(id_)


class SessionHoldingProvider(WidgetProvider):
    """The mistake the pickle guard exists for: a session kept on the instance."""

    def __init__(self) -> None:
        import requests

        super().__init__()
        self.session = requests.Session()
