"""The common shape of this project's Pulumi dynamic providers.

A provider subclasses `RolloutProvider[ClientT]` and declares:

- `settings`: the `Setting`s its client needs (stack config first, env var fallback);
- `replace_on`, `ignore`, `unordered`, `outputs`: how `diff` treats each field;
- `build_client(settings)`: a classmethod making the REST client;
- `validate(props, checks)`: all input validation, through `Checks` rules;
- `create_object`, `read_object`, `update_object`, `delete_object`: CRUD against the client.

The base owns the engine contract so each provider does not re-learn it:

- The provider *object* is dill-pickled into state when its `pulumi.dynamic.Resource` is built, in the
  program process, long before `configure` runs in the plugin process. So the instance holds plain
  data only (`__getstate__` refuses anything else, loudly); configuration and clients live in
  module-level registries of the plugin process, never on `self`.
- The plugin serves up to four RPCs at once on one cached instance: clients are built once per process
  per (provider class, settings) under a lock.
- Numbers arrive as floats (protobuf `Struct`): every props dict is normalised back to ints.
- During preview, `check` and `diff` see `pulumi.output.Unknown` values; rules skip them, diff treats
  them as changes. Neither touches the client (`diff` is pure, and `client()` refuses to run inside
  `validate`), so previews are side-effect free and need no credentials.
- `update` returns full outs, `read` reports a vanished object as `ReadResult(None, {})`, and
  `delete` treats `NotFound` as success.
"""

from __future__ import annotations

import json
import os
import re
import threading
import weakref
from abc import ABCMeta, abstractmethod
from collections.abc import Collection, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, ClassVar, Generic, TypeVar, cast

from pulumi.dynamic import (
    CheckFailure,
    CheckResult,
    ConfigureRequest,
    CreateResult,
    DiffResult,
    ReadResult,
    ResourceProvider,
    UpdateResult,
)
from pulumi.output import Unknown

from components.clients._errors import NotFound
from components.providers._settings import Setting, Settings, resolve, secret_values

PROVIDER_KEY = "__provider"
"""The property in which the plugin carries the pickled provider; never a field of ours."""

Props = dict[str, Any]
ClientT = TypeVar("ClientT")


# --- values as the plugin delivers them -------------------------------------------------------------


def is_unknown(value: Any) -> bool:
    """True for a value that is only known after apply (preview)."""
    return isinstance(value, Unknown)


def contains_unknown(value: Any) -> bool:
    """True if `value` is unknown or holds an unknown at any depth."""
    if isinstance(value, dict):
        return any(contains_unknown(v) for v in value.values())
    if isinstance(value, list | tuple):
        return any(contains_unknown(v) for v in value)
    return is_unknown(value)


def normalize_numbers(value: Any) -> Any:
    """Turn integral floats back into ints at any depth: protobuf `Struct` sends 3 as 3.0."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: normalize_numbers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [normalize_numbers(v) for v in value]
    return value


def user_props(props: Mapping[str, Any]) -> Props:
    """The provider's own fields: `__provider` removed, numbers normalised."""
    return {k: normalize_numbers(v) for k, v in props.items() if k != PROVIDER_KEY}


# --- check ------------------------------------------------------------------------------------------


