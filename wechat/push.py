"""WeChat message push (消息推送), both ways: read what WeChat posts to us, and build what it would post.

https://developers.weixin.qq.com/miniprogram/dev/framework/server-ability/message-push.html
The console sets a Token, an EncodingAESKey (43 characters), a mode (plaintext 明文, compatible 兼容, safe 安全)
and a format (JSON or XML). Every push carries `signature` = sha1 of the sorted Token, timestamp and nonce.
In safe and compatible mode the query also has `encrypt_type=aes` and `msg_signature` = sha1 of the sorted
Token, timestamp, nonce and the body's `Encrypt`; `Encrypt` is AES-256-CBC as in WeChat's sample code, which
wechatpy's `WeChatCrypto` implements (safe mode sends only `Encrypt`, compatible mode both it and the plaintext).
Subscribe-message events list their items under `List`: in JSON an object for one item and an array for
several; in XML nested in a wrapper element (https://developers.weixin.qq.com/miniprogram/dev/framework/
open-ability/subscribe-message.html). `read_push` gives every event one shape: `List` is always a list.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from xml.sax.saxutils import escape

import xmltodict
from wechatpy.crypto import PrpCrypto
from wechatpy.exceptions import InvalidAppIdException

MODES = ("plain", "compatible", "safe")
FORMATS = ("json", "xml")
# The XML element the subscribe events nest their `List` items in.
LIST_WRAPPERS = {
    "subscribe_msg_popup_event": "SubscribeMsgPopupEvent",
    "subscribe_msg_change_event": "SubscribeMsgChangeEvent",
    "subscribe_msg_sent_event": "SubscribeMsgSentEvent",
}


class PushRejected(Exception):
    """A push we will not act on: `code` says why (a stable error code), `detail` is for the log."""

    def __init__(self, code: str, detail: str = "") -> None:
        super().__init__(code, detail)
        self.code = code
        self.detail = detail


def push_signature(token: str, timestamp: str, nonce: str, encrypt: str | None = None) -> str:
    """WeChat's signature for these values: sha1 of the sorted strings (`msg_signature` with `encrypt`)."""
    parts = [token, timestamp, nonce] + ([encrypt] if encrypt is not None else [])
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()


def check_push_signature(token: str, signature: str, timestamp: str, nonce: str) -> bool:
    """Whether a push's signature is WeChat's for our Token (an empty Token accepts nothing)."""
    if not token or not signature or not timestamp or not nonce:
        return False
    return hmac.compare_digest(push_signature(token, timestamp, nonce), signature)


def _aes_key(encoding_aes_key: str) -> bytes:
    try:
        key = base64.b64decode(encoding_aes_key + "=", validate=True)
    except ValueError:
        key = b""
    if len(encoding_aes_key) != 43 or len(key) != 32:
        raise ValueError("an EncodingAESKey is 43 characters of base64 (32 bytes)")
    return key


def check_aes_key(encoding_aes_key: str) -> None:
    """Raise ValueError unless this is an EncodingAESKey the console could have made. No side effects."""
    _aes_key(encoding_aes_key)


def parse_body(raw: bytes | str) -> dict:
    """A push body as a dict, JSON or XML whatever the Content-Type said; PushRejected if it is neither."""
    text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
    text = text.strip()
    if text.startswith("{"):
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise PushRejected("push_unreadable", f"bad JSON: {exc}") from None
        if not isinstance(data, dict):
            raise PushRejected("push_unreadable", "JSON body is not an object")
        return data
    if text.startswith("<"):
        if "<!" in text.replace("<![CDATA[", ""):  # no DTD, entity or comment games from a network peer
            raise PushRejected("push_unreadable", "XML declarations are not accepted")
        try:
            data = xmltodict.parse(text)
        except Exception as exc:  # expat raises its own error types
            raise PushRejected("push_unreadable", f"bad XML: {exc}") from None
        root = data.get("xml") if isinstance(data, dict) else None
        if not isinstance(root, dict):
            raise PushRejected("push_unreadable", "XML body has no <xml> root")
        return root
    raise PushRejected("push_unreadable", "body is neither JSON nor XML")


def _normalise(event: dict) -> dict:
    """Check a push is a message or an event (WeChat's carry MsgType, events an Event) and give a subscribe
    event's items one shape: `List` a list of dicts, from JSON or from XML."""
    if not any(isinstance(event.get(k), str) and event[k] for k in ("MsgType", "Event")):
        raise PushRejected("push_unreadable", "neither MsgType nor Event: not a message or event push")
    wrapper = LIST_WRAPPERS.get(str(event.get("Event", "")))
    if wrapper is None:
        return event
    items = event.get("List")
    if items is None and isinstance(event.get(wrapper), dict):
        items = event[wrapper].get("List")
    if isinstance(items, dict):
        items = [items]
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise PushRejected("push_unreadable", f"{event.get('Event')} without a List of items")
    return {**{k: v for k, v in event.items() if k != wrapper}, "List": items}


