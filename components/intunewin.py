"""`.intunewin` packages and Intune LOB content encryption ("ProfileVersion1"), on any OS.

A `.intunewin` (Microsoft Win32 Content Prep Tool format) is a zip, stored without compression:

    IntuneWinPackage/Contents/IntunePackage.intunewin   encrypted zip of the setup folder
    IntuneWinPackage/Metadata/Detection.xml             names, sizes, keys, MSI facts

Encrypted content, for a Win32 app (the inner zip) and for a macOS .pkg alike, is
`MAC(32) ‖ IV(16) ‖ AES-256-CBC(PKCS7)(plaintext)`, where MAC = HMAC-SHA256(MacKey, IV ‖ ciphertext)
and FileDigest = SHA-256(plaintext). Intune receives the encrypted content as is, plus the keys.

Work is streamed in one pass with flat memory: the inner zip is written straight into the
encryptor, and the ciphertext straight into the outer zip entry. The MAC is known only at the end,
so it is patched over its placeholder afterwards, and the entry's CRC-32 is corrected with CRC
arithmetic (`_crc32_combine`) instead of a second read of the data.

Errors (all raised with the file, entry or Detection.xml field named in the message):

    IntunewinError (ValueError)
    ├── InputError              a setup folder / file / .pkg / destination cannot be used
    ├── PackageFormatError      not an .intunewin: not a zip, an entry or Detection.xml missing or malformed
    │   ├── FieldError          a Detection.xml field is missing or invalid
    │   │   └── KeyLengthError  a key, IV, MAC or digest has the wrong number of bytes
    │   └── TruncatedContentError  the encrypted entry's size is impossible
    └── IntegrityError          the content does not verify (itself: the zip entry's CRC-32 fails)
        ├── HeaderMismatchError    its MAC or IV header differs from Detection.xml
        ├── MacMismatchError       HMAC-SHA256 differs: tampered content or wrong MacKey
        ├── PaddingError           PKCS7 padding is invalid: wrong EncryptionKey
        └── DigestMismatchError    SHA-256 of the plaintext differs from FileDigest
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import datetime
import hashlib
import hmac
import os
import queue
import secrets
import struct
import tempfile
import threading
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import IO, BinaryIO, Protocol
from xml.etree import ElementTree
from xml.sax.saxutils import escape, quoteattr

from components.msi_info import ExecutionContext, MsiError, MsiInfo, read_msi_info

__all__ = [
    "CONTENT_FILE_NAME",
    "DETECTION_ENTRY",
    "TOOL_VERSION",
    "ApplicationInfo",
    "DigestMismatchError",
    "EncryptedFile",
    "EncryptionInfo",
    "FieldError",
    "HeaderMismatchError",
    "InputError",
    "IntegrityError",
    "IntunewinError",
    "KeyLengthError",
    "MacMismatchError",
    "PackageFormatError",
    "PackageInfo",
    "PaddingError",
    "Progress",
    "TruncatedContentError",
    "build_package",
    "detection_xml",
    "encrypt_file",
    "extract_package",
    "parse_detection_xml",
    "read_package",
]

TOOL_VERSION = "1.8.7.0"
PROFILE_IDENTIFIER = "ProfileVersion1"
FILE_DIGEST_ALGORITHM = "SHA256"
CONTENTS_DIR = "IntuneWinPackage/Contents/"
CONTENT_FILE_NAME = "IntunePackage.intunewin"
DETECTION_ENTRY = "IntuneWinPackage/Metadata/Detection.xml"

_KEY_BYTES = 32
_MAC_BYTES = 32
_IV_BYTES = 16
_DIGEST_BYTES = 32
_BLOCK = 16
_HEADER_BYTES = _MAC_BYTES + _IV_BYTES
_MAC_PLACEHOLDER = bytes(_MAC_BYTES)
_CHUNK = 1 << 20  # measured: 1 MiB beats 256 KiB and 4 MiB (cache and page-fault trade-off)
_BUFFERS_IN_FLIGHT = 4
_MAX_DETECTION_XML = 1 << 20
_LOCAL_HEADER_CRC_OFFSET = 14  # zip spec: local file header, CRC-32 field
_XSD = "http://www.w3.org/2001/XMLSchema"
_XSI = "http://www.w3.org/2001/XMLSchema-instance"

Progress = Callable[[int, int], None]
"""Called as `progress(bytes_done, bytes_total)` while a long operation streams data."""


class IntunewinError(ValueError):
    """Base of every error this module raises on bad input (see the tree in the module docstring)."""


class InputError(IntunewinError):
    pass


class PackageFormatError(IntunewinError):
    pass


class FieldError(PackageFormatError):
    pass


class KeyLengthError(FieldError):
    pass


class TruncatedContentError(PackageFormatError):
    pass


class IntegrityError(IntunewinError):
    pass


class HeaderMismatchError(IntegrityError):
    pass


class MacMismatchError(IntegrityError):
    pass


class PaddingError(IntegrityError):
    pass


class DigestMismatchError(IntegrityError):
    pass


@dataclass(frozen=True)
class EncryptionInfo:
    """Detection.xml `EncryptionInfo` and Graph's `fileEncryptionInfo`. The keys stay out of repr()."""

    encryption_key: bytes = field(repr=False)
    mac_key: bytes = field(repr=False)
    initialization_vector: bytes
    mac: bytes
    file_digest: bytes
    profile_identifier: str = PROFILE_IDENTIFIER
    file_digest_algorithm: str = FILE_DIGEST_ALGORITHM

    def to_graph(self) -> dict[str, str]:
        """The `fileEncryptionInfo` object of Graph's contentVersions/{v}/files/{f}/commit body."""
        return {
            "@odata.type": "#microsoft.graph.fileEncryptionInfo",
            "encryptionKey": _b64(self.encryption_key),
            "macKey": _b64(self.mac_key),
            "initializationVector": _b64(self.initialization_vector),
            "mac": _b64(self.mac),
            "profileIdentifier": self.profile_identifier,
            "fileDigest": _b64(self.file_digest),
            "fileDigestAlgorithm": self.file_digest_algorithm,
        }


