"""Message-push signature check: sha1 of the sorted Token, timestamp and nonce (WeChat's server check)."""

from __future__ import annotations

import hashlib
import hmac


def push_signature(token: str, timestamp: str, nonce: str) -> str:
    """The signature WeChat puts on a push to our server for these values. No side effects."""
    return hashlib.sha1("".join(sorted([token, timestamp, nonce])).encode()).hexdigest()


def check_push_signature(token: str, signature: str, timestamp: str, nonce: str) -> bool:
    """Whether a push's signature is WeChat's for our Token (an empty Token accepts nothing)."""
    if not token or not signature or not timestamp or not nonce:
        return False
    return hmac.compare_digest(push_signature(token, timestamp, nonce), signature)
