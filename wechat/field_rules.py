"""Subscribe-message data value rules per keyword type, as WeChat documents them for subscribeMessage.send.

https://developers.weixin.qq.com/miniprogram/dev/OpenApiDoc/mp-message-management/subscribe-message/sendMessage.html
(table "订阅消息参数值内容限制说明"). Used by the sandbox to refuse what WeChat refuses (47003).
"""

from __future__ import annotations

import re
from datetime import datetime

_KEY = re.compile(r"^([a-z_]+?)(\d+)$")
_CJK = "\u4e00-\u9fff\u3400-\u4dbf"

_TIME = r"\d{1,2}:\d{2}(?::\d{2})?"
_DATE_FORMS = (
    r"\d{4}-\d{1,2}-\d{1,2}",
    r"\d{4}/\d{1,2}/\d{1,2}",
    r"\d{4}\.\d{1,2}\.\d{1,2}",
    r"\d{4}年\d{1,2}月\d{1,2}日",
)
_DATE = "(?:" + "|".join(_DATE_FORMS) + ")"
_TIME_VALUE = re.compile(rf"^(?:{_DATE}\s*)?{_TIME}$")
_DATE_VALUE = re.compile(rf"^{_DATE}(?:\s*{_TIME})?$")


def key_type(key: str) -> str | None:
    """Return the type prefix of a data key ("thing1" -> "thing"), or None if it is not <type><n>."""
    match = _KEY.match(key)
    return match.group(1) if match else None


def _plain(value: str) -> bool:
    # "Symbols" exclude line breaks and control characters everywhere.
    return value != "" and all(ch.isprintable() for ch in value)


def _valid_clock(value: str) -> bool:
    for part in re.findall(_TIME, value):
        numbers = [int(n) for n in part.split(":")]
        if numbers[0] > 23 or any(n > 59 for n in numbers[1:]):
            return False
    return True


def _valid_date(value: str) -> bool:
    for part in re.findall(r"(\d{4})\D(\d{1,2})\D(\d{1,2})", value):
        try:
            datetime(int(part[0]), int(part[1]), int(part[2]))
        except ValueError:
            return False
    return True


def _ranged(pattern: re.Pattern[str], value: str) -> bool:
    parts = [p.strip() for p in value.split("~")]
    if len(parts) > 2:
        return False
    return all(pattern.match(p) and _valid_clock(p) and _valid_date(p) for p in parts)


def _is_symbol(ch: str) -> bool:
    return ch.isprintable() and not ch.isspace() and not ch.isalnum()


def _thing(v: str) -> bool:
    return _plain(v) and len(v) <= 20


def _number(v: str) -> bool:
    return bool(re.fullmatch(r"-?\d+(?:\.\d+)?", v)) and sum(c.isdigit() for c in v) <= 32


def _letter(v: str) -> bool:
    return bool(re.fullmatch(r"[A-Za-z]{1,32}", v))


def _symbol(v: str) -> bool:
    return 0 < len(v) <= 5 and all(_is_symbol(c) for c in v)


def _character_string(v: str) -> bool:
    return bool(re.fullmatch(r"[\x21-\x7e]{1,32}", v))


def _time(v: str) -> bool:
    return _ranged(_TIME_VALUE, v)


def _date(v: str) -> bool:
    return _ranged(_DATE_VALUE, v)


def _amount(v: str) -> bool:
    return bool(re.fullmatch(r"[¥￥$€£]?\d{1,10}(?:\.\d{1,2})?元?", v))


def _phone_number(v: str) -> bool:
    return bool(re.fullmatch(r"[\d+\-() ]{1,17}", v)) and any(c.isdigit() for c in v)


def _car_number(v: str) -> bool:
    return len(v) <= 8 and bool(re.fullmatch(rf"[{_CJK}A-Za-z0-9][A-Za-z0-9]*[{_CJK}A-Za-z0-9]?", v))


def _name(v: str) -> bool:
    return bool(re.fullmatch(rf"[{_CJK}·]{{1,10}}", v) or re.fullmatch(r"[A-Za-z .'\-·]{1,20}", v))


def _phrase(v: str) -> bool:
    return bool(re.fullmatch(rf"[{_CJK}]{{1,5}}", v))


RULES = {
    "thing": _thing,
    "number": _number,
    "letter": _letter,
    "symbol": _symbol,
    "character_string": _character_string,
    "time": _time,
    "date": _date,
    "amount": _amount,
    "phone_number": _phone_number,
    "car_number": _car_number,
    "name": _name,
    "phrase": _phrase,
}


def value_ok(key: str, value: object) -> bool:
    """Tell whether `value` is acceptable for data key `key` under WeChat's rules. No side effects."""
    rule = RULES.get(key_type(key) or "")
    return isinstance(value, str) and rule is not None and rule(value)
