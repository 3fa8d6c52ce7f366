"""The headers of a reviewer's sheet: the columns a findings file (CSV or xlsx) gives the
reviewer to fill in, and every name a reviewer's own workbook may give them, Chinese or
English. The reports write them; `crosscheck review import` (crosscheck.store.reviews) reads
them back, and no evidence column of a report may be taken for one."""
from __future__ import annotations

import re

_HEADER_ALIASES = {
    "finding_key": ["finding_key", "findingkey", "key", "线索编号", "发现编号", "疑点编号", "问题编号", "编号", "键"],
    "disposition": ["disposition", "decision", "review", "处置", "处置结果", "处置意见", "结论", "复核结论", "核查结论", "审核结论"],
    "note": ["note", "notes", "comment", "comments", "备注", "说明", "复核说明", "核查说明"],
    "reviewer": ["reviewer", "reviewed_by", "复核人", "核查人", "审核人"],
    "date": ["review_date", "reviewed_on", "date", "复核日期", "核查日期", "审核日期", "日期"],
    "rule_id": ["rule_id", "rule", "规则编号", "规则"],
}
_HEADERS = {alias: name for name, aliases in _HEADER_ALIASES.items() for alias in aliases}


def header_field(header: object) -> str | None:
    """'处置 / disposition', 'Disposition', '备注（note）' -> the field it names."""
    text = str(header if header is not None else "").replace("\ufeff", "").strip().lower()
    if not text:
        return None
    candidates = [text] + [p for p in re.split(r"[/|｜／()（）\s]+", text) if p]
    for cand in candidates:
        token = re.sub(r"[\s\-]+", "_", cand.strip()).strip("_")
        if token in _HEADERS:
            return _HEADERS[token]
    return None
