"""The project's own messages in Chinese, for the Chinese view of the reports.

The pipeline writes its reasons in English (quarantine reasons, why a file was not read, why a
rule was partial, skipped or failed, data-quality checks); reviewers read Chinese. Each message
the pipeline writes has its pattern here; `zh(text)` translates every part of a text it knows
(parts are joined by '; ') and keeps the rest (file names, headers, quoted values, SQL errors)
as it is. A test keeps every message form the pipeline emits covered.
"""
from __future__ import annotations

import re

#: (pattern, Chinese) in order; a pattern matches one whole part of a message.
_PARTS: list[tuple[re.Pattern, str]] = [(re.compile(p, re.S), zh) for p, zh in [
    # quarantined rows (crosscheck.connectors.parse, crosscheck.normalize, readers)
    (r"invalid identity number in (?P<h>[^:]+): stored as an Excel number, digits lost: (?P<v>.*)",
     r"\g<h>：身份证号无效（以 Excel 数字存储，末位数字已丢失）：\g<v>"),
    (r"invalid identity number in (?P<h>[^:]+): wrong length \((?P<n>\d+) characters\): (?P<v>.*)",
     r"\g<h>：身份证号无效（长度错误，\g<n> 位）：\g<v>"),
    (r"invalid identity number in (?P<h>[^:]+): bad check character: (?P<v>.*)", r"\g<h>：身份证号无效（校验位错误）：\g<v>"),
    (r"invalid identity number in (?P<h>[^:]+): impossible birth date: (?P<v>.*)", r"\g<h>：身份证号无效（出生日期不存在）：\g<v>"),
    (r"invalid identity number in (?P<h>[^:]+): (?P<why>.*)", r"\g<h>：身份证号无效：\g<why>"),
    (r"unparseable date in (?P<h>[^:]+): (?P<v>.*)", r"\g<h>：无法识别的日期：\g<v>"),
    (r"unparseable datetime in (?P<h>[^:]+): (?P<v>.*)", r"\g<h>：无法识别的时间：\g<v>"),
    (r"unparseable month in (?P<h>[^:]+): (?P<v>.*)", r"\g<h>：无法识别的年月：\g<v>"),
    (r"unparseable amount in (?P<h>[^:]+): (?P<v>.*)", r"\g<h>：无法识别的金额：\g<v>"),
    (r"unparseable integer in (?P<h>[^:]+): (?P<v>.*)", r"\g<h>：无法识别的整数：\g<v>"),
    (r"unparseable number in (?P<h>[^:]+): (?P<v>.*)", r"\g<h>：无法识别的数值：\g<v>"),
    (r"negative amount in (?P<h>[^:]+): (?P<v>.*)", r"\g<h>：金额为负：\g<v>"),
    (r"impossible birth date in (?P<h>[^:]+): (?P<v>.*)", r"\g<h>：出生日期不合理：\g<v>"),
    (r"missing value in (?P<h>.+)", r"\g<h>为空"),
    (r"invalid credit code in (?P<h>[^:]+): (?P<v>.*)", r"\g<h>：统一社会信用代码无效：\g<v>"),
    (r"invalid plate in (?P<h>[^:]+): (?P<v>.*)", r"\g<h>：车牌号无效：\g<v>"),
    (r"code stored as an Excel number \(digits lost\) in (?P<h>[^:]+): (?P<v>.*)", r"\g<h>：编号以 Excel 数字存储，位数已丢失：\g<v>"),
    (r"below the minimum (?P<m>[0-9.-]+) in (?P<h>[^:]+): (?P<v>.*)", r"\g<h>：小于下限 \g<m>：\g<v>"),
    (r"value not allowed in (?P<h>[^:]+): (?P<v>'.*') \(allowed: (?P<a>.*)\)", r"\g<h>：取值不在允许范围内：\g<v>（允许：\g<a>）"),
    (r"no time of day in (?P<h>[^:]+): (?P<v>.*)", r"\g<h>：缺少时刻：\g<v>"),
    (r"conflicting rows for (?P<k>\S+) (?P<v>'.*'): (?P<n>\d+) rows differ", r"\g<k> \g<v> 有 \g<n> 行内容不一致（键冲突），均已隔离"),
    (r"malformed CSV row: expected (?P<n>\d+) fields, found (?P<m>\d+)", r"CSV 行格式错误：应有 \g<n> 列，实有 \g<m> 列"),
    (r"malformed CSV row: (?P<why>.*)", r"CSV 行格式错误：\g<why>"),
    # files (crosscheck.connectors.load, readers, files)
    (r"(?P<f>\S+): empty file \(0 bytes\)", r"\g<f>：空文件（0 字节）"),
    (r"(?P<f>\S+): line 1: missing required columns? (?P<c>.*)", r"\g<f>：第 1 行缺少必需列 \g<c>"),
    (r"(?P<f>\S+): line 1: no header row", r"\g<f>：第 1 行没有表头"),
    (r"(?P<f>\S+): row 1: no header row", r"\g<f>：第 1 行没有表头"),
    (r"(?P<f>\S+): line 1: the header is not UTF-8 .*", r"\g<f>：表头不是 UTF-8 编码"),
    (r"(?P<f>\S+): cannot read: (?P<why>.*)", r"\g<f>：无法读取：\g<why>"),
    (r"(?P<f>\S+): cannot load: (?P<why>.*)", r"\g<f>：无法加载：\g<why>"),
    (r"(?P<f>\S+): the file changed while it was read .*", r"\g<f>：读取过程中文件发生了变化"),
    (r"(?P<f>\S+): line (?P<n>\d+): bytes at offset .*", r"\g<f>：第 \g<n> 行编码错误（混用编码或在字符中间截断），请以单一编码重新导出"),
    (r"(?P<f>\S+): workbook is password-protected .*", r"\g<f>：工作簿有密码保护或为旧版 .xls，请提供未加密的 .xlsx"),
    (r"(?P<f>\S+): cannot read Excel workbook .*", r"\g<f>：无法读取 Excel 工作簿（文件损坏或不完整？）"),
    (r"(?P<f>\S+): optional columns? (?P<c>.*) absent, loaded as empty", r"\g<f>：缺少可选列 \g<c>，按空值加载"),
    (r"(?P<d>\S+)/: load failed after (?P<n>\d+) tries: (?P<why>.*)", r"\g<d>/：重试 \g<n> 次后仍无法读取：\g<why>"),
    (r"source folder (?P<d>\S+)/ is not in the delivery", r"交付中没有数据源目录 \g<d>/"),
    (r"official holidays of (?P<lib>.+) \((?P<y>[0-9-]+)\) stand in for the calendar not delivered",
     r"以 \g<lib> 的法定节假日和调休安排（\g<y> 年）代替未交付的工作日历"),
    (r"the data reaches (?P<a>[0-9-]+), beyond (?P<b>[0-9-]+)", r"数据涉及 \g<a> 年，超出 \g<b> 年"),
    (r"(?P<t>[a-z_]+): (?P<why>source folder .*|no file matching .*)", r"\g<t>：\g<why>"),
    (r"no file matching (?P<p>.+) in (?P<d>\S+)/", r"\g<d>/ 中没有与 \g<p> 匹配的文件"),
    # files not read (crosscheck.connectors.inventory)
    (r"(?P<f>\S+): not read \((?P<why>.*)\)", r"\g<f>：未读取（\g<why>）"),
    (r"in a sub-folder of (?P<d>\S+)/ \((?P<s>.*)/\): only files directly in \S+/ are read",
     r"位于 \g<d>/ 的子目录（\g<s>/）中：只读取 \g<d>/ 目录下的文件"),
    (r"temporary file \(an office program's lock file\)", r"临时文件（办公软件的锁定文件）"),
    (r"hidden or system file", r"隐藏文件或系统文件"),
    (r"at the top of the delivery, not in a source folder", r"位于交付根目录，不在任何数据源目录中"),
    (r"in (?P<d>\S+)/, which is not a source folder", r"位于 \g<d>/，不是数据源目录"),
    (r"not a data file a connector reads \((?P<x>[^:]*): connectors read (?P<r>.*)\)", r"不是可读取的数据文件（\g<x>；可读取：\g<r>）"),
    (r"no connector pattern matches its name \((?P<d>\S+)/ reads (?P<p>.*)\)", r"文件名与数据源的文件模式不符（\g<d>/ 读取 \g<p>）"),
    # rule outcomes (crosscheck.rules.runner, crosscheck.pipeline.outcomes)
    (r"inputs incomplete: (?P<t>\w+): (?P<rest>.*)", r"输入不完整：\g<t>：\g<rest>"),
    (r"(?P<t>\w+): (?P<f>\S+): not read \((?P<why>.*)\)", r"\g<t>：\g<f>：未读取（\g<why>）"),
    (r"source not loaded", r"数据源未加载"),
    (r"needs (?P<t>\w+): (?P<why>.*)", r"需要数据表 \g<t>：\g<why>"),
    (r"ran without optional (?P<t>\w+) \((?P<why>.*)\)", r"在缺少可选数据表 \g<t> 的情况下运行（\g<why>）"),
    (r"rule file does not load: (?P<why>.*)", r"规则文件无法加载：\g<why>"),
    (r"rule does not compile: (?P<why>.*)", r"规则无法编译：\g<why>"),
    (r"(?P<s>\w+): blocking on (?P<rest>.*)", r"\g<s>：分块 \g<rest>"),
]]

