"""Publishing the findings history into the casework database: every complete run's clues.

After a complete run commits in the findings store (or, to catch up, whenever the store is
opened for writing), `Publishing.publish` copies into ``clues`` each finding as last seen
(rule, person, district, amount, evidence, sources, first and last seen, whether a later run
resolved it), the rules of the run (titles, domain, severity, draft or not, personal kinds),
the run and its counts per rule and district, and ranks every clue in the one priority order
(`crosscheck.reports.priority`). It never touches what people did (status, assignee, deadline,
dispositions): a run cannot lose an action. It writes in batches of short transactions, so
reviewers' actions go in between; every step can be repeated, so a publish cut short is
finished by the next one.
"""
from __future__ import annotations

from typing import Any, Iterable

from crosscheck.casework.db import Database, day_text, dumps, stamp, to_cents
from crosscheck.casework.scope import CITY_LEVEL
from crosscheck.reports.priority import priority_key
from crosscheck.results import finding_columns_sql

BATCH = 2000

#: Complete runs (not failed) recorded after ``seq``.
TODO_RUNS = """SELECT run_id, seq, as_of, finished_at FROM runs
               WHERE scope = 'complete' AND status <> 'failed' AND seq > ? ORDER BY seq"""

#: Each finding key that appeared or was resolved in those runs, as last seen, and whether a
#: run after its last appearance resolved it.
CLUE_ROWS = f"""
    WITH todo AS (SELECT run_id FROM runs WHERE scope = 'complete' AND status <> 'failed' AND seq > ?),
    touched AS (SELECT finding_key FROM findings WHERE run_id IN (SELECT run_id FROM todo)
                UNION SELECT finding_key FROM resolved WHERE run_id IN (SELECT run_id FROM todo)),
    last AS (SELECT f.*, r.seq, r.as_of AS seen_on FROM findings f JOIN runs r ON r.run_id = f.run_id
             WHERE f.finding_key IN (SELECT finding_key FROM touched)
             QUALIFY row_number() OVER (PARTITION BY f.finding_key ORDER BY r.seq DESC) = 1),
    res AS (SELECT rs.finding_key, max(r.seq) AS seq, arg_max(rs.run_id, r.seq) AS run_id,
                   arg_max(r.as_of, r.seq) AS resolved_on
            FROM resolved rs JOIN runs r ON r.run_id = rs.run_id
            WHERE rs.finding_key IN (SELECT finding_key FROM touched) GROUP BY rs.finding_key)
    SELECT l.finding_key, {finding_columns_sql('l')},
           coalesce(k.first_seen, l.first_seen) AS first_seen, l.seen_on AS last_seen, l.run_id AS last_run_id,
           l.status AS seen_status, l.suppressed, l.review_change,
           CASE WHEN res.seq > l.seq THEN res.run_id END AS resolved_run_id,
           CASE WHEN res.seq > l.seq THEN res.resolved_on END AS resolved_on
    FROM last l LEFT JOIN res ON res.finding_key = l.finding_key
    LEFT JOIN finding_keys k ON k.finding_key = l.finding_key
"""

#: The newest complete run's word on each rule that ran in those runs.
RULE_ROWS = """
    SELECT rr.rule_id, rr.title_zh, rr.title_en, rr.domain, rr.severity,
           coalesce(rr.rule_status, 'stable') AS rule_status, rr.personal, rr.run_id
    FROM run_rules rr JOIN runs r ON r.run_id = rr.run_id
    WHERE r.scope = 'complete' AND r.status <> 'failed' AND r.seq > ?
    QUALIFY row_number() OVER (PARTITION BY rr.rule_id ORDER BY r.seq DESC) = 1
"""

COUNT_ROWS = """
    SELECT f.run_id, f.rule_id, coalesce(f.district, '') AS district, count(*) AS findings,
           count(*) FILTER (WHERE f.status = 'new') AS new, count(*) FILTER (WHERE f.suppressed) AS suppressed,
           coalesce(sum(f.amount_at_risk), 0) AS amount
    FROM findings f WHERE f.run_id = ? GROUP BY ALL
"""

CLUE_COLUMNS = ["finding_key", "rule_id", "domain", "subject", "person_id", "name", "district", "severity",
                "amount_cents", "evidence", "evidence_json", "sources", "discriminator", "first_seen", "last_seen",
                "last_run_id", "seen_status", "suppressed", "review_change", "resolved_run_id", "resolved_on"]
UPSERT_CLUE = (
    f"INSERT INTO clues ({', '.join(CLUE_COLUMNS)}) VALUES ({', '.join('?' * len(CLUE_COLUMNS))}) "
    "ON CONFLICT (finding_key) DO UPDATE SET "
    + ", ".join(f"{c} = excluded.{c}" for c in CLUE_COLUMNS[1:])
)


def _duck_rows(con, query: str, params: list) -> list[dict]:
    cur = con.execute(query, params)
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r)) for r in cur.fetchall()]


