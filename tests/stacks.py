"""Helpers to write stack files for tests: a full, valid base config and path-based edits."""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import yaml

from components.spec import PROJECT

REPO_ROOT = Path(__file__).resolve().parent.parent

DELETE = object()


def base_areas() -> dict[str, Any]:
    """Every area, valid, close to a real enterprise (what the invalid-config tests break one at a time)."""
    return {
        "azure": {
            "location": "westeurope",
            "resourceGroup": "rg-docker",
            "keyVault": {"name": "kv-acme-docker", "resourceGroup": "rg-docker"},
        },
        "groups": {
            "developers": {"displayName": "SG-Docker", "objectId": "0b6c5a44-7d2e-4c1b-9f3a-8e7d6c5b4a39"},
            "contractors": {"displayName": "SG-Contractors", "create": True},
        },
        "docker": {
            "org": "acmecorp",
            "plan": "business",
            "adminSettings": {
                "configurationFileVersion": 2,
                "enhancedContainerIsolation": {"value": True, "locked": True},
            },
            "accessTokens": [
                {
                    "label": "ci-pull",
                    "expiresInDays": 90,
                    "rotateBeforeDays": 14,
                    "keyVaultSecret": "dockerhub-ci-pull",
                    "resources": [{"type": "TYPE_REPO", "path": "acmecorp/base", "scopes": ["scope-image-pull"]}],
                }
            ],
            "domains": [
                {
                    "name": "acme.com",
                    "verificationValue": "docker-verification=7d3c9a12",
                    "dnsZone": {"resourceGroup": "rg-dns", "zoneName": "acme.com"},
                }
            ],
            "settings": {"imageAccess": {"enabled": True}},
        },
        "intune": {
            "windows": {
                "msi": {"file": "installers/DockerDesktop.msi", "engine": "wsl"},
                "assignments": [{"intent": "required", "target": "developers"}],
            }
        },
        "jamf": {
            "url": "https://acme.jamfcloud.com",
            "clientId": "client-1",
            "package": {"file": "installers/Docker.pkg"},
        },
        "devbox": {
            "resourceGroup": "rg-devbox",
            "devCenters": [
                {
                    "name": "dc-acme",
                    "definitions": [
                        {"name": "docker-8c32", "sku": "general_i_8c32gb256ssd_v2", "osStorageType": "ssd_256gb"}
                    ],
                    "networks": [{"name": "managed-weu", "type": "managed", "regions": ["westeurope"]}],
                    "projects": [
                        {
                            "name": "contractors",
                            "pools": [
                                {
                                    "name": "docker-pool",
                                    "definition": "docker-8c32",
                                    "network": "managed-weu",
                                    "schedule": {"time": "19:00", "timeZone": "Europe/Berlin"},
                                }
                            ],
                            "roles": [{"group": "contractors", "role": "devBoxUser"}],
                        }
                    ],
                }
            ],
        },
    }


def edit(areas: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """A copy of `areas` with `path` (`docker.accessTokens[0].label`) set to value, or removed with DELETE."""
    result = copy.deepcopy(areas)
    parts: list[str | int] = [int(p) if p.isdigit() else p for p in re.findall(r"[^.\[\]]+", path)]
    node: Any = result
    for part in parts[:-1]:
        node = node[part]
    last = parts[-1]
    if value is DELETE:
        del node[last]
    else:
        node[last] = value
    return result


def write_stack(
    stacks_dir: Path, name: str, areas: dict[str, Any], *, credentials: dict[str, Any] | None = None
) -> Path:
    stacks_dir.mkdir(parents=True, exist_ok=True)
    config = {f"{PROJECT}:{key}": value for key, value in {**areas, **(credentials or {})}.items()}
    path = stacks_dir / f"Pulumi.{name}.yaml"
    path.write_text(yaml.safe_dump({"config": config}, sort_keys=False), encoding="utf-8")
    return path