class Checks:
    """Validation rules for `validate`; failures collect in `failures`.

    Every rule skips a value that is unknown during preview (it is checked again at `up`), and every
    reason names the field. Only `one_of` echoes the offending value: enumerations are never secret.
    """

    def __init__(self, props: Mapping[str, Any]) -> None:
        self.props = props
        self.failures: list[CheckFailure] = []

    def fail(self, field: str, reason: str) -> None:
        """Record a failure; `reason` must name the field and must not quote a secret."""
        self.failures.append(CheckFailure(field, reason))

    def _value(self, field: str, required: bool) -> tuple[bool, Any]:
        """(should the rule check this value, the value); records a missing required field."""
        value = self.props.get(field)
        if value is None or value == "":
            if required:
                self.fail(field, f"{field} is required")
            return False, None
        return not is_unknown(value), value

    def text(self, field: str, *, required: bool = True, pattern: str | None = None, hint: str = "") -> None:
        """A string; with `pattern`, one that fully matches it (`hint` says what that means)."""
        check, value = self._value(field, required)
        if not check:
            return
        if not isinstance(value, str):
            self.fail(field, f"{field} must be a string")
        elif pattern is not None and re.fullmatch(pattern, value) is None:
            self.fail(field, f"{field} must be {hint or f'a string matching {pattern}'}")

    def one_of(self, field: str, allowed: Collection[str], *, required: bool = True) -> None:
        """One of `allowed`."""
        check, value = self._value(field, required)
        if check and value not in allowed:
            self.fail(field, f"{field} must be one of: {', '.join(sorted(allowed))} (got {value!r})")

    def integer(
        self, field: str, *, minimum: int | None = None, maximum: int | None = None, required: bool = True
    ) -> None:
        """An int (not a bool) within the inclusive bounds given."""
        check, value = self._value(field, required)
        if not check:
            return
        low = minimum if minimum is not None else float("-inf")
        high = maximum if maximum is not None else float("inf")
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            limits = [f"at least {minimum}"] if minimum is not None else []
            limits += [f"at most {maximum}"] if maximum is not None else []
            self.fail(field, f"{field} must be an integer {' and '.join(limits)}".rstrip())

    def boolean(self, field: str, *, required: bool = True) -> None:
        """true or false."""
        check, value = self._value(field, required)
        if check and not isinstance(value, bool):
            self.fail(field, f"{field} must be true or false")

    def text_list(self, field: str, *, allowed: Collection[str] | None = None, required: bool = True) -> None:
        """A list of strings, each in `allowed` if given. Unknown elements are skipped."""
        check, value = self._value(field, required)
        if not check:
            return
        if not isinstance(value, list):
            self.fail(field, f"{field} must be a list of strings")
            return
        for index, item in enumerate(value):
            if is_unknown(item):
                continue
            if not isinstance(item, str):
                self.fail(f"{field}[{index}]", f"{field}[{index}] must be a string")
            elif allowed is not None and item not in allowed:
                self.fail(
                    f"{field}[{index}]",
                    f"{field}[{index}] must be one of: {', '.join(sorted(allowed))} (got {item!r})",
                )


# --- diff -------------------------------------------------------------------------------------------


def _comparable(value: Any, unordered: bool) -> Any:
    """A value to compare with ==; an unordered list becomes the set of its canonical JSON items."""
    if unordered and isinstance(value, list):
        return frozenset(json.dumps(item, sort_keys=True) for item in value)
    return value


def changed_fields(
    olds: Mapping[str, Any],
    news: Mapping[str, Any],
    *,
    ignore: Collection[str] = (),
    unordered: Collection[str] = (),
) -> list[str]:
    """Fields whose value differs (sorted). A field unknown in `news` counts as changed.

    A missing field and a None field are the same thing: the SDK drops None inputs on the wire.
    """
    changed = []
    for field in sorted((set(olds) | set(news)) - set(ignore) - {PROVIDER_KEY}):
        old, new, as_set = olds.get(field), news.get(field), field in unordered
        if contains_unknown(new) or _comparable(old, as_set) != _comparable(new, as_set):
            changed.append(field)
    return changed


# --- the plan-phase guard ---------------------------------------------------------------------------

_PLANNING = threading.local()


@contextmanager
def _planning() -> Iterator[None]:
    """Mark this thread as inside `validate`, where `client()` must not be called."""
    outer = getattr(_PLANNING, "active", False)
    _PLANNING.active = True
    try:
        yield
    finally:
        _PLANNING.active = outer


# --- per-process registries (never pickled) ---------------------------------------------------------

_CONFIG: weakref.WeakKeyDictionary[RolloutProvider[Any], dict[str, Any]] = weakref.WeakKeyDictionary()
"""Stack config captured by `configure`, per provider instance, kept off the instance itself."""

