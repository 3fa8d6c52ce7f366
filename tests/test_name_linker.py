"""The name linker (docs/names.md): the spec's worked examples, the link_names rule step through
the rule test runner, and `crosscheck link-names` on real files."""
from __future__ import annotations

import csv
import shutil
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from crosscheck.catalog import load_catalog
from crosscheck.cli import app
from crosscheck.engines import characters
from crosscheck.names.sql import LinkQuery, Side, link_sql
from crosscheck.normalize import check_char, name_form, normalize_name
from crosscheck.rules import collect_ruleset
from crosscheck.results import EVIDENCE_KEY
from crosscheck.rules.lineage import trace_personal
from crosscheck.rules.testing import run_test

ROOT = Path(__file__).resolve().parent.parent
CATALOG = load_catalog(ROOT / "connectors")
FIXTURE = Path(__file__).resolve().parent / "rule_fixtures" / "subsidy_name_points_to_deceased.yaml"
SPEC_LOOKALIKES = ("天夭 军车 力刀 金全 永水 平乎 英荚 娜挪 春舂 华毕 国固 超起 波泼 志忘 成戍 佳住 洋详 涛祷 海诲 梅悔 "
                   "荣劳 雪雷 士土 未末 己已 日曰 人入 戊戌")

# the village of the spec's example (sanzi-procurement.md, "Identifying a lessee")
VILLAGE = ["王建华", "王建国", "徐宇", "许宇", "赵全生", "赵津生", "李明", "李明"]


def _link(records: list[str], registry: list[tuple[str, str]] | None = None, **options) -> dict[str, tuple]:
    """Record name -> (person, match, from, to, village, status, candidates) through the linker's SQL."""
    con = duckdb.connect()
    characters.register(con)
    con.execute("CREATE TABLE reg (pid VARCHAR, name VARCHAR, town VARCHAR, vill VARCHAR, sex VARCHAR, yr BIGINT)")
    con.execute("CREATE TABLE rec (rid VARCHAR, name VARCHAR, town VARCHAR, vill VARCHAR, sex VARCHAR, yr BIGINT)")
    people = registry or [(n, "西瓜村") for n in VILLAGE]
    for i, (n, v) in enumerate(people):
        con.execute("INSERT INTO reg VALUES (?, ?, '石花镇', ?, NULL, NULL)", [f"P{i}", name_form(n), v])
    for i, n in enumerate(records):
        con.execute("INSERT INTO rec VALUES (?, ?, '石花镇', '西瓜村', NULL, NULL)", [str(i), name_form(n)])
    query = LinkQuery(Side("rec", "r.rid", "r.name", "r.town", "r.vill", "r.sex", "r.yr"),
                      Side("reg", "p.pid", "p.name", "p.town", "p.vill", "p.sex", "p.yr"), **options)
    rows = con.execute(link_sql(query) + " ORDER BY CAST(rid AS INTEGER)").fetchall()
    return {records[int(r[0])]: (r[6], *r[8:]) for r in rows}


def test_the_specs_worked_examples():
    got = _link(["王建 华", "王健华", "汪建华", "王?华", "王建平", "许宇", "赵金生", "李明"], lookalikes=f"'{SPEC_LOOKALIKES}'")
    assert got["王建 华"][:2] == ("P0", "一致")
    assert got["王健华"][:4] == ("P0", "同音", "健", "建")          # 王建国 differs in two places
    assert got["汪建华"][:4] == ("P0", "同音", "汪", "王")
    assert got["王?华"][:4] == ("P0", "缺字", None, None)
    assert got["王建平"][0] is None and got["王建平"][5] == "unidentified"
    assert got["许宇"][:2] == ("P3", "一致")                       # 一致 wins over the same-sound 徐宇
    assert got["赵金生"][5:] == ("ambiguous", ["P4", "P5"])         # 形近 金/全 and 同音 金/津: two candidates
    assert got["李明"][5:] == ("ambiguous", ["P6", "P7"])