@dataclass(frozen=True)
class ApplicationInfo:
    """The content of Detection.xml."""

    name: str
    unencrypted_content_size: int
    file_name: str
    setup_file: str
    encryption_info: EncryptionInfo
    msi_info: MsiInfo | None = None
    tool_version: str = TOOL_VERSION


@dataclass(frozen=True)
class PackageInfo:
    """A validated `.intunewin`: its Detection.xml and the size of its encrypted entry."""

    path: Path
    application: ApplicationInfo
    encrypted_size: int
    """Bytes of the encrypted entry: Graph's `sizeEncrypted` (`size` is UnencryptedContentSize)."""

    @property
    def content_entry(self) -> str:
        return CONTENTS_DIR + self.application.file_name

    @contextlib.contextmanager
    def open_content(self) -> Iterator[IO[bytes]]:
        """Stream the encrypted entry (what Intune's upload takes), without extracting it to disk."""
        with zipfile.ZipFile(self.path) as outer, outer.open(self.content_entry) as stream:
            yield stream


@dataclass(frozen=True)
class EncryptedFile:
    """A raw file (a macOS .pkg) encrypted for an Intune LOB upload."""

    path: Path
    size: int
    """Plaintext bytes: Graph's `size`."""
    encrypted_size: int
    """Bytes at `path`: Graph's `sizeEncrypted`."""
    encryption_info: EncryptionInfo


# --------------------------------------------------------------------------------------------------
# Public operations


def build_package(
    setup_file: Path,
    output_dir: Path,
    *,
    source_folder: Path | None = None,
    progress: Progress | None = None,
) -> PackageInfo:
    """Package `source_folder` (default: the setup file's folder) as `<output_dir>/<setup stem>.intunewin`.

    For an `.msi` setup file, MsiInfo comes from the MSI itself. The result is written under a
    temporary name and renamed into place, so a failure leaves nothing behind; it is created with
    mode 0600 because Detection.xml holds the decryption keys.
    """
    folder, setup_relative = _resolve_setup(setup_file, source_folder)
    msi_info = _msi_info(folder / setup_relative) if setup_relative.suffix.lower() == ".msi" else None
    entries = _folder_entries(folder)
    output_dir.mkdir(parents=True, exist_ok=True)
    destination = output_dir / f"{setup_relative.stem}.intunewin"
    total = sum(size for _, _, size in entries)
    with _atomic_output(destination) as raw:
        outer = zipfile.ZipFile(raw, "w", zipfile.ZIP_STORED, allowZip64=True)
        with outer:
            content = zipfile.ZipInfo(CONTENTS_DIR + CONTENT_FILE_NAME, _now())
            # A size estimate made before writing is how zipfile decides whether the entry needs zip64.
            content.file_size = _encrypted_size(_inner_zip_size_bound(entries))
            with outer.open(content, "w") as entry:
                content_offset = raw.tell()
                with _Encryptor(entry) as encryptor:
                    _write_inner_zip(encryptor, entries, total, progress)
                    encryption = encryptor.finish()
            _patch_mac(raw, content, content_offset, encryption.mac)
            application = ApplicationInfo(
                name=msi_info.product_name if msi_info else setup_relative.name,
                unencrypted_content_size=encryptor.plaintext_size,
                file_name=CONTENT_FILE_NAME,
                setup_file=str(setup_relative).replace("/", "\\"),  # a Windows path, as Intune shows it
                encryption_info=encryption,
                msi_info=msi_info,
            )
            outer.writestr(zipfile.ZipInfo(DETECTION_ENTRY, _now()), detection_xml(application))
    return PackageInfo(destination, application, content.file_size)


