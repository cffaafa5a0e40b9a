"""Keys: every form the dashboards and ``openssl`` hand out loads to the same key, failures are
typed and never show key material, and the key ring answers by client id and key version."""

from __future__ import annotations

import base64
import pickle
import re
import textwrap
import traceback
from pathlib import Path
from typing import Any, Callable, cast

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from paycancel.errors import PaycancelError
from paycancel_wire import DEFAULT_KEY_VERSION, KeyRing, PrivateKey, PublicKey, sign, verify
from paycancel_wire.errors import KeyLoadError, KeyNotFoundError, UnknownClientError
from tests.adapters.keys import merchant, platform, stranger

CONTENT = b'POST /ams/api/v1/payments/cancel\nCLIENT.2026-11-22T10:00:00+08:00.{"a":"b"}'
FINGERPRINT = re.compile(r"sha256:[0-9a-f]{16}")


def _wrap(text: str, width: int = 64, indent: str = "") -> str:
    """Bare base64 broken into lines (as pasted from a dashboard or an e-mail)."""
    return "\n".join(indent + line for line in textwrap.wrap(text, width)) + "\n"


def _ascii(text: str) -> bytes:
    return text.encode("ascii")


def _secret_chunks(*texts: str) -> list[str]:
    """Pieces of key material that must never show up: every base64 line of a PEM and every
    16-character run of a bare base64 form."""
    chunks: list[str] = []
    for text in texts:
        for raw_line in text.splitlines():
            line = raw_line.strip()
            if not line or line.startswith("-----"):
                continue
            chunks.extend(line[i : i + 16] for i in range(0, len(line) - 15, 16))
    return chunks


def _assert_shows_no_material(error: BaseException, *key_texts: str) -> None:
    shown = "\n".join(
        [
            str(error),
            repr(error),
            "".join(traceback.format_exception(type(error), error, error.__traceback__)),
        ]
    )
    leaked = [chunk for chunk in _secret_chunks(*key_texts) if chunk in shown]
    assert leaked == []
    assert error.__cause__ is None  # a chained cryptography error could quote the input


# --- private keys: every form ------------------------------------------------------------------

PRIVATE_FORMS: dict[str, Callable[[], str | bytes]] = {
    "pkcs1-pem": lambda: merchant().pkcs1_pem,
    "pkcs8-pem": lambda: merchant().pkcs8_pem,
    "pkcs8-base64": lambda: merchant().pkcs8_base64,
    "pkcs8-base64-wrapped": lambda: _wrap(merchant().pkcs8_base64),
    "pkcs8-base64-indented-crlf": lambda: _wrap(merchant().pkcs8_base64, 76, "  ").replace(
        "\n", "\r\n"
    ),
    "pkcs8-base64-surrounding-space": lambda: "\n  " + merchant().pkcs8_base64 + "  \n",
    "pkcs1-base64": lambda: merchant().pkcs1_base64,
    "pkcs1-pem-bytes": lambda: _ascii(merchant().pkcs1_pem),
    "pkcs8-pem-bytes": lambda: _ascii(merchant().pkcs8_pem),
    "pkcs8-base64-bytes": lambda: _ascii(merchant().pkcs8_base64),
}


@pytest.mark.parametrize("form", sorted(PRIVATE_FORMS))
def test_every_private_key_form_loads_to_the_same_key(form: str) -> None:
    key = PrivateKey.load(PRIVATE_FORMS[form]())

    assert key.fingerprint == merchant().private.fingerprint
    assert key.key_size == 2048
    # PKCS#1 v1.5 is deterministic: the same key gives byte-identical signatures.
    assert key.sign(CONTENT) == merchant().private.sign(CONTENT)
    assert sign(key, CONTENT) == sign(merchant().private, CONTENT)
    assert merchant().public.verify(CONTENT, key.sign(CONTENT))


@pytest.mark.parametrize("form", ["pkcs1_pem", "pkcs8_pem", "pkcs8_base64", "pkcs1_base64"])
@pytest.mark.parametrize("as_path", [True, False], ids=["Path", "str"])
def test_private_key_from_file(tmp_path: Path, form: str, as_path: bool) -> None:
    path = tmp_path / "merchant.key"
    path.write_text(getattr(merchant(), form), encoding="ascii")

    key = PrivateKey.from_file(path if as_path else str(path))

    assert key.sign(CONTENT) == merchant().private.sign(CONTENT)


