"""Docker Desktop installer knowledge: msiexec and `installer` command lines, allowedOrgs artifacts.

Pure functions over frozen dataclasses: no Pulumi, no I/O. The rules checked here are the ones Docker
states in its MSI and PKG installer pages, its sign-in enforcement page and its FAQ; every violation is
an `InstallerRuleError` naming the MSI property (or option) at fault.

msiexec quoting: a string property is written `NAME="value"` with each inner `"` doubled, the escaping
msiexec itself understands. PowerShell re-quotes arguments of native commands and mangles the doubled
quotes, which is why Docker's PowerShell examples start with the stop-parsing token (`msiexec --% ...`);
pass `powershell_stop_parsing=True` for command lines that a PowerShell prompt will run. Intune runs the
install command line directly, without PowerShell.
"""

from __future__ import annotations

import json
import plistlib
import re
import shlex
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, get_args

from components.admin_settings import AdminSettings, ProxyMode, admin_settings_document, render_admin_settings

__all__ = [
    "ALLOWED_ORGS_REGISTRY_KEY",
    "MSI_RETURN_CODES",
    "DisplayMode",
    "Engine",
    "InstallerRuleError",
    "MsiOptions",
    "MsiProxy",
    "ProxyMode",
    "RegistryMultiString",
    "RestartMode",
    "ReturnCodeType",
    "allowed_orgs_profile_string",
    "allowed_orgs_registry_value",
    "check_msi_options",
    "classify_return_code",
    "docker_config_mobileconfig",
    "msi_properties",
    "msiexec_install",
    "msiexec_uninstall",
    "pkg_install_command",
    "registry_json",
]

Engine = Literal["wsl", "hyperv", "windows"]
DisplayMode = Literal["interactive", "quiet", "qn", "passive"]
RestartMode = Literal["default", "norestart", "forcerestart"]
ReturnCodeType = Literal["success", "softReboot", "hardReboot", "retry", "failed"]

ALLOWED_ORGS_REGISTRY_KEY = r"HKLM\SOFTWARE\Policies\Docker\Docker Desktop"

# The return codes Microsoft's samples and Intune's defaults register for a Win32 app
# (research/intune.md §1.1); names are Graph's win32LobAppReturnCodeType values.
MSI_RETURN_CODES: tuple[tuple[int, ReturnCodeType], ...] = (
    (0, "success"),
    (1707, "success"),
    (3010, "softReboot"),
    (1641, "hardReboot"),
    (1618, "retry"),
)

_DISPLAY_FLAGS: Mapping[str, str | None] = {
    "interactive": None,
    "quiet": "/quiet",
    "qn": "/qn",
    "passive": "/passive",
}
_RESTART_FLAGS: Mapping[str, str | None] = {
    "default": None,
    "norestart": "/norestart",
    "forcerestart": "/forcerestart",
}

# Docker only says organization names are lowercase; Docker Hub namespaces are lowercase letters,
# digits, '-' and '_', starting with a letter or digit (Docker's own examples: your-organization, first_org).
_ORG_NAME = re.compile(r"[a-z0-9][a-z0-9_-]*")
# Windows Installer requires the letters of a ProductCode GUID to be uppercase.
_PRODUCT_CODE = re.compile(r"\{[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}\}")


class InstallerRuleError(ValueError):
    """An installer option breaks one of Docker's stated rules; `property` names the option."""

    def __init__(self, property: str, message: str) -> None:
        self.property = property
        self.message = message
        super().__init__(f"{property}: {message}")


@dataclass(frozen=True)
class MsiProxy:
    """Proxy properties of the MSI. None leaves the property out (the installer default applies)."""

    mode: ProxyMode | None = None
    enable_kerberos_ntlm: bool | None = None
    http: str | None = None
    https: str | None = None
    exclude: tuple[str, ...] = ()
    pac: str | None = None
    embedded_pac: str | None = None


@dataclass(frozen=True)
class MsiOptions:
    """Docker's custom MSI properties. None leaves the property out (the installer default applies)."""

    desktop_shortcut: bool | None = None
    install_folder: str | None = None
    admin_settings: AdminSettings | None = None
    allowed_org: str | None = None
    always_run_service: bool | None = None
    disable_windows_containers: bool | None = None
    engine: Engine | None = None
    proxy: MsiProxy | None = None
    hyperv_data_root: str | None = None
    windows_containers_data_root: str | None = None
    wsl_data_root: str | None = None
    disable_analytics: bool | None = None


@dataclass(frozen=True)
class RegistryMultiString:
    """A REG_MULTI_SZ registry value: one string per line."""

    hive_key: str
    value_name: str
    kind: Literal["REG_MULTI_SZ"]
    values: tuple[str, ...]