def read_package(path: Path) -> PackageInfo:
    """Open any `.intunewin` (ours or Microsoft's), parse and validate Detection.xml and the entry sizes."""
    try:
        outer = zipfile.ZipFile(path)
    except zipfile.BadZipFile:
        raise PackageFormatError(f"{path}: not an .intunewin package (not a zip file)") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror or exc}") from None
    with outer:
        detection = _entry(outer, path, DETECTION_ENTRY)
        if detection.file_size > _MAX_DETECTION_XML:
            raise PackageFormatError(f"{path}: {DETECTION_ENTRY} is {detection.file_size} bytes, too large")
        try:
            xml = outer.read(detection)
        except zipfile.BadZipFile as exc:
            raise PackageFormatError(f"{path}: {DETECTION_ENTRY}: {exc}") from None
        application = parse_detection_xml(xml, source=f"{path}: Detection.xml")
        content = _entry(outer, path, CONTENTS_DIR + application.file_name)
    _check_encrypted_size(content.file_size, application.unencrypted_content_size, f"{path}: {content.filename}")
    return PackageInfo(path, application, content.file_size)


def extract_package(path: Path, destination: Path, *, progress: Progress | None = None) -> PackageInfo:
    """Verify the MAC, decrypt, verify FileDigest and extract the setup folder into `destination`.

    `destination` must not exist or be an empty folder. Nothing appears there unless every check
    passes: the plaintext zip and the extracted files live in a temporary folder next to it until then.
    """
    package = read_package(path)
    if destination.exists() and not (destination.is_dir() and not any(destination.iterdir())):
        raise InputError(f"{destination}: exists and is not an empty folder")
    if not destination.parent.is_dir():
        raise InputError(f"{destination.parent}: no such folder")
    with tempfile.TemporaryDirectory(dir=destination.parent, prefix=f".{destination.name}.") as work:
        plaintext = Path(work) / "content.zip"
        with package.open_content() as source, plaintext.open("wb") as sink:
            try:
                _decrypt(source, sink, package, progress)
            except zipfile.BadZipFile as exc:  # raised by zipfile when the entry's CRC-32 fails
                raise IntegrityError(f"{path}: {package.content_entry}: {exc}") from None
        extracted = Path(work) / "files"
        try:
            with zipfile.ZipFile(plaintext) as inner:
                inner.extractall(extracted)
        except zipfile.BadZipFile as exc:
            raise PackageFormatError(f"{path}: the decrypted content is not a zip file ({exc})") from None
        plaintext.unlink()
        if destination.exists():
            destination.rmdir()
        extracted.replace(destination)
    return package


def encrypt_file(source: Path, destination: Path | None = None, *, progress: Progress | None = None) -> EncryptedFile:
    """Encrypt a raw file (a macOS .pkg or .dmg) for Intune, to `destination` (default `<source>.bin`).

    No zip is involved: FileDigest is the SHA-256 of `source` itself.
    """
    destination = destination or source.with_name(source.name + ".bin")
    if not source.is_file():
        raise InputError(f"{source}: no such file")
    if destination.exists() and destination.resolve() == source.resolve():
        raise InputError(f"{destination}: the encrypted output would overwrite its source")
    if not destination.parent.is_dir():
        raise InputError(f"{destination.parent}: no such folder")
    size = source.stat().st_size
    with _atomic_output(destination) as raw:
        with _Encryptor(raw) as encryptor:
            with source.open("rb", buffering=0) as plaintext:
                _copy(plaintext, encryptor, 0, size, progress)
            encryption = encryptor.finish()
        raw.seek(0)
        raw.write(encryption.mac)
    return EncryptedFile(destination, encryptor.plaintext_size, _encrypted_size(encryptor.plaintext_size), encryption)