def test_private_key_matches_its_public_key() -> None:
    key = PrivateKey.load(merchant().pkcs8_base64)

    assert key.public_key() == merchant().public
    assert key.public_key().fingerprint == key.fingerprint


# --- public keys: every form -------------------------------------------------------------------


def _pkcs1_public(kind: serialization.Encoding) -> bytes:
    public = serialization.load_pem_public_key(platform().public_pem.encode())
    return public.public_bytes(kind, serialization.PublicFormat.PKCS1)


PUBLIC_FORMS: dict[str, Callable[[], str | bytes]] = {
    "spki-pem": lambda: platform().public_pem,
    "spki-pem-bytes": lambda: _ascii(platform().public_pem),
    "spki-base64": lambda: platform().public_base64,
    "spki-base64-wrapped": lambda: _wrap(platform().public_base64),
    "spki-base64-surrounding-space": lambda: "  " + platform().public_base64 + "\n",
    "pkcs1-pem": lambda: _pkcs1_public(serialization.Encoding.PEM),
    "pkcs1-base64": lambda: _b64(_pkcs1_public(serialization.Encoding.DER)),
}


def _b64(der: bytes) -> str:
    return base64.b64encode(der).decode()


@pytest.mark.parametrize("form", sorted(PUBLIC_FORMS))
def test_every_public_key_form_loads_to_the_same_key(form: str) -> None:
    key = PublicKey.load(PUBLIC_FORMS[form]())

    assert key == platform().public
    assert hash(key) == hash(platform().public)
    assert key.verify(CONTENT, platform().private.sign(CONTENT))
    assert verify(key, CONTENT, sign(platform().private, CONTENT))
    assert not key.verify(CONTENT, merchant().private.sign(CONTENT))


@pytest.mark.parametrize("form", ["public_pem", "public_base64"])
@pytest.mark.parametrize("as_path", [True, False], ids=["Path", "str"])
def test_public_key_from_file(tmp_path: Path, form: str, as_path: bool) -> None:
    path = tmp_path / "platform.pem"
    path.write_text(getattr(platform(), form), encoding="ascii")

    key = PublicKey.from_file(path if as_path else str(path))

    assert key == platform().public


def test_public_key_pem_round_trips() -> None:
    assert PublicKey.load(platform().public.pem()) == platform().public
    assert platform().public.pem().startswith("-----BEGIN PUBLIC KEY-----")


def test_public_keys_differ_by_key() -> None:
    assert merchant().public != platform().public
    assert merchant().public != cast(Any, merchant().public.fingerprint)


# --- refused keys ------------------------------------------------------------------------------


def _pem_private(key: Any, password: bytes | None = None) -> str:
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(password)
        if password
        else serialization.NoEncryption()
    )
    return cast(
        bytes,
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
        ),
    ).decode()


def _pem_public(key: Any) -> str:
    return cast(
        bytes,
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ),
    ).decode()


def _ec_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _small_rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=1024)  # noqa: S505 - the size being refused


def _corrupted(pem: str) -> str:
    """A real key PEM with one line of its body broken (the rest is real key material)."""
    lines = pem.splitlines()
    lines[5] = "!" + lines[5][1:]
    return "\n".join(lines)


PRIVATE_REFUSALS: dict[str, Callable[[], str | bytes]] = {
    "garbage-text": lambda: "this is not a key",
    "empty": lambda: "",
    "garbage-bytes": lambda: b"\xff\xfe\x00not ascii",
    "non-ascii-text": lambda: "clé privée",
    "base64-not-der": lambda: "aGVsbG8gd29ybGQ=",
    "corrupted-pem": lambda: _corrupted(merchant().pkcs8_pem),
    "truncated-base64": lambda: merchant().pkcs8_base64[:-40],
    "public-key-given": lambda: merchant().public_pem,
    "ec-key": lambda: _pem_private(_ec_key()),
    "rsa-1024": lambda: _pem_private(_small_rsa_key()),
    "encrypted-pem": lambda: _pem_private(
        serialization.load_pem_private_key(merchant().pkcs8_pem.encode(), password=None),
        b"correct horse",
    ),
}


@pytest.mark.parametrize("case", sorted(PRIVATE_REFUSALS))
def test_unusable_private_keys_raise_key_load_error(case: str) -> None:
    data = PRIVATE_REFUSALS[case]()

    with pytest.raises(KeyLoadError) as caught:
        PrivateKey.load(data)

    error = caught.value
    assert error.field == "private_key"
    assert error.result_code == "KEY_NOT_FOUND"
    assert isinstance(error, PaycancelError)
    text = data if isinstance(data, str) else ""
    _assert_shows_no_material(error, text, merchant().pkcs8_pem, merchant().pkcs8_base64)


