""".intunewin packing, reading, decryption and raw-file encryption, checked with independent tools.

Packages are built from real MSIs (wixl) and arbitrary EXE / PKG bytes, then decoded by the `openssl`
CLI (HMAC, AES-256-CBC, SHA-256), `unzip -t` (zip integrity) and ElementTree (Detection.xml), never
by the code under test. Reading is also tested on a package assembled in the test with openssl, the
way Microsoft's tool lays it out (BOM, CRLF, other element order, deflated inner zip).
"""

from __future__ import annotations

import argparse
import base64
import errno
import hashlib
import json
import os
import shutil
import stat
import subprocess
import sys
import threading
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path
from xml.etree import ElementTree

import pytest

from components.cli import package as cli
from components.intunewin import (
    CONTENT_FILE_NAME,
    DETECTION_ENTRY,
    DigestMismatchError,
    FieldError,
    HeaderMismatchError,
    InputError,
    IntegrityError,
    KeyLengthError,
    MacMismatchError,
    PackageFormatError,
    PaddingError,
    TruncatedContentError,
    _crc32_combine,
    _Encryptor,
    build_package,
    encrypt_file,
    extract_package,
    read_package,
)
from components.msi_info import read_msi_info
from tests.msi_builder import build_msi

CONTENT_ENTRY = f"IntuneWinPackage/Contents/{CONTENT_FILE_NAME}"
EXE_NAME = "Docker Desktop Installer.exe"
UPGRADE_CODE = "{6A2B9C1D-3E4F-4A5B-8C7D-9E0F1A2B3C4D}"
ROOT = Path(__file__).resolve().parents[2]


# --------------------------------------------------------------------------------------------------
# Independent decoders


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is required by these tests")
    return path


def openssl(*args: str, stdin: bytes | None = None) -> bytes:
    return subprocess.run([_tool("openssl"), *args], input=stdin, check=True, capture_output=True).stdout


def openssl_decrypt(encrypted: bytes, keys: dict[str, bytes], work: Path) -> bytes:
    """Check MAC ‖ IV ‖ ciphertext with the openssl CLI and return the plaintext."""
    mac, iv, ciphertext = encrypted[:32], encrypted[32:48], encrypted[48:]
    assert mac == keys["Mac"]
    assert iv == keys["InitializationVector"]
    signed = _write(work / "iv-and-ciphertext.bin", encrypted[32:])
    hmac_hex = openssl("dgst", "-sha256", "-mac", "HMAC", "-macopt", f"hexkey:{keys['MacKey'].hex()}", str(signed))
    assert hmac_hex.decode().strip().rsplit("= ", 1)[1] == keys["Mac"].hex()
    cipher_file = _write(work / "ciphertext.bin", ciphertext)
    plaintext = openssl(
        "enc", "-d", "-aes-256-cbc", "-K", keys["EncryptionKey"].hex(), "-iv", iv.hex(), "-in", str(cipher_file)
    )
    assert openssl("dgst", "-sha256", "-binary", stdin=plaintext) == keys["FileDigest"]
    return plaintext


def openssl_encrypt(plaintext: bytes, work: Path) -> tuple[bytes, dict[str, bytes]]:
    """Produce ProfileVersion1 content with openssl only: the way another tool would."""
    key, mac_key, iv = os.urandom(32), os.urandom(32), os.urandom(16)
    source = _write(work / "plain.bin", plaintext)
    ciphertext = openssl("enc", "-aes-256-cbc", "-K", key.hex(), "-iv", iv.hex(), "-in", str(source))
    signed = _write(work / "signed.bin", iv + ciphertext)
    mac = openssl("dgst", "-sha256", "-mac", "HMAC", "-macopt", f"hexkey:{mac_key.hex()}", "-binary", str(signed))
    keys = {
        "EncryptionKey": key,
        "MacKey": mac_key,
        "InitializationVector": iv,
        "Mac": mac,
        "FileDigest": hashlib.sha256(plaintext).digest(),
    }
    return mac + iv + ciphertext, keys