# --------------------------------------------------------------------------------------------------
# Detection.xml


def detection_xml(application: ApplicationInfo) -> bytes:
    """Serialize Detection.xml as IntuneWinAppUtil does: same element order, namespaces, CRLF, UTF-8."""
    encryption = application.encryption_info
    lines = [
        '<?xml version="1.0" encoding="utf-8"?>',
        f'<ApplicationInfo xmlns:xsd="{_XSD}" xmlns:xsi="{_XSI}" ToolVersion={quoteattr(application.tool_version)}>',
        _element("Name", application.name, 1),
        _element("UnencryptedContentSize", str(application.unencrypted_content_size), 1),
        _element("FileName", application.file_name, 1),
        _element("SetupFile", application.setup_file, 1),
        "  <EncryptionInfo>",
        _element("EncryptionKey", _b64(encryption.encryption_key), 2),
        _element("MacKey", _b64(encryption.mac_key), 2),
        _element("InitializationVector", _b64(encryption.initialization_vector), 2),
        _element("Mac", _b64(encryption.mac), 2),
        _element("ProfileIdentifier", encryption.profile_identifier, 2),
        _element("FileDigest", _b64(encryption.file_digest), 2),
        _element("FileDigestAlgorithm", encryption.file_digest_algorithm, 2),
        "  </EncryptionInfo>",
    ]
    msi = application.msi_info
    if msi is not None:
        # Order as IntuneWinAppUtil writes it (MsiPublisher last). Facts we cannot read from the MSI
        # (MsiRequiresLogon, MsiIncludesServices, ...) are left out rather than guessed.
        lines += [
            "  <MsiInfo>",
            _element("MsiProductCode", msi.product_code, 2),
            _element("MsiProductVersion", msi.product_version, 2),
            _element("MsiPackageCode", msi.package_code, 2),
            _element("MsiUpgradeCode", msi.upgrade_code, 2),
            _element("MsiExecutionContext", msi.execution_context.value, 2),
            _element("MsiRequiresReboot", _xml_bool(msi.requires_reboot), 2),
            _element("MsiIsMachineInstall", _xml_bool(msi.is_machine_install), 2),
            _element("MsiIsUserInstall", _xml_bool(msi.is_user_install), 2),
            _element("MsiPublisher", msi.publisher, 2),
            "  </MsiInfo>",
        ]
    lines.append("</ApplicationInfo>")
    return ("\r\n".join(lines) + "\r\n").encode("utf-8")