def _check_one_of(name: str, value: str | None, allowed: tuple[str, ...]) -> None:
    if value is not None and value not in allowed:
        raise InstallerRuleError(name, f"must be one of {', '.join(allowed)}, got {value!r}")


def _check_org_name(name: str, org: str) -> None:
    if org != org.lower():
        raise InstallerRuleError(name, f"organization names must be lowercase: use {org.lower()!r}, not {org!r}")
    if not _ORG_NAME.fullmatch(org):
        raise InstallerRuleError(
            name, f"{org!r} is not a Docker organization name (lowercase letters, digits, '-' and '_')"
        )


def _whitespace_path(node: Any, path: str) -> str | None:
    """The dotted path of the first string in `node` that contains whitespace, if any."""
    if isinstance(node, str):
        return path if any(ch.isspace() for ch in node) else None
    if isinstance(node, dict):
        children: Iterable[tuple[str, Any]] = ((f"{path}.{key}" if path else key, v) for key, v in node.items())
    elif isinstance(node, list):
        children = ((f"{path}[{index}]", v) for index, v in enumerate(node))
    else:
        return None
    for child_path, child in children:
        found = _whitespace_path(child, child_path)
        if found is not None:
            return found
    return None


def _string_properties(options: MsiOptions) -> list[tuple[str, str | None]]:
    proxy = options.proxy or MsiProxy()
    return [
        ("INSTALLFOLDER", options.install_folder),
        ("ALLOWEDORG", options.allowed_org),
        ("OVERRIDEPROXYHTTP", proxy.http),
        ("OVERRIDEPROXYHTTPS", proxy.https),
        ("OVERRIDEPROXYPAC", proxy.pac),
        ("OVERRIDEPROXYEMBEDDEDPAC", proxy.embedded_pac),
        ("HYPERVDEFAULTDATAROOT", options.hyperv_data_root),
        ("WINDOWSCONTAINERSDEFAULTDATAROOT", options.windows_containers_data_root),
        ("WSLDEFAULTDATAROOT", options.wsl_data_root),
    ]


def check_msi_options(options: MsiOptions) -> None:
    """Raise `InstallerRuleError` for the first of Docker's MSI rules that `options` breaks."""
    for name, text in _string_properties(options):
        if text == "":
            raise InstallerRuleError(name, "must not be empty; leave it None to omit the property")
    if options.admin_settings is not None:
        if options.allowed_org is None:
            raise InstallerRuleError("ADMINSETTINGS", "must be used together with ALLOWEDORG")
        offending = _whitespace_path(admin_settings_document(options.admin_settings), "")
        if offending is not None:
            raise InstallerRuleError(
                "ADMINSETTINGS",
                f"the value of {offending} contains whitespace, and Docker requires the ADMINSETTINGS JSON"
                " string to contain none",
            )
    if options.allowed_org is not None:
        _check_org_name("ALLOWEDORG", options.allowed_org)
    _check_one_of("ENGINE", options.engine, get_args(Engine))
    proxy = options.proxy
    if proxy is None:
        return
    _check_one_of("PROXYHTTPMODE", proxy.mode, get_args(ProxyMode))
    for entry in proxy.exclude:
        if not entry or "," in entry:
            raise InstallerRuleError(
                "OVERRIDEPROXYEXCLUDE",
                f"entries are joined with commas, so each must be non-empty and comma-free, got {entry!r}",
            )
    for name, text in (("OVERRIDEPROXYPAC", proxy.pac), ("OVERRIDEPROXYEMBEDDEDPAC", proxy.embedded_pac)):
        if text is not None and proxy.mode != "manual":
            current = "not set (the installer default is system)" if proxy.mode is None else proxy.mode
            raise InstallerRuleError(
                name, f"takes effect only when PROXYHTTPMODE is manual, but PROXYHTTPMODE is {current}"
            )
    if proxy.pac is not None and proxy.embedded_pac is not None:
        raise InstallerRuleError(
            "OVERRIDEPROXYPAC",
            "OVERRIDEPROXYEMBEDDEDPAC takes precedence over OVERRIDEPROXYPAC, so the PAC URL would be"
            " ignored; set only one of them",
        )


