"""The loopback server's cloud routes: Azure OpenAI, Amazon Bedrock, Vertex AI and Gemini.

Each route checks its cloud's authentication as the cloud would, then hands the request
on to the loopback's OpenAI or Anthropic wire with the model its path names:

- Azure OpenAI: ``/openai/deployments/{deployment}/chat/completions?api-version=...`` with an
  ``api-key`` header (or an Entra ID ``Authorization: Bearer``); the deployment is the model.
- Bedrock: ``/model/{id}/invoke``, SigV4-signed (``Authorization: AWS4-HMAC-SHA256
  Credential=...``); the signature is checked with botocore against ``AWS_SECRET_KEY``.
  ``invoke-with-response-stream`` is not served: the provider never streams.
- Vertex AI: ``/v1/projects/{p}/locations/{r}/publishers/anthropic/models/{m}:rawPredict``
  with a Bearer token this server issued at ``/token`` (an OAuth token endpoint, for a
  service account key, as application default credentials, whose ``token_uri`` is here).
- Gemini: ``/v1beta/openai/chat/completions`` with a Bearer key.
"""

from __future__ import annotations

import functools
import hmac
import itertools
import json
import re
import threading
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, unquote

AWS_ACCESS_KEY = "AKIA" + "LOOPBACKFAKE0001"
AWS_SECRET_KEY = "loopback+fake/secret/" + "0" * 19
VERTEX_TOKEN_PATH = "/token"
JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"

_AZURE = re.compile(r"/openai/deployments/(?P<model>[^/?]+)/chat/completions(?:\?(?P<query>.*))?")
_BEDROCK = re.compile(r"/model/(?P<model>[^/?]+)/invoke")
_VERTEX = re.compile(
    r"/v1/projects/(?P<project>[^/]+)/locations/(?P<region>[^/]+)"
    r"/publishers/anthropic/models/(?P<model>[^/:]+):rawPredict"
)
_GEMINI = "/v1beta/openai/chat/completions"
_SIGV4 = re.compile(
    r"AWS4-HMAC-SHA256 Credential=(?P<key>[^/]+)/(?P<date>\d{8})/(?P<region>[^/]+)/"
    r"(?P<service>[^/]+)/aws4_request, SignedHeaders=(?P<signed>[^,]+), "
    r"Signature=(?P<signature>[0-9a-f]{64})"
)
_ISSUED: set[str] = set()
_LOCK = threading.Lock()
_SERIAL = itertools.count()


@dataclass(frozen=True, slots=True)
class Routed:
    """A cloud request: forwarded to ``wire`` with ``body``, or answered with ``reply``."""

    wire: str = "openai"
    body: dict[str, Any] = field(default_factory=dict)
    reply: tuple[int, dict[str, Any]] | None = None


def is_cloud(path: str) -> bool:
    """Whether a request path is a cloud route (its query string is kept for the record)."""
    return path.startswith(("/openai/deployments/", "/model/", "/v1/projects/", _GEMINI))


def refused(status: int, message: str) -> Routed:
    return Routed(reply=(status, {"error": {"message": message, "code": str(status)}}))


def route(method: str, target: str, headers: dict[str, str], raw: bytes) -> Routed | None:
    """The cloud route ``target`` asks for, checked; None when it is not a cloud route."""
    if method == "POST" and target == VERTEX_TOKEN_PATH:
        return _issue_token(raw)
    if not is_cloud(target):
        return None
    path = target.partition("?")[0]
    if found := _AZURE.fullmatch(target):
        return _azure(found, headers, raw)
    if found := _BEDROCK.fullmatch(path):
        problem = sigv4_problem(method, target, headers, raw)
        return refused(403, problem) if problem else _anthropic(raw, found["model"])
    if found := _VERTEX.fullmatch(path):
        if headers.get("authorization", "").removeprefix("Bearer ") not in _ISSUED:
            return refused(401, "no Bearer token this server issued")
        return _anthropic(raw, found["model"])
    if path == _GEMINI:
        if not headers.get("authorization", "").startswith("Bearer "):
            return refused(401, "no Bearer key")
        return Routed("openai", json.loads(raw or b"{}"))
    return refused(404, f"no cloud route for {method} {path}")


def _azure(found: re.Match[str], headers: dict[str, str], raw: bytes) -> Routed:
    if not parse_qs(found["query"] or "").get("api-version"):
        return refused(404, "Resource not found (no api-version)")
    if "api-key" not in headers and not headers.get("authorization", "").startswith("Bearer "):
        return refused(401, "no api-key header and no Entra ID token")
    body = json.loads(raw or b"{}")
    return Routed("openai", {**body, "model": unquote(found["model"])})


def _anthropic(raw: bytes, model: str) -> Routed:
    """The Messages body with the path's model: the clouds take no ``model`` field, and
    an ``anthropic_version`` field instead of the header."""
    body = json.loads(raw or b"{}")
    if "model" in body or not body.pop("anthropic_version", None):
        return refused(400, "a model in the body, or no anthropic_version")
    return Routed("anthropic", {**body, "model": unquote(model)})


def _issue_token(raw: bytes) -> Routed:
    """A service account's JWT grant (a signed assertion) answered with an access token."""
    form = parse_qs(raw.decode("latin-1"))
    assertion = (form.get("assertion") or [""])[0]
    if form.get("grant_type") != [JWT_GRANT] or assertion.count(".") != 2:
        return Routed(reply=(400, {"error": "invalid_grant"}))
    token = f"ya29.loopback-{next(_SERIAL)}-" + "x" * 40
    with _LOCK:
        _ISSUED.add(token)
    return Routed(reply=(200, {"access_token": token, "expires_in": 3600, "token_type": "Bearer"}))


def sigv4_problem(method: str, target: str, headers: dict[str, str], body: bytes) -> str | None:
    """Why the request's SigV4 signature is not valid for ``AWS_ACCESS_KEY`` (None: valid)."""
    found = _SIGV4.fullmatch(headers.get("authorization", ""))
    if found is None:
        return "missing or malformed AWS4-HMAC-SHA256 Authorization header"
    if found["key"] != AWS_ACCESS_KEY or found["service"] != "bedrock":
        return f"unexpected credential scope {found['key']}/{found['service']}"
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    signed = {name: headers.get(name, "") for name in found["signed"].split(";")}
    request = AWSRequest(method, f"http://{headers.get('host', '')}{target}", signed, body)
    request.context["timestamp"] = headers.get("x-amz-date", "")
    signer = SigV4Auth(Credentials(AWS_ACCESS_KEY, AWS_SECRET_KEY), "bedrock", found["region"])
    expected = signer.signature(
        signer.string_to_sign(request, signer.canonical_request(request)), request
    )
    return None if hmac.compare_digest(expected, found["signature"]) else "signature mismatch"


def service_account_key(token_uri: str, project: str = "loopback-project") -> dict[str, Any]:
    """A service account key file's content, with an RSA key made for it, whose tokens come
    from ``token_uri`` (this server's ``/token``): application default credentials, offline."""
    return {
        "type": "service_account", "project_id": project, "private_key_id": "loopback",
        "private_key": _private_key(), "client_id": "1", "token_uri": token_uri,
        "client_email": f"loopback@{project}.iam.gserviceaccount.com",
    }  # fmt: skip


@functools.cache
def _private_key() -> str:
    """A fresh RSA key in PEM, made once per process."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