def parse_detection_xml(data: bytes, *, source: str = "Detection.xml") -> ApplicationInfo:
    """Parse and validate Detection.xml: tolerant of a BOM, element order, whitespace and namespaces.

    `source` prefixes every error message (e.g. "pkg.intunewin: Detection.xml").
    """
    try:
        root = ElementTree.fromstring(data.removeprefix(b"\xef\xbb\xbf"))
    except ElementTree.ParseError as exc:
        raise PackageFormatError(f"{source}: not well-formed XML ({exc})") from None
    if _local_name(root.tag) != "ApplicationInfo":
        raise PackageFormatError(f"{source}: root element is <{_local_name(root.tag)}>, not <ApplicationInfo>")
    fields = _children(root)
    encryption_element = fields.get("EncryptionInfo")
    if encryption_element is None:
        raise FieldError(f"{source}: EncryptionInfo is missing")
    encryption_fields = _children(encryption_element)

    def text(parent: dict[str, ElementTree.Element], name: str, path: str, required: bool = True) -> str:
        element = parent.get(name)
        if element is None or not (element.text or "").strip():
            if required:
                raise FieldError(f"{source}: {path} is missing or empty")
            return ""
        return (element.text or "").strip()

    def binary(name: str, length: int) -> bytes:
        path = f"EncryptionInfo/{name}"
        value = text(encryption_fields, name, path)
        try:
            decoded = base64.b64decode("".join(value.split()), validate=True)
        except binascii.Error:
            raise FieldError(f"{source}: {path} is not base64") from None
        if len(decoded) != length:
            raise KeyLengthError(f"{source}: {path} is {len(decoded)} bytes, expected {length}")
        return decoded

    size_text = text(fields, "UnencryptedContentSize", "UnencryptedContentSize")
    if not (size_text.isascii() and size_text.isdigit()):
        raise FieldError(f"{source}: UnencryptedContentSize {size_text!r} is not a byte count")
    file_name = text(fields, "FileName", "FileName")
    if file_name in {".", ".."} or any(separator in file_name for separator in "/\\"):
        raise FieldError(f"{source}: FileName {file_name!r} is not a plain file name")
    profile = text(encryption_fields, "ProfileIdentifier", "EncryptionInfo/ProfileIdentifier")
    if profile != PROFILE_IDENTIFIER:
        raise FieldError(f"{source}: EncryptionInfo/ProfileIdentifier {profile!r} is not {PROFILE_IDENTIFIER}")
    algorithm = text(encryption_fields, "FileDigestAlgorithm", "EncryptionInfo/FileDigestAlgorithm")
    if algorithm != FILE_DIGEST_ALGORITHM:
        raise FieldError(f"{source}: EncryptionInfo/FileDigestAlgorithm {algorithm!r} is not {FILE_DIGEST_ALGORITHM}")
    encryption = EncryptionInfo(
        encryption_key=binary("EncryptionKey", _KEY_BYTES),
        mac_key=binary("MacKey", _KEY_BYTES),
        initialization_vector=binary("InitializationVector", _IV_BYTES),
        mac=binary("Mac", _MAC_BYTES),
        file_digest=binary("FileDigest", _DIGEST_BYTES),
        profile_identifier=profile,
        file_digest_algorithm=algorithm,
    )
    name = text(fields, "Name", "Name", required=False)
    msi_element = fields.get("MsiInfo")
    msi_info = None
    if msi_element is not None:
        msi_fields = _children(msi_element)

        def msi(element: str) -> str:
            return text(msi_fields, element, f"MsiInfo/{element}", required=False)

        context = msi("MsiExecutionContext")
        if context not in {member.value for member in ExecutionContext}:
            raise FieldError(f"{source}: MsiInfo/MsiExecutionContext {context!r} is not System, User or Any")
        msi_info = MsiInfo(
            product_code=text(msi_fields, "MsiProductCode", "MsiInfo/MsiProductCode"),
            product_version=msi("MsiProductVersion"),
            upgrade_code=msi("MsiUpgradeCode"),
            product_name=name,
            publisher=msi("MsiPublisher"),
            package_code=msi("MsiPackageCode"),
            execution_context=ExecutionContext(context),
            requires_reboot=msi("MsiRequiresReboot").lower() == "true",
        )
    return ApplicationInfo(
        name=name,
        unencrypted_content_size=int(size_text),
        file_name=file_name,
        setup_file=text(fields, "SetupFile", "SetupFile", required=False),
        encryption_info=encryption,
        msi_info=msi_info,
        tool_version=root.get("ToolVersion", ""),
    )


def _element(name: str, value: str, depth: int) -> str:
    return f"{'  ' * depth}<{name}>{escape(value)}</{name}>"


def _xml_bool(value: bool) -> str:
    return "true" if value else "false"


def _local_name(tag: str) -> str:
    return tag.rpartition("}")[2]


def _children(element: ElementTree.Element) -> dict[str, ElementTree.Element]:
    return {_local_name(child.tag): child for child in element}


def _b64(value: bytes) -> str:
    return base64.b64encode(value).decode("ascii")


# --------------------------------------------------------------------------------------------------
# Encryption


class _Writer(Protocol):
    def write(self, data: bytes | bytearray | memoryview, /) -> int: ...


