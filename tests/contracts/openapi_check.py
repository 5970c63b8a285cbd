"""Check HTTP exchanges with Docker Hub against Docker's published OpenAPI contract.

```python
validate_request(request) -> str | None             # raises ContractViolation
validate_response(request, response) -> str | None  # raises ContractViolation
validate_exchange(request, response) -> str | None  # both
validate_schema(component, instance) -> None        # one value against components/schemas/<component>
```

`request` is a `requests.PreparedRequest` (or `Request`), `response` a `requests.Response`; with a
session, `validate_exchange(response.request, response)`. Each returns None when it validated
everything, or the documented reason (`dockerhub_exceptions`) when it skipped a part. Requests
are matched against the spec's server `https://hub.docker.com`, so any sandbox port works.
`validate_schema` checks the parts of a skipped response that do follow the spec, such as the
items of a list whose envelope deviates.

The contract is `dockerhub-openapi.normalized.yaml` next to this module: a copy of
`../shared/specs/dockerhub-openapi.normalized.yaml` so the tests do not depend on `../shared`.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import requests
import yaml
from openapi_core import OpenAPI
from openapi_core.contrib.requests import RequestsOpenAPIRequest, RequestsOpenAPIResponse
from openapi_core.exceptions import OpenAPIError
from openapi_schema_validator import OAS30ReadValidator

from tests.contracts.dockerhub_exceptions import ROUTE_EXCEPTIONS, STATUS_EXCEPTIONS

SPEC_PATH = Path(__file__).with_name("dockerhub-openapi.normalized.yaml")
SPEC_SERVER = "https://hub.docker.com"


class ContractViolation(AssertionError):
    """The exchange breaks the Docker Hub contract; the message lists every schema error."""


class _AsSentToHub(RequestsOpenAPIRequest):
    """The request as if sent to the spec's server, whatever host and port it really went to."""

    @property
    def host_url(self) -> str:
        return SPEC_SERVER


@functools.cache
def _spec() -> tuple[OpenAPI, Mapping[str, Any], Mapping[str, Any]]:
    """The contract, its `paths` and its `components`, loaded once per process."""
    data = yaml.safe_load(SPEC_PATH.read_text(encoding="utf-8"))
    return OpenAPI.from_dict(data), data["paths"], data["components"]


def _template_pattern(template: str) -> re.Pattern[str]:
    return re.compile(re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template)) + "/?")


def _route_exception(method: str, path: str) -> tuple[str, str] | None:
    """The `ROUTE_EXCEPTIONS` key this request falls under, if any."""
    for key in ROUTE_EXCEPTIONS:
        if key[0] == method.upper() and _template_pattern(key[1]).fullmatch(path):
            return key
    return None


def _explain(exc: OpenAPIError) -> str:
    """The error chain, one line per schema error, values shortened: bodies can be large."""
    lines: list[str] = []
    node: BaseException | None = exc
    while node is not None:
        lines.append(f"{type(node).__name__}: {_shorten(str(node))}")
        lines += [_error_line(error) for error in getattr(node, "schema_errors", ())]
        node = node.__cause__
    return "\n".join(lines)


def _shorten(text: str, limit: int = 300) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _error_line(error: Any) -> str:
    """One jsonschema `ValidationError` as `  - path/to/field: message`."""
    return f"  - {'/'.join(map(str, error.absolute_path)) or '<root>'}: {_shorten(error.message)}"


def validate_request(request: requests.PreparedRequest | requests.Request) -> str | None:
    openapi, paths, _ = _spec()
    adapted = _AsSentToHub(request)
    key = _route_exception(adapted.method, adapted.path)
    if key is not None and key[1] not in paths:
        return ROUTE_EXCEPTIONS[key]
    try:
        openapi.validate_request(adapted)
    except OpenAPIError as exc:
        raise ContractViolation(f"{adapted.method.upper()} {adapted.path}: {_explain(exc)}") from exc
    return None


def validate_response(request: requests.PreparedRequest | requests.Request, response: requests.Response) -> str | None:
    openapi, _, _ = _spec()
    adapted = _AsSentToHub(request)
    if response.status_code in STATUS_EXCEPTIONS:
        return STATUS_EXCEPTIONS[response.status_code]
    key = _route_exception(adapted.method, adapted.path)
    if key is not None:
        return ROUTE_EXCEPTIONS[key]
    try:
        openapi.validate_response(adapted, RequestsOpenAPIResponse(response))
    except OpenAPIError as exc:
        raise ContractViolation(
            f"{adapted.method.upper()} {adapted.path} -> {response.status_code}: {_explain(exc)}"
        ) from exc
    return None


def validate_schema(component: str, instance: Any) -> None:
    _, _, components = _spec()
    if component not in components["schemas"]:
        raise KeyError(f"no schema {component!r} in the contract")
    schema = {"$ref": f"#/components/schemas/{component}", "components": components}
    validator = OAS30ReadValidator(schema, format_checker=OAS30ReadValidator.FORMAT_CHECKER)
    errors = [_error_line(error) for error in validator.iter_errors(instance)]
    if errors:
        raise ContractViolation(f"not a valid {component}:\n" + "\n".join(errors))


def validate_exchange(request: requests.PreparedRequest | requests.Request, response: requests.Response) -> str | None:
    """Validate both sides; returns the first documented reason for skipping a side, if any."""
    skipped_request = validate_request(request)
    skipped_response = validate_response(request, response)
    return skipped_request or skipped_response