def detection_fields(xml: bytes) -> tuple[dict[str, str], dict[str, bytes], dict[str, str]]:
    """Detection.xml read with ElementTree: (top-level texts, decoded EncryptionInfo, MsiInfo texts)."""
    root = ElementTree.fromstring(xml)
    top = {child.tag: (child.text or "") for child in root if len(child) == 0}
    encryption_element = root.find("EncryptionInfo")
    assert encryption_element is not None
    encryption = {
        child.tag: base64.b64decode(child.text or "")
        for child in encryption_element
        if child.tag not in {"ProfileIdentifier", "FileDigestAlgorithm"}
    }
    assert encryption_element.findtext("ProfileIdentifier") == "ProfileVersion1"
    assert encryption_element.findtext("FileDigestAlgorithm") == "SHA256"
    msi_element = root.find("MsiInfo")
    msi = {} if msi_element is None else {child.tag: (child.text or "") for child in msi_element}
    return top, encryption, msi


def unzip_test(archive: Path) -> None:
    subprocess.run([_tool("unzip"), "-tq", str(archive)], check=True, capture_output=True)


def tree(folder: Path) -> dict[str, bytes | None]:
    """Relative path -> bytes for files, None for (empty) folders."""
    return {
        path.relative_to(folder).as_posix(): (path.read_bytes() if path.is_file() else None)
        for path in folder.rglob("*")
        if path.is_file() or not any(path.iterdir())
    }


def assert_nothing_written(folder: Path) -> None:
    assert not folder.exists() or list(folder.iterdir()) == []


# --------------------------------------------------------------------------------------------------
# Fixtures


def _setup_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "setup"
    (folder / "resources" / "nested").mkdir(parents=True)
    (folder / "empty").mkdir()
    (folder / "resources" / "admin-settings.json").write_text('{"configurationFileVersion": 2}\n')
    (folder / "resources" / "nested" / "random.bin").write_bytes(os.urandom(300_000))
    return folder


@pytest.fixture
def msi_setup(tmp_path: Path) -> Path:
    folder = _setup_folder(tmp_path)
    return build_msi(
        folder,
        product_name="Docker Desktop",
        version="4.49.0",
        manufacturer="Docker Inc.",
        upgrade_code=UPGRADE_CODE,
        payload_bytes=os.urandom(2_000_000),
        file_name="DockerDesktop.msi",
    )


@pytest.fixture
def exe_setup(tmp_path: Path) -> Path:
    folder = _setup_folder(tmp_path)
    exe = folder / EXE_NAME
    exe.write_bytes(b"MZ" + os.urandom(1_500_000))
    return exe


@pytest.fixture
def package_path(exe_setup: Path, tmp_path: Path) -> Path:
    return build_package(exe_setup, tmp_path / "out").path


# --------------------------------------------------------------------------------------------------
# Packing, verified with openssl


def test_msi_package_decrypts_with_openssl(msi_setup: Path, tmp_path: Path) -> None:
    package = build_package(msi_setup, tmp_path / "out")

    assert package.path == tmp_path / "out" / "DockerDesktop.intunewin"
    unzip_test(package.path)
    with zipfile.ZipFile(package.path) as outer:
        assert [(info.filename, info.compress_type) for info in outer.infolist()] == [
            (CONTENT_ENTRY, zipfile.ZIP_STORED),
            (DETECTION_ENTRY, zipfile.ZIP_STORED),
        ]
        encrypted = outer.read(CONTENT_ENTRY)
        top, keys, msi = detection_fields(outer.read(DETECTION_ENTRY))
    plaintext = openssl_decrypt(encrypted, keys, tmp_path)

    assert top["Name"] == "Docker Desktop"  # the MSI's ProductName, as IntuneWinAppUtil writes it
    assert top["SetupFile"] == "DockerDesktop.msi"
    assert top["FileName"] == CONTENT_FILE_NAME
    assert int(top["UnencryptedContentSize"]) == len(plaintext)
    assert package.encrypted_size == len(encrypted) == len(plaintext) // 16 * 16 + 16 + 48
    expected = read_msi_info(msi_setup)
    assert msi == {
        "MsiProductCode": expected.product_code,
        "MsiProductVersion": "4.49.0",
        "MsiPackageCode": expected.package_code,
        "MsiUpgradeCode": UPGRADE_CODE,
        "MsiExecutionContext": "System",
        "MsiRequiresReboot": "false",
        "MsiIsMachineInstall": "true",
        "MsiIsUserInstall": "false",
        "MsiPublisher": "Docker Inc.",
    }
    inner = tmp_path / "inner.zip"
    inner.write_bytes(plaintext)
    unzip_test(inner)
    with zipfile.ZipFile(inner) as archive:
        archive.extractall(tmp_path / "unzipped")
    assert tree(tmp_path / "unzipped") == tree(msi_setup.parent)


