"""Encryption at rest: Fernet tokens for personal fields and text, keyed hashes to find them again.

Keys come from `ENCRYPTION_KEYS` (newest first) or, on a laptop, are generated once into
`secret.key` with mode 0600. Old keys stay readable (MultiFernet) until `keys rotate` re-encrypts.
A blind index (HMAC-SHA256 under a key derived from each Fernet key) lets the database find a
phone number without storing it in clear; lookups try every key's index, so rotation never
loses a patient.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from pathlib import Path
from typing import overload

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from sqlalchemy import ColumnElement, SQLColumnExpression, bindparam

from .errors import ConfigurationError


class KeyConfigError(ConfigurationError):
    """Encryption keys are missing or malformed."""


class Vault:
    def __init__(self, keys: list[str] | tuple[str, ...]):
        if not keys:
            raise KeyConfigError("ENCRYPTION_KEYS: at least one Fernet key is needed")
        try:
            self._fernets = [Fernet(k.encode()) for k in keys]
        except (ValueError, TypeError) as exc:
            raise KeyConfigError(
                "ENCRYPTION_KEYS: a key is not a valid Fernet key "
                "(32 url-safe base64-encoded bytes)"
            ) from exc
        self._multi = MultiFernet(self._fernets)
        self._index_keys = [hashlib.sha256(b"index:" + k.encode()).digest() for k in keys]
        self._signing_keys = [hashlib.sha256(b"sign:" + k.encode()).digest() for k in keys]

    @classmethod
    def from_settings(cls, keys: tuple[str, ...], key_file: Path) -> Vault:
        if keys:
            return cls(keys)
        return cls(load_or_create_key_file(key_file))

    @overload
    def encrypt(self, text: str) -> bytes: ...
    @overload
    def encrypt(self, text: None) -> None: ...
    @overload
    def encrypt(self, text: str | None) -> bytes | None: ...

    def encrypt(self, text: str | None) -> bytes | None:
        if text is None:
            return None
        return self._multi.encrypt(text.encode("utf-8"))

    @overload
    def decrypt(self, token: bytes) -> str: ...
    @overload
    def decrypt(self, token: None) -> None: ...
    @overload
    def decrypt(self, token: bytes | None) -> str | None: ...

    def decrypt(self, token: bytes | None) -> str | None:
        """The text of a token (None for None); KeyConfigError when no configured key opens it."""
        if token is None:
            return None
        try:
            return self._multi.decrypt(bytes(token)).decode("utf-8")
        except InvalidToken as exc:
            raise KeyConfigError(
                "a stored value cannot be decrypted with the configured keys"
            ) from exc

    def rotate(self, token: bytes) -> bytes:
        """Re-encrypt under the newest key."""
        return self._multi.rotate(bytes(token))

    def index(self, value: str) -> str:
        """The blind index under the newest key: what new rows store."""
        return self.indexes(value)[0]

    def indexes(self, value: str) -> list[str]:
        """The blind index under every configured key: what lookups match."""
        data = value.encode("utf-8")
        return [hmac.new(k, data, hashlib.sha256).hexdigest() for k in self._index_keys]

    def sign(self, text: str) -> str:
        """An HMAC-SHA256 of `text` under the newest key (audit checkpoints)."""
        return hmac.new(self._signing_keys[0], text.encode("utf-8"), hashlib.sha256).hexdigest()

    def signed(self, text: str, signature: str) -> bool:
        """Whether `signature` is `text`'s under any configured key (rotation keeps old ones
        checkable)."""
        data = text.encode("utf-8")
        return any(
            hmac.compare_digest(hmac.new(k, data, hashlib.sha256).hexdigest(), signature)
            for k in self._signing_keys
        )

    @property
    def key_count(self) -> int:
        return len(self._index_keys)

    def index_params(self, value: str) -> dict[str, str]:
        """The parameters of `index_match(column, self.key_count)` for `value`."""
        return {f"index_{n}": index for n, index in enumerate(self.indexes(value))}


def index_match(column: SQLColumnExpression[str | None], key_count: int) -> ColumnElement[bool]:
    """`column` holds a value's blind index under any of `key_count` keys, bound as index_0,
    index_1, ... (`Vault.index_params`). One parameter per key, not an expanding IN: SQLAlchemy
    renders an expanding IN again at every execution, and these lookups run in every turn."""
    if key_count == 1:
        return column == bindparam("index_0")
    return column.in_([bindparam(f"index_{n}") for n in range(key_count)])


def load_or_create_key_file(path: Path) -> list[str]:
    """Read `secret.key` (one key per line, newest first), creating it once with mode 0600."""
    path = Path(path)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        key = Fernet.generate_key().decode()
        # O_EXCL: two processes starting together must not write two different keys.
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "w") as handle:
                handle.write(key + "\n")
    keys = [line.strip() for line in path.read_text().splitlines() if line.strip()]
    if not keys:
        raise KeyConfigError(f"{path} holds no key")
    return keys