def test_four_corners_are_the_default_lookalikes_and_a_rules_table_replaces_them():
    village = [("赵全生", "西瓜村"), ("陈宇", "西瓜村"), ("王平", "西瓜村")]
    default = _link(["赵金生", "陈字", "王乎"], village)
    assert default["赵金生"][:4] == ("P0", "形近", "金", "全")     # 金 8010(9) / 全 8010(4): same four corners
    assert default["陈字"][:4] == ("P1", "形近", "字", "宇")
    assert default["王乎"][5] == "unidentified"                    # 平 1040 / 乎 2040
    table = _link(["赵金生", "陈字", "王乎"], village, lookalikes="'平乎'")
    assert table["王乎"][:4] == ("P2", "形近", "乎", "平")
    assert table["赵金生"][5] == table["陈字"][5] == "unidentified"


def test_lost_characters_and_traditional_forms():
    village = [("李䶮", "西瓜村"), ("陈大文", "西瓜村")]
    got = _link(["李?", "李□", "李？", "陳 大文", "陈\u3000大文"], village)
    assert all(got[n][:2] == ("P0", "缺字") for n in ("李?", "李□", "李？"))
    assert got["陳 大文"][:2] == got["陈\u3000大文"][:2] == ("P1", "一致")


def test_neighbouring_villages_only_when_asked_and_only_namesakes():
    registry = [("王建平", "东瓜村"), ("刘建平", "东瓜村")]
    assert _link(["王建平"], registry)["王建平"][5] == "unidentified"
    got = _link(["王建平", "王健平"], registry, neighbouring=True)
    assert got["王建平"][:5] == ("P0", "一致", None, None, "东瓜村")
    assert got["王健平"][5] == "unidentified"                      # no one-character variant across the township


def test_sex_and_birth_year_leave_candidates_out():
    con = duckdb.connect()
    characters.register(con)
    con.execute("CREATE TABLE reg AS SELECT * FROM (VALUES ('A', '李明', '镇', '村', '男', 1960), ('B', '李明', '镇', '村', '女', 1970), "
                "('C', '李鸣', '镇', '村', '女', 1980)) t(pid, name, town, vill, sex, yr)")
    con.execute("CREATE TABLE rec AS SELECT * FROM (VALUES ('1', '李明', '镇', '村', '男', NULL), ('2', '李明', '镇', '村', NULL, 1970), "
                "('3', '李明', '镇', '村', NULL, 1980), ('4', '李明', '镇', '村', NULL, NULL)) t(rid, name, town, vill, sex, yr)")
    q = LinkQuery(Side("rec", "r.rid", "r.name", "r.town", "r.vill", "r.sex", "r.yr"), Side("reg", "p.pid", "p.name", "p.town", "p.vill", "p.sex", "p.yr"))
    rows = {r[0]: (r[6], r[8], r[12]) for r in con.execute(link_sql(q)).fetchall()}
    assert rows == {"1": ("A", "一致", "linked"), "2": ("B", "一致", "linked"), "3": ("C", "同音", "linked"), "4": (None, None, "ambiguous")}


def test_candidate_rows_list_every_candidate_with_its_match():
    con = duckdb.connect()
    characters.register(con)
    con.execute("CREATE TABLE reg AS SELECT * FROM (VALUES ('P1', '赵全生'), ('P2', '赵津生'), ('P3', '王建华')) t(pid, name)")
    con.execute("CREATE TABLE rec AS SELECT * FROM (VALUES ('1', '赵金生'), ('2', '王健华'), ('3', '孙悟空')) t(rid, name)")
    q = LinkQuery(Side("rec", "r.rid", "r.name", "'镇'", "'村'"), Side("reg", "p.pid", "p.name", "'镇'", "'村'"), rows="candidates")
    rows = sorted(con.execute(link_sql(q)).fetchall(), key=lambda r: (r[0], str(r[4])))
    assert [r[2:] for r in rows] == [
        (None, "ambiguous", "P1", "赵全生", "形近", "金", "全", None),
        (None, "ambiguous", "P2", "赵津生", "同音", "金", "津", None),
        ("P3", "linked", "P3", "王建华", "同音", "健", "建", None),
        (None, "unidentified", None, None, None, None, None, None),
    ]