def test_exe_package_decrypts_with_openssl(exe_setup: Path, tmp_path: Path) -> None:
    package = build_package(exe_setup, tmp_path / "out")

    assert package.path.name == "Docker Desktop Installer.intunewin"
    with zipfile.ZipFile(package.path) as outer:
        top, keys, msi = detection_fields(outer.read(DETECTION_ENTRY))
        plaintext = openssl_decrypt(outer.read(CONTENT_ENTRY), keys, tmp_path)
    assert (top["Name"], top["SetupFile"], msi) == (EXE_NAME, EXE_NAME, {})
    with zipfile.ZipFile(_write(tmp_path / "inner.zip", plaintext)) as archive:
        archive.extractall(tmp_path / "unzipped")
    assert tree(tmp_path / "unzipped") == tree(exe_setup.parent)


def test_pkg_encryption_decrypts_with_openssl(tmp_path: Path) -> None:
    pkg = _write(tmp_path / "Docker.pkg", b"xar!" + os.urandom(1_000_003))

    encrypted = encrypt_file(pkg)

    assert encrypted.path == tmp_path / "Docker.pkg.bin"
    data = encrypted.path.read_bytes()
    info = encrypted.encryption_info
    keys = {
        "EncryptionKey": info.encryption_key,
        "MacKey": info.mac_key,
        "InitializationVector": info.initialization_vector,
        "Mac": info.mac,
        "FileDigest": info.file_digest,
    }
    assert openssl_decrypt(data, keys, tmp_path) == pkg.read_bytes()
    assert info.file_digest == hashlib.sha256(pkg.read_bytes()).digest()
    assert (encrypted.size, encrypted.encrypted_size) == (1_000_007, len(data))
    assert len(data) == 48 + (1_000_007 // 16 + 1) * 16


def test_pkg_encryption_writes_to_a_given_path(tmp_path: Path) -> None:
    pkg = _write(tmp_path / "Docker.pkg", b"")  # empty plaintext still gets a full padding block

    encrypted = encrypt_file(pkg, tmp_path / "upload.bin")

    assert encrypted.path.stat().st_size == 48 + 16
    assert sorted(path.name for path in tmp_path.iterdir()) == ["Docker.pkg", "upload.bin"]


def test_detection_xml_layout(msi_setup: Path, tmp_path: Path) -> None:
    with zipfile.ZipFile(build_package(msi_setup, tmp_path / "out").path) as outer:
        xml = outer.read(DETECTION_ENTRY)

    text = xml.decode("utf-8")
    assert text.startswith('<?xml version="1.0" encoding="utf-8"?>\r\n<ApplicationInfo xmlns:xsd=')
    assert 'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" ToolVersion="1.8.7.0">' in text
    assert "\n" not in text.replace("\r\n", "")
    order = [
        "Name", "UnencryptedContentSize", "FileName", "SetupFile", "EncryptionInfo", "EncryptionKey", "MacKey",
        "InitializationVector", "Mac", "ProfileIdentifier", "FileDigest", "FileDigestAlgorithm", "MsiInfo",
        "MsiProductCode", "MsiProductVersion", "MsiPackageCode", "MsiUpgradeCode", "MsiExecutionContext",
        "MsiRequiresReboot", "MsiIsMachineInstall", "MsiIsUserInstall", "MsiPublisher",
    ]  # fmt: skip
    positions = [text.index(f"<{name}>") for name in order]
    assert positions == sorted(positions)


def test_per_user_msi_execution_context(tmp_path: Path) -> None:
    folder = tmp_path / "setup"
    folder.mkdir()
    msi = build_msi(
        folder, product_name="Docker Desktop", version="4.49.0", manufacturer="Docker Inc.",
        upgrade_code=UPGRADE_CODE, per_user=True,
    )  # fmt: skip

    with zipfile.ZipFile(build_package(msi, tmp_path / "out").path) as outer:
        _, _, msi_fields = detection_fields(outer.read(DETECTION_ENTRY))

    assert msi_fields["MsiExecutionContext"] == "User"
    assert (msi_fields["MsiIsMachineInstall"], msi_fields["MsiIsUserInstall"]) == ("false", "true")


def test_source_folder_option(tmp_path: Path) -> None:
    folder = _setup_folder(tmp_path)
    setup = _write(folder / "bin" / "setup.exe", b"MZ")

    package = build_package(setup, tmp_path / "out", source_folder=folder)

    assert package.application.setup_file == "bin\\setup.exe"
    extract_package(package.path, tmp_path / "extracted")
    assert tree(tmp_path / "extracted") == tree(folder)


def test_output_is_private(package_path: Path) -> None:
    assert stat.S_IMODE(package_path.stat().st_mode) == 0o600  # Detection.xml holds the keys


# --------------------------------------------------------------------------------------------------
# Reading and extracting


def test_read_package_round_trip(exe_setup: Path, tmp_path: Path) -> None:
    built = build_package(exe_setup, tmp_path / "out")

    read = read_package(built.path)

    assert read == built
    with read.open_content() as stream, zipfile.ZipFile(built.path) as outer:
        assert stream.read() == outer.read(CONTENT_ENTRY)


def test_extract_package_restores_the_folder(msi_setup: Path, tmp_path: Path) -> None:
    package = build_package(msi_setup, tmp_path / "out")
    (tmp_path / "target").mkdir()  # an empty folder is accepted

    extracted = extract_package(package.path, tmp_path / "target")

    assert extracted == package
    assert tree(tmp_path / "target") == tree(msi_setup.parent)


def test_reads_a_microsoft_style_package(tmp_path: Path) -> None:
    """BOM, CRLF, other element order, extra elements, deflated inner zip, content made by openssl."""
    inner = tmp_path / "inner.zip"
    with zipfile.ZipFile(inner, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("setup.msi", os.urandom(5000))
        archive.writestr("docs/readme.txt", "hello\r\n" * 100)
    plaintext = inner.read_bytes()
    encrypted, keys = openssl_encrypt(plaintext, tmp_path)
    b64 = {name: base64.b64encode(value).decode() for name, value in keys.items()}
    xml = (
        '\ufeff<?xml version="1.0" encoding="utf-8"?>\r\n'
        '<ApplicationInfo ToolVersion="1.8.4.0" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">\r\n'
        "  <FileName>IntunePackage.intunewin</FileName>\r\n"
        "  <EncryptionInfo>\r\n"
        f"    <MacKey>\r\n      {b64['MacKey']}\r\n    </MacKey>\r\n"
        "    <FileDigestAlgorithm>SHA256</FileDigestAlgorithm>\r\n"
        f"    <Mac>{b64['Mac']}</Mac>\r\n"
        f"    <FileDigest>{b64['FileDigest']}</FileDigest>\r\n"
        f"    <InitializationVector>{b64['InitializationVector']}</InitializationVector>\r\n"
        "    <ProfileIdentifier>ProfileVersion1</ProfileIdentifier>\r\n"
        f"    <EncryptionKey>{b64['EncryptionKey']}</EncryptionKey>\r\n"
        "  </EncryptionInfo>\r\n"
        f"  <UnencryptedContentSize>{len(plaintext)}</UnencryptedContentSize>\r\n"
        "  <SetupFile>setup.msi</SetupFile>\r\n"
        "  <MsiInfo>\r\n"
        "    <MsiExecutionContext>Any</MsiExecutionContext>\r\n"
        "    <MsiProductCode>{89E4C65D-96DD-435B-9BBB-EF1EAEF5B738}</MsiProductCode>\r\n"
        "    <MsiRequiresLogon>false</MsiRequiresLogon>\r\n"
        "    <MsiRequiresReboot>true</MsiRequiresReboot>\r\n"
        "    <MsiContainsSystemFolders>false</MsiContainsSystemFolders>\r\n"
        "    <MsiPublisher>Contoso</MsiPublisher>\r\n"
        "  </MsiInfo>\r\n"
        "  <Name>Contoso App</Name>\r\n"
        "</ApplicationInfo>\r\n"
    ).encode()
    package_file = tmp_path / "contoso.intunewin"
    with zipfile.ZipFile(package_file, "w") as outer:
        outer.writestr(DETECTION_ENTRY, xml)
        outer.writestr(CONTENT_ENTRY, encrypted)

    package = read_package(package_file)
    extract_package(package_file, tmp_path / "extracted")

    app = package.application
    assert (app.name, app.setup_file, app.tool_version) == ("Contoso App", "setup.msi", "1.8.4.0")
    assert app.unencrypted_content_size == len(plaintext)
    assert app.encryption_info.encryption_key == keys["EncryptionKey"]
    assert app.encryption_info.mac_key == keys["MacKey"]
    assert app.msi_info is not None
    assert app.msi_info.product_code == "{89E4C65D-96DD-435B-9BBB-EF1EAEF5B738}"
    assert (app.msi_info.execution_context.value, app.msi_info.requires_reboot) == ("Any", True)
    assert app.msi_info.publisher == "Contoso"
    assert package.encrypted_size == len(encrypted)
    with zipfile.ZipFile(inner) as archive:
        archive.extractall(tmp_path / "expected")
    assert tree(tmp_path / "extracted") == tree(tmp_path / "expected")


# --------------------------------------------------------------------------------------------------
# Failures: the exact error, and nothing left behind


def _rewrite(package: Path, *, content: Callable[[bytes], bytes] = bytes, xml: Callable[[str], str] = str) -> None:
    """Rewrite a package with a consistent zip (valid CRCs) but edited content or Detection.xml."""
    with zipfile.ZipFile(package) as outer:
        entries = {info.filename: outer.read(info) for info in outer.infolist()}
    with zipfile.ZipFile(package, "w") as outer:
        outer.writestr(CONTENT_ENTRY, content(entries[CONTENT_ENTRY]))
        outer.writestr(DETECTION_ENTRY, xml(entries[DETECTION_ENTRY].decode()).encode())


def _replace_field(name: str, value: bytes) -> Callable[[str], str]:
    def edit(xml: str) -> str:
        start = xml.index(f"<{name}>") + len(name) + 2
        return xml[:start] + base64.b64encode(value).decode() + xml[xml.index(f"</{name}>") :]

    return edit


def _extract_fails(package: Path, tmp_path: Path, error: type[Exception]) -> str:
    before = sorted(tmp_path.iterdir())
    with pytest.raises(error) as caught:
        extract_package(package, tmp_path / "extracted")
    assert sorted(tmp_path.iterdir()) == before  # no destination, no temporary folder
    return str(caught.value)


def test_tampered_ciphertext_fails_the_mac(package_path: Path, tmp_path: Path) -> None:
    _rewrite(package_path, content=lambda data: data[:100] + bytes([data[100] ^ 1]) + data[101:])

    message = _extract_fails(package_path, tmp_path, MacMismatchError)

    assert message == (
        f"{package_path}: {CONTENT_ENTRY}: HMAC-SHA256 does not match Mac: the content was altered or MacKey is wrong"
    )


def test_tampered_mac_in_both_places_fails_the_mac(package_path: Path, tmp_path: Path) -> None:
    forged = os.urandom(32)
    _rewrite(package_path, content=lambda data: forged + data[32:], xml=_replace_field("Mac", forged))

    _extract_fails(package_path, tmp_path, MacMismatchError)


def test_mac_header_differing_from_detection_xml(package_path: Path, tmp_path: Path) -> None:
    _rewrite(package_path, xml=_replace_field("Mac", os.urandom(32)))

    message = _extract_fails(package_path, tmp_path, HeaderMismatchError)

    assert message == f"{package_path}: {CONTENT_ENTRY}: the MAC header differs from Detection.xml EncryptionInfo/Mac"


def test_digest_mismatch(package_path: Path, tmp_path: Path) -> None:
    _rewrite(package_path, xml=_replace_field("FileDigest", os.urandom(32)))

    message = _extract_fails(package_path, tmp_path, DigestMismatchError)

    assert message == (f"{package_path}: {CONTENT_ENTRY}: SHA-256 of the decrypted content does not match FileDigest")


def test_wrong_encryption_key(package_path: Path, tmp_path: Path) -> None:
    _rewrite(package_path, xml=_replace_field("EncryptionKey", os.urandom(32)))

    # Garbage plaintext almost always has invalid padding; 1 time in ~256 it ends in 0x01 and only
    # the digest catches it.
    _extract_fails(package_path, tmp_path, (PaddingError, DigestMismatchError))  # type: ignore[arg-type]


def test_corrupted_bytes_fail_the_zip_crc(package_path: Path, tmp_path: Path) -> None:
    data = bytearray(package_path.read_bytes())
    data[1000] ^= 0xFF  # inside the encrypted entry, without fixing the zip's CRC-32
    package_path.write_bytes(bytes(data))

    message = _extract_fails(package_path, tmp_path, IntegrityError)

    assert message == f"{package_path}: {CONTENT_ENTRY}: Bad CRC-32 for file '{CONTENT_ENTRY}'"


@pytest.mark.parametrize("cut", [5, 16], ids=["partial-block", "whole-block"])
def test_truncated_content(package_path: Path, tmp_path: Path, cut: int) -> None:
    size = read_package(package_path).encrypted_size
    _rewrite(package_path, content=lambda data: data[:-cut])

    with pytest.raises(TruncatedContentError) as caught:
        read_package(package_path)

    where = f"{package_path}: {CONTENT_ENTRY}: {size - cut} bytes"
    if cut == 5:
        assert str(caught.value) == (
            f"{where} is not 48 header bytes plus one or more whole 16-byte AES blocks"
            " (truncated, or not ProfileVersion1 content)"
        )
    else:
        assert str(caught.value).startswith(f"{where}, but Detection.xml UnencryptedContentSize ")


def test_truncated_file(package_path: Path) -> None:
    data = package_path.read_bytes()
    package_path.write_bytes(data[: len(data) // 2])

    with pytest.raises(PackageFormatError) as caught:
        read_package(package_path)

    assert str(caught.value) == f"{package_path}: not an .intunewin package (not a zip file)"


@pytest.mark.parametrize(
    ("field", "size", "expected"),
    [
        ("EncryptionKey", 31, 32),
        ("MacKey", 33, 32),
        ("InitializationVector", 15, 16),
        ("Mac", 16, 32),
        ("FileDigest", 20, 32),
    ],
)
def test_wrong_key_lengths(package_path: Path, tmp_path: Path, field: str, size: int, expected: int) -> None:
    _rewrite(package_path, xml=_replace_field(field, os.urandom(size)))

    with pytest.raises(KeyLengthError) as caught:
        read_package(package_path)

    assert str(caught.value) == (
        f"{package_path}: Detection.xml: EncryptionInfo/{field} is {size} bytes, expected {expected}"
    )
    _extract_fails(package_path, tmp_path, KeyLengthError)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda xml: xml.replace("<Mac>", "<Mac>*"), "EncryptionInfo/Mac is not base64"),
        (lambda xml: xml.replace("ProfileVersion1", "ProfileVersion2"),
         "EncryptionInfo/ProfileIdentifier 'ProfileVersion2' is not ProfileVersion1"),
        (lambda xml: xml.replace("<FileName>IntunePackage.intunewin", "<FileName>../x"),
         "FileName '../x' is not a plain file name"),
        (lambda xml: xml.replace("<UnencryptedContentSize>", "<UnencryptedContentSize>-"),
         "UnencryptedContentSize '-"),
        (lambda xml: xml.replace("<MacKey>", "<Other>").replace("</MacKey>", "</Other>"),
         "EncryptionInfo/MacKey is missing or empty"),
    ],
    ids=["base64", "profile", "file-name", "size", "missing"],
)  # fmt: skip
def test_invalid_detection_fields(package_path: Path, edit: Callable[[str], str], message: str) -> None:
    _rewrite(package_path, xml=edit)

    with pytest.raises(FieldError) as caught:
        read_package(package_path)

    assert str(caught.value).startswith(f"{package_path}: Detection.xml: {message}")


def test_missing_entry(package_path: Path) -> None:
    with zipfile.ZipFile(package_path) as outer:
        xml = outer.read(DETECTION_ENTRY)
    with zipfile.ZipFile(package_path, "w") as outer:
        outer.writestr(DETECTION_ENTRY, xml)

    with pytest.raises(PackageFormatError) as caught:
        read_package(package_path)

    assert str(caught.value) == f"{package_path}: entry {CONTENT_ENTRY} is missing"


def test_renamed_non_msi_is_rejected_and_nothing_written(tmp_path: Path) -> None:
    folder = _setup_folder(tmp_path)
    fake = _write(folder / "DockerDesktop.msi", b"MZ\x90\x00 an EXE renamed to .msi")

    with pytest.raises(InputError) as caught:
        build_package(fake, tmp_path / "out")

    assert str(caught.value) == f"{fake}: not a Windows Installer package (no OLE compound file signature)"
    assert not (tmp_path / "out").exists()


def test_setup_file_outside_the_source_folder(exe_setup: Path, tmp_path: Path) -> None:
    other = tmp_path / "other"
    other.mkdir()

    with pytest.raises(InputError) as caught:
        build_package(exe_setup, tmp_path / "out", source_folder=other)

    assert str(caught.value) == f"{exe_setup}: the setup file is not inside the source folder {other}"
    assert not (tmp_path / "out").exists()


def test_failure_while_writing_leaves_no_partial_file(exe_setup: Path, tmp_path: Path) -> None:
    class Interrupted(Exception):
        pass

    def progress(done: int, total: int) -> None:
        if done > 500_000:
            raise Interrupted

    (tmp_path / "out").mkdir()
    with pytest.raises(Interrupted):
        build_package(exe_setup, tmp_path / "out", progress=progress)

    assert_nothing_written(tmp_path / "out")


def test_encrypt_missing_pkg(tmp_path: Path) -> None:
    with pytest.raises(InputError) as caught:
        encrypt_file(tmp_path / "Docker.pkg")

    assert str(caught.value) == f"{tmp_path / 'Docker.pkg'}: no such file"
    assert_nothing_written(tmp_path)


def test_extract_refuses_a_non_empty_destination(package_path: Path, tmp_path: Path) -> None:
    _write(tmp_path / "extracted" / "keep.txt", b"mine")

    with pytest.raises(InputError) as caught:
        extract_package(package_path, tmp_path / "extracted")

    assert str(caught.value) == f"{tmp_path / 'extracted'}: exists and is not an empty folder"
    assert (tmp_path / "extracted" / "keep.txt").read_bytes() == b"mine"


# --------------------------------------------------------------------------------------------------
# Building blocks


@pytest.mark.parametrize(("first", "second"), [(0, 0), (1, 0), (0, 1), (37, 1000), (5000, 123_457)])
def test_crc32_combine_matches_zlib(first: int, second: int) -> None:
    a, b = os.urandom(first), os.urandom(second)

    assert _crc32_combine(zlib.crc32(a), zlib.crc32(b), len(b)) == zlib.crc32(a + b)


def test_a_write_error_in_the_writer_thread_reaches_the_caller() -> None:
    class FullDisk:
        written = 0

        def write(self, data: bytes | bytearray | memoryview) -> int:
            self.written += len(data)
            if self.written > 3 << 20:
                raise OSError(errno.ENOSPC, "No space left on device")
            return len(data)

    with pytest.raises(OSError, match="No space left on device"), _Encryptor(FullDisk()) as encryptor:
        for _ in range(16):
            encryptor.write(bytes(1 << 20))
        encryptor.finish()

    assert not [thread for thread in threading.enumerate() if thread.name == "intunewin-mac-writer"]


def test_encryption_info_keeps_keys_out_of_repr(package_path: Path) -> None:
    info = read_package(package_path).application.encryption_info

    text = repr(info)

    assert info.encryption_key.hex() not in text and repr(info.encryption_key) not in text
    assert repr(info.mac_key) not in text
    assert info.to_graph()["encryptionKey"] == base64.b64encode(info.encryption_key).decode()
    assert info.to_graph()["@odata.type"] == "#microsoft.graph.fileEncryptionInfo"


# --------------------------------------------------------------------------------------------------
# Command line


def _cli(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="rollout")
    cli.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["package", *argv])
    result: int = args.func(args)
    return result