def test_encrypted_private_key_says_so() -> None:
    with pytest.raises(KeyLoadError, match="encrypted"):
        PrivateKey.load(PRIVATE_REFUSALS["encrypted-pem"]())


def test_small_rsa_key_says_why() -> None:
    with pytest.raises(KeyLoadError, match="2048"):
        PrivateKey.load(PRIVATE_REFUSALS["rsa-1024"]())


PUBLIC_REFUSALS: dict[str, Callable[[], str | bytes]] = {
    "garbage-text": lambda: "-----BEGIN PUBLIC KEY-----\nnope\n-----END PUBLIC KEY-----\n",
    "garbage-bytes": lambda: b"\x80\x81",
    "base64-not-der": lambda: "aGVsbG8gd29ybGQ=",
    "private-key-given": lambda: merchant().pkcs8_pem,
    "private-base64-given": lambda: merchant().pkcs8_base64,
    "ec-key": lambda: _pem_public(_ec_key()),
    "rsa-1024": lambda: _pem_public(_small_rsa_key()),
}


@pytest.mark.parametrize("case", sorted(PUBLIC_REFUSALS))
def test_unusable_public_keys_raise_key_load_error(case: str) -> None:
    data = PUBLIC_REFUSALS[case]()

    with pytest.raises(KeyLoadError) as caught:
        PublicKey.load(data)

    assert caught.value.field == "public_key"
    text = data if isinstance(data, str) else ""
    _assert_shows_no_material(caught.value, text, merchant().pkcs8_pem, merchant().pkcs8_base64)


def test_key_objects_of_another_kind_are_refused() -> None:
    with pytest.raises(KeyLoadError) as private:
        PrivateKey(cast(Any, _ec_key()))
    with pytest.raises(KeyLoadError) as public:
        PublicKey(cast(Any, _ec_key().public_key()))
    with pytest.raises(KeyLoadError):
        PrivateKey(_small_rsa_key())
    with pytest.raises(KeyLoadError):
        PublicKey(_small_rsa_key().public_key())

    assert private.value.field == "private_key"
    assert public.value.field == "public_key"


@pytest.mark.parametrize("loader", [PrivateKey.load, PublicKey.load], ids=["private", "public"])
def test_a_value_that_is_not_text_is_refused(loader: Callable[[Any], object]) -> None:
    with pytest.raises(KeyLoadError, match="expected str or bytes"):
        loader(12345)


@pytest.mark.parametrize(
    ("loader", "field"),
    [(PrivateKey.from_file, "private_key"), (PublicKey.from_file, "public_key")],
    ids=["private", "public"],
)
def test_a_missing_file_raises_key_load_error(
    tmp_path: Path, loader: Callable[[Path], object], field: str
) -> None:
    with pytest.raises(KeyLoadError) as caught:
        loader(tmp_path / "absent.pem")

    assert caught.value.field == field
    assert "absent.pem" in caught.value.message
    assert not isinstance(caught.value, OSError)


def test_a_file_with_an_unusable_key_names_no_material(tmp_path: Path) -> None:
    path = tmp_path / "broken.pem"
    broken = _corrupted(merchant().pkcs1_pem)
    path.write_text(broken, encoding="ascii")

    with pytest.raises(KeyLoadError) as caught:
        PrivateKey.from_file(path)

    _assert_shows_no_material(caught.value, broken, merchant().pkcs1_pem)


# --- what a key shows ---------------------------------------------------------------------------


def test_private_key_repr_is_size_and_fingerprint_only() -> None:
    key = PrivateKey.load(merchant().pkcs1_pem)

    assert repr(key) == f"PrivateKey(rsa-2048, {key.fingerprint})"
    assert str(key) == repr(key)
    assert FINGERPRINT.fullmatch(key.fingerprint)
    shown = repr(key) + str(key) + key.fingerprint
    assert not [
        chunk
        for chunk in _secret_chunks(merchant().pkcs1_pem, merchant().pkcs8_base64)
        if chunk in shown
    ]


def test_public_key_repr_is_size_and_fingerprint() -> None:
    key = platform().public

    assert repr(key) == f"PublicKey(rsa-2048, {key.fingerprint})"
    assert FINGERPRINT.fullmatch(key.fingerprint)


