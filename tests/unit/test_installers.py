"""Installer command lines and allowedOrgs artifacts against Docker's documentation.

The golden strings are copied character for character from Docker's MSI installer page, its FAQ, its
Intune page and its PKG installer page (docker/docs `msi-install-and-configure.md`, `faq.md`,
`use-intune.md`, `pkg-install-and-configure.md`).
"""

from __future__ import annotations

import plistlib

import pytest

from components.admin_settings import (
    AdminSettings,
    EnhancedContainerIsolation,
    LinuxVM,
    LockedSetting,
)
from components.installers import (
    MSI_RETURN_CODES,
    InstallerRuleError,
    MsiOptions,
    MsiProxy,
    RegistryMultiString,
    allowed_orgs_profile_string,
    allowed_orgs_registry_value,
    check_msi_options,
    classify_return_code,
    docker_config_mobileconfig,
    msi_properties,
    msiexec_install,
    msiexec_uninstall,
    pkg_install_command,
    registry_json,
)

MSI = "DockerDesktop.msi"
LOG = r".\msi.log"
ECI_DEFAULT_ON = AdminSettings(enhanced_container_isolation=EnhancedContainerIsolation(value=True, locked=False))


# --- golden: Docker's example command lines ------------------------------------------------------

GOLDEN_INSTALLS = [
    pytest.param(
        msiexec_install(MSI, log_path=LOG),
        r'msiexec /i "DockerDesktop.msi" /L*V ".\msi.log"',
        id="install-interactive-verbose-log",
    ),
    pytest.param(
        msiexec_install(MSI),
        r'msiexec /i "DockerDesktop.msi"',
        id="install-interactive",
    ),
    pytest.param(
        msiexec_install(MSI, log_path=LOG, display="quiet"),
        r'msiexec /i "DockerDesktop.msi" /L*V ".\msi.log" /quiet',
        id="install-quiet-verbose-log",
    ),
    pytest.param(
        msiexec_install(MSI, log_path=LOG, display="quiet", restart="norestart"),
        r'msiexec /i "DockerDesktop.msi" /L*V ".\msi.log" /quiet /norestart',
        id="install-quiet-norestart",
    ),
    pytest.param(
        msiexec_install(
            MSI,
            MsiOptions(admin_settings=ECI_DEFAULT_ON, allowed_org="your-organization"),
            log_path=LOG,
            display="quiet",
            restart="norestart",
        ),
        r'msiexec /i "DockerDesktop.msi" /L*V ".\msi.log" /quiet /norestart ADMINSETTINGS="{""configurationFileVersion"":2,""enhancedContainerIsolation"":{""value"":true,""locked"":false}}" ALLOWEDORG="your-organization"',  # noqa: E501 - verbatim from the doc
        id="install-admin-settings",
    ),
    pytest.param(
        msiexec_install(
            MSI,
            MsiOptions(allowed_org="your-organization", always_run_service=True),
            log_path=LOG,
            display="quiet",
            restart="norestart",
        ),
        r'msiexec /i "DockerDesktop.msi" /L*V ".\msi.log" /quiet /norestart ALLOWEDORG="your-organization" ALWAYSRUNSERVICE=1',  # noqa: E501 - verbatim from the doc
        id="install-allowed-org-always-run-service",
    ),
    pytest.param(
        msiexec_install(MSI, log_path=LOG, display="passive", restart="norestart"),
        r'msiexec /i "DockerDesktop.msi" /L*V ".\msi.log" /passive /norestart',
        id="install-passive",
    ),
    pytest.param(
        msiexec_install(r"win\msi\bin\en-US\DockerDesktop.msi", MsiOptions(disable_analytics=True), log_path=LOG),
        r'msiexec /i "win\msi\bin\en-US\DockerDesktop.msi" /L*V ".\msi.log" DISABLEANALYTICS=1',
        id="install-disable-analytics",
    ),
    pytest.param(
        msiexec_install(MSI, log_path=LOG, restart="norestart"),
        r'msiexec /i "DockerDesktop.msi" /L*V ".\msi.log" /norestart',
        id="faq-install-verbose-log-norestart",
    ),
    pytest.param(
        # The FAQ wraps the plain interactive install in psexec to reproduce a SYSTEM-context install.
        "psexec -i -s " + msiexec_install(MSI),
        r'psexec -i -s msiexec /i "DockerDesktop.msi"',
        id="faq-psexec",
    ),
    pytest.param(
        msiexec_install(MSI, display="qn"),
        r'msiexec /i "DockerDesktop.msi" /qn',
        id="intune-prefilled-install-command",
    ),
    pytest.param(
        msiexec_uninstall("{10FC87E2-9145-4D7D-B493-2E99E8D8E103}", log_path=LOG, display="quiet"),
        r'msiexec /x {10FC87E2-9145-4D7D-B493-2E99E8D8E103} /L*V ".\msi.log" /quiet',
        id="uninstall-product-code",
    ),
    pytest.param(
        msiexec_uninstall(MSI, log_path=LOG),
        r'msiexec /x "DockerDesktop.msi" /L*V ".\msi.log"',
        id="uninstall-interactive-verbose-log",
    ),
    pytest.param(
        msiexec_uninstall(MSI),
        r'msiexec /x "DockerDesktop.msi"',
        id="uninstall-interactive",
    ),
    pytest.param(
        msiexec_uninstall(MSI, log_path=LOG, display="quiet"),
        r'msiexec /x "DockerDesktop.msi" /L*V ".\msi.log" /quiet',
        id="uninstall-quiet-verbose-log",
    ),
    pytest.param(
        msiexec_uninstall(MSI, display="quiet"),
        r'msiexec /x "DockerDesktop.msi" /quiet',
        id="uninstall-quiet",
    ),
    pytest.param(
        pkg_install_command("/path/to/Docker.pkg", target="/Applications", sudo=True),
        'sudo installer -pkg "/path/to/Docker.pkg" -target /Applications',
        id="pkg-install",
    ),
]


