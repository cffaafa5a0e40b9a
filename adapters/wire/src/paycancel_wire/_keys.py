"""RSA keys loaded once, in every form the dashboards and ``openssl`` hand out.

Private keys: PKCS#1 (``BEGIN RSA PRIVATE KEY``) or PKCS#8 (``BEGIN PRIVATE KEY``), as PEM or as
bare base64 of the DER (the dashboards' "Java" form). Public keys: X.509 SubjectPublicKeyInfo
(``BEGIN PUBLIC KEY``) or PKCS#1, PEM or bare base64. Loading validates the key (about 50 ms for
a private key), so load once and keep the object; signing with it takes under a millisecond.

Neither class ever shows key material: ``repr`` gives the size and a fingerprint of the public
half, which is safe to log.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from pathlib import Path
from typing import Iterable, Mapping, NoReturn, Union

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from .errors import KeyLoadError, KeyNotFoundError, UnknownClientError

__all__ = ["DEFAULT_KEY_VERSION", "KeyRing", "PrivateKey", "PublicKey"]

#: The ``keyVersion`` the official SDKs send when none is configured.
DEFAULT_KEY_VERSION = "1"
#: RSA256 is specified for 2048-bit keys; smaller ones are refused.
MIN_KEY_BITS = 2048

KeySource = Union[str, bytes]
_PADDING = padding.PKCS1v15()
_HASH = hashes.SHA256()


def _text(data: KeySource, field: str) -> str:
    if isinstance(data, bytes):
        try:
            return data.decode("ascii")
        except UnicodeDecodeError:
            raise KeyLoadError(message=f"{field}: not PEM or base64 text", field=field) from None
    if isinstance(data, str):
        return data
    raise KeyLoadError(
        message=f"{field}: expected str or bytes, got {type(data).__name__}", field=field
    )


def _der(text: str, field: str) -> bytes:
    compact = "".join(text.split())
    try:
        return base64.b64decode(compact, validate=True)
    except (binascii.Error, ValueError):
        raise KeyLoadError(
            message=f"{field}: neither PEM nor valid base64 of a DER key", field=field
        ) from None


def _fingerprint(public: rsa.RSAPublicKey) -> str:
    der = public.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return "sha256:" + hashlib.sha256(der).hexdigest()[:16]


def _check_size(bits: int, field: str) -> None:
    if bits < MIN_KEY_BITS:
        raise KeyLoadError(
            message=f"{field}: RSA keys must have at least {MIN_KEY_BITS} bits, got {bits}",
            field=field,
        )


class PrivateKey:
    """A loaded RSA private key that signs RSA256 (PKCS#1 v1.5, SHA-256).

    Build with :meth:`load` or :meth:`from_file`; the constructor takes a ``cryptography`` key.
    """

    __slots__ = ("_fingerprint", "_key")

    def __init__(self, key: rsa.RSAPrivateKey) -> None:
        if not isinstance(key, rsa.RSAPrivateKey):
            raise KeyLoadError(message="private_key: not an RSA key", field="private_key")
        _check_size(key.key_size, "private_key")
        self._key = key
        self._fingerprint = _fingerprint(key.public_key())

    @classmethod
    def load(cls, data: KeySource) -> PrivateKey:
        """Load PEM (PKCS#1 or PKCS#8) or bare base64 DER. Encrypted keys are not supported.

        Raises:
            KeyLoadError: unreadable, encrypted, not RSA or under 2048 bits.
        """
        text = _text(data, "private_key").strip()
        try:
            if "-----BEGIN" in text:
                key = serialization.load_pem_private_key(text.encode("ascii"), password=None)
            else:
                key = serialization.load_der_private_key(_der(text, "private_key"), password=None)
        except KeyLoadError:
            raise
        except TypeError:
            raise KeyLoadError(
                message="private_key: encrypted keys are not supported; decrypt it first",
                field="private_key",
            ) from None
        except (ValueError, UnsupportedAlgorithm, UnicodeEncodeError):
            # Never chain the original: its message may quote the input.
            raise KeyLoadError(
                message="private_key: not a PKCS#1 or PKCS#8 RSA private key", field="private_key"
            ) from None
        if not isinstance(key, rsa.RSAPrivateKey):
            raise KeyLoadError(message="private_key: not an RSA key", field="private_key")
        return cls(key)

    @classmethod
    def from_file(cls, path: str | Path) -> PrivateKey:
        """Load a key file (any form :meth:`load` takes).

        Raises:
            KeyLoadError: the file cannot be read or holds no usable key.
        """
        try:
            data = Path(path).read_bytes()
        except OSError as exc:
            raise KeyLoadError(
                message=f"private_key: cannot read {str(path)!r}: {exc.strerror}",
                field="private_key",
            ) from None
        return cls.load(data)

    @property
    def fingerprint(self) -> str:
        """``sha256:`` and 16 hex digits of the public key's DER: safe to log."""
        return self._fingerprint

    @property
    def key_size(self) -> int:
        """The modulus size in bits."""
        return self._key.key_size

    def public_key(self) -> PublicKey:
        """The matching public key."""
        return PublicKey(self._key.public_key())

    def sign(self, content: bytes) -> bytes:
        """The raw RSA256 signature of ``content`` (deterministic for a key and content)."""
        return self._key.sign(content, _PADDING, _HASH)

    def __repr__(self) -> str:
        return f"PrivateKey(rsa-{self._key.key_size}, {self._fingerprint})"

    def __reduce__(self) -> NoReturn:
        # Pickling would write the key out; refuse, as the key never leaves the process.
        raise TypeError("PrivateKey cannot be pickled")


class PublicKey:
    """A loaded RSA public key that verifies RSA256 signatures."""

    __slots__ = ("_fingerprint", "_key")

    def __init__(self, key: rsa.RSAPublicKey) -> None:
        if not isinstance(key, rsa.RSAPublicKey):
            raise KeyLoadError(message="public_key: not an RSA key", field="public_key")
        _check_size(key.key_size, "public_key")
        self._key = key
        self._fingerprint = _fingerprint(key)

    @classmethod
    def load(cls, data: KeySource) -> PublicKey:
        """Load SubjectPublicKeyInfo or PKCS#1, PEM or bare base64 DER.

        Raises:
            KeyLoadError: unreadable, not RSA or under 2048 bits.
        """
        text = _text(data, "public_key").strip()
        try:
            if "-----BEGIN" in text:
                key = serialization.load_pem_public_key(text.encode("ascii"))
            else:
                key = serialization.load_der_public_key(_der(text, "public_key"))
        except KeyLoadError:
            raise
        except (ValueError, UnsupportedAlgorithm, UnicodeEncodeError):
            raise KeyLoadError(
                message="public_key: not an X.509 SubjectPublicKeyInfo or PKCS#1 RSA public key",
                field="public_key",
            ) from None
        if not isinstance(key, rsa.RSAPublicKey):
            raise KeyLoadError(message="public_key: not an RSA key", field="public_key")
        return cls(key)

    @classmethod
    def from_file(cls, path: str | Path) -> PublicKey:
        """Load a public key file (any form :meth:`load` takes).

        Raises:
            KeyLoadError: the file cannot be read or holds no usable key.
        """
        try:
            data = Path(path).read_bytes()
        except OSError as exc:
            raise KeyLoadError(
                message=f"public_key: cannot read {str(path)!r}: {exc.strerror}",
                field="public_key",
            ) from None
        return cls.load(data)

    @property
    def fingerprint(self) -> str:
        """``sha256:`` and 16 hex digits of the key's DER."""
        return self._fingerprint

    def verify(self, content: bytes, signature: bytes) -> bool:
        """Whether ``signature`` is this key's RSA256 signature of ``content``."""
        try:
            self._key.verify(signature, content, _PADDING, _HASH)
        except InvalidSignature:
            return False
        return True

    def pem(self) -> str:
        """The key as SubjectPublicKeyInfo PEM (public keys may be shown and shared)."""
        return self._key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ).decode("ascii")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PublicKey) and other._fingerprint == self._fingerprint

    def __hash__(self) -> int:
        return hash(self._fingerprint)

    def __repr__(self) -> str:
        return f"PublicKey(rsa-{self._key.key_size}, {self._fingerprint})"