#: Data-quality checks (Great Expectations' expectation names) as reviewers read them.
EXPECTATIONS = {
    "expect_column_values_to_be_in_set": "取值在允许的范围内",
    "expect_column_values_to_be_between": "数值在合理区间内",
    "expect_column_values_to_be_unique": "取值不重复",
    "expect_column_values_to_not_be_null": "不为空",
    "expect_compound_columns_to_be_unique": "组合键不重复",
    "expect_column_pair_values_a_to_be_greater_than_b": "前一列大于后一列",
    "expect_column_values_to_match_regex": "符合格式",
}


def zh(text: str | None) -> str:
    """`text` in Chinese where its parts are messages this module knows; the rest as it is."""
    if not text:
        return text or ""
    return "；".join(_part(p) for p in text.split("; "))


def _part(part: str) -> str:
    """One part in Chinese; what a known message quotes (a file's error inside a rule's outcome,
    why a file was not read) is translated too."""
    for pattern, chinese in _PARTS:
        m = pattern.fullmatch(part)
        if m:
            groups = {k: _part(v) if v is not None else "" for k, v in m.groupdict().items()}
            return re.sub(r"\\g<(\w+)>", lambda g: groups[g.group(1)], chinese)
    return part


def expectation_zh(name: str) -> str:
    return EXPECTATIONS.get(name, name)
