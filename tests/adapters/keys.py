"""RSA-2048 key pairs for the adapter tests, generated once per process (about 0.1 s each).

Each pair is available in every form the dashboards and ``openssl`` hand out, so tests can load
whichever form they exercise.
"""

from __future__ import annotations

import base64
import functools

import attrs
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from paycancel_wire import PrivateKey, PublicKey


@attrs.frozen
class KeyPair:
    """One RSA-2048 key pair and its encodings."""

    name: str
    pkcs1_pem: str = attrs.field(repr=False)
    pkcs8_pem: str = attrs.field(repr=False)
    pkcs8_base64: str = attrs.field(repr=False)
    pkcs1_base64: str = attrs.field(repr=False)
    public_pem: str
    public_base64: str
    private: PrivateKey
    public: PublicKey


@functools.lru_cache(maxsize=None)
def key_pair(name: str) -> KeyPair:
    """The key pair called ``name`` (the same object for the same name within a process)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    none = serialization.NoEncryption()
    pkcs1_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, none
    ).decode()
    pkcs8_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, none
    ).decode()
    pkcs8_der = key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, none
    )
    pkcs1_der = key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.TraditionalOpenSSL, none
    )
    public = key.public_key()
    public_pem = public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()
    public_der = public.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return KeyPair(
        name=name,
        pkcs1_pem=pkcs1_pem,
        pkcs8_pem=pkcs8_pem,
        pkcs8_base64=base64.b64encode(pkcs8_der).decode(),
        pkcs1_base64=base64.b64encode(pkcs1_der).decode(),
        public_pem=public_pem,
        public_base64=base64.b64encode(public_der).decode(),
        private=PrivateKey(key),
        public=PublicKey(public),
    )


#: The merchant's (caller's) keys and the platform's (Antom's / Alipay+'s) keys.
def merchant() -> KeyPair:
    """The calling side's key pair."""
    return key_pair("merchant")


def platform() -> KeyPair:
    """The platform's key pair (Antom or Alipay+)."""
    return key_pair("platform")


def stranger() -> KeyPair:
    """A key nobody registered (wrong-signature cases)."""
    return key_pair("stranger")