def test_cli_pack_and_inspect(msi_setup: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _cli(str(msi_setup), "-o", str(tmp_path / "out")) == 0
    packed = capsys.readouterr().out
    package = read_package(tmp_path / "out" / "DockerDesktop.intunewin")
    keys = package.application.encryption_info.to_graph()

    assert _cli("--inspect", str(package.path)) == 0
    inspected = capsys.readouterr().out
    assert _cli("--inspect", str(package.path), "--show-keys") == 0
    shown = capsys.readouterr().out

    assert f"Wrote {package.path}" in packed
    for output in (packed, inspected):
        assert "MsiProductVersion:" in output and "4.49.0" in output
        assert all(keys[name] not in output for name in ("encryptionKey", "macKey", "initializationVector", "mac"))
        assert "hidden (use --show-keys)" in output
    assert all(keys[name] in shown for name in ("encryptionKey", "macKey", "initializationVector", "mac"))


def test_cli_pkg_writes_encrypted_file_and_private_metadata(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pkg = _write(tmp_path / "Docker.pkg", os.urandom(70_000))

    assert _cli("--pkg", str(pkg), "-o", str(tmp_path / "out")) == 0

    output = capsys.readouterr().out
    encrypted = tmp_path / "out" / "Docker.pkg.bin"
    sidecar = tmp_path / "out" / "Docker.pkg.bin.json"
    metadata = json.loads(sidecar.read_text())
    assert stat.S_IMODE(sidecar.stat().st_mode) == 0o600
    info = metadata["fileEncryptionInfo"]
    assert metadata["fileName"] == "Docker.pkg"
    assert (metadata["size"], metadata["sizeEncrypted"]) == (70_000, encrypted.stat().st_size)
    keys = {
        "EncryptionKey": base64.b64decode(info["encryptionKey"]),
        "MacKey": base64.b64decode(info["macKey"]),
        "InitializationVector": base64.b64decode(info["initializationVector"]),
        "Mac": base64.b64decode(info["mac"]),
        "FileDigest": base64.b64decode(info["fileDigest"]),
    }
    assert openssl_decrypt(encrypted.read_bytes(), keys, tmp_path) == pkg.read_bytes()
    assert info["encryptionKey"] not in output and info["macKey"] not in output


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        ([], "give exactly one of SETUP_FILE, --pkg PKG or --inspect FILE.intunewin"),
        (
            ["a.exe", "--pkg", "b.pkg", "-o", "o"],
            "give exactly one of SETUP_FILE, --pkg PKG or --inspect FILE.intunewin",
        ),
        (["setup.exe"], "-o OUT_DIR is required"),
        (["--inspect", "x.intunewin", "-o", "out"], "--inspect writes nothing: drop -o"),
        (["--pkg", "x.pkg", "--show-keys", "-o", "out"], "--show-keys only applies to --inspect"),
        (["--pkg", "x.pkg", "--source-folder", ".", "-o", "out"], "--source-folder only applies to SETUP_FILE"),
    ],
)
def test_cli_usage_errors(argv: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert _cli(*argv) == 2

    assert capsys.readouterr().err == f"rollout package: error: {message}\n"


def test_cli_input_error_is_one_line_and_writes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fake = _write(tmp_path / "setup" / "DockerDesktop.msi", b"not an msi")

    assert _cli(str(fake), "-o", str(tmp_path / "out")) == 2

    err = capsys.readouterr().err
    assert err == f"rollout package: error: {fake}: not a Windows Installer package (no OLE compound file signature)\n"
    assert not (tmp_path / "out").exists()


def test_cli_through_the_rollout_entry_point(package_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "components.cli.main", "package", "--inspect", str(package_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )

    assert result.returncode == 0, result.stderr
    assert "FileName:" in result.stdout and CONTENT_FILE_NAME in result.stdout
    assert result.stderr == ""  # no progress bar or noise when stderr is not a terminal


def _write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path
