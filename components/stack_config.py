"""Reading `stacks/Pulumi.<stack>.yaml` without the Pulumi CLI.

`rollout render`/`validate` work from the committed stack file. Secrets stay as their
`{secure: ...}` ciphertext (there is no passphrase offline) and render as `[secret]`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from components.secrets import SECRET_PLACEHOLDER
from components.spec import CREDENTIAL_KEYS, PROJECT


class StackFileError(ValueError):
    """The stack file is missing or not a Pulumi stack settings file."""


@dataclass(frozen=True)
class StackConfig:
    """One stack's configuration, split by what reads it."""

    stack: str
    areas: dict[str, Any]
    """Structured spec areas (`docker`, `intune`, ...) — what `RolloutSpec` validates."""
    credentials: dict[str, Any]
    """Provider credentials (`dockerHubToken`, ...), read by the dynamic providers' `configure`."""
    foreign: dict[str, Any]
    """Keys of other namespaces (`azure-native:location`), passed through untouched."""

    def pulumi_config(self) -> tuple[dict[str, str], list[str]]:
        """Fully-qualified config values as the SDK wants them (strings, JSON for objects), plus secret keys."""
        values: dict[str, str] = {}
        secret_keys: list[str] = []
        for key, value in [*self.areas.items(), *self.credentials.items()]:
            full_key = f"{PROJECT}:{key}"
            if _is_secure(value):
                values[full_key] = SECRET_PLACEHOLDER
                secret_keys.append(full_key)
            else:
                values[full_key] = value if isinstance(value, str) else json.dumps(value)
                if _contains_secure(value):
                    secret_keys.append(full_key)
        for full_key, value in self.foreign.items():
            values[full_key] = SECRET_PLACEHOLDER if _is_secure(value) else _as_config_string(value)
            if _is_secure(value):
                secret_keys.append(full_key)
        return values, secret_keys


def stack_file_path(stacks_dir: Path, stack: str) -> Path:
    return stacks_dir / f"Pulumi.{stack}.yaml"


def available_stacks(stacks_dir: Path) -> list[str]:
    return sorted(p.name[len("Pulumi.") : -len(".yaml")] for p in stacks_dir.glob("Pulumi.*.yaml"))


def load_stack(stack: str, stacks_dir: Path) -> StackConfig:
    path = stack_file_path(stacks_dir, stack)
    if not path.is_file():
        known = ", ".join(available_stacks(stacks_dir)) or "none"
        raise StackFileError(f"no stack file {path} (stacks in {stacks_dir}: {known})")
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise StackFileError(f"{path} is not valid YAML: {exc}") from None
    if not isinstance(document, dict):
        raise StackFileError(f"{path} must be a mapping with a `config:` section")
    config = document.get("config") or {}
    if not isinstance(config, dict):
        raise StackFileError(f"{path}: `config:` must be a mapping")
    areas: dict[str, Any] = {}
    credentials: dict[str, Any] = {}
    foreign: dict[str, Any] = {}
    prefix = f"{PROJECT}:"
    for key, value in config.items():
        key = str(key)
        if not key.startswith(prefix):
            foreign[key] = value
            continue
        name = key[len(prefix) :]
        if name in CREDENTIAL_KEYS:
            credentials[name] = value
        else:
            areas[name] = value  # unknown names are reported by RolloutSpec.from_config
    return StackConfig(stack=stack, areas=areas, credentials=credentials, foreign=foreign)


def _is_secure(value: Any) -> bool:
    return isinstance(value, dict) and set(value) == {"secure"}


def _contains_secure(value: Any) -> bool:
    if _is_secure(value):
        return True
    if isinstance(value, dict):
        return any(_contains_secure(v) for v in value.values())
    if isinstance(value, list):
        return any(_contains_secure(v) for v in value)
    return False


def _as_config_string(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(value)
