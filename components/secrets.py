"""An opaque secret value for the rollout spec.

Stack files hold secrets as `{secure: v1:...}` ciphertext. Under the Pulumi CLI the program reads
them decrypted; offline (`rollout render`/`validate`, no CLI, no passphrase) they stay ciphertext.
`SecretValue` covers both: it never prints its content (`[secret]` in str, repr and JSON dumps) and
only `reveal()` hands the plaintext to the one place that needs it (a Pulumi secret input).
"""

from __future__ import annotations

from typing import Any

from pydantic import GetCoreSchemaHandler, ValidationInfo
from pydantic_core import PydanticCustomError, core_schema

SECRET_PLACEHOLDER = "[secret]"


class SecretValue:
    """A secret from the stack configuration: plaintext under the CLI, ciphertext offline."""

    __slots__ = ("_ciphertext", "_plaintext")

    def __init__(self, plaintext: str | None = None, *, ciphertext: str | None = None) -> None:
        if (plaintext is None) == (ciphertext is None):
            raise ValueError("a SecretValue holds either a plaintext or a ciphertext")
        self._plaintext = plaintext
        self._ciphertext = ciphertext

    @property
    def is_decrypted(self) -> bool:
        return self._plaintext is not None

    def reveal(self) -> str:
        """The plaintext. Offline (undecrypted) secrets cannot be revealed."""
        if self._plaintext is None:
            raise ValueError("this secret is still encrypted: it is only readable under the Pulumi CLI")
        return self._plaintext

    def __str__(self) -> str:
        return SECRET_PLACEHOLDER

    def __repr__(self) -> str:
        return f"SecretValue({SECRET_PLACEHOLDER})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, SecretValue):
            return NotImplemented
        return (self._plaintext, self._ciphertext) == (other._plaintext, other._ciphertext)

    def __hash__(self) -> int:
        return hash((self._plaintext, self._ciphertext))

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: GetCoreSchemaHandler) -> core_schema.CoreSchema:
        return core_schema.with_info_plain_validator_function(
            _validate_secret,
            serialization=core_schema.plain_serializer_function_ser_schema(lambda _v: SECRET_PLACEHOLDER),
        )


def _validate_secret(value: Any, info: ValidationInfo) -> SecretValue:
    """Accept `{secure: ...}` always; accept plaintext only from the CLI (already decrypted).

    Offline validation reads the committed stack file: a plaintext string there is a secret
    committed in clear text, which is exactly what a reviewer must hear about.
    """
    if isinstance(value, SecretValue):
        return value
    if isinstance(value, dict) and set(value) == {"secure"} and isinstance(value["secure"], str):
        return SecretValue(ciphertext=value["secure"])
    if isinstance(value, str):
        offline = bool(info.context and info.context.get("offline"))
        if offline:
            raise PydanticCustomError(
                "plaintext_secret",
                "must be a secret, not plain text in the stack file: "
                "use `pulumi config set --secret --path <key> <value>`",
            )
        return SecretValue(value)
    raise PydanticCustomError("secret_type", "must be a secret string")