@pytest.mark.parametrize(("built", "documented"), GOLDEN_INSTALLS)
def test_command_matches_docker_example(built: str, documented: str) -> None:
    assert built == documented


# Docker's two PowerShell PAC examples, copied with the code block's "PowerShell" label line left off.
# As published, the command line starts with a space and has two spaces between `".\msi.log"` and
# PROXYHTTPMODE; PowerShell and msiexec treat runs of spaces as one separator, so that single documented
# double space is collapsed (and the leading space stripped) before comparing. Nothing else is changed.
DOC_PAC_URL = r' msiexec --% /i "DockerDesktop.msi" /L*V ".\msi.log"  PROXYHTTPMODE="manual" OVERRIDEPROXYPAC="http://localhost:8080/myproxy.pac"'
DOC_PAC_SCRIPT = r' msiexec --% /i "DockerDesktop.msi" /L*V ".\msi.log"  PROXYHTTPMODE="manual" OVERRIDEPROXYEMBEDDEDPAC="function FindProxyForURL(url,host) {return ""DIRECT"" ;; }"'  # noqa: E501 - verbatim from the doc


def _collapse_documented_double_space(documented: str) -> str:
    assert documented.count("  ") == 1, "expected exactly the one documented double space"
    return documented.lstrip(" ").replace('.log"  PROXYHTTPMODE', '.log" PROXYHTTPMODE')


@pytest.mark.parametrize(
    ("proxy", "documented"),
    [
        pytest.param(MsiProxy(mode="manual", pac="http://localhost:8080/myproxy.pac"), DOC_PAC_URL, id="pac-url"),
        pytest.param(
            MsiProxy(mode="manual", embedded_pac='function FindProxyForURL(url,host) {return "DIRECT" ;; }'),
            DOC_PAC_SCRIPT,
            id="pac-script",
        ),
    ],
)
def test_powershell_pac_examples(proxy: MsiProxy, documented: str) -> None:
    built = msiexec_install(MSI, MsiOptions(proxy=proxy), log_path=LOG, powershell_stop_parsing=True)
    assert built == _collapse_documented_double_space(documented)


