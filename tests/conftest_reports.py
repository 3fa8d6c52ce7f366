"""A RunResult built in code for the report tests (imported by test_reports*.py)."""
from __future__ import annotations

import hashlib
import json
import random
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pyarrow as pa

from crosscheck.catalog import load_catalog
from crosscheck.results import (
    FINDINGS_SCHEMA,
    QUARANTINE_SCHEMA,
    ExpectationResult,
    FileAccount,
    RuleOutcome,
    RunResult,
    TableLoad,
)

# Full identity numbers used in the fixture: none may appear in a masked output.
ID_ZHANG = "420202195001011234"
ID_OUYANG = "420204193805125678"
ID_AIERKEN = "65010219420303901X"
ID_SCRIPT = "420203194011110011"
ID_FORMULA = "420205194512120022"
ID_REGISTRY = "420202194407070033"   # appears only inside evidence text
ID_QUARANTINE = "42020219360101004X"  # appears only in a quarantined row
ALL_IDS = [ID_ZHANG, ID_OUYANG, ID_AIERKEN, ID_SCRIPT, ID_FORMULA, ID_REGISTRY, ID_QUARANTINE]

#: What the rules' lineage says of the fixture's findings (RuleOutcome.personal).
PERSON = {"subject": "identity", "person_id": "identity", "name": "name"}
MISMATCH = {**PERSON, "evidence.pension_name": "name", "evidence.registry_name": "name"}

#: Source records of one finding: more than findings.xlsx shows (reports.common.SOURCES_SHOWN).
OUYANG_SOURCES = 25
#: How the mismatch rule names its evidence fields for reviewers (RuleOutcome.evidence_fields).
MISMATCH_FIELDS = [{"name": "pension_name", "zh": "养老保险姓名", "en": "name in the pension roll", "format": "text"},
                   {"name": "registry_name", "zh": "户籍姓名", "en": "name in the registry", "format": "text"},
                   {"name": "similarity", "zh": "相似度", "en": "similarity", "format": "number"}]

SCRIPT_NAME = "<script>alert(1)</script>"
FORMULA_NAME = '=HYPERLINK("x")'


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _finding(rule_id, pid, name, district, severity, amount, evidence, sources, ev_json=None):
    return {
        "rule_id": rule_id, "subject": pid, "person_id": pid, "name": name, "district": district,
        "severity": severity, "amount_at_risk": None if amount is None else Decimal(amount),
        "evidence": evidence, "evidence_json": json.dumps(ev_json or {}, ensure_ascii=False),
        "discriminator": "", "sources": sources,
    }


