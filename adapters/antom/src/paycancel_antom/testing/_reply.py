"""Writing the gateway's answers: the body and its signed (or faulted) headers."""

from __future__ import annotations

import datetime as dt
from typing import Mapping

from paycancel_wire import CONTENT_TYPE, PrivateKey, ResponseSigner, Result, encode_body

from ._faults import DropAnswer, Fault, SlowAnswer, UnsignedFailure, WrongSignature, throwaway_key
from ._http import Reply

__all__ = ["NO_CLIENT", "AnswerWriter"]

#: The ``client-id`` an answer names when the request carried none.
NO_CLIENT = "unknown"


class AnswerWriter:
    """Builds :class:`~._http.Reply` objects signed with Antom's key, or as a fault says.

    Args:
        private_key: Antom's key.
        key_version: the ``keyVersion`` named in the signatures.
    """

    def __init__(self, *, private_key: PrivateKey, key_version: str) -> None:
        self._signer = ResponseSigner(private_key=private_key, key_version=key_version)
        self._key_version = key_version

    def reply(
        self,
        *,
        method: str,
        uri: str,
        client_id: str | None,
        now: dt.datetime,
        fault: Fault | None,
        result: Result,
        fields: Mapping[str, str | None],
    ) -> Reply:
        """The answer ``{"result": ..., **fields}`` to a request for ``uri``, signed for
        ``client_id`` (``unknown`` if none) at ``now``, unless ``fault`` says otherwise."""
        body = encode_body({"result": result.to_wire(), **fields})
        client = client_id or NO_CLIENT
        if isinstance(fault, DropAnswer):
            return Reply(headers=[], body=b"", drop=True)
        if isinstance(fault, UnsignedFailure):
            headers = [("content-type", CONTENT_TYPE)]
            if fault.blank_headers:
                headers += [
                    ("client-id", client),
                    ("response-time", ""),
                    ("signature", f"algorithm=RSA256,keyVersion={self._key_version},signature="),
                ]
            return Reply(headers=headers, body=body)
        signer = self._signer
        if isinstance(fault, WrongSignature):
            signer = ResponseSigner(private_key=throwaway_key(), key_version=self._key_version)
        signed = signer.headers(method=method, uri=uri, client_id=client, body=body, now=now)
        delay = fault.delay if isinstance(fault, SlowAnswer) else 0.0
        return Reply(headers=signed, body=body, delay=delay)
