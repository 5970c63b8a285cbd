"""Keep credentials out of error messages and log lines.

Two mechanisms, applied together by `redact`:

- **Patterns** for secrets whose shape is known: Docker PATs and OATs (`dckr_pat_…`, `dckr_oat_…`),
  JWTs (`eyJ….….…`, every Docker Hub, Graph and ARM bearer), `Bearer …` values, SAS signatures and
  other secret-named query parameters (`sig=…`, `client_secret=…`) and secret-named JSON fields
  (`"access_token": "…"`).
- **Registered values** for secrets of any shape (a Jamf client secret, an opaque token): whoever
  handles a secret calls `register_secret(value)` once, and from then on the value is replaced
  wherever it appears in the process. The registry is process-wide on purpose: a token minted for one
  client must not leak through another client's error or through urllib3's own log lines.

URLs in messages go through `safe_url`, which also drops the query string and any user info.
"""

from __future__ import annotations

import logging
import re
import threading
import urllib.parse

__all__ = ["REDACTED", "install_log_redaction", "redact", "register_secret", "safe_url"]

REDACTED = "[redacted]"

# Shorter registered values would turn ordinary words into "[redacted]"; no real secret is that short.
_MIN_SECRET_LENGTH = 4

_SECRET_NAMES = (
    r"sig|signature|access_token|refresh_token|id_token|token|client_secret|secret|password|"
    r"api[_-]?key"
)

_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"dckr_(?:pat|oat)_[A-Za-z0-9_-]+"), REDACTED),
    # A cut-off JWT (header.payload without its signature) is redacted too.
    (re.compile(r"eyJ[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]{2,}(?:\.[A-Za-z0-9_-]*)?"), REDACTED),
    (re.compile(r"(?i)\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+"), rf"\1 {REDACTED}"),
    (re.compile(rf"(?i)\b({_SECRET_NAMES})=[^&\s'\"<>]+"), rf"\1={REDACTED}"),
    (re.compile(rf"(?i)(\"(?:{_SECRET_NAMES})\"\s*:\s*)\"[^\"]*\""), rf'\1"{REDACTED}"'),
)

_lock = threading.Lock()
_secrets: set[str] = set()
_secrets_pattern: re.Pattern[str] | None = None


def register_secret(value: str) -> None:
    """Redact `value` from every message and log line of this process from now on."""
    global _secrets_pattern
    if len(value) < _MIN_SECRET_LENGTH:
        return
    with _lock:
        if value in _secrets:
            return
        _secrets.add(value)
        # Longest first, so a secret that contains another one is replaced whole.
        ordered = sorted(_secrets, key=len, reverse=True)
        _secrets_pattern = re.compile("|".join(re.escape(secret) for secret in ordered))


def redact(text: str) -> str:
    """Replace every known secret shape and every registered secret in `text` with `[redacted]`."""
    pattern = _secrets_pattern  # read once: registration swaps the compiled pattern atomically
    if pattern is not None:
        text = pattern.sub(REDACTED, text)
    for secret_shape, replacement in _PATTERNS:
        text = secret_shape.sub(replacement, text)
    return text


def safe_url(url: str) -> str:
    """`url` fit for a message: no user info, no query string (SAS signatures live there), no fragment."""
    parts = urllib.parse.urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    return redact(urllib.parse.urlunsplit((parts.scheme, host, parts.path, "", "")))


class _RedactingFilter(logging.Filter):
    """Rewrites a record's message through `redact` before any handler formats it."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact(record.getMessage())
        record.args = None
        return True


# urllib3 logs request targets with their query strings (a SAS `sig=`) at DEBUG, and the connection
# pool warns with the same target when it retries. A logger's filters only see records logged on that
# very logger, so each one that formats a URL is listed.
_URLLIB3_LOGGERS = (
    "urllib3.connectionpool",
    "urllib3.connection",
    "urllib3.poolmanager",
    "urllib3.response",
    "urllib3.util.retry",
)
_FILTER = _RedactingFilter()


def install_log_redaction() -> None:
    """Route urllib3's log records through `redact`. Idempotent."""
    for name in _URLLIB3_LOGGERS:
        logging.getLogger(name).addFilter(_FILTER)
