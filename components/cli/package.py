"""`rollout package`: build a `.intunewin`, encrypt a macOS .pkg for Intune, or inspect a `.intunewin`.

    rollout package SETUP_FILE [--source-folder DIR] -o OUT_DIR
    rollout package --pkg Docker.pkg -o OUT_DIR
    rollout package --inspect FILE.intunewin [--show-keys]

Exit codes: 0 done, 1 an I/O failure (disk full, permissions), 2 bad usage or input; errors are one
line on stderr. Keys are never printed unless `--show-keys` is given: a `.intunewin` or a
`.pkg.bin.json` is as secret as the keys it holds.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from components.intunewin import EncryptedFile, PackageInfo, Progress

_PROG = "rollout package"


class _UsageError(Exception):
    pass


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "package",
        help="build a .intunewin, encrypt a macOS .pkg, or inspect a .intunewin",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "setup_file", nargs="?", type=Path, metavar="SETUP_FILE", help="the Docker Desktop MSI or EXE to package"
    )
    parser.add_argument(
        "--source-folder", type=Path, metavar="DIR", help="folder to package (default: the setup file's folder)"
    )
    parser.add_argument("--pkg", type=Path, metavar="PKG", help="encrypt this macOS .pkg for an Intune upload")
    parser.add_argument("--inspect", type=Path, metavar="FILE.intunewin", help="print a .intunewin's metadata")
    parser.add_argument("--show-keys", action="store_true", help="with --inspect: also print the keys, IV and MAC")
    parser.add_argument("-o", "--output-dir", type=Path, metavar="OUT_DIR", help="where to write the result")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from components.intunewin import IntunewinError

    try:
        _check_usage(args)
        if args.inspect is not None:
            return inspect_package(args.inspect, show_keys=args.show_keys)
        if args.pkg is not None:
            return encrypt_pkg(args.pkg, args.output_dir)
        return pack(args.setup_file, args.output_dir, source_folder=args.source_folder)
    except (_UsageError, IntunewinError) as exc:
        print(f"{_PROG}: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"{_PROG}: error: {exc}", file=sys.stderr)
        return 1


def pack(setup_file: Path, output_dir: Path, *, source_folder: Path | None = None) -> int:
    from components.intunewin import build_package

    with _progress_bar(f"Packaging {setup_file.name}") as progress:
        package = build_package(setup_file, output_dir, source_folder=source_folder, progress=progress)
    print(f"Wrote {package.path}")
    _print_lines(describe_package(package, show_keys=False))
    return 0


def encrypt_pkg(pkg: Path, output_dir: Path) -> int:
    """Write `<OUT_DIR>/<name>.bin` and, mode 0600, `<name>.bin.json` with what Graph's commit needs."""
    from components.intunewin import encrypt_file

    if not output_dir.is_dir():
        output_dir.mkdir(parents=True)
    with _progress_bar(f"Encrypting {pkg.name}") as progress:
        encrypted = encrypt_file(pkg, output_dir / f"{pkg.name}.bin", progress=progress)
    sidecar = encrypted.path.with_name(encrypted.path.name + ".json")
    try:
        _write_secret_json(sidecar, _pkg_metadata(pkg, encrypted))
    except BaseException:
        encrypted.path.unlink()
        raise
    print(f"Wrote {encrypted.path}")
    print(f"Wrote {sidecar} (holds the keys: keep it secret)")
    _print_lines(
        [
            ("size", str(encrypted.size)),
            ("sizeEncrypted", str(encrypted.encrypted_size)),
            ("fileDigest (SHA-256, base64)", encrypted.encryption_info.to_graph()["fileDigest"]),
        ]
    )
    return 0


def inspect_package(path: Path, *, show_keys: bool) -> int:
    from components.intunewin import read_package

    _print_lines([("File", str(path)), *describe_package(read_package(path), show_keys=show_keys)])
    return 0


def describe_package(package: PackageInfo, *, show_keys: bool) -> list[tuple[str, str]]:
    """Detection.xml as (label, value) lines; keys, IV and MAC only when `show_keys`."""
    app = package.application
    graph = app.encryption_info.to_graph()
    lines = [
        ("Name", app.name),
        ("SetupFile", app.setup_file),
        ("FileName", app.file_name),
        ("ToolVersion", app.tool_version),
        ("UnencryptedContentSize", str(app.unencrypted_content_size)),
        ("Encrypted size", str(package.encrypted_size)),
        ("ProfileIdentifier", graph["profileIdentifier"]),
        ("FileDigestAlgorithm", graph["fileDigestAlgorithm"]),
        ("FileDigest", graph["fileDigest"]),
    ]
    secret_fields = [
        ("EncryptionKey", "encryptionKey"),
        ("MacKey", "macKey"),
        ("InitializationVector", "initializationVector"),
        ("Mac", "mac"),
    ]
    if show_keys:
        lines += [(label, graph[key]) for label, key in secret_fields]
    else:
        lines.append(("EncryptionKey, MacKey, IV, Mac", "hidden (use --show-keys)"))
    if app.msi_info is not None:
        msi = app.msi_info
        lines += [
            ("MsiProductCode", msi.product_code),
            ("MsiProductVersion", msi.product_version),
            ("MsiUpgradeCode", msi.upgrade_code),
            ("MsiPackageCode", msi.package_code),
            ("MsiPublisher", msi.publisher),
            ("MsiExecutionContext", msi.execution_context.value),
            ("MsiRequiresReboot", "true" if msi.requires_reboot else "false"),
        ]
    return lines


def _check_usage(args: argparse.Namespace) -> None:
    modes = [name for name in ("setup_file", "pkg", "inspect") if getattr(args, name) is not None]
    if len(modes) != 1:
        raise _UsageError("give exactly one of SETUP_FILE, --pkg PKG or --inspect FILE.intunewin")
    if args.show_keys and args.inspect is None:
        raise _UsageError("--show-keys only applies to --inspect")
    if args.source_folder is not None and args.setup_file is None:
        raise _UsageError("--source-folder only applies to SETUP_FILE")
    if args.inspect is None and args.output_dir is None:
        raise _UsageError("-o OUT_DIR is required")
    if args.inspect is not None and args.output_dir is not None:
        raise _UsageError("--inspect writes nothing: drop -o")


def _pkg_metadata(pkg: Path, encrypted: EncryptedFile) -> dict[str, object]:
    return {
        "fileName": pkg.name,
        "size": encrypted.size,
        "sizeEncrypted": encrypted.encrypted_size,
        "fileEncryptionInfo": encrypted.encryption_info.to_graph(),
    }


def _write_secret_json(path: Path, content: dict[str, object]) -> None:
    path.unlink(missing_ok=True)  # so that the file is created anew, with mode 0600
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        json.dump(content, file, indent=2)
        file.write("\n")


def _print_lines(lines: list[tuple[str, str]]) -> None:
    width = max(len(label) for label, _ in lines)
    for label, value in lines:
        print(f"  {label + ':':<{width + 1}} {value}")


@contextlib.contextmanager
def _progress_bar(description: str) -> Iterator[Progress | None]:
    """A rich progress bar on stderr when it is a terminal; no callback (and no output) otherwise."""
    if not sys.stderr.isatty():
        yield None
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        TextColumn,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )
    from rich.progress import Progress as RichProgress

    columns = (TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TransferSpeedColumn())
    with RichProgress(*columns, TimeRemainingColumn(), console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task(description, total=None)

        def update(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield update
