"""Rules on the change (crosscheck.pipeline.incremental): for random sequences of deliveries
(a month added, a registry row changed, a file removed, a death added, the as-of date moved by
a day, a month or a year), a run on the cache of the runs before gives the findings, amounts,
evidence, quarantine and accounting of a cold run, byte for byte, on every rule of the
catalog; and a run killed while it keeps a rule's findings leaves a cache the next run uses
correctly or ignores.

The deliveries are real folders of files on a small sample city, each run in this process
(RunSession, DuckDB) with a cache that lives through the sequence, against a run of the same
delivery on an empty cache.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from test_incremental import _rows, _write

FIRST_AS_OF = date(2026, 11, 1)
PEOPLE = 500


@pytest.fixture(scope="module")
def small_city(tmp_path_factory) -> Path:
    from devtools.sample import generate_city

    out = tmp_path_factory.mktemp("small-city") / "delivery"
    generate_city(out, people=PEOPLE, seed=5, as_of=FIRST_AS_OF)
    shutil.rmtree(out / "_truth")
    return out


@contextmanager
def _cache(path: Path):
    old = os.environ.get("CROSSCHECK_CACHE_DIR")
    os.environ["CROSSCHECK_CACHE_DIR"] = str(path)
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("CROSSCHECK_CACHE_DIR", None)
        else:
            os.environ["CROSSCHECK_CACHE_DIR"] = old


def _run(delivery: Path, as_of: date, out: Path, cache: Path) -> dict:
    from crosscheck.pipeline.run import RunRequest, execute_run

    with _cache(cache):
        execute_run(RunRequest(extracts=delivery, as_of=as_of, out=out, record=False, mask=False))
    return json.loads((out / "summary.json").read_text(encoding="utf-8"))


def _accounts(summary: dict) -> dict:
    """What must equal a cold run's: each rule's outcome and each file's accounting."""
    rules = [(r["rule_id"], r["status"], r["findings"], r["amount_at_risk"], r["reason"]) for r in summary["rules"]]
    files = [(f["table"], f["file"], f["status"], f["rows_read"], f["rows_loaded"], f["rows_quarantined"],
              f["duplicates_dropped"], f["sha256"]) for t in summary["loads"] for f in t["files"]]
    tables = [(t["table"], t["status"], t["rows"], t["reason"]) for t in summary["loads"]]
    return {"rules": rules, "files": files, "tables": tables}


# -- the changes a department's next delivery makes ------------------------------------------

def _next_month(ym: str) -> str:
    y, m = int(ym[:4]), int(ym[5:7])
    return f"{y + m // 12}-{m % 12 + 1:02d}"


def add_month(d: Path, state: dict, pick: int) -> None:
    """One more month of payments, outpatient visits and taps (the last month's rows, moved on)."""
    month = _next_month(state["month"])
    tag = month.replace("-", "")
    header, rows = _rows(next((d / "social_security").glob("pension_payments_2026.csv")))
    at, day = header.index("发放年月"), header.index("发放日期")
    paid = [[*r] for r in rows if r[at] == "2026-10"]
    for r in paid:
        r[at], r[day] = month, f"{month}-10"
    _write(d / "social_security" / f"pension_payments_{tag}.csv", header, paid)
    header, rows = _rows(d / "hospital" / "outpatient_2026.csv")
    on, no = header.index("就诊日期"), header.index("就诊流水号")
    visits = [[*r] for r in rows if r[on].startswith("202610") and r[on][6:8] <= "28"]
    for r in visits:
        r[on], r[no] = tag + r[on][6:8], r[no] + "M" + tag
    _write(d / "hospital" / f"outpatient_{tag}.csv", header, visits)
    header, rows = _rows(d / "transit_card" / "taps_recent.csv")
    when = header.index("交易时间")
    taps = [[*r] for r in rows if r[when].startswith("2026-10") and r[when][8:10] <= "28"]
    for r in taps:
        r[when] = month + r[when][7:]
    _write(d / "transit_card" / f"taps_{tag}.csv", header, taps)
    state["month"] = month
    state["added"].append(tag)


def _registry(d: Path, pick: int) -> tuple[Path, list[str], list[list[str]]]:
    files = sorted((d / "household_registry").glob("residents_*.csv"))
    path = files[pick % len(files)]
    header, rows = _rows(path)
    return path, header, rows


def change_registry_row(d: Path, state: dict, pick: int) -> None:
    """A fresh registry snapshot in which one resident's name or household changed."""
    path, header, rows = _registry(d, pick)
    row = rows[pick % len(rows)]
    name, household = header.index("姓名"), header.index("户号")
    if pick % 2:
        row[name] = row[name][:1] + ("明" if row[name][1:2] != "明" else "亮") + row[name][2:]
    else:
        row[household] = rows[(pick * 7) % len(rows)][household]
    _write(path, header, rows)