def read_push(args, body: bytes, *, token: str, aes_key: str = "", appid: str = "") -> dict:
    """Verify and read one push: its event as a dict (`List` always a list). Raises PushRejected.

    `args` is the query (signature, timestamp, nonce, and in safe/compatible mode encrypt_type, msg_signature).
    With `encrypt_type=aes` the encrypted copy is verified by `msg_signature`, decrypted with the EncodingAESKey
    and checked to be for our appid; without a key a compatible-mode push is read from its plaintext copy (held
    to `signature`), a safe-mode one cannot be read. No side effects.
    """
    timestamp, nonce = args.get("timestamp", ""), args.get("nonce", "")
    outer = parse_body(body)
    if args.get("encrypt_type", "raw") == "aes" and (aes_key or "Encrypt" in outer and len(outer) <= 2):
        encrypt = outer.get("Encrypt")
        if not isinstance(encrypt, str) or not encrypt:
            raise PushRejected("push_unreadable", "encrypt_type=aes but no Encrypt in the body")
        if not token or not hmac.compare_digest(push_signature(token, timestamp, nonce, encrypt),
                                                args.get("msg_signature", "")):
            raise PushRejected("push_signature_invalid", "msg_signature does not match")
        if not aes_key:
            raise PushRejected("push_unreadable", "safe-mode push but XINMA_WECHAT_PUSH_AES_KEY is not set")
        try:
            text = PrpCrypto(_aes_key(aes_key)).decrypt(encrypt, appid)
        except InvalidAppIdException:
            raise PushRejected("push_unreadable", "encrypted for another appid") from None
        except Exception as exc:  # wrong key or corrupt ciphertext: padding, length or UTF-8 errors
            raise PushRejected("push_unreadable", f"cannot decrypt: {type(exc).__name__}") from None
        return _normalise(parse_body(text))
    if not check_push_signature(token, args.get("signature", ""), timestamp, nonce):
        raise PushRejected("push_signature_invalid", "signature does not match")
    return _normalise({k: v for k, v in outer.items() if k != "Encrypt"})


def _xml_items(name: str, value) -> str:
    if isinstance(value, list):
        return "".join(_xml_items(name, item) for item in value)
    if isinstance(value, dict):
        return f"<{name}>" + "".join(_xml_items(k, v) for k, v in value.items()) + f"</{name}>"
    if isinstance(value, bool | int | float):
        return f"<{name}>{int(value) if isinstance(value, bool) else value}</{name}>"
    return f"<{name}><![CDATA[{str(value).replace(']]>', ']]]]><![CDATA[>')}]]></{name}>"


def render_event(event: dict, fmt: str) -> str:
    """An event (`List` a list) as WeChat writes it in JSON or XML: the one-item List an object in JSON, the
    items in their wrapper element in XML. No side effects."""
    wrapper = LIST_WRAPPERS.get(str(event.get("Event", "")))
    if fmt == "json":
        if wrapper and isinstance(event.get("List"), list) and len(event["List"]) == 1:
            event = {**event, "List": event["List"][0]}
        return json.dumps(event, ensure_ascii=False)
    if wrapper and "List" in event:
        event = {**{k: v for k, v in event.items() if k != "List"}, wrapper: {"List": event["List"]}}
    return "<xml>" + "".join(_xml_items(escape(k), v) for k, v in event.items()) + "</xml>"


def encode_push(event: dict, *, token: str, timestamp: str, nonce: str, fmt: str = "json", mode: str = "plain",
                aes_key: str = "", appid: str = "", openid: str | None = None) -> tuple[dict, bytes, str]:
    """Build the push WeChat would send for `event`: (query, body, content type), signed as WeChat signs.

    Safe mode sends only ToUserName and Encrypt; compatible mode the plaintext fields and Encrypt. No side
    effects beyond the random bytes the encryption takes.
    """
    if fmt not in FORMATS or mode not in MODES:
        raise ValueError(f"format must be one of {FORMATS} and mode one of {MODES}")
    query = {"signature": push_signature(token, timestamp, nonce), "timestamp": timestamp, "nonce": nonce}
    plaintext = render_event(event, fmt)
    content_type = "application/json" if fmt == "json" else "text/xml"
    if mode == "plain":
        return query, plaintext.encode(), content_type
    encrypt = PrpCrypto(_aes_key(aes_key)).encrypt(plaintext, appid)
    encrypt = encrypt.decode() if isinstance(encrypt, bytes) else encrypt
    query.update(encrypt_type="aes", msg_signature=push_signature(token, timestamp, nonce, encrypt))
    if openid:
        query["openid"] = openid
    outer = {"ToUserName": event.get("ToUserName", ""), "Encrypt": encrypt}
    if mode == "compatible":
        outer = {**event, "Encrypt": encrypt}
    return query, render_event(outer, fmt).encode(), content_type