def test_fingerprints_tell_keys_apart() -> None:
    prints = {merchant().private.fingerprint, platform().private.fingerprint}
    prints.add(stranger().private.fingerprint)
    assert len(prints) == 3


@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
def test_private_key_cannot_be_pickled(protocol: int) -> None:
    with pytest.raises(TypeError, match="cannot be pickled"):
        pickle.dumps(merchant().private, protocol=protocol)


# --- key ring ----------------------------------------------------------------------------------


def test_key_ring_looks_up_by_client_and_version() -> None:
    ring = KeyRing()
    ring.add("CLIENT_A", merchant().public)
    ring.add("CLIENT_B", platform().public, key_version="7")

    assert ring.lookup("CLIENT_A", DEFAULT_KEY_VERSION) == merchant().public
    assert ring.lookup("CLIENT_B", "7") == platform().public
    assert ring.knows("CLIENT_A")
    assert not ring.knows("CLIENT_C")
    assert len(ring) == 2
    assert DEFAULT_KEY_VERSION == "1"


def test_key_ring_rotation_keeps_two_versions_then_drops_one() -> None:
    ring = KeyRing()
    ring.add("CLIENT", merchant().public, key_version="1")
    ring.add("CLIENT", stranger().public, key_version="2")

    assert ring.lookup("CLIENT", "1") == merchant().public
    assert ring.lookup("CLIENT", "2") == stranger().public

    ring.remove("CLIENT", key_version="1")

    assert ring.lookup("CLIENT", "2") == stranger().public
    with pytest.raises(KeyNotFoundError):
        ring.lookup("CLIENT", "1")
    assert ring.knows("CLIENT")

    ring.remove("CLIENT", key_version="2")

    assert not ring.knows("CLIENT")
    assert len(ring) == 0
    with pytest.raises(UnknownClientError):
        ring.lookup("CLIENT", "2")


def test_adding_a_version_again_replaces_it() -> None:
    ring = KeyRing()
    ring.add("CLIENT", merchant().public)
    ring.add("CLIENT", stranger().public)

    assert ring.lookup("CLIENT", "1") == stranger().public
    assert len(ring) == 1


def test_removing_what_is_not_there_is_harmless() -> None:
    ring = KeyRing()
    ring.remove("NOBODY", key_version="1")
    ring.add("CLIENT", merchant().public)
    ring.remove("CLIENT", key_version="9")

    assert ring.lookup("CLIENT", "1") == merchant().public


def test_unknown_client_and_unknown_version_are_different_errors() -> None:
    ring = KeyRing([("CLIENT", "1", merchant().public)])

    with pytest.raises(UnknownClientError) as client:
        ring.lookup("OTHER", "1")
    with pytest.raises(UnknownClientError) as none:
        ring.lookup(None, "1")
    with pytest.raises(KeyNotFoundError) as version:
        ring.lookup("CLIENT", "2")

    assert client.value.result_code == "INVALID_CLIENT"
    assert client.value.client_id == "OTHER"
    assert none.value.client_id is None
    assert version.value.result_code == "KEY_NOT_FOUND"
    assert (version.value.client_id, version.value.key_version) == ("CLIENT", "2")
    assert type(version.value) is KeyNotFoundError
    assert type(client.value) is UnknownClientError


def test_key_ring_built_from_a_mapping_or_triples() -> None:
    from_mapping = KeyRing({("A", "1"): merchant().public, ("A", "2"): platform().public})
    from_triples = KeyRing([("A", "1", merchant().public), ("A", "2", platform().public)])

    for ring in (from_mapping, from_triples):
        assert ring.lookup("A", "1") == merchant().public
        assert ring.lookup("A", "2") == platform().public
        assert len(ring) == 2


def test_key_ring_refuses_what_is_not_a_public_key() -> None:
    ring = KeyRing()
    with pytest.raises(KeyLoadError):
        ring.add("CLIENT", cast(Any, merchant().private))
    with pytest.raises(KeyLoadError):
        ring.add("CLIENT", cast(Any, merchant().public_pem))
    with pytest.raises(KeyLoadError):
        ring.add("", merchant().public)
    with pytest.raises(KeyLoadError):
        ring.add("CLIENT", merchant().public, key_version="")
    assert len(ring) == 0


def test_key_ring_repr_names_clients_and_versions_only() -> None:
    ring = KeyRing([("B", "2", platform().public), ("A", "1", merchant().public)])

    assert repr(ring) == "KeyRing(A:['1'], B:['2'])"