def test_name_form_is_normalize_name_for_chinese_script():
    for raw in ["陳 偉", "陈　伟", "阿依古丽•买买提", "阿依古丽∙买买提", "王？华", "張\t偉"]:
        assert name_form(raw) == normalize_name(raw)
    assert name_form("John  Smith") == "JohnSmith"     # any script: spaces go, case stays
    assert characters.reading("绿") == "lv" and characters.reading("?") is None
    assert characters.shape("己") == characters.shape("已") and characters.shape("?") is None
    with pytest.raises(ValueError, match="'金' is not a pair"):
        characters.parse_lookalikes("天夭 金")


def _rules_dir(tmp_path: Path, text: str | None = None) -> Path:
    rules = tmp_path / "rules"
    shutil.copytree(ROOT / "rules" / "_views", rules / "_views")
    (rules / "test").mkdir(parents=True)
    (rules / "test" / FIXTURE.name).write_text(text or FIXTURE.read_text(encoding="utf-8"), encoding="utf-8")
    return rules


def test_the_example_rule_is_lint_clean_and_its_tests_pass(tmp_path):
    ruleset, problems = collect_ruleset(_rules_dir(tmp_path), CATALOG, lint=True, engine="spark")
    assert problems == [], "\n".join(map(str, problems))
    rule = ruleset["subsidy_name_points_to_deceased"]
    assert len(rule.spec.tests) >= 7
    for case in rule.spec.tests:
        result = run_test(rule, case)
        assert result.passed, f"{case.name}: {result.message}"
    # the differing characters are masked as names in a masked run, the person as an identity number
    kinds = trace_personal(rule.compile(), CATALOG, list(rule.spec.evidence.fields)).kinds
    assert kinds["person_id"] == "identity"
    assert kinds[EVIDENCE_KEY + "link_from"] == kinds[EVIDENCE_KEY + "link_to"] == kinds[EVIDENCE_KEY + "link_name"] == "name"


def test_a_bad_lookalike_table_is_an_error_with_file_and_line(tmp_path):
    text = FIXTURE.read_text(encoding="utf-8").replace('default: "天夭 军车 力刀 金全"', 'default: "天夭 军"')
    _, problems = collect_ruleset(_rules_dir(tmp_path, text), CATALOG, lint=True)
    assert any("'军' is not a pair of two different characters" in str(p) and p.line for p in problems), problems


# ------------------------------------------------------------------ crosscheck link-names


def _pid(body17: str) -> str:
    return body17 + check_char(body17)


def _write(path: Path, rows: list[list[str]], encoding: str = "utf-8") -> Path:
    with open(path, "w", encoding=encoding, newline="") as fh:
        csv.writer(fh).writerows(rows)
    return path


@pytest.fixture
def files(tmp_path):
    people = [(_pid(f"110101195001{i + 1:02d}123"), n) for i, n in enumerate(VILLAGE)]
    registry = _write(tmp_path / "registry.csv", [["公民身份号码", "姓名", "性别", "出生日期", "所属乡镇", "所属村"]]
                      + [[pid, n, "男", "1950-01-01", "石花镇", "西瓜村"] for pid, n in people]
                      + [["12345", "坏号", "男", "", "石花镇", "西瓜村"]])
    records = _write(tmp_path / "records.csv", [["记录编号", "姓名", "性别", "出生年份", "所属乡镇", "所属村"],
                                                ["1", "王健华", "", "", "石花镇 ", "西瓜村"], ["2", "赵金生", "", "", "石花镇", "西瓜村"],
                                                ["3", "王建平", "男", "1950", "石花镇", "西瓜村"], ["4", "李明", "", "一九五零", "石花镇", "西瓜村"],
                                                ["5", "王建华", "", "", "石花镇", "东瓜村"]], encoding="gbk")
    return registry, records, dict(people=people)


