"""A tiny authoritative DNS server on UDP 127.0.0.1 that answers TXT queries from an in-memory zone.

It stands in for the public DNS a domain-verification check reads. Point dnspython at it with
`resolver.nameservers = ["127.0.0.1"]; resolver.port = server.port`.

```python
server = DnsSandbox(zone={"acme.example": ["docker-verification=abc"]}, host="127.0.0.1", port=0, ttl=60)
server.start() -> server; server.stop()        # or `with server: ...`
server.port, server.address                    # bound after start
server.set_txt(name, values); server.remove(name)   # at runtime, thread-safe
server.queries -> list[tuple[str, str]]        # (name, type) of every question answered
```

Answers are authoritative (AA): TXT records for a known name, an empty answer (NODATA) for other
types of a known name, NXDOMAIN for unknown names. Names compare case-insensitively, with or without
the trailing dot. UDP only: the answers stay far below the 512-byte limit that would need TCP.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterable, Mapping
from types import TracebackType
from typing import Self

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rdtypes.ANY.TXT
import dns.rrset

_MAX_TXT_CHUNK = 255  # one TXT character-string holds at most 255 bytes (RFC 1035 §3.3)


def _key(name: str) -> dns.name.Name:
    return dns.name.from_text(name).canonicalize()


class DnsSandbox:
    def __init__(
        self,
        zone: Mapping[str, Iterable[str]] | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        ttl: int = 60,
    ) -> None:
        self.host = host
        self.ttl = ttl
        self._requested_port = port
        self._lock = threading.Lock()
        self._zone: dict[dns.name.Name, list[str]] = {}
        self._queries: list[tuple[str, str]] = []
        self._socket: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        for name, values in (zone or {}).items():
            self.set_txt(name, values)

    def set_txt(self, name: str, values: Iterable[str]) -> None:
        with self._lock:
            self._zone[_key(name)] = list(values)

    def remove(self, name: str) -> None:
        with self._lock:
            self._zone.pop(_key(name), None)

    @property
    def queries(self) -> list[tuple[str, str]]:
        with self._lock:
            return list(self._queries)

    def start(self) -> Self:
        if self._socket is not None:
            raise RuntimeError("server already started")
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._socket.bind((self.host, self._requested_port))
        self._socket.settimeout(1.0)  # a backstop: stop() wakes the loop with a datagram
        self._thread = threading.Thread(target=self._serve, name=f"DnsSandbox:{self.port}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._socket is None:
            return
        self._stopping.set()
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as waker:
            waker.sendto(b"", self._socket.getsockname())
        if self._thread is not None:
            self._thread.join()
        self._socket.close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._socket is None:
            raise RuntimeError("server not started")
        return int(self._socket.getsockname()[1])

    @property
    def address(self) -> str:
        return f"udp://{self.host}:{self.port}"

    def _serve(self) -> None:
        assert self._socket is not None
        while not self._stopping.is_set():
            try:
                wire, client = self._socket.recvfrom(4096)
            except TimeoutError:
                continue
            except OSError:
                return
            if self._stopping.is_set():
                return
            answer = self._answer(wire)
            if answer is not None:
                self._socket.sendto(answer, client)

    def _answer(self, wire: bytes) -> bytes | None:
        try:
            query = dns.message.from_wire(wire)
        except dns.exception.DNSException:
            return None  # not DNS: stay silent, as a server does with garbage
        response = dns.message.make_response(query)
        response.flags |= dns.flags.AA
        with self._lock:
            for question in query.question:
                self._queries.append((question.name.to_text(), dns.rdatatype.to_text(question.rdtype)))
                values = self._zone.get(question.name.canonicalize())
                if values is None:
                    response.set_rcode(dns.rcode.NXDOMAIN)
                elif question.rdtype == dns.rdatatype.TXT and values:
                    response.answer.append(self._txt_rrset(question.name, values))
        return response.to_wire()

    def _txt_rrset(self, name: dns.name.Name, values: list[str]) -> dns.rrset.RRset:
        records = [
            dns.rdtypes.ANY.TXT.TXT(
                dns.rdataclass.IN,
                dns.rdatatype.TXT,
                [raw[i : i + _MAX_TXT_CHUNK] for i in range(0, len(raw), _MAX_TXT_CHUNK)] or [b""],
            )
            for raw in (value.encode("utf-8") for value in values)
        ]
        return dns.rrset.from_rdata(name, self.ttl, *records)