def make_run(extra_findings: int = 0, seed: int = 7) -> RunResult:
    f = [
        _finding("pension_paid_after_death", ID_ZHANG, "张小明", "西塞山区", "high", "3360.00",
                 f"户籍死亡日期 2025-03-14（来源 household_registry）；死亡后发放 2025-04 至 2025-07 共 4 个月，合计 3,360.00 元；身份证号 {ID_ZHANG}",
                 "social_security/pension_payments_2025.csv:17; household_registry/persons.csv:5"),
        _finding("pension_paid_after_death", ID_OUYANG, "欧阳小华", "黄石港区", "high", "12000.50",
                 "户籍死亡日期 2024-12-01；死亡后发放 2025-01 至 2025-12 共 12 个月，合计 12,000.50 元",
                 "; ".join(f"social_security/pension_payments_2025.csv:{40 + i}" for i in range(OUYANG_SOURCES))),
        _finding("pension_paid_after_death", ID_SCRIPT, SCRIPT_NAME, "下陆区", "high", "880.00",
                 "户籍死亡日期 2025-06-30；死亡后发放 2025-07 至 2025-08 共 2 个月 <b>bold</b>",
                 "social_security/pension_payments_2025.csv:99"),
        _finding("pension_identity_mismatch", ID_AIERKEN, "艾尔肯·买买提", "铁山区", "high", None,
                 f"养老保险姓名 艾尔肯·买买提；户籍姓名 买买提明（{ID_REGISTRY}）；相似度 0.31",
                 "social_security/pensioners.csv:8; household_registry/persons.csv:77",
                 {"pension_name": "艾尔肯·买买提", "registry_name": "买买提明", "similarity": 0.31}),
        _finding("pension_identity_mismatch", ID_FORMULA, FORMULA_NAME, "黄石港区", "low", None,
                 "-养老保险姓名与户籍姓名不一致；相似度 0.72", "social_security/pensioners.csv:9"),
        _finding("pension_duplicate_schemes", ID_ZHANG, "张三", None, "high", "-150.25",
                 "2025-05 同时领取 企业职工基本养老保险、城乡居民基本养老保险", "social_security/pension_payments_2025.csv:20"),
    ]
    rng = random.Random(seed)
    districts = ["黄石港区", "西塞山区", "下陆区", "铁山区", "阳新县", "大冶市"]
    surnames = "王李张刘陈杨黄赵吴周"
    given = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚桂英华"
    for i in range(extra_findings):
        pid = f"4202{rng.randint(10, 99)}19{rng.randint(20, 45)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}{rng.randint(0, 999):03d}{rng.choice('0123456789X')}"
        name = rng.choice(surnames) + "".join(rng.choice(given) for _ in range(rng.choice([1, 2, 2, 3])))
        rule = rng.choice(["pension_paid_after_death", "pension_paid_after_death", "medical_visit_after_death", "pension_duplicate_schemes"])
        months = rng.randint(1, 24)
        amount = f"{months * rng.randint(800, 4200)}.{rng.randint(0, 99):02d}"
        f.append(_finding(rule, pid, name, rng.choice(districts), rng.choice(["high", "high", "medium", "low"]), amount,
                          f"户籍死亡日期 2024-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}（来源 household_registry）；死亡后发放 {months} 个月，首月 2025-01，末月 2026-{rng.randint(1, 10):02d}，合计 {amount} 元",
                          f"social_security/pension_payments_2025.csv:{rng.randint(2, 90000)}; household_registry/persons.csv:{rng.randint(2, 90000)}"))
    findings = pa.Table.from_pylist(f, schema=FINDINGS_SCHEMA)
    quarantine = pa.Table.from_pylist([
        {"source": "social_security", "table": "pensioners", "file": "social_security/pensioners.csv", "line": 12,
         "reason": "公民身份号码校验位错误", "raw_values": json.dumps({"公民身份号码": ID_QUARANTINE, "姓名": "李四", "险种类型": "=cmd|' /C calc'!A0"}, ensure_ascii=False)},
        {"source": "hospital", "table": "inpatient", "file": "hospital/inpatient.csv", "line": 3,
         "reason": "入院日期无法解析: 2025-13-01", "raw_values": json.dumps({"入院日期": "2025-13-01"}, ensure_ascii=False)},
    ], schema=QUARANTINE_SCHEMA)

    amt = lambda rid: float(sum((x["amount_at_risk"] or 0) for x in f if x["rule_id"] == rid))
    cnt = lambda rid: sum(1 for x in f if x["rule_id"] == rid)
    rules = [
        RuleOutcome("pension_paid_after_death", "死亡后仍发放养老金", "Pension paid after death", "high", "ok",
                    findings=cnt("pension_paid_after_death"), amount_at_risk=amt("pension_paid_after_death"),
                    version=_sha("rule1"), sql="SELECT 1 -- <not a tag>", parameters={}, description="户籍记载死亡后，死亡月份之后仍有养老金发放。",
                    domain="pension", seconds=0.12, personal=PERSON),
        RuleOutcome("pension_identity_mismatch", "身份信息不一致", "Identity mismatch", "high", "ok",
                    findings=2, version=_sha("rule2"), parameters={"unlike_below": 0.5}, description="姓名规范化后仍不一致。",
                    personal=MISMATCH, evidence_fields=MISMATCH_FIELDS),
        RuleOutcome("pension_duplicate_schemes", "重复领取养老金", "Duplicate pension schemes", "high", "ok",
                    findings=cnt("pension_duplicate_schemes"), amount_at_risk=amt("pension_duplicate_schemes"), version=_sha("rule3"),
                    personal=PERSON),
        RuleOutcome("medical_visit_after_death", "死亡后仍有就医记录", "Medical visit after death", "high",
                    "ok" if extra_findings else "skipped",
                    reason="" if extra_findings else "缺少数据源 hospital（hospital/outpatient_visits 未交付）",
                    version=_sha("rule4"), personal=PERSON),
        RuleOutcome("transit_card_used_after_death", "死亡后公交卡仍在使用", "Transit card used after death", "medium", "failed",
                    reason=f"Binder Error: column tap_time not found (检查 {ID_ZHANG} 时)", version=_sha("rule5")),
        RuleOutcome("pension_no_sign_of_life", "高龄领取人长期无生存迹象", "No sign of life (elderly pensioners)", "low", "ok",
                    findings=0, version=_sha("rule6"), parameters={"min_age": 80, "window_days": 365}),
    ]
    files_ss = [
        FileAccount("social_security", "pensioners", "social_security/pensioners.csv", _sha("f1"), "gb18030", 120, 118, 1, 1),
        FileAccount("social_security", "pension_payments", "social_security/pension_payments_2025.csv", _sha("f2"), "utf-8-sig", 5000, 5000, 0, 0),
    ]
    files_h = [FileAccount("hospital", "inpatient", "hospital/inpatient.csv", _sha("f3"), "utf-8", 40, 39, 1, 0)]
    loads = [
        TableLoad("social_security", "pensioners", "loaded", rows=118, files=[files_ss[0]], expectations=[
            ExpectationResult("pensioners", "expect_column_values_to_be_in_set", "scheme", True, 118, 0),
            ExpectationResult("pensioners", "expect_column_values_to_be_in_set", "gender", False, 118, 7, "7 值不在 [男, 女]"),
        ]),
        TableLoad("social_security", "pension_payments", "loaded", rows=5000, files=[files_ss[1]]),
        TableLoad("hospital", "inpatient", "loaded", rows=39, files=files_h),
        TableLoad("hospital", "outpatient_visits", "missing", reason="hospital/outpatient_visits*.csv 未交付"),
    ]
    return RunResult(
        run_id="20261101-083000-ab12", as_of=date(2026, 11, 1), extracts_root="/data/extracts/2026-11-01",
        out_dir="", started_at=datetime(2026, 11, 1, 8, 30, 0), finished_at=datetime(2026, 11, 1, 8, 31, 12),
        loads=loads, rules=rules, findings=findings, quarantine=quarantine,
        personal_headers=load_catalog(Path(__file__).resolve().parents[1] / "connectors").personal_headers(),
    )