def test_link_names_writes_one_row_per_record(tmp_path, files):
    registry, records, info = files
    out = tmp_path / "links.csv"
    result = CliRunner().invoke(app, ["link-names", "--registry", str(registry), "--records", str(records), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert out.read_bytes().startswith(b"\xef\xbb\xbf")
    with open(out, encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.reader(fh))
    pid = {n: p for p, n in info["people"]}
    assert rows[0] == ["记录编号", "公民身份号码", "方式", "候选"]
    assert rows[1] == ["1", pid["王建华"], "同音 健→建", ""]
    assert rows[2][:3] == ["2", "", "待人工核实"] and sorted(rows[2][3].split(";")) == sorted([pid["赵全生"], pid["赵津生"]])
    assert rows[3] == ["3", "", "未识别", ""]
    assert rows[4][2].startswith("无效记录") and "出生年份" in rows[4][2]
    assert rows[5] == ["5", "", "未识别", ""]
    assert "registry.csv:10: 公民身份号码" in result.output and "records.csv:5: 出生年份" in result.output
    neighbours = CliRunner().invoke(app, ["link-names", "--registry", str(registry), "--records", str(records), "--out", str(out), "--neighbouring"])
    assert neighbours.exit_code == 0
    with open(out, encoding="utf-8-sig", newline="") as fh:
        assert list(csv.reader(fh))[5] == ["5", pid["王建华"], "邻村 西瓜村 一致", ""]


def test_link_names_refuses_a_file_without_its_columns(tmp_path, files):
    registry, records, _ = files
    result = CliRunner().invoke(app, ["link-names", "--registry", str(records), "--records", str(records), "--out", str(tmp_path / "x.csv")])
    assert result.exit_code == 2
    assert "missing columns 公民身份号码, 出生日期" in result.output and "records.csv" in result.output
    assert not (tmp_path / "x.csv").exists()


def test_an_identity_number_links_whatever_the_name_says():
    con = duckdb.connect()
    characters.register(con)
    con.execute("CREATE TABLE reg AS SELECT * FROM (VALUES ('P1', '王建华'), ('P2', '李明')) t(pid, name)")
    con.execute("CREATE TABLE rec AS SELECT * FROM (VALUES ('1', '王建华', 'P2'), ('2', '王建华', NULL), ('3', '赵某', 'X9')) t(rid, name, ident)")
    q = LinkQuery(Side("rec", "r.rid", "r.name", "'镇'", "'村'"), Side("reg", "p.pid", "p.name", "'镇'", "'村'"), identity="r.ident")
    rows = {r[0]: (r[3], r[4], r[5], r[9]) for r in con.execute(link_sql(q)).fetchall()}
    assert rows == {"1": ("P2", "李明", "身份证号", "linked"), "2": ("P1", "王建华", "一致", "linked"),
                    "3": ("X9", None, "身份证号", "linked")}      # the person need not be in the registry


def test_a_line_that_cannot_be_split_is_a_bad_row_not_a_lost_one(tmp_path, files):
    registry, _, _ = files
    records = tmp_path / "split.csv"
    records.write_text("记录编号,姓名,性别,出生年份,所属乡镇,所属村\n1,王健华,,,石花镇,西瓜村\n2,李明,,,石花镇,西瓜村,多余\n", encoding="utf-8")
    out = tmp_path / "links.csv"
    result = CliRunner().invoke(app, ["link-names", "--registry", str(registry), "--records", str(records), "--out", str(out)])
    assert result.exit_code == 0, result.output
    with open(out, encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.reader(fh))
    assert len(rows) == 3 and rows[2][0] == "" and rows[2][2].startswith("无效记录：malformed CSV row")
    assert "split.csv:3: malformed CSV row" in result.output