class KeyRing:
    """The public keys a receiver trusts, by client id and ``keyVersion`` (key rotation).

    During a rotation register both versions; senders name theirs in the ``Signature`` header.

    Example::

        ring = KeyRing()
        ring.add("CLIENT_1", PublicKey.from_file("alipayplus.pem"))  # keyVersion "1"
        ring.add("CLIENT_1", PublicKey.from_file("alipayplus-2.pem"), key_version="2")
    """

    __slots__ = ("_keys",)

    def __init__(
        self,
        entries: Mapping[tuple[str, str], PublicKey] | Iterable[tuple[str, str, PublicKey]] = (),
    ) -> None:
        self._keys: dict[str, dict[str, PublicKey]] = {}
        items = (
            [(c, v, k) for (c, v), k in entries.items()]
            if isinstance(entries, Mapping)
            else list(entries)
        )
        for client_id, version, key in items:
            self.add(client_id, key, key_version=version)

    def add(
        self, client_id: str, key: PublicKey, *, key_version: str = DEFAULT_KEY_VERSION
    ) -> None:
        """Trust ``key`` for ``client_id`` under ``key_version`` (replacing that version)."""
        if not isinstance(key, PublicKey):
            raise KeyLoadError(message="KeyRing.add needs a PublicKey", field="public_key")
        if not client_id or not key_version:
            raise KeyLoadError(
                message="KeyRing.add needs a non-empty client id and key version",
                field="client_id",
            )
        self._keys.setdefault(client_id, {})[key_version] = key

    def remove(self, client_id: str, *, key_version: str) -> None:
        """Stop trusting one version (the end of a rotation)."""
        versions = self._keys.get(client_id, {})
        versions.pop(key_version, None)
        if not versions:
            self._keys.pop(client_id, None)

    def knows(self, client_id: str) -> bool:
        """Whether any key is registered for ``client_id``."""
        return client_id in self._keys

    def lookup(self, client_id: str | None, key_version: str) -> PublicKey:
        """The key to verify with.

        Raises:
            UnknownClientError: no key at all for ``client_id`` (``INVALID_CLIENT``).
            KeyNotFoundError: the client is known, the version is not (``KEY_NOT_FOUND``).
        """
        if client_id is None or client_id not in self._keys:
            raise UnknownClientError(
                message=f"unknown client id {client_id!r}", client_id=client_id
            )
        key = self._keys[client_id].get(key_version)
        if key is None:
            raise KeyNotFoundError(
                message=f"no key version {key_version!r} for client {client_id!r}",
                client_id=client_id,
                key_version=key_version,
            )
        return key

    def __len__(self) -> int:
        return sum(len(v) for v in self._keys.values())

    def __repr__(self) -> str:
        parts = ", ".join(f"{c}:{sorted(v)}" for c, v in sorted(self._keys.items()))
        return f"KeyRing({parts})"