class _Encryptor:
    """Turns a plaintext stream into `MAC placeholder ‖ IV ‖ AES-256-CBC(PKCS7)` on `sink`.

    `write()` hashes the plaintext (FileDigest) and encrypts it in the caller's thread; a second
    thread feeds the ciphertext to HMAC-SHA256 and writes it. hashlib, zlib (the zip CRC-32) and
    cryptography release the GIL on large buffers, so on 2 cores `build_package` of 512 MiB took
    ~1.3 s instead of ~1.7 s with one thread. Ciphertext moves between the threads in a few reusable
    buffers, so memory stays flat whatever the size (benchmarks/intunewin.py: 36 MiB peak RSS for
    1 GiB). The caller writes `finish().mac` over the placeholder, which is `sink`'s first 32 bytes.
    """

    def __init__(self, sink: _Writer) -> None:
        from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

        self._key = secrets.token_bytes(_KEY_BYTES)
        self._mac_key = secrets.token_bytes(_KEY_BYTES)
        self._iv = secrets.token_bytes(_IV_BYTES)
        self._cipher = Cipher(algorithms.AES(self._key), modes.CBC(self._iv)).encryptor()
        self._digest = hashlib.sha256()
        self._mac = hmac.new(self._mac_key, self._iv, hashlib.sha256)
        self._sink = sink
        self.plaintext_size = 0
        self._free: queue.SimpleQueue[bytearray] = queue.SimpleQueue()
        self._full: queue.SimpleQueue[tuple[bytearray, int] | None] = queue.SimpleQueue()
        for _ in range(_BUFFERS_IN_FLIGHT - 1):
            self._free.put(bytearray(_CHUNK + 2 * _BLOCK))
        self._buffer = bytearray(_CHUNK + 2 * _BLOCK)
        self._filled = 0
        self._error: BaseException | None = None
        sink.write(_MAC_PLACEHOLDER + self._iv)
        self._thread: threading.Thread | None = threading.Thread(
            target=self._drain, name="intunewin-mac-writer", daemon=True
        )
        self._thread.start()

    def __enter__(self) -> _Encryptor:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def write(self, data: bytes | bytearray | memoryview) -> int:
        view = memoryview(data).cast("B")
        self._digest.update(view)
        self.plaintext_size += len(view)
        self._encrypt(view)
        return len(view)

    def flush(self) -> None:
        """zipfile flushes its output; the ciphertext is flushed by `finish()`."""

    def finish(self) -> EncryptionInfo:
        """Pad, encrypt the last block, wait for the writer and return the keys and MAC."""
        padding = _BLOCK - self.plaintext_size % _BLOCK
        self._encrypt(memoryview(bytes([padding]) * padding))
        if self._cipher.finalize():
            raise AssertionError("AES-CBC kept a partial block after PKCS7 padding")
        self._ship()
        self.close()
        return EncryptionInfo(
            encryption_key=self._key,
            mac_key=self._mac_key,
            initialization_vector=self._iv,
            mac=self._mac.digest(),
            file_digest=self._digest.digest(),
        )

    def close(self) -> None:
        """Stop the writer thread (idempotent) and re-raise its error, if it had one."""
        if self._thread is not None:
            self._full.put(None)
            self._thread.join()
            self._thread = None
        if self._error is not None:
            raise self._error

    def _encrypt(self, view: memoryview) -> None:
        # update_into needs room for the input plus one block the cipher may still hold back.
        while view:
            room = len(self._buffer) - self._filled - _BLOCK
            taken = min(len(view), room)
            self._filled += self._cipher.update_into(view[:taken], memoryview(self._buffer)[self._filled :])
            view = view[taken:]
            if self._filled >= _CHUNK:
                self._ship()

    def _ship(self) -> None:
        if self._filled:
            self._full.put((self._buffer, self._filled))
            self._buffer = self._free.get()
            self._filled = 0
        if self._error is not None:
            raise self._error

    def _drain(self) -> None:
        while (item := self._full.get()) is not None:
            buffer, length = item
            if self._error is None:
                try:
                    with memoryview(buffer) as view:
                        ciphertext = view[:length]
                        self._mac.update(ciphertext)
                        self._sink.write(ciphertext)
                except BaseException as exc:  # handed to the producer thread, which re-raises it
                    self._error = exc
            self._free.put(buffer)