_CLIENTS: dict[tuple[type, str], Any] = {}
_BUILD_LOCKS: dict[tuple[type, str], threading.Lock] = {}
_REGISTRY_LOCK = threading.Lock()


# --- the pickle guard -------------------------------------------------------------------------------

_PLAIN_SCALARS = (str, int, float, bool, type(None))
_SECRET_NAME = re.compile(r"(token|secret|password|passwd|credentials?|api_?key)$", re.IGNORECASE)
_SECRET_SHAPE = re.compile(r"dckr_(pat|oat)_|eyJ[\w-]+\.[\w-]+\.|(Bearer|Basic) [\w+/=.-]{16,}|-----BEGIN ")
_MIN_SECRET_LEN = 8
"""Shorter configured secrets are only matched exactly, so short plain values are not flagged."""

_PLAIN_FIX = (
    "Build sessions, clients and locks in build_client() and use self.client(); "
    "keep per-resource data in the resource's props."
)
_SECRET_FIX = "Declare a Setting(secret=True) in `settings` and read it from the settings in build_client()."


def _audit(path: str, name: str, value: Any, secrets: list[str]) -> tuple[str, str] | None:
    """(problem, fix) for the first value under `path` that must not be pickled, else None."""
    if isinstance(value, str):
        if _SECRET_NAME.search(name) and value:
            return f"{path} looks like a secret (by its name)", _SECRET_FIX
        if _SECRET_SHAPE.search(value) or any(
            value == s or (len(s) >= _MIN_SECRET_LEN and s in value) for s in secrets
        ):
            return f"{path} holds a secret-looking value", _SECRET_FIX
        return None
    if isinstance(value, _PLAIN_SCALARS):
        return None
    if isinstance(value, list | tuple):
        for index, item in enumerate(value):
            found = _audit(f"{path}[{index}]", name, item, secrets)
            if found:
                return found
        return None
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                return f"{path} has a non-string key of type {type(key).__name__}", _PLAIN_FIX
            found = _audit(f"{path}[{key!r}]", key, item, secrets)
            if found:
                return found
        return None
    kind = type(value)
    return f"{path} holds a {kind.__module__}.{kind.__qualname__}", _PLAIN_FIX


# --- the base class ---------------------------------------------------------------------------------


