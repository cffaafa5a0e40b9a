"""TLS for the local gateway: a server context, and a throwaway self-signed certificate.

The official Antom SDK always connects with TLS to port 443; 1.7.1 checks the certificate, so
trust :func:`self_signed_certificate`'s file through ``SSL_CERT_FILE`` (``httpx``: ``verify=``).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import ssl
from pathlib import Path
from typing import Sequence, Union

import attrs
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from paycancel import SystemClock
from paycancel.errors import ValidationError

__all__ = [
    "CERT_FILE_NAME",
    "KEY_FILE_NAME",
    "TlsSetupError",
    "self_signed_certificate",
    "tls_context",
]

CERT_FILE_NAME = "antom-local-gateway.crt.pem"
KEY_FILE_NAME = "antom-local-gateway.key.pem"
PathLike = Union[str, Path]


@attrs.define(kw_only=True)
class TlsSetupError(ValidationError):
    """A certificate or key file cannot be used (``field``: ``cert_file`` or ``key_file``)."""


def tls_context(cert_file: PathLike, key_file: PathLike) -> ssl.SSLContext:
    """A server-side TLS context (TLS 1.2 or later, HTTP/1.1 by ALPN) for the local gateway.

    Args:
        cert_file: the certificate (chain) PEM.
        key_file: its private key PEM (unencrypted).

    Raises:
        TlsSetupError: a file is missing or the pair does not load.
    """
    for field, path in (("cert_file", cert_file), ("key_file", key_file)):
        if not Path(path).is_file():
            raise TlsSetupError(message=f"{field}: no such file: {path}", field=field)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.set_alpn_protocols(["http/1.1"])
    try:
        context.load_cert_chain(certfile=str(cert_file), keyfile=str(key_file))
    except (ssl.SSLError, OSError) as exc:
        raise TlsSetupError(
            message=f"cannot load the certificate {cert_file} with the key {key_file}: "
            f"{getattr(exc, 'reason', None) or exc}",
            field="cert_file",
        ) from None
    return context


def _names(hosts: Sequence[str]) -> list[x509.GeneralName]:
    names: list[x509.GeneralName] = []
    for host in hosts:
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    return names


def self_signed_certificate(
    directory: PathLike, *, hosts: Sequence[str] = ("127.0.0.1", "localhost")
) -> tuple[Path, Path]:
    """Write a self-signed certificate and its key into ``directory``.

    The certificate names each of ``hosts`` (IP addresses as IP SANs, others as DNS SANs),
    is valid from one day before to one day after the real time, and is its own CA
    (``CA:TRUE``, critical), so it can serve as the whole trust store: ``SSL_CERT_FILE``,
    ``httpx.Client(verify=...)``, ``ssl.create_default_context(cafile=...)``. The key is an
    ECDSA P-256 key (instant to make), written readable by the owner only.

    Args:
        directory: where to write ``antom-local-gateway.crt.pem`` and ``...key.pem``.
        hosts: the names the server will be reached by.

    Returns:
        ``(certificate file, key file)``.

    Raises:
        ValidationError: no hosts.
    """
    if not hosts:
        raise ValidationError(message="give at least one host", field="hosts")
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "paycancel local Antom gateway")])
    now = SystemClock().now()
    public = key.public_key()
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName(_names(hosts)), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(public), critical=False)
        .sign(key, hashes.SHA256())
    )
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    cert_file = folder / CERT_FILE_NAME
    key_file = folder / KEY_FILE_NAME
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    fd = os.open(str(key_file), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(key_pem)
    return cert_file, key_file
