"""Keep secrets out of everything valuealign writes: records, manifests, reports, stderr.

An API key a backend holds is registered here; :func:`redact` replaces it, and any
``Authorization``/``Bearer`` value or ``user:password@`` in a URL, with ``***``. Every
:class:`~valuealign.errors.BackendError` and ``UserError`` message goes through it, so a server
that echoes the request headers in an error body cannot copy the key into ``answers.jsonl``.

>>> register_secret("sk-live-123456")
>>> redact("HTTP 500: bad header Authorization: Bearer sk-live-123456")
'HTTP 500: bad header Authorization: ***'
"""

from __future__ import annotations

import re

_SECRETS: set[str] = set()
_AUTH = re.compile(
    r"(?i)(\"?(?:proxy-)?authorization\"?\s*[:=]\s*\"?)(?:bearer\s+|basic\s+)?[^\s\"',}]+"
)
_BEARER = re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{4,}")
_URL_CREDENTIALS = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/@\s\"']+@")
_KEY_LIKE = re.compile(r"\bsk-[A-Za-z0-9_-]{8,}")


def register_secret(secret: str | None) -> None:
    """Remember a secret (an API key) so that :func:`redact` removes it wherever it appears."""
    if secret and len(secret) >= 4 and secret != "EMPTY":
        _SECRETS.add(secret)


def redact(text: str) -> str:
    """``text`` with registered secrets, Authorization/Bearer values and URL credentials
    replaced by ``***``."""
    for secret in sorted(_SECRETS, key=len, reverse=True):
        text = text.replace(secret, "***")
    text = _AUTH.sub(r"\1***", text)
    text = _BEARER.sub(r"\1 ***", text)
    text = _URL_CREDENTIALS.sub(r"\1***@", text)
    return _KEY_LIKE.sub("sk-***", text)


def redact_url(url: str) -> str:
    """A URL without its ``user:password@`` part (``***@`` instead)."""
    return _URL_CREDENTIALS.sub(r"\1***@", url)


def has_url_credentials(url: str) -> bool:
    return bool(_URL_CREDENTIALS.search(url))
