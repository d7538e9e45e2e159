"""Keyword values fit their type's limits (spec 5.2), cut cleanly rather than refused by
WeChat with 47003: the simulator's own rules judge them."""

import datetime
import zoneinfo

import pytest

from catalog.money import yuan
from notifications.values import shape
from wechat_simulator.subscribe_rules import value_ok


@pytest.mark.parametrize(("kind", "value", "expected"), [
    ("thing", "短标题", "短标题"),
    ("thing", "一" * 25, "一" * 19 + "…"),
    ("thing", "line one\nline  two", "line one line two"),
    ("thing", "", "-"),
    ("character_string", "WX20261125000001", "WX20261125000001"),
    ("character_string", "SF 1400-0000 顺丰" + "9" * 40, ("SF1400-0000" + "9" * 40)[:32]),
    ("phrase", "已支付", "已支付"),
    ("phrase", "已支付 paid 成功了啊", "已支付成功"),
    ("amount", 1230, "¥12.30"),
    ("amount", 123456789, "¥1234567.89"),
    ("amount", 5, "¥0.05"),
    ("number", "共 12 件", "12"),
    ("name", "欧阳娜娜娜娜娜娜娜娜娜", "欧阳娜娜娜娜娜娜娜…"),
])
def test_values_are_shaped_to_their_keyword_type(kind, value, expected):
    shaped = shape(kind, value)
    assert shaped == expected
    assert value_ok(f"{kind}1", shaped) or shaped == "-"


def test_times_read_in_beijing_time():
    moment = datetime.datetime(2026, 11, 25, 6, 0, tzinfo=datetime.UTC)
    assert shape("time", moment) == "2026-11-25 14:00"
    assert shape("date", moment.astimezone(zoneinfo.ZoneInfo("America/New_York"))) == "2026-11-25"
    assert value_ok("time4", shape("time", moment))


def test_the_admin_keeps_grouping_thousands():
    assert yuan(123456) == "¥1,234.56"
    assert yuan(123456, grouping=False) == "¥1234.56"
    assert yuan(-5, grouping=False) == "-¥0.05"