def _decrypt(source: IO[bytes], sink: BinaryIO, package: PackageInfo, progress: Progress | None) -> None:
    """Verify and decrypt the encrypted entry into `sink` in one pass; raise if anything does not verify."""
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    info = package.application.encryption_info
    where = f"{package.path}: {package.content_entry}"
    header = source.read(_HEADER_BYTES)
    stored_mac, iv = header[:_MAC_BYTES], header[_MAC_BYTES:]
    if stored_mac != info.mac:
        raise HeaderMismatchError(f"{where}: the MAC header differs from Detection.xml EncryptionInfo/Mac")
    if iv != info.initialization_vector:
        raise HeaderMismatchError(
            f"{where}: the IV header differs from Detection.xml EncryptionInfo/InitializationVector"
        )
    mac = hmac.new(info.mac_key, iv, hashlib.sha256)
    digest = hashlib.sha256()
    decryptor = Cipher(algorithms.AES(info.encryption_key), modes.CBC(iv)).decryptor()
    buffer = bytearray(_CHUNK + _BLOCK)
    held = b""  # the last plaintext block, whose padding is only known at the end
    done, total = _HEADER_BYTES, package.encrypted_size
    while chunk := source.read(_CHUNK):
        mac.update(chunk)
        produced = decryptor.update_into(chunk, buffer)
        if produced:
            for piece in (held, memoryview(buffer)[: produced - _BLOCK]):
                digest.update(piece)
                sink.write(piece)
            held = bytes(buffer[produced - _BLOCK : produced])
        done += len(chunk)
        if progress:
            progress(done, total)
    decryptor.finalize()
    if not hmac.compare_digest(mac.digest(), info.mac):
        raise MacMismatchError(f"{where}: HMAC-SHA256 does not match Mac: the content was altered or MacKey is wrong")
    padding = held[-1] if held else 0
    if not 1 <= padding <= _BLOCK or held[-padding:] != bytes([padding]) * padding:
        raise PaddingError(f"{where}: invalid PKCS7 padding after decryption: EncryptionKey is wrong")
    digest.update(held[:-padding])
    sink.write(held[:-padding])
    if not hmac.compare_digest(digest.digest(), info.file_digest):
        raise DigestMismatchError(f"{where}: SHA-256 of the decrypted content does not match FileDigest")