# --- properties: order and rendering ---------------------------------------------------------------


def test_every_property_in_docker_table_order() -> None:
    options = MsiOptions(
        desktop_shortcut=False,
        install_folder=r"D:\Apps\Docker",
        admin_settings=ECI_DEFAULT_ON,
        allowed_org="acme",
        always_run_service=True,
        disable_windows_containers=True,
        engine="hyperv",
        proxy=MsiProxy(
            mode="manual",
            enable_kerberos_ntlm=True,
            http="http://proxy:3128",
            https="http://proxy:3129",
            exclude=("localhost", "*.corp.example"),
            pac="http://proxy/proxy.pac",
        ),
        hyperv_data_root=r"D:\HyperV",
        windows_containers_data_root=r"D:\WinContainers",
        wsl_data_root=r"D:\WSL",
        disable_analytics=False,
    )
    assert msi_properties(options) == [
        ("ENABLEDESKTOPSHORTCUT", "0"),
        ("INSTALLFOLDER", r'"D:\Apps\Docker"'),
        (
            "ADMINSETTINGS",
            '"{""configurationFileVersion"":2,""enhancedContainerIsolation"":{""value"":true,""locked"":false}}"',
        ),
        ("ALLOWEDORG", '"acme"'),
        ("ALWAYSRUNSERVICE", "1"),
        ("DISABLEWINDOWSCONTAINERS", "1"),
        ("ENGINE", '"hyperv"'),
        ("PROXYENABLEKERBEROSNTLM", "1"),
        ("PROXYHTTPMODE", '"manual"'),
        ("OVERRIDEPROXYHTTP", '"http://proxy:3128"'),
        ("OVERRIDEPROXYHTTPS", '"http://proxy:3129"'),
        ("OVERRIDEPROXYEXCLUDE", '"localhost,*.corp.example"'),
        ("OVERRIDEPROXYPAC", '"http://proxy/proxy.pac"'),
        ("HYPERVDEFAULTDATAROOT", r'"D:\HyperV"'),
        ("WINDOWSCONTAINERSDEFAULTDATAROOT", r'"D:\WinContainers"'),
        ("WSLDEFAULTDATAROOT", r'"D:\WSL"'),
        ("DISABLEANALYTICS", "0"),
    ]


def test_no_options_means_no_properties() -> None:
    assert msi_properties(MsiOptions()) == []
    assert msi_properties(MsiOptions(proxy=MsiProxy())) == []


def test_inner_double_quotes_are_doubled() -> None:
    options = MsiOptions(install_folder='C:\\odd "quoted" dir', proxy=MsiProxy(http='http://a"b'))
    assert msi_properties(options) == [
        ("INSTALLFOLDER", '"C:\\odd ""quoted"" dir"'),
        ("OVERRIDEPROXYHTTP", '"http://a""b"'),
    ]


def test_forcerestart_and_embedded_pac_property_name() -> None:
    built = msiexec_install(MSI, MsiOptions(engine="wsl"), display="qn", restart="forcerestart")
    assert built == 'msiexec /i "DockerDesktop.msi" /qn /forcerestart ENGINE="wsl"'


# --- rule violations --------------------------------------------------------------------------------


def _rule_error(options: MsiOptions) -> InstallerRuleError:
    with pytest.raises(InstallerRuleError) as caught:
        check_msi_options(options)
    return caught.value


def test_error_carries_property_and_message() -> None:
    error = InstallerRuleError("ADMINSETTINGS", "must be used together with ALLOWEDORG")
    assert isinstance(error, ValueError)
    assert (error.property, error.message) == ("ADMINSETTINGS", "must be used together with ALLOWEDORG")
    assert str(error) == "ADMINSETTINGS: must be used together with ALLOWEDORG"


