"""The domain packs on Spark local mode (营商环境 and 公车管理, 三资 and 招投标): each of their
fourteen rules, on the rows of each of its own tests (every boundary the contracts name, the
calendar delivered or standing in, names linked within a village), gives the same outcome, the
same findings (evidence and sources included) and the same review candidates as on DuckDB.

Skipped, saying why, without Java 17+ or pyspark."""
from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from crosscheck.catalog import load_catalog
from crosscheck.config import ProjectConfig
from crosscheck.engines.spark import unavailable_reason
from crosscheck.rules import load_ruleset
from crosscheck.rules.runner import run_rule
from crosscheck.rules.testing import create_tables, stand_in_tables

ROOT = Path(__file__).resolve().parent.parent
CATALOG = load_catalog(ROOT / "connectors")
RULESET = load_ruleset(ROOT / "rules", CATALOG)
RULES = ["approval_overdue", "approval_repeated_return", "licence_without_application", "enterprise_over_inspected",
         "subsidy_to_closed_enterprise", "vehicle_off_duty_unapproved", "fuel_without_trip",
         "sanzi_lease_to_cadre_relative", "sanzi_rent_not_collected", "sanzi_below_market_rent", "sanzi_no_public_trade",
         "bid_shared_contact", "procurement_split", "supplier_related_to_buyer_staff"]
COMPARED = ["rule_id", "subject", "person_id", "name", "district", "severity", "amount_at_risk",
            "evidence", "evidence_json", "discriminator", "sources"]
SPARK_MISSING = unavailable_reason(ProjectConfig.load())
pytestmark = [pytest.mark.skipif(SPARK_MISSING is not None, reason=f"Spark tests skipped: {SPARK_MISSING}"),
              pytest.mark.filterwarnings("ignore:PySpark does not yet fully support pandas:FutureWarning")]


@pytest.fixture(scope="module")
def spark_engine(tmp_path_factory):
    from crosscheck.engines.spark import SparkEngine, start_session

    session, _ = start_session(ProjectConfig.load())
    engine = SparkEngine(session, tmp_path_factory.mktemp("spark-work"))
    yield engine
    engine.close()
    session.stop()


CASES = [(r, i) for r in RULES for i in range(len(RULESET[r].spec.tests))]


@pytest.mark.parametrize(("rule_id", "case"), CASES, ids=[f"{r}-{i}" for r, i in CASES])
def test_the_same_findings_on_spark(spark_engine, rule_id, case):
    rule = RULESET[rule_id]
    test = rule.spec.tests[case]
    con = duckdb.connect()  # not locked down: it writes the Parquet Spark reads
    create_tables(con, CATALOG, test.given, skip=set(test.unavailable))
    stand_ins = stand_in_tables(con, CATALOG, test.unavailable)
    available = {t: None if t in stand_ins else test.unavailable.get(t) for t in CATALOG.tables}
    tables = sorted(t for t in rule.compile().tables if available[t] is None)
    for t in tables:
        spark_engine.publish(con, t)
    try:
        duck_outcome, duck = run_rule(con, rule, available=available, as_of=test.as_of, overrides=test.params, stand_ins=stand_ins)
        spark_outcome, spk = run_rule(spark_engine, rule, available=available, as_of=test.as_of, overrides=test.params,
                                      stand_ins=stand_ins)
        assert duck_outcome.status == test.expect_status, duck_outcome.reason
        assert (spark_outcome.status, spark_outcome.reason) == (duck_outcome.status, duck_outcome.reason)
        rows = lambda t: sorted(tuple(str(r[c]) for c in COMPARED) for r in t.select(COMPARED).to_pylist())  # noqa: E731
        assert rows(spk) == rows(duck)
        assert spark_outcome.review_rows == duck_outcome.review_rows and spark_outcome.review == duck_outcome.review
        assert duck.num_rows == len(test.expect)
    finally:
        for t in tables:
            spark_engine.unpublish(t)
        con.close()