def record_two_runs(base: Path) -> tuple[Path, dict[str, str]]:
    """make_run() recorded twice in a real store, as `crosscheck run` does: between the runs one
    finding is reviewed false positive (suppressed next run), two are confirmed, one disappears
    (resolved) and one is new."""
    import dataclasses
    from datetime import date

    import pyarrow as pa
    import pyarrow.compute as pc

    from crosscheck.reports import write_reports
    from crosscheck.store import Store, finding_key

    store = base / "store.duckdb"
    run1 = dataclasses.replace(make_run(), run_id="run-1")
    run2 = dataclasses.replace(make_run(), run_id="run-2", as_of=date(2026, 12, 1))
    f = run2.findings
    keep = pc.invert(pc.and_(pc.equal(f["person_id"], ID_OUYANG), pc.equal(f["rule_id"], "pension_paid_after_death")))
    new = f.filter(pc.and_(pc.equal(f["person_id"], ID_SCRIPT), pc.equal(f["rule_id"], "pension_paid_after_death"))).to_pylist()[0]
    new["rule_id"] = "pension_duplicate_schemes"
    run2.findings = pa.concat_tables([f.filter(keep), pa.Table.from_pylist([new], schema=f.schema)])
    keys = {
        "fp": finding_key("pension_identity_mismatch", ID_AIERKEN, ""),
        "ok1": finding_key("pension_identity_mismatch", ID_FORMULA, ""),
        "ok2": finding_key("pension_paid_after_death", ID_ZHANG, ""),
        "gone": finding_key("pension_paid_after_death", ID_OUYANG, ""),
        "new": finding_key("pension_duplicate_schemes", ID_SCRIPT, ""),
    }
    with Store.open(store) as st:
        st.record_run(run1)
        st.mark(keys["fp"], "false_positive", note="同名不同人", reviewer="李娜", on=date(2026, 11, 5))
        st.mark(keys["ok1"], "confirmed", reviewer="李娜", on=date(2026, 11, 5))
        st.mark(keys["ok2"], "confirmed", reviewer="王强", on=date(2026, 11, 5))

        def write(rec):  # what crosscheck.pipeline.run.RunSession.write_reports does
            from crosscheck.reports.figures import run_figures, suppressed_in

            run2.figures = run_figures(run2.rules, rec.findings, None, rec.resolved)
            run2.suppressed_findings = suppressed_in(rec.findings, None)
            run2.findings = rec.findings.filter(pc.invert(rec.findings["suppressed"]))
            run2.resolved = rec.resolved
            run2.history = {"counts": rec.counts, "precision": rec.precision}
            write_reports(run2, base / "out")

        with st.recording(run2) as recorded:
            write(recorded)
    return base / "out", keys
