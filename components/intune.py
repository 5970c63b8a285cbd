"""Intune: Docker Desktop for Windows (Win32 MSI or Store app) and macOS (PKG), with assignments.

The app resources, content upload, scripts and policies arrive with the Intune issue; this module
fixes the shape of the tree now so they slot in without reshaping it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi

from components.spec import DockerOrgSpec, GroupSpec, IntuneSpec, MacAppSpec, WindowsAppSpec


@dataclass(frozen=True)
class IntuneDeploymentArgs:
    intune: IntuneSpec
    docker: DockerOrgSpec
    groups: Mapping[str, GroupSpec]


class IntuneWindowsApp(pulumi.ComponentResource):
    def __init__(self, name: str, app: WindowsAppSpec, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("docker-desktop-rollout:intune:WindowsApp", name, None, opts)
        self.app = app
        self.register_outputs({})


class IntuneMacApp(pulumi.ComponentResource):
    def __init__(self, name: str, app: MacAppSpec, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("docker-desktop-rollout:intune:MacApp", name, None, opts)
        self.app = app
        self.register_outputs({})


class IntuneDeployment(pulumi.ComponentResource):
    windows: IntuneWindowsApp | None
    macos: IntuneMacApp | None

    def __init__(self, name: str, args: IntuneDeploymentArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("docker-desktop-rollout:intune:Deployment", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.windows = IntuneWindowsApp(f"{name}-windows", args.intune.windows, child) if args.intune.windows else None
        self.macos = IntuneMacApp(f"{name}-macos", args.intune.macos, child) if args.intune.macos else None
        self.register_outputs({})