def test_admin_settings_require_allowed_org() -> None:
    error = _rule_error(MsiOptions(admin_settings=ECI_DEFAULT_ON))
    assert str(error) == "ADMINSETTINGS: must be used together with ALLOWEDORG"
    # msiexec_install refuses to build the command line too.
    with pytest.raises(InstallerRuleError, match=r"^ADMINSETTINGS: must be used together with ALLOWEDORG$"):
        msiexec_install(MSI, MsiOptions(admin_settings=ECI_DEFAULT_ON))


def test_admin_settings_json_must_not_contain_whitespace() -> None:
    # Docker's own sample admin-settings.json writes `{"debug": false}`, which the MSI property rejects.
    settings = AdminSettings(
        linux_vm=LinuxVM(docker_daemon_options=LockedSetting[str](value='{"debug": false}', locked=False))
    )
    error = _rule_error(MsiOptions(admin_settings=settings, allowed_org="acme"))
    assert error.property == "ADMINSETTINGS"
    assert error.message == (
        "the value of linuxVM.dockerDaemonOptions.value contains whitespace, and Docker requires the"
        " ADMINSETTINGS JSON string to contain none"
    )
    minified = AdminSettings(
        linux_vm=LinuxVM(docker_daemon_options=LockedSetting[str](value='{"debug":false}', locked=False))
    )
    check_msi_options(MsiOptions(admin_settings=minified, allowed_org="acme"))


def test_whitespace_inside_a_list_names_the_index() -> None:
    settings = AdminSettings.model_validate(
        {"filesharingAllowedDirectories": [{"path": "$HOME"}, {"path": "C:\\My Files"}]}
    )
    error = _rule_error(MsiOptions(admin_settings=settings, allowed_org="acme"))
    assert error.message.startswith("the value of filesharingAllowedDirectories[1].path contains whitespace")


@pytest.mark.parametrize(
    ("org", "message"),
    [
        (
            "Your-Organization",
            "organization names must be lowercase: use 'your-organization', not 'Your-Organization'",
        ),
        (
            "acme corp",
            "'acme corp' is not a Docker organization name (lowercase letters, digits, '-' and '_')",
        ),
        (
            "acme;beta",
            "'acme;beta' is not a Docker organization name (lowercase letters, digits, '-' and '_')",
        ),
        ("-acme", "'-acme' is not a Docker organization name (lowercase letters, digits, '-' and '_')"),
    ],
)
def test_allowed_org_must_be_a_lowercase_org_name(org: str, message: str) -> None:
    error = _rule_error(MsiOptions(allowed_org=org))
    assert (error.property, error.message) == ("ALLOWEDORG", message)


def test_pac_url_needs_manual_mode() -> None:
    error = _rule_error(MsiOptions(proxy=MsiProxy(mode="system", pac="http://p/p.pac")))
    assert str(error) == "OVERRIDEPROXYPAC: takes effect only when PROXYHTTPMODE is manual, but PROXYHTTPMODE is system"


def test_embedded_pac_needs_manual_mode_even_when_mode_is_left_to_the_installer() -> None:
    error = _rule_error(MsiOptions(proxy=MsiProxy(embedded_pac="function FindProxyForURL(u,h){return 1;}")))
    assert str(error) == (
        "OVERRIDEPROXYEMBEDDEDPAC: takes effect only when PROXYHTTPMODE is manual, but PROXYHTTPMODE is"
        " not set (the installer default is system)"
    )


def test_pac_url_and_embedded_pac_together_are_rejected() -> None:
    error = _rule_error(MsiOptions(proxy=MsiProxy(mode="manual", pac="http://p/p.pac", embedded_pac="x")))
    assert str(error) == (
        "OVERRIDEPROXYPAC: OVERRIDEPROXYEMBEDDEDPAC takes precedence over OVERRIDEPROXYPAC, so the PAC URL"
        " would be ignored; set only one of them"
    )


@pytest.mark.parametrize("entry", ["", "a,b"])
def test_proxy_exclude_entries_cannot_break_the_comma_list(entry: str) -> None:
    error = _rule_error(MsiOptions(proxy=MsiProxy(exclude=("localhost", entry))))
    assert str(error) == (
        f"OVERRIDEPROXYEXCLUDE: entries are joined with commas, so each must be non-empty and comma-free, got {entry!r}"
    )


