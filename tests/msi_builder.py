"""Build real Windows Installer packages for tests with `wixl` (msitools), from a generated .wxs.

    msi = build_msi(tmp_path, product_name="Docker Desktop", version="4.49.0",
                    manufacturer="Docker Inc.", upgrade_code="{...}")

The MSI installs one payload file under ProgramFiles (per machine) or LocalAppData (per user).
`properties` adds Property-table rows, e.g. {"ALLUSERS": "2", "MSIINSTALLPERUSER": "1"} together
with `per_user=True` for a dual-purpose package (wixl adds ALLUSERS=1 itself for per-machine).
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path
from xml.sax.saxutils import quoteattr

__all__ = ["WIXL", "build_msi"]

WIXL = shutil.which("wixl")

_COMPONENT_GUID = "{5A1F0C3E-8F39-4C5D-9C64-0D1E2F3A4B5C}"


def build_msi(
    directory: Path,
    *,
    product_name: str,
    version: str,
    manufacturer: str,
    upgrade_code: str,
    per_user: bool = False,
    payload_bytes: bytes = b"payload\n",
    properties: Mapping[str, str] | None = None,
    file_name: str | None = None,
) -> Path:
    """Build `<directory>/<file_name or product_name + .msi>` and return its path."""
    if WIXL is None:
        raise RuntimeError("wixl (Debian package wixl / msitools) is not installed")
    directory = directory.resolve()  # wixl runs in `work`: relative paths would resolve twice
    work = directory / ".wixl-build"
    work.mkdir(parents=True, exist_ok=True)
    (work / "payload.bin").write_bytes(payload_bytes)
    wxs = work / "product.wxs"
    wxs.write_text(
        _wxs(
            product_name=product_name,
            version=version,
            manufacturer=manufacturer,
            upgrade_code=upgrade_code,
            per_user=per_user,
            properties=properties or {},
        ),
        encoding="utf-8",
    )
    output = directory / (file_name or f"{product_name}.msi")
    try:
        result = subprocess.run([WIXL, "-o", str(output), str(wxs)], cwd=work, capture_output=True, text=True)
    finally:
        shutil.rmtree(work)
    if result.returncode != 0:
        raise RuntimeError(f"wixl failed ({result.returncode}): {result.stderr.strip()}")
    return output


def _wxs(
    *,
    product_name: str,
    version: str,
    manufacturer: str,
    upgrade_code: str,
    per_user: bool,
    properties: Mapping[str, str],
) -> str:
    scope = "perUser" if per_user else "perMachine"
    root = "LocalAppDataFolder" if per_user else "ProgramFilesFolder"
    property_rows = "\n".join(
        f"    <Property Id={quoteattr(name)} Value={quoteattr(value)}/>" for name, value in properties.items()
    )
    return f"""<?xml version="1.0" encoding="utf-8"?>
<Wix xmlns="http://schemas.microsoft.com/wix/2006/wi">
  <Product Id="*" Name={quoteattr(product_name)} Language="1033" Version={quoteattr(version)}
           Manufacturer={quoteattr(manufacturer)} UpgradeCode={quoteattr(upgrade_code)}>
    <Package InstallerVersion="200" Compressed="yes" InstallScope="{scope}"/>
{property_rows}
    <Media Id="1" Cabinet="payload.cab" EmbedCab="yes"/>
    <Directory Id="TARGETDIR" Name="SourceDir">
      <Directory Id="{root}">
        <Directory Id="INSTALLDIR" Name="RolloutTest">
          <Component Id="Payload" Guid="{_COMPONENT_GUID}">
            <File Id="PayloadFile" Name="payload.bin" Source="payload.bin" KeyPath="yes"/>
          </Component>
        </Directory>
      </Directory>
    </Directory>
    <Feature Id="Main" Level="1"><ComponentRef Id="Payload"/></Feature>
  </Product>
</Wix>
"""
