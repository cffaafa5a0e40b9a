# mypy: ignore-errors
"""JSON-lines front end to Ant's official Antom Python SDK (``global-open-sdk-python`` 1.7.1).

Runs INSIDE the SDK's isolated venv (see ``isolated_env.py``), so it imports only the standard
library and the SDK. One JSON object per line in, one per line out; a bad request gets an error
object, never a crash. Ops:

- ``sign``: ``method, path, client_id, time, body, private_key`` -> ``{"signature"}``, the SDK's
  percent-encoded value. The SDK wraps the key in ``BEGIN RSA PRIVATE KEY`` markers unless it has
  them, so give a PKCS#1 key (PEM or bare base64 body).
- ``verify``: ``method, path, client_id, time, body, signature, public_key`` -> ``{"ok": bool}``
  (an exception, e.g. the ``rsa`` library's VerificationError, gives ``{"ok": false, "error"}``).
  The public key is X.509 SubjectPublicKeyInfo (PEM or bare base64).
- ``cancel``: ``gateway_url, client_id, private_key, public_key`` and optional ``payment_id``,
  ``payment_request_id``, ``merchant_account_id``, ``key_version`` -> ``{"ok": true, "body"}`` or
  ``{"ok": false, "error", "type"}``.
- ``cancel_many``: the same plus ``n`` -> ``{"ok": true, "seconds", "n"}`` or the first error.
- ``ping`` -> ``{"pong": true, "python", "sdk"}``.
"""

import json
import sys
import time
import traceback


def _sign(req):
    from com.alipay.ams.api.tools import signature_tool

    signature = signature_tool.sign(
        req["method"],
        req["path"],
        req["client_id"],
        req["time"],
        req["body"],
        req["private_key"],
    )
    return {"signature": signature}


def _verify(req):
    from com.alipay.ams.api.tools import signature_tool

    try:
        ok = signature_tool.verify(
            req["method"],
            req["path"],
            req["client_id"],
            req["time"],
            req["body"],
            req["signature"],
            req["public_key"],
        )
    except Exception as exc:
        return {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
    return {"ok": bool(ok)}


def _client_and_request(req):
    from com.alipay.ams.api.default_alipay_client import DefaultAlipayClient
    from com.alipay.ams.api.request.pay.alipay_pay_cancel_request import (
        AlipayPayCancelRequest,
    )

    client = DefaultAlipayClient(
        req["gateway_url"], req["client_id"], req["private_key"], req["public_key"]
    )

    def make_request():
        request = AlipayPayCancelRequest()
        if req.get("payment_id") is not None:
            request.payment_id = req["payment_id"]
        if req.get("payment_request_id") is not None:
            request.payment_request_id = req["payment_request_id"]
        if req.get("merchant_account_id") is not None:
            request.merchant_account_id = req["merchant_account_id"]
        if req.get("key_version") is not None:
            request.key_version = req["key_version"]
        return request

    return client, make_request


def _failure(exc):
    return {"ok": False, "error": str(exc), "type": type(exc).__name__}


def _cancel(req):
    try:
        client, make_request = _client_and_request(req)
        # execute() rewrites request.path for SANDBOX_ client ids, so a request is used once.
        body = client.execute(make_request())
    except Exception as exc:
        return _failure(exc)
    return {"ok": True, "body": body}


def _cancel_many(req):
    n = int(req["n"])
    try:
        client, make_request = _client_and_request(req)
        requests = [make_request() for _ in range(n)]
        started = time.perf_counter()
        for request in requests:
            client.execute(request)
        seconds = time.perf_counter() - started
    except Exception as exc:
        return _failure(exc)
    return {"ok": True, "seconds": seconds, "n": n}


def _ping(_req):
    try:
        from com.alipay.ams.api._version import VERSION as version
    except Exception as exc:
        version = f"unavailable: {type(exc).__name__}: {exc}"
    return {"pong": True, "python": sys.version, "sdk": version}


OPS = {
    "sign": _sign,
    "verify": _verify,
    "cancel": _cancel,
    "cancel_many": _cancel_many,
    "ping": _ping,
}


def handle(line):
    try:
        req = json.loads(line)
    except ValueError as exc:
        return {"error": f"bad JSON: {exc}"}
    if not isinstance(req, dict):
        return {"error": "a request must be a JSON object"}
    name = req.get("op")
    op = OPS.get(name) if isinstance(name, str) else None
    if op is None:
        return {"error": "unknown op"}
    try:
        return op(req)
    except Exception as exc:
        traceback.print_exc(file=sys.stderr)
        return {"error": f"{type(exc).__name__}: {exc}"}


def main():
    # Answers go to the real stdout; anything the SDK prints goes to stderr instead, so it
    # cannot break the JSON-lines stream.
    out = sys.stdout
    sys.stdout = sys.stderr
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            text = json.dumps(handle(line))
        except Exception as exc:  # an answer that is not JSON-serialisable
            text = json.dumps({"error": f"{type(exc).__name__}: {exc}"})
        out.write(text + "\n")
        out.flush()


if __name__ == "__main__":
    main()