def test_engine_and_proxy_mode_must_be_documented_values() -> None:
    engine = _rule_error(MsiOptions(engine="wsl2"))  # type: ignore[arg-type]
    assert str(engine) == "ENGINE: must be one of wsl, hyperv, windows, got 'wsl2'"
    mode = _rule_error(MsiOptions(proxy=MsiProxy(mode="pac")))  # type: ignore[arg-type]
    assert str(mode) == "PROXYHTTPMODE: must be one of system, manual, got 'pac'"


def test_empty_string_is_not_a_way_to_omit_a_property() -> None:
    error = _rule_error(MsiOptions(wsl_data_root=""))
    assert str(error) == "WSLDEFAULTDATAROOT: must not be empty; leave it None to omit the property"


@pytest.mark.parametrize(
    "code",
    [
        "{10fc87e2-9145-4d7d-b493-2e99e8d8e103}",
        "{10FC87E2-9145-4D7D-B493-2E99E8D8E10}",
        "{10FC87E2-9145-4D7D-B493-2E99E8D8E103",
    ],
)
def test_uninstall_product_code_must_be_an_uppercase_braced_guid(code: str) -> None:
    with pytest.raises(InstallerRuleError) as caught:
        msiexec_uninstall(code)
    assert str(caught.value) == (
        "/x: a product code is an uppercase GUID in braces, such as {10FC87E2-9145-4D7D-B493-2E99E8D8E103},"
        f" got {code!r}"
    )


def test_paths_cannot_contain_double_quotes() -> None:
    with pytest.raises(InstallerRuleError) as caught:
        msiexec_install(MSI, log_path='C:\\"log".txt')
    assert str(caught.value) == "/L*V: must be a non-empty path without double quotes, got 'C:\\\\\"log\".txt'"
    with pytest.raises(InstallerRuleError, match=r"^/i: must be a non-empty path without double quotes, got ''$"):
        msiexec_install("")


def test_display_and_restart_must_be_known() -> None:
    with pytest.raises(InstallerRuleError) as caught:
        msiexec_uninstall(MSI, display="silent")  # type: ignore[arg-type]
    assert str(caught.value) == "display: must be one of interactive, quiet, qn, passive, got 'silent'"
    with pytest.raises(InstallerRuleError) as caught:
        msiexec_install(MSI, restart="reboot")  # type: ignore[arg-type]
    assert str(caught.value) == "restart: must be one of default, norestart, forcerestart, got 'reboot'"


# --- PKG --------------------------------------------------------------------------------------------


def test_pkg_defaults_to_root_volume_without_sudo() -> None:
    assert pkg_install_command("/tmp/Docker.pkg") == 'installer -pkg "/tmp/Docker.pkg" -target /'


def test_pkg_path_and_target_are_shell_quoted() -> None:
    built = pkg_install_command('/tmp/a "b" $HOME `x` \\y.pkg', target="/Volumes/Mac HD")
    assert built == 'installer -pkg "/tmp/a \\"b\\" \\$HOME \\`x\\` \\\\y.pkg" -target \'/Volumes/Mac HD\''


def test_pkg_path_is_required() -> None:
    with pytest.raises(InstallerRuleError, match=r"^-pkg: must be a non-empty path$"):
        pkg_install_command("")


# --- allowedOrgs ------------------------------------------------------------------------------------


def test_allowed_orgs_forms() -> None:
    assert allowed_orgs_registry_value(["myorg1", "myorg2"]) == RegistryMultiString(
        hive_key=r"HKLM\SOFTWARE\Policies\Docker\Docker Desktop",
        value_name="allowedOrgs",
        kind="REG_MULTI_SZ",
        values=("myorg1", "myorg2"),
    )
    assert allowed_orgs_profile_string(["first_org", "second_org"]) == "first_org;second_org"
    assert registry_json(["myorg1", "myorg2"]) == '{"allowedOrgs":["myorg1","myorg2"]}'
    assert registry_json(("solo",)) == '{"allowedOrgs":["solo"]}'