def _encrypted_size(plaintext_size: int) -> int:
    """PKCS7 always pads, with 1 to 16 bytes."""
    return _HEADER_BYTES + (plaintext_size // _BLOCK + 1) * _BLOCK


def _check_encrypted_size(size: int, unencrypted_size: int, where: str) -> None:
    if size < _HEADER_BYTES + _BLOCK or (size - _HEADER_BYTES) % _BLOCK:
        raise TruncatedContentError(
            f"{where}: {size} bytes is not {_HEADER_BYTES} header bytes plus one or more whole 16-byte AES blocks"
            " (truncated, or not ProfileVersion1 content)"
        )
    expected = _encrypted_size(unencrypted_size)
    if size != expected:
        raise TruncatedContentError(
            f"{where}: {size} bytes, but Detection.xml UnencryptedContentSize {unencrypted_size} means {expected}"
        )


# --------------------------------------------------------------------------------------------------
# Zip plumbing


def _patch_mac(raw: BinaryIO, content: zipfile.ZipInfo, content_offset: int, mac: bytes) -> None:
    """Write the MAC over its placeholder and fix the entry's CRC-32 in both zip headers.

    zipfile computed the CRC over `placeholder ‖ rest`. CRC-32 is affine over GF(2), so
    crc(mac ‖ rest) = crc(placeholder ‖ rest) ^ (crc(mac) ^ crc(placeholder)) · x^(8·len(rest)),
    which is `_crc32_combine(crc(mac) ^ crc(placeholder), crc(placeholder ‖ rest), len(rest))`.
    """
    crc = _crc32_combine(zlib.crc32(mac) ^ zlib.crc32(_MAC_PLACEHOLDER), content.CRC, content.file_size - _MAC_BYTES)
    raw.seek(content_offset)
    raw.write(mac)
    raw.seek(content.header_offset + _LOCAL_HEADER_CRC_OFFSET)
    raw.write(struct.pack("<I", crc))
    raw.seek(0, os.SEEK_END)
    content.CRC = crc  # the central directory is written from here when the outer zip closes


_CRC32_POLYNOMIAL = 0xEDB88320  # x^32 + x^26 + ... + 1 in CRC-32's reflected bit order


def _gf2_multiply(a: int, b: int) -> int:
    """a·b modulo the CRC-32 polynomial, both in reflected order (bit 31 is the x^0 coefficient)."""
    product = 0
    for bit in range(31, -1, -1):
        if a >> bit & 1:
            product ^= b
        b = (b >> 1) ^ _CRC32_POLYNOMIAL if b & 1 else b >> 1
    return product


def _crc32_combine(crc1: int, crc2: int, length2: int) -> int:
    """crc32(A ‖ B) from crc32(A), crc32(B) and len(B), like zlib's crc32_combine (not in Python's zlib).

    Appending len(B) bytes multiplies A's CRC by x^(8·len(B)) modulo the polynomial; the power is
    built by repeated squaring of x^8, so this costs ~64 multiplications whatever the length.
    """
    power, square = 1 << 31, 1 << 23  # x^0 and x^8
    while length2:
        if length2 & 1:
            power = _gf2_multiply(power, square)
        square = _gf2_multiply(square, square)
        length2 >>= 1
    return _gf2_multiply(power, crc1) ^ crc2


def _write_inner_zip(
    sink: _Encryptor, entries: list[tuple[Path, str, int]], total: int, progress: Progress | None
) -> None:
    """Zip the setup folder, stored (installers are already compressed), straight into `sink`.

    `sink` cannot seek, so zipfile writes data descriptors after each file, as streaming zip
    writers (.NET's and Go's included) do.
    """
    done = 0
    with zipfile.ZipFile(sink, "w", zipfile.ZIP_STORED, allowZip64=True) as inner:
        for path, arcname, size in entries:
            info = zipfile.ZipInfo.from_file(path, arcname, strict_timestamps=False)
            if info.is_dir():
                inner.writestr(info, b"")
                continue
            with path.open("rb", buffering=0) as source, inner.open(info, "w") as target:
                done = _copy(source, target, done, total, progress)
            if info.file_size != size:
                raise InputError(f"{path}: changed size while being packaged")


class _Readable(Protocol):
    def readinto(self, buffer: bytearray, /) -> int | None: ...


def _copy(source: _Readable, target: _Writer, done: int, total: int, progress: Progress | None) -> int:
    buffer = bytearray(_CHUNK)
    with memoryview(buffer) as view:
        while count := source.readinto(buffer):
            target.write(view[:count])
            done += count
            if progress:
                progress(done, total)
    return done


def _inner_zip_size_bound(entries: list[tuple[Path, str, int]]) -> int:
    """An upper bound of the inner zip's size: data plus the largest zip64 headers zipfile writes."""
    per_entry = 30 + 20 + 24 + 46 + 28  # local header, zip64 extra, descriptor, central header, extra
    headers = sum(per_entry + 2 * len(arcname.encode()) for _, arcname, _ in entries)
    return sum(size for _, _, size in entries) + headers + 22 + 56 + 20  # end records


def _entry(archive: zipfile.ZipFile, path: Path, name: str) -> zipfile.ZipInfo:
    try:
        return archive.getinfo(name)
    except KeyError:
        raise PackageFormatError(f"{path}: entry {name} is missing") from None


def _now() -> tuple[int, int, int, int, int, int]:
    now = datetime.datetime.now()
    return (now.year, now.month, now.day, now.hour, now.minute, now.second)


# --------------------------------------------------------------------------------------------------
# Inputs and outputs


def _resolve_setup(setup_file: Path, source_folder: Path | None) -> tuple[Path, PurePosixPath]:
    folder = (source_folder or setup_file.parent).resolve()
    if not folder.is_dir():
        raise InputError(f"{source_folder or setup_file.parent}: no such folder")
    setup = setup_file.resolve()
    if not setup.is_file():
        raise InputError(f"{setup_file}: no such setup file")
    if not setup.is_relative_to(folder):
        raise InputError(f"{setup_file}: the setup file is not inside the source folder {folder}")
    return folder, PurePosixPath(setup.relative_to(folder).as_posix())


def _msi_info(path: Path) -> MsiInfo:
    try:
        return read_msi_info(path)
    except MsiError as exc:
        raise InputError(str(exc)) from exc


def _folder_entries(folder: Path) -> list[tuple[Path, str, int]]:
    """Files (and empty folders) under `folder` as (path, zip name, size), in a stable order."""
    entries: list[tuple[Path, str, int]] = []
    for directory, subdirectories, files in os.walk(folder):
        subdirectories.sort()
        base = Path(directory)
        relative = base.relative_to(folder)
        if not subdirectories and not files and base != folder:
            entries.append((base, f"{relative.as_posix()}/", 0))
        for name in sorted(files):
            path = base / name
            entries.append((path, (relative / name).as_posix(), path.stat().st_size))
    return entries


@contextlib.contextmanager
def _atomic_output(destination: Path) -> Iterator[BinaryIO]:
    """Write to a temporary file next to `destination`; rename it into place only on success."""
    descriptor, temporary = tempfile.mkstemp(dir=destination.parent, prefix=f".{destination.name}.", suffix=".partial")
    try:
        with os.fdopen(descriptor, "w+b") as file:
            yield file
        os.replace(temporary, destination)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
