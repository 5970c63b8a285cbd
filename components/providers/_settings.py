"""Declarative provider settings, resolved from stack config first and the environment second.

The engine hands a dynamic provider's `configure(req)` the *whole* stack config: namespaced keys
(`docker-desktop-rollout:endpoints`), every value a string, structured values as JSON text, secrets
already decrypted. A provider declares what it needs as `Setting`s; a dotted key is a path into a
structured value (`endpoints.dockerHub` reads `dockerHub` from the JSON object stored under
`docker-desktop-rollout:endpoints`, which `pulumi config set --path endpoints.dockerHub URL` writes).

Resolution never puts a value into an exception or a `repr`: a secret that reached an error message
would reach the Pulumi log and CI output.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

PROJECT = "docker-desktop-rollout"
"""The Pulumi project name: the namespace of every stack config key this project reads."""


class SettingError(ValueError):
    """A setting is missing or malformed. `key` is the setting's (dotted) config key."""

    def __init__(self, key: str, message: str) -> None:
        self.key = key
        super().__init__(message)


@dataclass(frozen=True)
class Setting:
    """One value a provider needs: where to find it in stack config, and which env var backs it up.

    `key` is relative to the project namespace; dots descend into a structured config value.
    `env` is the environment variable read when the config key is absent (None: config only).
    `secret` only changes the hint in the error (`pulumi config set --secret`) and masking in `repr`.
    A setting with a `default` is never missing; one with `required=False` may be absent.
    """

    key: str
    env: str | None = None
    secret: bool = False
    default: str | None = None
    required: bool = True

    @property
    def config_key(self) -> str:
        """The namespaced top-level stack config key this setting lives under."""
        return f"{PROJECT}:{self.key.split('.', 1)[0]}"

    @property
    def path(self) -> tuple[str, ...]:
        """The path inside the structured value of `config_key` (empty for a plain key)."""
        return tuple(self.key.split(".")[1:])

    def missing_message(self) -> str:
        """How to provide this setting: the config command (with `--path`/`--secret`) and the env var."""
        flags = " --path" if self.path else ""
        flags += " --secret" if self.secret else ""
        where = f"stack config key {PROJECT}:{self.key} (pulumi config set{flags} {self.key} <value>)"
        if self.env:
            where += f" or the environment variable {self.env}"
        return f"missing setting {self.key}: set the {where}"


class Settings(Mapping[str, str]):
    """Resolved setting values by key. Absent optional settings are simply not in the mapping."""

    def __init__(self, values: Mapping[str, str], secret_keys: frozenset[str]) -> None:
        self._values = dict(values)
        self._secret_keys = secret_keys

    def __getitem__(self, key: str) -> str:
        return self._values[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:
        shown = {k: ("***" if k in self._secret_keys else v) for k, v in sorted(self._values.items())}
        return f"Settings({shown})"

    @property
    def fingerprint(self) -> str:
        """A digest identifying these values (a cache key that reveals no secret)."""
        canonical = json.dumps(sorted(self._values.items()), separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()


def _scalar_text(value: Any, setting: Setting) -> str:
    """Config leaves are strings; numbers and booleans in structured values are accepted as text."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool | int | float):
        return json.dumps(value)
    raise SettingError(setting.key, f"setting {setting.key} must be a single value, not a {type(value).__name__}")


def _from_config(setting: Setting, config: Mapping[str, Any]) -> str | None:
    """The setting's value in stack config, or None when the key or path is absent."""
    value = config.get(setting.config_key)
    if value is None:
        return None
    if setting.path and isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise SettingError(
                setting.key,
                f"stack config key {setting.config_key} is not a JSON object (needed to read {setting.key})",
            ) from None
    for depth, step in enumerate(setting.path):
        if not isinstance(value, dict):
            parent = ".".join((setting.key.split(".", 1)[0], *setting.path[:depth]))
            raise SettingError(setting.key, f"stack config value {parent} must be an object to read {setting.key}")
        value = value.get(step)
        if value is None:
            return None
    return _scalar_text(value, setting)


def secret_values(settings: tuple[Setting, ...], config: Mapping[str, Any], environ: Mapping[str, str]) -> list[str]:
    """The current values of the secret settings, wherever found; malformed config is skipped.

    Used to recognise a secret that was copied onto a provider instance before it is pickled.
    """
    found: list[str] = []
    for setting in settings:
        if not setting.secret:
            continue
        try:
            from_config = _from_config(setting, config)
        except SettingError:
            from_config = None
        found += [v for v in (from_config, environ.get(setting.env) if setting.env else None) if v]
    return found


def resolve(settings: tuple[Setting, ...], config: Mapping[str, Any], environ: Mapping[str, str]) -> Settings:
    """Resolve each setting: stack config, then its env var, then its default.

    Empty strings count as absent: CI systems expand an unset secret to "".
    Raises `SettingError` for the first required setting found nowhere.
    """
    values: dict[str, str] = {}
    for setting in settings:
        value = _from_config(setting, config) or (environ.get(setting.env) if setting.env else None)
        if not value:
            value = setting.default
        if value:
            values[setting.key] = value
        elif setting.required:
            raise SettingError(setting.key, setting.missing_message())
    return Settings(values, frozenset(s.key for s in settings if s.secret))