class RolloutProvider(ResourceProvider, Generic[ClientT], metaclass=ABCMeta):
    """Base of every dynamic provider in this project (see the module docstring)."""

    settings: ClassVar[tuple[Setting, ...]] = ()
    """What `build_client` needs, resolved from stack config, then env vars, then defaults."""

    replace_on: ClassVar[frozenset[str]] = frozenset()
    """Fields whose change replaces the object instead of updating it."""

    ignore: ClassVar[frozenset[str]] = frozenset()
    """Input fields `diff` never compares (e.g. write-only values the API cannot read back)."""

    unordered: ClassVar[frozenset[str]] = frozenset()
    """List fields compared as sets: order and duplicates do not matter."""

    outputs: ClassVar[frozenset[str]] = frozenset()
    """Fields the provider computes (not inputs): carried over by `update`, skipped by `diff`."""

    delete_before_replace: ClassVar[bool] = False
    """Delete first on replace, for objects whose natural key (name, label) must stay unique."""

    # -- pickling --

    def __getstate__(self) -> dict[str, Any]:
        """Refuse, at `Resource` construction, instance state that must not reach Pulumi state."""
        secrets = secret_values(self.settings, _CONFIG.get(self, {}), os.environ)
        for name, value in sorted(self.__dict__.items()):
            found = _audit(name, name, value, secrets)
            if found:
                problem, fix = found
                raise TypeError(
                    f"{type(self).__name__}.{problem}: dynamic providers are pickled into Pulumi state, "
                    "so they may hold only plain data (str, int, float, bool, None and lists, tuples "
                    f"and dicts of them) and no secret. {fix}"
                )
        return dict(self.__dict__)

    # -- configuration and the client --

    def configure(self, req: ConfigureRequest) -> None:
        """Keep the stack config keys our settings read; resolution waits until a client is needed.

        Resolving here would make `check` and `diff` (preview) fail without credentials.
        """
        wanted = {setting.config_key for setting in self.settings}
        captured = {key: req.config.get(key) for key in wanted}
        with _REGISTRY_LOCK:
            _CONFIG[self] = {k: v for k, v in captured.items() if v is not None}

    def resolve_settings(self) -> Settings:
        """This provider's settings now: configured stack config, else the process environment."""
        return resolve(self.settings, _CONFIG.get(self, {}), os.environ)

    def client(self) -> ClientT:
        """The client for the current settings, built once per process per (class, settings)."""
        if getattr(_PLANNING, "active", False):
            raise RuntimeError(
                f"{type(self).__name__}.client() called from check: check and diff run during preview "
                "and must not call the API or need credentials"
            )
        settings = self.resolve_settings()
        key = (type(self), settings.fingerprint)
        built = _CLIENTS.get(key)
        if built is not None:
            return cast(ClientT, built)
        with _REGISTRY_LOCK:
            lock = _BUILD_LOCKS.setdefault(key, threading.Lock())
        with lock:
            built = _CLIENTS.get(key)
            if built is None:
                built = _CLIENTS[key] = type(self).build_client(settings)
        return cast(ClientT, built)

    # -- the engine contract (final: subclasses implement the hooks below) --

    def check(self, olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        props = user_props(news)
        checks = Checks(props)
        with _planning():
            self.validate(props, checks)
        return CheckResult(props, checks.failures)

    def diff(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        changed = changed_fields(
            user_props(olds), user_props(news), ignore=self.ignore | self.outputs, unordered=self.unordered
        )
        replaces = [field for field in changed if field in self.replace_on]
        return DiffResult(
            changes=bool(changed),
            replaces=replaces,
            delete_before_replace=self.delete_before_replace if replaces else None,
        )

    def create(self, props: dict[str, Any]) -> CreateResult:
        inputs = user_props(props)
        id_, computed = self.create_object(self.client(), inputs)
        return CreateResult(id_, {**inputs, **computed})

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        current = user_props(props)
        try:
            refreshed = self.read_object(self.client(), id_, current)
        except NotFound:
            return ReadResult(None, {})
        return ReadResult(id_, {**current, **refreshed})

    def update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        old, new = user_props(olds), user_props(news)
        computed = self.update_object(self.client(), id_, old, new)
        carried = {k: v for k, v in old.items() if k in self.outputs}
        return UpdateResult({**carried, **new, **computed})

    def delete(self, id_: str, props: dict[str, Any]) -> None:
        try:
            self.delete_object(self.client(), id_, user_props(props))
        except NotFound:
            return

    # -- hooks --

    @classmethod
    @abstractmethod
    def build_client(cls, settings: Settings) -> ClientT:
        """Make the client from resolved settings. Called once per process per distinct settings."""

    @abstractmethod
    def validate(self, props: Props, checks: Checks) -> None:
        """All input validation, via `checks` rules or `checks.fail`. No I/O; values may be unknown."""

    @abstractmethod
    def create_object(self, client: ClientT, props: Props) -> tuple[str, Props]:
        """Create the object; return its id and the computed outputs (inputs are added by the base)."""

    @abstractmethod
    def read_object(self, client: ClientT, id_: str, props: Props) -> Props:
        """The object's live fields (merged over `props`); raise `NotFound` when it is gone."""

    @abstractmethod
    def update_object(self, client: ClientT, id_: str, olds: Props, news: Props) -> Props:
        """Apply `news`; return outputs that changed (the base returns full outs)."""

    @abstractmethod
    def delete_object(self, client: ClientT, id_: str, props: Props) -> None:
        """Delete the object; `NotFound` is taken as already deleted."""
