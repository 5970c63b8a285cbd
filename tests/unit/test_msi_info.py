"""The pure-Python MSI reader (pymsi, a pinned release candidate) against msitools' `msiinfo`,
on real MSIs built with `wixl`."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from components.msi_info import ExecutionContext, MsiError, read_msi_info
from tests.msi_builder import build_msi

UPGRADE_CODE = "{6A2B9C1D-3E4F-4A5B-8C7D-9E0F1A2B3C4D}"


def _msiinfo(*args: str) -> str:
    tool = shutil.which("msiinfo")
    if tool is None:
        pytest.fail("msiinfo (Debian package msitools) is required")
    return subprocess.run([tool, *args], check=True, capture_output=True, text=True).stdout


def _msiinfo_properties(msi: Path) -> dict[str, str]:
    # `msiinfo export X.msi Property` prints a header of three lines, then "name<TAB>value" rows.
    rows = _msiinfo("export", str(msi), "Property").splitlines()[3:]
    return dict(row.split("\t", 1) for row in rows if row)


def _msiinfo_package_code(msi: Path) -> str:
    for line in _msiinfo("suminfo", str(msi)).splitlines():
        if line.startswith("Revision number (UUID):"):
            return line.split(":", 1)[1].strip()
    raise AssertionError("msiinfo suminfo printed no revision number")


def _build(tmp_path: Path, **overrides: object) -> Path:
    arguments: dict[str, object] = {
        "product_name": "Docker Desktop",
        "version": "4.49.0",
        "manufacturer": "Docker Inc.",
        "upgrade_code": UPGRADE_CODE,
    }
    arguments.update(overrides)
    return build_msi(tmp_path, **arguments)  # type: ignore[arg-type]


@pytest.mark.parametrize("per_user", [False, True], ids=["per-machine", "per-user"])
def test_values_match_msiinfo(tmp_path: Path, per_user: bool) -> None:
    msi = _build(tmp_path, per_user=per_user)

    info = read_msi_info(msi)
    expected = _msiinfo_properties(msi)

    assert info.product_code == expected["ProductCode"]
    assert info.product_version == expected["ProductVersion"] == "4.49.0"
    assert info.upgrade_code == expected["UpgradeCode"] == UPGRADE_CODE
    assert info.product_name == expected["ProductName"] == "Docker Desktop"
    assert info.publisher == expected["Manufacturer"] == "Docker Inc."
    assert info.package_code == _msiinfo_package_code(msi)
    assert expected.get("ALLUSERS") == (None if per_user else "1")


@pytest.mark.parametrize(
    ("per_user", "properties", "context", "machine", "user"),
    [
        (False, {}, ExecutionContext.SYSTEM, True, False),
        (True, {}, ExecutionContext.USER, False, True),
        (True, {"ALLUSERS": "2"}, ExecutionContext.ANY, True, True),
        (True, {"ALLUSERS": "2", "MSIINSTALLPERUSER": "1"}, ExecutionContext.USER, False, True),
    ],
    ids=["ALLUSERS=1", "no-ALLUSERS", "ALLUSERS=2", "ALLUSERS=2+MSIINSTALLPERUSER=1"],
)
def test_execution_context(
    tmp_path: Path,
    per_user: bool,
    properties: dict[str, str],
    context: ExecutionContext,
    machine: bool,
    user: bool,
) -> None:
    info = read_msi_info(_build(tmp_path, per_user=per_user, properties=properties))

    assert info.execution_context is context
    assert (info.is_machine_install, info.is_user_install) == (machine, user)


def test_reboot_force_means_requires_reboot(tmp_path: Path) -> None:
    assert read_msi_info(_build(tmp_path, properties={"REBOOT": "Force"})).requires_reboot
    assert not read_msi_info(_build(tmp_path, file_name="plain.msi")).requires_reboot


def test_undefined_allusers_value_is_rejected(tmp_path: Path) -> None:
    msi = _build(tmp_path, per_user=True, properties={"ALLUSERS": "3"})

    with pytest.raises(MsiError) as caught:
        read_msi_info(msi)

    assert str(caught.value) == f"{msi}: ALLUSERS='3' is not a Windows Installer value (1, 2 or empty)"


def test_text_file_named_msi_is_rejected_with_its_name(tmp_path: Path) -> None:
    fake = tmp_path / "Docker Desktop.msi"
    fake.write_text("MZ this is not an installer database\n")

    with pytest.raises(MsiError) as caught:
        read_msi_info(fake)

    assert str(caught.value) == f"{fake}: not a Windows Installer package (no OLE compound file signature)"


@pytest.mark.parametrize("keep_bytes", [0, 4096], ids=["empty", "first-4KiB"])
def test_truncated_msi_is_rejected_with_its_name(tmp_path: Path, keep_bytes: int) -> None:
    msi = _build(tmp_path)
    truncated = tmp_path / "truncated.msi"
    truncated.write_bytes(msi.read_bytes()[:keep_bytes])

    with pytest.raises(MsiError) as caught:
        read_msi_info(truncated)

    assert str(caught.value).startswith(f"{truncated}: not a")