def msi_properties(options: MsiOptions) -> list[tuple[str, str]]:
    """(NAME, rendered value) pairs in the order of Docker's property table; unset properties are left out.

    Booleans render as unquoted 1/0; strings are quoted for msiexec. The options are checked first.
    """
    check_msi_options(options)
    proxy = options.proxy or MsiProxy()
    admin_settings = (
        None if options.admin_settings is None else render_admin_settings(options.admin_settings, minified=True)
    )
    exclude = ",".join(proxy.exclude) if proxy.exclude else None
    candidates: list[tuple[str, str | None]] = [
        ("ENABLEDESKTOPSHORTCUT", _bool_or_none(options.desktop_shortcut)),
        ("INSTALLFOLDER", _string_or_none(options.install_folder)),
        ("ADMINSETTINGS", _string_or_none(admin_settings)),
        ("ALLOWEDORG", _string_or_none(options.allowed_org)),
        ("ALWAYSRUNSERVICE", _bool_or_none(options.always_run_service)),
        ("DISABLEWINDOWSCONTAINERS", _bool_or_none(options.disable_windows_containers)),
        ("ENGINE", _string_or_none(options.engine)),
        ("PROXYENABLEKERBEROSNTLM", _bool_or_none(proxy.enable_kerberos_ntlm)),
        ("PROXYHTTPMODE", _string_or_none(proxy.mode)),
        ("OVERRIDEPROXYHTTP", _string_or_none(proxy.http)),
        ("OVERRIDEPROXYHTTPS", _string_or_none(proxy.https)),
        ("OVERRIDEPROXYEXCLUDE", _string_or_none(exclude)),
        ("OVERRIDEPROXYPAC", _string_or_none(proxy.pac)),
        ("OVERRIDEPROXYEMBEDDEDPAC", _string_or_none(proxy.embedded_pac)),
        ("HYPERVDEFAULTDATAROOT", _string_or_none(options.hyperv_data_root)),
        ("WINDOWSCONTAINERSDEFAULTDATAROOT", _string_or_none(options.windows_containers_data_root)),
        ("WSLDEFAULTDATAROOT", _string_or_none(options.wsl_data_root)),
        ("DISABLEANALYTICS", _bool_or_none(options.disable_analytics)),
    ]
    return [(name, rendered) for name, rendered in candidates if rendered is not None]


def _bool_or_none(flag: bool | None) -> str | None:
    if flag is None:
        return None
    return "1" if flag else "0"


def _string_or_none(text: str | None) -> str | None:
    if text is None:
        return None
    return '"' + text.replace('"', '""') + '"'


def _quoted_path(option: str, path: str) -> str:
    # Windows forbids '"' in file names, and msiexec gives it no escape outside property values.
    if not path or '"' in path:
        raise InstallerRuleError(option, f"must be a non-empty path without double quotes, got {path!r}")
    return f'"{path}"'


def _display_and_restart(display: str, restart: str) -> list[str]:
    _check_one_of("display", display, tuple(_DISPLAY_FLAGS))
    _check_one_of("restart", restart, tuple(_RESTART_FLAGS))
    return [flag for flag in (_DISPLAY_FLAGS[display], _RESTART_FLAGS[restart]) if flag is not None]


def msiexec_install(
    msi_path: str,
    options: MsiOptions = MsiOptions(),
    *,
    display: DisplayMode = "interactive",
    restart: RestartMode = "default",
    log_path: str | None = None,
    powershell_stop_parsing: bool = False,
) -> str:
    """`msiexec [--%] /i "<msi>" [/L*V "<log>"] [display] [restart] PROPS...`, as in Docker's examples."""
    properties = msi_properties(options)
    parts = ["msiexec"]
    if powershell_stop_parsing:
        parts.append("--%")
    parts += ["/i", _quoted_path("/i", msi_path)]
    if log_path is not None:
        parts += ["/L*V", _quoted_path("/L*V", log_path)]
    parts += _display_and_restart(display, restart)
    parts += [f"{name}={value}" for name, value in properties]
    return " ".join(parts)


def msiexec_uninstall(
    target: str,
    *,
    display: DisplayMode = "interactive",
    restart: RestartMode = "default",
    log_path: str | None = None,
) -> str:
    """`msiexec /x <target> [/L*V "<log>"] [display] [restart]`.

    `target` is the `.msi` used for the install (quoted) or, when that file is gone, the product code
    `{GUID}` (unquoted, as Docker writes it). A target starting with `{` is taken as a product code.
    """
    if target.startswith("{"):
        if not _PRODUCT_CODE.fullmatch(target):
            raise InstallerRuleError(
                "/x",
                "a product code is an uppercase GUID in braces, such as"
                f" {{10FC87E2-9145-4D7D-B493-2E99E8D8E103}}, got {target!r}",
            )
        rendered_target = target
    else:
        rendered_target = _quoted_path("/x", target)
    parts = ["msiexec", "/x", rendered_target]
    if log_path is not None:
        parts += ["/L*V", _quoted_path("/L*V", log_path)]
    parts += _display_and_restart(display, restart)
    return " ".join(parts)


