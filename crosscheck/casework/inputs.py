"""What a person types into the workbench, judged before anything is written: texts (no control
or bidi-override characters, at most `MAX_NOTE` characters), amounts (plain decimals in yuan,
≥ 0, at most 2 places, at most `MAX_AMOUNT`) and deadlines (YYYY-MM-DD, from today to
``max_deadline_days`` ahead). Every refusal says what is wrong in Chinese and in English."""
from __future__ import annotations

import re
import unicodedata
from datetime import date, timedelta
from decimal import Decimal

from crosscheck.casework.db import BadInput

MAX_NOTE = 4000
#: The largest amount the workbench takes, in yuan: ten digits before the point.
MAX_AMOUNT = Decimal("9999999999.99")
AMOUNT = re.compile(r"(0|[1-9][0-9]{0,9})(\.[0-9]{1,2})?")
DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
#: Bidi embeddings, overrides and isolates: they make text read otherwise than it is stored.
BIDI = set("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def text(value: object, zh: str, en: str, *, required: bool = False, limit: int = MAX_NOTE) -> str:
    """A text field: stripped, refused with control or bidi-override characters or too long."""
    if value is not None and not isinstance(value, str):
        raise BadInput(f"{zh}应为文字", f"{en}: expected text")
    out = (value or "").strip()
    if required and not out:
        raise BadInput(f"请填写{zh}", f"{en} is required")
    if len(out) > limit:
        raise BadInput(f"{zh}最多 {limit} 个字符", f"{en}: at most {limit} characters")
    bad = next((ch for ch in out if ch in BIDI or (unicodedata.category(ch) == "Cc" and ch not in "\n\r\t")), None)
    if bad is not None:
        raise BadInput(f"{zh}含有不允许的控制字符 U+{ord(bad):04X}", f"{en}: control character U+{ord(bad):04X} refused")
    return out


def amount(value: object, zh: str, en: str) -> Decimal | None:
    """An amount in yuan: digits with at most 2 decimals (no sign, exponent, grouping or
    full-width digits), at most `MAX_AMOUNT`; None when not given."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise BadInput(f"{zh}应为金额（元）", f"{en}: expected an amount in yuan")
    if isinstance(value, int):
        shown = str(value)
    elif isinstance(value, float):
        shown = str(Decimal(repr(value)).normalize()) if value == value else "NaN"
        shown = shown if "E" not in shown else repr(value)
    elif isinstance(value, str):
        shown = value.strip()
    else:
        raise BadInput(f"{zh}应为金额（元）", f"{en}: expected an amount in yuan")
    if not AMOUNT.fullmatch(shown) or Decimal(shown) > MAX_AMOUNT:
        raise BadInput(f"{zh}“{value}”无效：应为不小于 0 的金额（元），最多两位小数，不超过 {MAX_AMOUNT:,} 元",
                       f"{en} '{value}': expected yuan ≥ 0 with at most 2 decimals, at most {MAX_AMOUNT:,}")
    return Decimal(shown).quantize(Decimal("0.01"))


def deadline(value: object, today: date, max_days: int) -> date:
    """A deadline: YYYY-MM-DD, not before ``today``, at most ``max_days`` days ahead."""
    shown = value.strip() if isinstance(value, str) else ""
    try:
        day = date.fromisoformat(shown) if DAY.fullmatch(shown) else None
    except ValueError:
        day = None
    if day is None:
        raise BadInput(f"期限“{value}”无效：应为 YYYY-MM-DD 格式的日期", f"deadline '{value}': expected a date as YYYY-MM-DD")
    if day < today:
        raise BadInput(f"期限 {day} 早于今天（{today}）", f"deadline {day} is before today ({today})")
    last = today + timedelta(days=max_days)
    if day > last:
        raise BadInput(f"期限 {day} 超过 {max_days} 天（最晚 {last}）",
                       f"deadline {day} is more than {max_days} days ahead (at most {last})")
    return day
