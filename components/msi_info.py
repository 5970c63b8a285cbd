"""Read the facts Intune needs from a Windows Installer package, in pure Python, on any OS.

The values come from the MSI's own Property table and its summary information stream (read with
`pymsi`), never from the file name: ProductCode, ProductVersion, UpgradeCode, ProductName,
Manufacturer (Intune calls it the publisher), ALLUSERS / MSIINSTALLPERUSER (the execution context)
and the package code (summary information property 9, "Revision Number").
"""

from __future__ import annotations

import enum
import mmap
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

__all__ = ["ExecutionContext", "MsiError", "MsiInfo", "read_msi_info"]

_OLE_SIGNATURE = bytes.fromhex("d0cf11e0a1b11ae1")


class MsiError(ValueError):
    """The file is not a readable Windows Installer package, or lacks a property Intune needs."""


class ExecutionContext(enum.StrEnum):
    """Detection.xml `MsiExecutionContext`; Graph's `packageType` is perMachine / perUser / dualPurpose."""

    SYSTEM = "System"
    USER = "User"
    ANY = "Any"


@dataclass(frozen=True)
class MsiInfo:
    product_code: str
    product_version: str
    upgrade_code: str
    product_name: str
    publisher: str
    package_code: str
    execution_context: ExecutionContext
    requires_reboot: bool

    @property
    def is_machine_install(self) -> bool:
        return self.execution_context is not ExecutionContext.USER

    @property
    def is_user_install(self) -> bool:
        return self.execution_context is not ExecutionContext.SYSTEM


def _execution_context(properties: Mapping[str, str]) -> ExecutionContext:
    """Map ALLUSERS / MSIINSTALLPERUSER to the context Intune installs the package in.

    Windows Installer: ALLUSERS=1 is per-machine; ALLUSERS unset or "" is per-user; ALLUSERS=2 is a
    dual-purpose package whose context follows the installing user's privileges, unless
    MSIINSTALLPERUSER=1 declares per-user as the package's own choice (Windows 7+; WiX 4's
    `Scope="perUser"` writes exactly that pair). Other ALLUSERS values are undefined by Windows
    Installer, so they are rejected rather than guessed.
    """
    all_users = properties.get("ALLUSERS", "")
    if all_users == "1":
        return ExecutionContext.SYSTEM
    if all_users == "":
        return ExecutionContext.USER
    if all_users == "2":
        if properties.get("MSIINSTALLPERUSER", "") == "1":
            return ExecutionContext.USER
        return ExecutionContext.ANY
    raise MsiError(f"ALLUSERS={all_users!r} is not a Windows Installer value (1, 2 or empty)")


def read_msi_info(path: Path) -> MsiInfo:
    """Read the MSI at `path`; raise `MsiError` naming the file if it is not a usable MSI."""
    properties, package_code = _read_tables(path)
    missing = [
        name
        for name in ("ProductCode", "ProductVersion", "UpgradeCode", "ProductName", "Manufacturer")
        if not properties.get(name)
    ]
    if missing:
        raise MsiError(f"{path}: the MSI Property table has no {', '.join(missing)}")
    if not package_code:
        raise MsiError(f"{path}: the MSI summary information has no package code (Revision Number)")
    try:
        context = _execution_context(properties)
    except MsiError as exc:
        raise MsiError(f"{path}: {exc}") from None
    return MsiInfo(
        product_code=properties["ProductCode"],
        product_version=properties["ProductVersion"],
        upgrade_code=properties["UpgradeCode"],
        product_name=properties["ProductName"],
        publisher=properties["Manufacturer"],
        package_code=package_code,
        execution_context=context,
        # REBOOT=Force; Windows Installer itself only looks at the first letter of the value.
        requires_reboot=properties.get("REBOOT", "")[:1].upper() == "F",
    )


def _read_tables(path: Path) -> tuple[dict[str, str], str | None]:
    """Return the Property table as a dict and the summary information package code."""
    from pymsi.package import Package  # only needed for MSIs

    try:
        file = path.open("rb")
    except OSError as exc:
        raise MsiError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    with file:
        if file.read(len(_OLE_SIGNATURE)) != _OLE_SIGNATURE:
            raise MsiError(f"{path}: not a Windows Installer package (no OLE compound file signature)")
        try:
            # mmap lets pymsi read the few streams it needs without loading a 600 MB installer.
            with mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ) as view:
                package = Package(view, strict=False)
                table = package.get("Property")
                rows: list[dict[str, object]] = (table.rows if table is not None else None) or []
                uuid = package.summary.uuid() if package.summary is not None else None
        except Exception as exc:  # pymsi is a release candidate parsing untrusted bytes: any failure means "unreadable"
            raise MsiError(f"{path}: not a readable Windows Installer package ({exc})") from exc
    properties = {str(row["Property"]): str(row["Value"]) for row in rows if row.get("Value") is not None}
    return properties, uuid if isinstance(uuid, str) else None