def _sh_double_quoted(text: str) -> str:
    """POSIX double quotes: only `\\`, `"`, `$` and backquote stay special inside them."""
    return '"' + re.sub(r'([\\"$`])', r"\\\1", text) + '"'


def pkg_install_command(pkg_path: str, *, target: str = "/", sudo: bool = False) -> str:
    """`[sudo ]installer -pkg "<pkg>" -target <target>` for a macOS shell."""
    if not pkg_path:
        raise InstallerRuleError("-pkg", "must be a non-empty path")
    if not target:
        raise InstallerRuleError("-target", "must be a non-empty volume or domain")
    command = f"installer -pkg {_sh_double_quoted(pkg_path)} -target {shlex.quote(target)}"
    return f"sudo {command}" if sudo else command


def _validated_orgs(orgs: Iterable[str]) -> tuple[str, ...]:
    if isinstance(orgs, str):
        # A bare string would iterate as characters, each a valid-looking one-letter org.
        raise InstallerRuleError("allowedOrgs", f"expects a list of organization names, got the string {orgs!r}")
    names = tuple(orgs)
    if not names:
        raise InstallerRuleError("allowedOrgs", "needs at least one organization")
    seen: set[str] = set()
    for org in names:
        _check_org_name("allowedOrgs", org)
        if org in seen:
            raise InstallerRuleError("allowedOrgs", f"{org!r} is listed more than once")
        seen.add(org)
    return names


def allowed_orgs_registry_value(orgs: Iterable[str]) -> RegistryMultiString:
    """The Windows policy value, which Docker reads before any other allowedOrgs source."""
    return RegistryMultiString(
        hive_key=ALLOWED_ORGS_REGISTRY_KEY,
        value_name="allowedOrgs",
        kind="REG_MULTI_SZ",
        values=_validated_orgs(orgs),
    )


def allowed_orgs_profile_string(orgs: Iterable[str]) -> str:
    """`allowedOrgs` as a macOS configuration profile carries it: one string, organizations joined by `;`."""
    return ";".join(_validated_orgs(orgs))


def registry_json(orgs: Iterable[str]) -> str:
    """The text of `registry.json`, exactly `{"allowedOrgs":["a","b"]}`."""
    return json.dumps({"allowedOrgs": list(_validated_orgs(orgs))}, separators=(",", ":"))


def _check_uuid(key: str, text: str) -> None:
    try:
        uuid.UUID(text)
    except ValueError:
        raise InstallerRuleError(key, f"must be a UUID, got {text!r}") from None


def docker_config_mobileconfig(
    orgs: Iterable[str],
    *,
    identifier: str,
    payload_uuid: str,
    profile_uuid: str,
    display_name: str,
    organization: str,
) -> bytes:
    """A `.mobileconfig` whose single `com.docker.config` payload carries `allowedOrgs`.

    `identifier` and `profile_uuid` belong to the outer `Configuration` profile, `payload_uuid` to the
    inner payload. The inner PayloadIdentifier is derived from `identifier` rather than Docker's sample
    value `com.docker.config`, so two profiles from different owners cannot replace each other's payload.
    """
    if not identifier or any(ch.isspace() for ch in identifier):
        raise InstallerRuleError("PayloadIdentifier", f"must be a reverse-DNS identifier, got {identifier!r}")
    _check_uuid("PayloadUUID", payload_uuid)
    _check_uuid("PayloadUUID", profile_uuid)
    if uuid.UUID(payload_uuid) == uuid.UUID(profile_uuid):
        raise InstallerRuleError("PayloadUUID", "the profile and its payload need different UUIDs")
    inner = {
        "PayloadType": "com.docker.config",
        "PayloadVersion": 1,
        "PayloadIdentifier": f"{identifier}.com.docker.config",
        "PayloadUUID": payload_uuid,
        "PayloadDisplayName": display_name,
        "PayloadOrganization": organization,
        "allowedOrgs": allowed_orgs_profile_string(orgs),
    }
    profile = {
        "PayloadContent": [inner],
        "PayloadType": "Configuration",
        "PayloadVersion": 1,
        "PayloadIdentifier": identifier,
        "PayloadUUID": profile_uuid,
        "PayloadDisplayName": display_name,
        "PayloadOrganization": organization,
    }
    return plistlib.dumps(profile, fmt=plistlib.FMT_XML)


def classify_return_code(code: int) -> ReturnCodeType:
    """What Intune should make of an msiexec exit code; anything not registered is a failure."""
    return dict(MSI_RETURN_CODES).get(code, "failed")