def add_death(d: Path, state: dict, pick: int) -> None:
    """A fresh registry snapshot in which a living resident who is paid a pension died."""
    paid = set()
    for f in (d / "social_security").glob("pension_payments_*.csv"):
        header, rows = _rows(f)
        paid |= {r[header.index("公民身份号码")] for r in rows}
    path, header, rows = _registry(d, pick)
    pid, status, death = header.index("公民身份号码"), header.index("人口状态"), header.index("死亡日期")
    living = [r for r in rows if r[status] == "正常" and r[pid] in paid] or [r for r in rows if r[status] == "正常"]
    row = living[pick % len(living)]
    row[status], row[death] = "死亡", f"{state['month']}-{1 + pick % 27:02d}"
    _write(path, header, rows)


def remove_file(d: Path, state: dict, pick: int) -> None:
    """A file no longer delivered: a month added before, else last year's visits."""
    if state["added"]:
        tag = state["added"].pop(pick % len(state["added"]))
        for rel in (f"social_security/pension_payments_{tag}.csv", f"hospital/outpatient_{tag}.csv",
                    f"transit_card/taps_{tag}.csv"):
            (d / rel).unlink()
    else:
        (d / "hospital" / "outpatient_2024.csv").unlink(missing_ok=True)


def as_of_plus(days: int = 0, months: int = 0, years: int = 0):
    def move(d: Path, state: dict, pick: int) -> None:
        a = state["as_of"]
        m = a.month - 1 + months
        a = a.replace(year=a.year + years + m // 12, month=m % 12 + 1, day=min(a.day, 28))
        state["as_of"] = a + timedelta(days=days)
    move.__name__ = f"as_of_plus_{days}d_{months}m_{years}y"
    return move


CHANGES = [add_month, change_registry_row, remove_file, add_death, as_of_plus(days=1), as_of_plus(months=1),
           as_of_plus(years=1)]


@settings(max_examples=2, deadline=None, database=None, phases=[Phase.generate],
          suppress_health_check=list(HealthCheck))
@given(st.lists(st.tuples(st.sampled_from(CHANGES), st.integers(0, 10_000)), min_size=2, max_size=3))
def test_a_run_on_the_change_equals_a_cold_run(small_city, tmp_path_factory, changes):
    base = tmp_path_factory.mktemp("deliveries")
    warm = base / "warm-cache"
    state = {"as_of": FIRST_AS_OF, "month": "2026-10", "added": []}
    delivery = small_city
    _run(delivery, state["as_of"], base / "out-0", warm)
    for step, (change, pick) in enumerate(changes, 1):
        nxt = base / f"delivery-{step}"
        shutil.copytree(delivery, nxt)
        change(nxt, state, pick)
        delivery = nxt
        on_change = _run(delivery, state["as_of"], base / f"incremental-{step}", warm)
        cold = _run(delivery, state["as_of"], base / f"cold-{step}", base / f"cold-cache-{step}")
        what = f"step {step}: {change.__name__}({pick})"
        assert any(h.startswith("on the change") for h in on_change["on_change"].values()), what
        assert _accounts(on_change) == _accounts(cold), what
        for name in ("findings.csv", "quarantine.csv"):
            assert (base / f"incremental-{step}" / name).read_bytes() == (base / f"cold-{step}" / name).read_bytes(), \
                f"{what}: {name}"


def test_a_run_killed_while_it_keeps_findings_leaves_a_cache_used_correctly(small_city, crosscheck_cmd, tmp_path):
    """SIGKILL between a rule's kept rows and the entry naming them: the next delivery's run
    equals a cold run (the entry before is used, with its own rows, or none)."""
    import signal

    from pausing import paused_run, wait_for_pause

    cache = tmp_path / "cache"
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("CROSSCHECK_TEST_")}, "CROSSCHECK_CACHE_DIR": str(cache)}
    rules = "pension_paid_after_death,transit_card_used_after_death"
    run = ["run", "--extracts", str(small_city), "--as-of", FIRST_AS_OF.isoformat(), "--no-record", "--rules", rules]
    first = subprocess.run([*crosscheck_cmd, *run, "--out", str(tmp_path / "first")], capture_output=True, text=True,
                           env=env, timeout=600)
    assert first.returncode == 0, first.stderr
    second = tmp_path / "second"
    shutil.copytree(small_city, second)
    add_death(second, {"month": "2026-10"}, 3)
    again = ["run", "--extracts", str(second), "--as-of", FIRST_AS_OF.isoformat(), "--no-record", "--rules", rules]
    signal_file = tmp_path / "paused"
    proc = subprocess.Popen(paused_run("findings", signal_file, [*again, "--out", str(tmp_path / "killed")]),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    wait_for_pause(signal_file, proc)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert list((cache / "findings").rglob("*.tmp")), "the killed run was writing a rule's findings"
    for entry in (cache / "findings").rglob("*.json"):   # every entry names rows that are there
        data = json.loads(entry.read_text(encoding="utf-8"))
        assert (entry.parent / f"{entry.stem}-{data['sha256'][:32]}.arrow").is_file()
    third = tmp_path / "third"
    shutil.copytree(second, third)
    add_death(third, {"month": "2026-10"}, 11)
    last = ["run", "--extracts", str(third), "--as-of", FIRST_AS_OF.isoformat(), "--no-record", "--rules", rules]
    done = subprocess.run([*crosscheck_cmd, *last, "--out", str(tmp_path / "next")], capture_output=True, text=True,
                          env=env, timeout=600)
    assert done.returncode == 0, done.stderr
    cold = subprocess.run([*crosscheck_cmd, *last, "--out", str(tmp_path / "cold")], capture_output=True, text=True,
                          env={**env, "CROSSCHECK_CACHE_DIR": str(tmp_path / "cold-cache")}, timeout=600)
    assert cold.returncode == 0, cold.stderr
    summary = json.loads((tmp_path / "next" / "summary.json").read_text(encoding="utf-8"))
    assert any(h.startswith("on the change") for h in summary["on_change"].values())
    assert (tmp_path / "next" / "findings.csv").read_bytes() == (tmp_path / "cold" / "findings.csv").read_bytes()


def test_spark_gives_the_findings_of_a_run_on_the_change(small_city, tmp_path):
    """The same next delivery on Spark (local mode, every rule run whole, no canonical cache)
    and on DuckDB on the change: the same findings, quarantine and accounting."""
    from crosscheck.config import ProjectConfig
    from crosscheck.engines.spark import unavailable_reason
    from crosscheck.pipeline.run import RunRequest, execute_run

    reason = unavailable_reason(ProjectConfig.load())
    if reason is not None:
        pytest.skip(f"Spark tests skipped: {reason}")
    warm = tmp_path / "warm"
    _run(small_city, FIRST_AS_OF, tmp_path / "first", warm)
    second = tmp_path / "second"
    shutil.copytree(small_city, second)
    state = {"as_of": FIRST_AS_OF, "month": "2026-10", "added": []}
    add_month(second, state, 1)
    add_death(second, state, 5)
    on_change = _run(second, FIRST_AS_OF, tmp_path / "duckdb", warm)
    assert sum(h.startswith("on the change") for h in on_change["on_change"].values()) >= 10
    with _cache(tmp_path / "spark-cache"):
        execute_run(RunRequest(extracts=second, as_of=FIRST_AS_OF, out=tmp_path / "spark", record=False, mask=False,
                               engine="spark"))
    spark = json.loads((tmp_path / "spark" / "summary.json").read_text(encoding="utf-8"))
    assert spark["on_change"] == {}    # no canonical cache on Spark: every rule runs whole
    assert _accounts(spark)["rules"] == _accounts(on_change)["rules"]
    for name in ("findings.csv", "quarantine.csv"):
        assert (tmp_path / "duckdb" / name).read_bytes() == (tmp_path / "spark" / name).read_bytes(), name


def test_a_file_is_hashed_again_only_when_its_size_or_time_changed_or_with_verify(small_city, crosscheck_cmd, tmp_path):
    """A file rewritten with its size and modification time kept is taken by its indexed hash;
    `crosscheck run --verify` hashes every file and sees it."""
    import hashlib

    delivery = tmp_path / "delivery"
    shutil.copytree(small_city, delivery)
    env = {**os.environ, "CROSSCHECK_CACHE_DIR": str(tmp_path / "cache")}
    run = [*crosscheck_cmd, "run", "--extracts", str(delivery), "--as-of", FIRST_AS_OF.isoformat(), "--no-record",
           "--rules", "pension_paid_after_death"]

    def sha_in_summary(out: str, *extra: str) -> str:
        proc = subprocess.run([*run, "--out", str(tmp_path / out), *extra], capture_output=True, text=True, env=env,
                              timeout=600)
        assert proc.returncode == 0, proc.stderr
        summary = json.loads((tmp_path / out / "summary.json").read_text(encoding="utf-8"))
        return next(f["sha256"] for t in summary["loads"] for f in t["files"] if f["file"].endswith("outpatient_2026.csv"))

    path = delivery / "hospital" / "outpatient_2026.csv"
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    assert sha_in_summary("first") == before
    stat = path.stat()
    data = path.read_bytes()
    i = data.index(b"\n") + 6                     # a digit of the visit number on line 2
    assert data[i:i + 1].isdigit()
    path.write_bytes(data[:i] + (b"1" if data[i:i + 1] != b"1" else b"2") + data[i + 1:])
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    after = hashlib.sha256(path.read_bytes()).hexdigest()
    assert after != before and path.stat().st_size == stat.st_size
    assert sha_in_summary("indexed") == before          # size and time as hashed: not read again
    assert sha_in_summary("verified", "--verify") == after
