"""Subscribe-message value rules by key prefix (spec 5.2): `thing1` follows `thing`, etc."""

import re

DATE = r"\d{4}(年\d{1,2}月\d{1,2}日|-\d{1,2}-\d{1,2}|/\d{1,2}/\d{1,2})"
TIME = r"\d{1,2}:\d{2}(:\d{2})?"
CJK = re.compile(r"[\u4e00-\u9fff]")


def _range(one: str) -> re.Pattern:
    return re.compile(rf"^{one}(\s*~\s*{one})?$")


PATTERNS = {
    "number": re.compile(r"^-?\d+(\.\d+)?$"),
    "letter": re.compile(r"^[A-Za-z]+$"),
    "character_string": re.compile(r"^[\x21-\x7e]+$"),
    "time": _range(rf"({DATE}\s*)?{TIME}"),
    "date": _range(rf"{DATE}(\s*{TIME})?"),
    "amount": re.compile(r"^[¥￥$€£]?\d{1,10}(\.\d{1,2})?元?$"),
    "phone_number": re.compile(r"^[0-9+\-()（） ]+$"),
    "car_number": re.compile(r"^[\u4e00-\u9fff]?[A-Za-z0-9]+[\u4e00-\u9fff]?$"),
    "phrase": re.compile(r"^[\u4e00-\u9fff]+$"),
}
MAX_CHARS = {"thing": 20, "number": 32, "letter": 32, "symbol": 5, "character_string": 32,
             "phone_number": 17, "car_number": 8, "phrase": 5}


def value_ok(key: str, value: str) -> bool:
    """Whether `value` may fill the template field `key` (e.g. "thing1", "amount3")."""
    kind = key.rstrip("0123456789")
    if not isinstance(value, str) or not value:
        return False
    if kind == "name":
        return len(value) <= (10 if CJK.search(value) else 20)
    if kind == "symbol":
        return len(value) <= 5 and not any(ch.isalnum() or ch.isspace() for ch in value)
    if kind == "thing":
        return len(value) <= 20
    if kind not in PATTERNS:
        return False
    return len(value) <= MAX_CHARS.get(kind, 64) and bool(PATTERNS[kind].match(value))