def _batches(items: list, size: int = BATCH) -> Iterable[list]:
    for i in range(0, len(items), size):
        yield items[i:i + size]


class Publishing:
    """Publishing complete runs from the findings store (its DuckDB connection) and ranking."""

    def __init__(self, db: Database):
        self.db = db

    def published_seq(self) -> int:
        return int(self.db.meta("published_seq") or 0)

    def publish(self, duck: Any) -> int:
        """Publish every complete run of the findings store (DuckDB connection ``duck``) not
        published yet; returns how many runs were published."""
        since = self.published_seq()
        runs = _duck_rows(duck, TODO_RUNS, [since])
        if not runs:
            return 0
        rules = {r["rule_id"]: r for r in _duck_rows(duck, RULE_ROWS, [since])}
        with self.db.write() as con:
            for r in rules.values():
                con.execute(
                    """INSERT INTO rules VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (rule_id) DO UPDATE SET
                       title_zh = excluded.title_zh, title_en = excluded.title_en, domain = excluded.domain,
                       severity = excluded.severity, rule_status = excluded.rule_status,
                       personal = excluded.personal, last_run_id = excluded.last_run_id""",
                    [r["rule_id"], r["title_zh"], r["title_en"], r["domain"], r["severity"], r["rule_status"],
                     r["personal"] or "{}", r["run_id"]])
        domains = {r["rule_id"]: r["domain"] for r in self.db.rows("SELECT rule_id, domain FROM rules")}
        clues = [_clue_values(c, domains) for c in _duck_rows(duck, CLUE_ROWS, [since])]
        for batch in _batches(clues):
            with self.db.write() as con:
                con.executemany(UPSERT_CLUE, batch)
        self.place_districts()
        for run in runs:
            counts = _duck_rows(duck, COUNT_ROWS, [run["run_id"]])
            with self.db.write() as con:
                con.execute("INSERT OR REPLACE INTO runs VALUES (?, ?, ?, ?)",
                            [run["run_id"], int(run["seq"]), day_text(run["as_of"]),
                             stamp(run["finished_at"]) if run["finished_at"] else None])
                con.execute("DELETE FROM run_counts WHERE run_id = ?", [run["run_id"]])
                con.executemany("INSERT INTO run_counts VALUES (?, ?, ?, ?, ?, ?, ?)",
                                [[c["run_id"], c["rule_id"], c["district"], int(c["findings"]), int(c["new"]),
                                  int(c["suppressed"]), to_cents(c["amount"]) or 0] for c in counts])
        self.rank()
        with self.db.write() as con:
            self.db.set_meta(con, "published_seq", str(max(int(r["seq"]) for r in runs)))
        return len(runs)

    def place_districts(self) -> None:
        """Every clue has a district: one whose subject is not a person takes the district of its
        place, its township's (the district the clues carrying both a district and that township
        name, when they name one only); a subject with no place belongs to 市本级."""
        todo = self.db.rows("""SELECT finding_key, CASE WHEN json_valid(evidence_json)
                                   THEN json_extract(evidence_json, '$.township') END AS township
                               FROM clues WHERE district IS NULL OR district = ''""")
        if not todo:
            return
        places = {r["township"]: r["district"] for r in self.db.rows(
            """SELECT json_extract(evidence_json, '$.township') AS township, min(district) AS district
               FROM clues WHERE district IS NOT NULL AND district NOT IN ('', ?) AND json_valid(evidence_json)
                            AND json_extract(evidence_json, '$.township') IS NOT NULL
               GROUP BY 1 HAVING count(DISTINCT district) = 1""", [CITY_LEVEL])}
        for batch in _batches([[places.get(r["township"], CITY_LEVEL), r["finding_key"]] for r in todo]):
            with self.db.write() as con:
                con.executemany("UPDATE clues SET district = ? WHERE finding_key = ?", batch)

    def rank(self) -> None:
        """Every clue's place in the one priority order (crosscheck.reports.priority.priority_key)."""
        rows = self.db.rows("""SELECT finding_key, severity, amount_cents AS amount_at_risk, first_seen,
                                   seen_status AS status, rule_id, subject, priority FROM clues""")
        rows.sort(key=priority_key)
        changed = [[i, r["finding_key"]] for i, r in enumerate(rows, 1) if r["priority"] != i]
        for batch in _batches(changed, 5000):
            with self.db.write() as con:
                con.executemany("UPDATE clues SET priority = ? WHERE finding_key = ?", batch)


def _clue_values(c: dict, domains: dict[str, str]) -> list:
    values = dict(c)
    values["domain"] = domains.get(c["rule_id"]) or ""
    values["amount_cents"] = to_cents(c["amount_at_risk"])
    for k in ("first_seen", "last_seen", "resolved_on"):
        values[k] = day_text(c[k])
    values["suppressed"] = int(bool(c["suppressed"]))
    return [values[k] for k in CLUE_COLUMNS]


def personal_json(personal: dict | None) -> str:
    return dumps(personal or {}) or "{}"


__all__ = ["Publishing", "personal_json"]