@pytest.mark.parametrize(
    ("orgs", "message"),
    [
        ([], "allowedOrgs: needs at least one organization"),
        (["acme", "acme"], "allowedOrgs: 'acme' is listed more than once"),
        (["MyOrg"], "allowedOrgs: organization names must be lowercase: use 'myorg', not 'MyOrg'"),
        (
            ["acme", "beta org"],
            "allowedOrgs: 'beta org' is not a Docker organization name (lowercase letters, digits, '-' and '_')",
        ),
        ("acme", "allowedOrgs: expects a list of organization names, got the string 'acme'"),
    ],
)
def test_allowed_orgs_are_validated(orgs: list[str], message: str) -> None:
    for build in (allowed_orgs_registry_value, allowed_orgs_profile_string, registry_json):
        with pytest.raises(InstallerRuleError) as caught:
            build(orgs)
        assert str(caught.value) == message


PAYLOAD_UUID = "eed295b0-a650-40b0-9dda-90efb12be3c7"
PROFILE_UUID = "0deedb64-7dc9-46e5-b6bf-69d64a9561ce"


def _mobileconfig(**overrides: str) -> bytes:
    arguments = {
        "identifier": "com.example.docker.config",
        "payload_uuid": PAYLOAD_UUID,
        "profile_uuid": PROFILE_UUID,
        "display_name": "Docker Desktop sign-in",
        "organization": "Example Corp",
    }
    arguments.update(overrides)
    return docker_config_mobileconfig(["first_org", "second_org"], **arguments)


def test_mobileconfig_parses_back_to_the_docker_payload() -> None:
    data = _mobileconfig()
    assert data.startswith(b'<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE plist')
    assert plistlib.loads(data) == {
        "PayloadContent": [
            {
                "PayloadType": "com.docker.config",
                "PayloadVersion": 1,
                "PayloadIdentifier": "com.example.docker.config.com.docker.config",
                "PayloadUUID": PAYLOAD_UUID,
                "PayloadDisplayName": "Docker Desktop sign-in",
                "PayloadOrganization": "Example Corp",
                "allowedOrgs": "first_org;second_org",
            }
        ],
        "PayloadType": "Configuration",
        "PayloadVersion": 1,
        "PayloadIdentifier": "com.example.docker.config",
        "PayloadUUID": PROFILE_UUID,
        "PayloadDisplayName": "Docker Desktop sign-in",
        "PayloadOrganization": "Example Corp",
    }
    assert _mobileconfig() == data  # byte-stable, so an unchanged profile never shows a diff


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"payload_uuid": "not-a-uuid"}, "PayloadUUID: must be a UUID, got 'not-a-uuid'"),
        (
            {"profile_uuid": PAYLOAD_UUID.upper()},
            "PayloadUUID: the profile and its payload need different UUIDs",
        ),
        (
            {"identifier": "com.example docker"},
            "PayloadIdentifier: must be a reverse-DNS identifier, got 'com.example docker'",
        ),
    ],
)
def test_mobileconfig_rejects_bad_identity(overrides: dict[str, str], message: str) -> None:
    with pytest.raises(InstallerRuleError) as caught:
        _mobileconfig(**overrides)
    assert str(caught.value) == message


# --- return codes -----------------------------------------------------------------------------------


def test_return_code_table() -> None:
    assert MSI_RETURN_CODES == (
        (0, "success"),
        (1707, "success"),
        (3010, "softReboot"),
        (1641, "hardReboot"),
        (1618, "retry"),
    )


@pytest.mark.parametrize(
    ("code", "kind"),
    [
        (0, "success"),
        (1707, "success"),
        (3010, "softReboot"),
        (1641, "hardReboot"),
        (1618, "retry"),
        (1603, "failed"),
        (-1, "failed"),
    ],
)
def test_classify_return_code(code: int, kind: str) -> None:
    assert classify_return_code(code) == kind
