"""`admin-settings.json`: keys, rendering and Docker's stated constraints."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import ValidationError

from components.admin_settings import (
    AdminSettings,
    CommandList,
    ContainersProxy,
    DnsInhibition,
    DockerSocketMount,
    EnhancedContainerIsolation,
    FileSharingDirectory,
    ImageList,
    Kubernetes,
    LinuxVM,
    LockedSetting,
    NetworkingMode,
    PortBindingBehavior,
    Proxy,
    Scout,
    WindowsContainers,
    render_admin_settings,
)

# Docker's sample file from docker/docs `configure-json-file.md` ("Example admin-settings.json file").
DOCKER_SAMPLE = """
{
  "configurationFileVersion": 2,
  "exposeDockerAPIOnTCP2375": {"locked": true, "value": false},
  "proxy": {"locked": true, "mode": "system", "http": "", "https": "", "exclude": [],
            "windowsDockerdPort": 65000, "enableKerberosNtlm": false, "pac": "", "embeddedPac": ""},
  "containersProxy": {"locked": true, "mode": "manual", "http": "", "https": "", "exclude": [],
                      "pac": "", "embeddedPac": "", "transparentPorts": ""},
  "enhancedContainerIsolation": {"locked": true, "value": true,
    "dockerSocketMount": {"imageList": {"images": ["docker.io/localstack/localstack:*",
                                                   "docker.io/testcontainers/ryuk:*"]},
                          "commandList": {"type": "deny", "commands": ["push"]}}},
  "linuxVM": {"wslEngineEnabled": {"locked": false, "value": false},
              "dockerDaemonOptions": {"locked": false, "value": "{\\"debug\\": false}"},
              "vpnkitCIDR": {"locked": false, "value": "192.168.65.0/24"}},
  "kubernetes": {"locked": false, "enabled": false, "showSystemContainers": false, "imagesRepository": ""},
  "windowsContainers": {"dockerDaemonOptions": {"locked": false, "value": "{\\"debug\\": false}"}},
  "disableUpdate": {"locked": false, "value": false},
  "analyticsEnabled": {"locked": false, "value": true},
  "extensionsEnabled": {"locked": true, "value": false},
  "scout": {"locked": false, "sbomIndexing": true, "useBackgroundIndexing": true},
  "allowBetaFeatures": {"locked": false, "value": false},
  "blockDockerLoad": {"locked": false, "value": true},
  "filesharingAllowedDirectories": [{"path": "$HOME", "sharedByDefault": true},
                                    {"path": "$TMP", "sharedByDefault": false}],
  "useVirtualizationFrameworkVirtioFS": {"locked": true, "value": true},
  "useVirtualizationFrameworkRosetta": {"locked": true, "value": true},
  "useGrpcfuse": {"locked": true, "value": true},
  "displayedOnboarding": {"locked": true, "value": true},
  "desktopTerminalEnabled": {"locked": false, "value": false},
  "enableInference": {"locked": false, "value": true},
  "enableInferenceTCP": {"locked": false, "value": true},
  "enableInferenceTCPPort": {"locked": true, "value": 12434},
  "enableInferenceCORS": {"locked": true, "value": ""},
  "enableInferenceGPUVariant": {"locked": true, "value": true},
  "portBindingBehavior": {"locked": true, "value": "default-port-binding"}
}
"""


def _on(locked: bool = False) -> LockedSetting[bool]:
    return LockedSetting[bool](value=True, locked=locked)


def _error(data: dict[str, Any]) -> tuple[tuple[int | str, ...], str]:
    with pytest.raises(ValidationError) as caught:
        AdminSettings.model_validate(data)
    errors = caught.value.errors()
    assert len(errors) == 1, errors
    return errors[0]["loc"], errors[0]["msg"]


# --- rendering ----------------------------------------------------------------------------------------


def test_minified_matches_docker_msi_example() -> None:
    settings = AdminSettings(enhanced_container_isolation=EnhancedContainerIsolation(value=True, locked=False))
    assert render_admin_settings(settings, minified=True) == (
        '{"configurationFileVersion":2,"enhancedContainerIsolation":{"value":true,"locked":false}}'
    )


def test_empty_settings_render_only_the_version() -> None:
    assert render_admin_settings(AdminSettings(), minified=True) == '{"configurationFileVersion":2}'
    assert render_admin_settings(AdminSettings()) == '{\n  "configurationFileVersion": 2\n}\n'


def test_every_key_renders_under_docker_name_in_declaration_order() -> None:
    settings = AdminSettings(
        analytics_enabled=_on(),
        disable_update=_on(True),
        silent_modules_update=_on(),
        block_docker_load=_on(),
        displayed_onboarding=_on(),
        desktop_terminal_enabled=_on(),
        expose_docker_api_on_tcp2375=LockedSetting[bool](value=False, locked=True),
        extensions_enabled=_on(),
        only_marketplace_extensions=_on(),
        extensions_private_marketplace=_on(),
        extensions_private_marketplace_admin_contact_url=LockedSetting[str](
            value="https://example.com/ext", locked=True
        ),
        filesharing_allowed_directories=(FileSharingDirectory(path="$HOME", shared_by_default=True),),
        use_virtualization_framework_virtio_fs=_on(),
        use_grpcfuse=LockedSetting[bool](value=False, locked=False),
        use_virtualization_framework_rosetta=_on(),
        scout=Scout(locked=False, sbom_indexing=True, use_background_indexing=False),
        proxy=Proxy(
            locked=True,
            mode="manual",
            http="http://p:3128",
            https="http://p:3128",
            exclude=("localhost",),
            windows_dockerd_port=-1,
            enable_kerberos_ntlm=True,
            pac="http://p/p.pac",
            embedded_pac="",
        ),
        containers_proxy=ContainersProxy(locked=True, mode="system", transparent_ports="80,443"),
        enhanced_container_isolation=EnhancedContainerIsolation(
            value=True,
            locked=True,
            docker_socket_mount=DockerSocketMount(
                image_list=ImageList(images=("docker.io/testcontainers/ryuk:*",), allow_derived_images=True),
                command_list=CommandList(type="deny", commands=("push",)),
            ),
        ),
        linux_vm=LinuxVM(
            wsl_engine_enabled=_on(),
            docker_daemon_options=LockedSetting[str](value='{"debug":false}', locked=False),
            vpnkit_cidr=LockedSetting[str](value="192.168.65.0/24", locked=False),
        ),
        windows_containers=WindowsContainers(docker_daemon_options=LockedSetting[str](value="{}", locked=True)),
        kubernetes=Kubernetes(locked=True, enabled=False, show_system_containers=False, images_repository=""),
        default_networking_mode=LockedSetting[NetworkingMode](value="ipv4only", locked=True),
        dns_inhibition=LockedSetting[DnsInhibition](value="auto", locked=False),
        port_binding_behavior=LockedSetting[PortBindingBehavior](value="local-only-port-binding", locked=True),
        enable_inference=_on(),
        enable_inference_tcp=_on(),
        enable_inference_tcp_port=LockedSetting[int](value=12434, locked=True),
        enable_inference_cors=LockedSetting[str](value="*", locked=True),
        enable_inference_gpu_variant=_on(),
        allow_beta_features=_on(),
        allow_experimental_features=_on(),
        enable_docker_ai=_on(),
        enable_docker_mcp_toolkit=_on(),
        enable_cloud=_on(),
    )
    on = '{"value":true,"locked":false}'
    assert render_admin_settings(settings, minified=True) == (
        '{"configurationFileVersion":2,'
        f'"analyticsEnabled":{on},'
        '"disableUpdate":{"value":true,"locked":true},'
        f'"silentModulesUpdate":{on},'
        f'"blockDockerLoad":{on},'
        f'"displayedOnboarding":{on},'
        f'"desktopTerminalEnabled":{on},'
        '"exposeDockerAPIOnTCP2375":{"value":false,"locked":true},'
        f'"extensionsEnabled":{on},'
        f'"onlyMarketplaceExtensions":{on},'
        f'"extensionsPrivateMarketplace":{on},'
        '"extensionsPrivateMarketplaceAdminContactURL":{"value":"https://example.com/ext","locked":true},'
        '"filesharingAllowedDirectories":[{"path":"$HOME","sharedByDefault":true}],'
        f'"useVirtualizationFrameworkVirtioFS":{on},'
        '"useGrpcfuse":{"value":false,"locked":false},'
        f'"useVirtualizationFrameworkRosetta":{on},'
        '"scout":{"locked":false,"sbomIndexing":true,"useBackgroundIndexing":false},'
        '"proxy":{"locked":true,"mode":"manual","http":"http://p:3128","https":"http://p:3128",'
        '"exclude":["localhost"],"windowsDockerdPort":-1,"enableKerberosNtlm":true,"pac":"http://p/p.pac",'
        '"embeddedPac":""},'
        '"containersProxy":{"locked":true,"mode":"system","transparentPorts":"80,443"},'
        '"enhancedContainerIsolation":{"value":true,"locked":true,"dockerSocketMount":'
        '{"imageList":{"images":["docker.io/testcontainers/ryuk:*"],"allowDerivedImages":true},'
        '"commandList":{"type":"deny","commands":["push"]}}},'
        f'"linuxVM":{{"wslEngineEnabled":{on},'
        '"dockerDaemonOptions":{"value":"{\\"debug\\":false}","locked":false},'
        '"vpnkitCIDR":{"value":"192.168.65.0/24","locked":false}},'
        '"windowsContainers":{"dockerDaemonOptions":{"value":"{}","locked":true}},'
        '"kubernetes":{"locked":true,"enabled":false,"showSystemContainers":false,"imagesRepository":""},'
        '"defaultNetworkingMode":{"value":"ipv4only","locked":true},'
        '"dnsInhibition":{"value":"auto","locked":false},'
        '"portBindingBehavior":{"value":"local-only-port-binding","locked":true},'
        f'"enableInference":{on},'
        f'"enableInferenceTCP":{on},'
        '"enableInferenceTCPPort":{"value":12434,"locked":true},'
        '"enableInferenceCORS":{"value":"*","locked":true},'
        f'"enableInferenceGPUVariant":{on},'
        f'"allowBetaFeatures":{on},'
        f'"allowExperimentalFeatures":{on},'
        f'"enableDockerAI":{on},'
        f'"enableDockerMCPToolkit":{on},'
        f'"enableCloud":{on}}}'
    )


def test_pretty_rendering_is_golden() -> None:
    settings = AdminSettings(
        analytics_enabled=LockedSetting[bool](value=False, locked=True),
        scout=Scout(sbom_indexing=False),
        filesharing_allowed_directories=(
            FileSharingDirectory(path="$HOME"),
            FileSharingDirectory(path="$TMP"),
        ),
    )
    assert render_admin_settings(settings) == (
        "{\n"
        '  "configurationFileVersion": 2,\n'
        '  "analyticsEnabled": {\n'
        '    "value": false,\n'
        '    "locked": true\n'
        "  },\n"
        '  "filesharingAllowedDirectories": [\n'
        "    {\n"
        '      "path": "$HOME"\n'
        "    },\n"
        "    {\n"
        '      "path": "$TMP"\n'
        "    }\n"
        "  ],\n"
        '  "scout": {\n'
        '    "sbomIndexing": false\n'
        "  }\n"
        "}\n"
    )


def test_docker_sample_file_round_trips_without_loss() -> None:
    sample = json.loads(DOCKER_SAMPLE)
    rendered = render_admin_settings(AdminSettings.model_validate(sample))
    assert json.loads(rendered) == sample
    assert next(iter(json.loads(rendered))) == "configurationFileVersion"


def test_non_ascii_is_escaped() -> None:
    settings = AdminSettings(filesharing_allowed_directories=(FileSharingDirectory(path="C:\\Dévs"),))
    assert render_admin_settings(settings, minified=True) == (
        '{"configurationFileVersion":2,"filesharingAllowedDirectories":[{"path":"C:\\\\D\\u00e9vs"}]}'
    )


# --- model behaviour ---------------------------------------------------------------------------------


def test_snake_case_names_and_docker_keys_build_the_same_model() -> None:
    by_name = AdminSettings(linux_vm=LinuxVM(vpnkit_cidr=LockedSetting[str](value="10.0.0.0/24", locked=True)))
    by_key = AdminSettings.model_validate({"linuxVM": {"vpnkitCIDR": {"value": "10.0.0.0/24", "locked": True}}})
    assert by_name == by_key


def test_unknown_keys_are_rejected() -> None:
    loc, msg = _error({"analyticEnabled": {"value": True, "locked": False}})
    assert (loc, msg) == (("analyticEnabled",), "Extra inputs are not permitted")
    loc, msg = _error({"proxy": {"mode": "system", "bypass": "x"}})
    assert (loc, msg) == (("proxy", "bypass"), "Extra inputs are not permitted")


def test_models_are_frozen() -> None:
    settings = AdminSettings()
    with pytest.raises(ValidationError, match="Instance is frozen"):
        settings.analytics_enabled = _on()


def test_locked_setting_needs_both_value_and_locked() -> None:
    loc, msg = _error({"disableUpdate": {"value": True}})
    assert (loc, msg) == (("disableUpdate", "locked"), "Field required")


def test_booleans_are_strict() -> None:
    loc, msg = _error({"disableUpdate": {"value": "true", "locked": False}})
    assert (loc, msg) == (("disableUpdate", "value"), "Input should be a valid boolean")


def test_only_configuration_file_version_2() -> None:
    loc, msg = _error({"configurationFileVersion": 1})
    assert (loc, msg) == (("configurationFileVersion",), "Input should be 2")


@pytest.mark.parametrize(
    ("data", "loc", "msg"),
    [
        ({"proxy": {"mode": "pac"}}, ("proxy", "mode"), "Input should be 'system' or 'manual'"),
        (
            {"enhancedContainerIsolation": {"dockerSocketMount": {"commandList": {"type": "block", "commands": []}}}},
            ("enhancedContainerIsolation", "dockerSocketMount", "commandList", "type"),
            "Input should be 'allow' or 'deny'",
        ),
        (
            {"defaultNetworkingMode": {"value": "ipv4", "locked": True}},
            ("defaultNetworkingMode", "value"),
            "Input should be 'dual-stack', 'ipv4only' or 'ipv6only'",
        ),
        (
            {"dnsInhibition": {"value": "all", "locked": True}},
            ("dnsInhibition", "value"),
            "Input should be 'auto', 'ipv4', 'ipv6' or 'none'",
        ),
        (
            {"portBindingBehavior": {"value": "local", "locked": True}},
            ("portBindingBehavior", "value"),
            "Input should be 'default-port-binding', 'default-local-port-binding' or 'local-only-port-binding'",
        ),
    ],
)
def test_enumerations_name_the_allowed_values(data: dict[str, Any], loc: tuple[str, ...], msg: str) -> None:
    assert _error(data) == (loc, msg)


@pytest.mark.parametrize(
    ("cidr", "msg"),
    [
        ("192.168.65.1", "Value error, must be a CIDR such as 192.168.65.0/24, got '192.168.65.1'"),
        ("192.168.65.0/33", "Value error, must be a CIDR such as 192.168.65.0/24, got '192.168.65.0/33'"),
        ("vpnkit/24", "Value error, must be a CIDR such as 192.168.65.0/24, got 'vpnkit/24'"),
    ],
)
def test_vpnkit_cidr_must_be_a_cidr(cidr: str, msg: str) -> None:
    loc, message = _error({"linuxVM": {"vpnkitCIDR": {"value": cidr, "locked": False}}})
    assert (loc, message) == (("linuxVM", "vpnkitCIDR", "value"), msg)


@pytest.mark.parametrize(
    ("section", "text", "msg"),
    [
        (
            "linuxVM",
            '{"debug": false',
            "Value error, must be the text of a JSON object (daemon.json options): Expecting ',' delimiter",
        ),
        (
            "linuxVM",
            '["debug"]',
            "Value error, must be the text of a JSON object (daemon.json options), got list",
        ),
        (
            "windowsContainers",
            "true",
            "Value error, must be the text of a JSON object (daemon.json options), got bool",
        ),
    ],
)
def test_daemon_options_must_be_json_object_text(section: str, text: str, msg: str) -> None:
    loc, message = _error({section: {"dockerDaemonOptions": {"value": text, "locked": False}}})
    assert (loc, message) == ((section, "dockerDaemonOptions", "value"), msg)


@pytest.mark.parametrize(
    ("section", "body", "msg"),
    [
        (
            "proxy",
            {"mode": "system", "pac": "http://p/p.pac"},
            "Value error, pac takes effect only with mode manual (mode is system)",
        ),
        (
            "proxy",
            {"embeddedPac": "function FindProxyForURL(u,h){}"},
            "Value error, embeddedPac takes effect only with mode manual (mode is not set)",
        ),
        (
            "containersProxy",
            {"mode": "system", "embeddedPac": "x"},
            "Value error, embeddedPac takes effect only with mode manual (mode is system)",
        ),
    ],
)
def test_pac_needs_manual_mode(section: str, body: dict[str, str], msg: str) -> None:
    assert _error({section: body}) == ((section,), msg)


def test_empty_pac_is_allowed_with_system_mode() -> None:
    # Docker's sample file writes "pac": "" and "embeddedPac": "" next to "mode": "system".
    Proxy(mode="system", pac="", embedded_pac="")
    ContainersProxy(mode="manual", pac="http://p/p.pac")


def test_at_least_one_file_sharing_mechanism() -> None:
    off = {"value": False, "locked": True}
    loc, msg = _error({"useVirtualizationFrameworkVirtioFS": off, "useGrpcfuse": off})
    assert loc == ()
    assert msg == (
        "Value error, useVirtualizationFrameworkVirtioFS and useGrpcfuse are both false: Docker Desktop"
        " fails to start without a file sharing mechanism, so set at least one of them to true"
    )
    AdminSettings.model_validate({"useVirtualizationFrameworkVirtioFS": off})
    on = {"value": True, "locked": True}
    AdminSettings.model_validate({"useVirtualizationFrameworkVirtioFS": off, "useGrpcfuse": on})


@pytest.mark.parametrize(
    ("port", "msg"),
    [
        (0, "Input should be greater than or equal to 1"),
        (65536, "Input should be less than or equal to 65535"),
    ],
)
def test_inference_tcp_port_range(port: int, msg: str) -> None:
    loc, message = _error({"enableInferenceTCPPort": {"value": port, "locked": True}})
    assert (loc, message) == (("enableInferenceTCPPort", "value"), msg)
    for valid in (1, 65535):
        AdminSettings.model_validate({"enableInferenceTCPPort": {"value": valid, "locked": True}})


@pytest.mark.parametrize(
    ("port", "msg"),
    [
        (-2, "Input should be greater than or equal to -1"),
        (65536, "Input should be less than or equal to 65535"),
    ],
)
def test_windows_dockerd_port_range(port: int, msg: str) -> None:
    assert _error({"proxy": {"windowsDockerdPort": port}}) == (("proxy", "windowsDockerdPort"), msg)
    for valid in (-1, 0, 65535):
        Proxy(windows_dockerd_port=valid)


def test_proxy_exclude_keeps_docker_comma_string_form() -> None:
    settings = AdminSettings(proxy=Proxy(mode="manual", exclude="localhost,*.corp"))
    assert render_admin_settings(settings, minified=True) == (
        '{"configurationFileVersion":2,"proxy":{"mode":"manual","exclude":"localhost,*.corp"}}'
    )
