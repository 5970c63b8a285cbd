"""`rollout sandbox serve`: run the local stand-ins of Docker Hub, DNS and Azure blob storage.

The stand-ins live in the top-level `sandbox` package (light: standard library and dnspython);
this module only parses arguments.
"""

from __future__ import annotations

import argparse

from sandbox.serve import AZURITE_PORT_OFFSET, DEFAULT_BASE_PORT, DNS_PORT_OFFSET, run

DEFAULT_HOST = "127.0.0.1"


def _base_port(text: str) -> int:
    port = int(text)
    highest = 65535 - AZURITE_PORT_OFFSET
    if port != 0 and not 1 <= port <= highest:
        raise argparse.ArgumentTypeError(f"must be 0 (free ports) or 1..{highest}")
    return port


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("sandbox", help="run local stand-ins of the vendor APIs")
    commands = parser.add_subparsers(dest="sandbox_command", required=True, metavar="COMMAND")
    serve = commands.add_parser(
        "serve",
        help="serve Docker Hub, DNS and Azurite blob stand-ins until Ctrl-C",
        description="Start the Docker Hub stand-in (demo org acme-sandbox), the DNS stand-in and, when "
        "azurite-blob is installed, Azurite blob storage; print endpoints and credentials; "
        "stop on Ctrl-C or SIGTERM.",
    )
    serve.add_argument("--host", default=DEFAULT_HOST, help=f"address to listen on (default {DEFAULT_HOST})")
    serve.add_argument(
        "--base-port",
        type=_base_port,
        default=DEFAULT_BASE_PORT,
        help=f"Docker Hub port; DNS listens on base+{DNS_PORT_OFFSET} and Azurite on "
        f"base+{AZURITE_PORT_OFFSET} (default {DEFAULT_BASE_PORT}); 0 picks free ports",
    )
    serve.add_argument("--no-azurite", action="store_true", help="do not start Azurite even if installed")
    serve.set_defaults(func=_serve)


def _serve(args: argparse.Namespace) -> int:
    return run(args.host, args.base_port, azurite=not args.no_azurite)
