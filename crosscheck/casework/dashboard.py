"""The 驾驶舱 (dashboard) of an account's scope: per model (rule) and per district, the clues,
their answers and the money; the trend across runs; the draft models running in shadow; and
the models whose recent answers say they need tuning.

- confirmation rate = confirmed ÷ answered (clues with a current disposition);
- open = not closed; overdue = assigned and past its deadline; due soon = yellow;
- amount at risk sums the clues' amounts; amount recovered the current answers of confirmed
  clues (a reopened clue has none; an earlier answer's amount is in the history only);
- a model needs tuning when its last ``tuning_window`` answered clues (newest dispositions
  first) are confirmed at a rate under ``tuning_below``; the false-positive notes of those
  answers are shown with it. Every figure counts only clues the account may see.
"""
from __future__ import annotations

from datetime import timedelta

from crosscheck.casework.clues import money
from crosscheck.casework.db import Database
from crosscheck.casework.scope import CLUE_FROM, Account, visible
from crosscheck.privacy.masking import mask_ids_in_text

FIGURES = """count(*) AS clues,
    coalesce(sum(c.disposition = 'confirmed'), 0) AS confirmed,
    coalesce(sum(c.disposition = 'false_positive'), 0) AS false_positives,
    coalesce(sum(c.disposition = 'explained'), 0) AS explained,
    coalesce(sum(c.status <> 'closed'), 0) AS open,
    coalesce(sum(c.status = 'new'), 0) AS unassigned,
    coalesce(sum(c.status = 'assigned' AND c.deadline < ?), 0) AS overdue,
    coalesce(sum(c.status = 'assigned' AND c.deadline >= ? AND c.deadline <= ?), 0) AS due_soon,
    coalesce(sum(c.status = 'closed'), 0) AS closed,
    coalesce(sum(c.amount_cents), 0) AS amount_cents,
    coalesce(sum(rec.cents), 0) AS recovered_cents"""
#: The amount recovered of a clue: its current answer's, when that answer is confirmed.
RECOVERED = "LEFT JOIN (SELECT review_id, sum(recovered_cents) AS cents FROM outcomes GROUP BY review_id) rec " \
            "ON rec.review_id = c.review_id AND c.disposition = 'confirmed'"


def _figures(row: dict) -> dict:
    answered = int(row["confirmed"]) + int(row["false_positives"]) + int(row["explained"])
    out = {k: int(row[k]) for k in ("clues", "confirmed", "false_positives", "explained", "open", "unassigned",
                                    "overdue", "due_soon", "closed")}
    out["answered"] = answered
    out["confirmation_rate"] = round(int(row["confirmed"]) / answered, 4) if answered else None
    out["amount_at_risk"] = money(row["amount_cents"])
    out["amount_recovered"] = money(row["recovered_cents"])
    return out


class Dashboard:
    """The figures of an account's scope."""

    def __init__(self, db: Database):
        self.db = db

    def for_account(self, account: Account | None) -> dict:
        where, params = visible(account)
        today = self.db.today()
        dates = [today.isoformat(), today.isoformat(), (today + timedelta(days=self.db.settings.warn_days)).isoformat()]

        def grouped(column: str) -> list[dict]:
            return self.db.rows(f"SELECT {column} AS k, {FIGURES} {CLUE_FROM} {RECOVERED} WHERE {where} "
                             f"GROUP BY {column} ORDER BY {column}", dates + params)

        rules = {r["rule_id"]: r for r in self.db.rows("SELECT * FROM rules")}
        total = self.db.one(f"SELECT {FIGURES} {CLUE_FROM} {RECOVERED} WHERE {where}", dates + params)
        tuning = self.needs_tuning(account)
        by_rule = []
        for row in grouped("c.rule_id"):
            r = rules.get(row["k"], {})
            by_rule.append({"rule_id": row["k"], "title_zh": r.get("title_zh"), "title_en": r.get("title_en"),
                            "domain": r.get("domain"), "severity": r.get("severity"),
                            "needs_tuning": row["k"] in tuning, **_figures(row)})
        by_rule.sort(key=lambda x: (-x["clues"], x["rule_id"]))
        by_district = [{"district": row["k"] or "", **_figures(row)} for row in grouped("c.district")]
        by_district.sort(key=lambda x: (-x["clues"], x["district"]))
        return {
            "as_of_today": today.isoformat(), "timezone": self.db.settings.timezone,
            "warn_days": self.db.settings.warn_days,
            "totals": _figures(total), "by_rule": by_rule, "by_district": by_district,
            "trend": self.trend(account), "shadow": self.shadow(account),
            "needs_tuning": list(tuning.values()),
            "tuning_window": self.db.settings.tuning_window, "tuning_below": self.db.settings.tuning_below,
        }

    def _count_scope(self, account: Account | None) -> tuple[str, list]:
        parts, params = ["1 = 1"], []
        if account is not None and account.districts:
            parts.append(f"n.district IN ({', '.join('?' * len(account.districts))})")
            params += list(account.districts)
        if account is not None and account.domains:
            parts.append(f"r.domain IN ({', '.join('?' * len(account.domains))})")
            params += list(account.domains)
        return " AND ".join(parts), params

    def trend(self, account: Account | None) -> list[dict]:
        """Per complete run (oldest first): the findings of live models in scope, new ones, amount."""
        if account is not None and account.role == "reviewer":
            return []  # a reviewer's scope is the clues assigned to them, not whole runs
        where, params = self._count_scope(account)
        rows = self.db.rows(f"""SELECT u.run_id, u.seq, u.as_of, coalesce(sum(n.findings), 0) AS findings,
                                    coalesce(sum(n.new), 0) AS new, coalesce(sum(n.amount_cents), 0) AS amount_cents
                             FROM runs u LEFT JOIN run_counts n ON n.run_id = u.run_id
                             LEFT JOIN rules r ON r.rule_id = n.rule_id
                             WHERE (n.run_id IS NULL OR (coalesce(r.rule_status, 'stable') <> 'draft' AND {where}))
                             GROUP BY u.run_id, u.seq, u.as_of ORDER BY u.seq""", params)
        return [{"run_id": r["run_id"], "as_of": r["as_of"], "findings": int(r["findings"]), "new": int(r["new"]),
                 "amount_at_risk": money(r["amount_cents"])} for r in rows[-30:]]

    def shadow(self, account: Account | None) -> list[dict]:
        """Draft models (running in shadow): their findings in the last run and in the history,
        and what reviewers' dispositions (from the console) say of them; never clues."""
        if account is not None and account.role == "reviewer":
            return []
        where, params = self._count_scope(account)
        last = self.db.one("SELECT run_id FROM runs ORDER BY seq DESC LIMIT 1")
        out = []
        for r in self.db.rows("SELECT * FROM rules WHERE rule_status = 'draft' ORDER BY rule_id"):
            if account is not None and account.domains and r["domain"] not in account.domains:
                continue
            counts = self.db.one(f"""SELECT coalesce(sum(n.findings), 0) AS findings, coalesce(sum(n.new), 0) AS new,
                                         coalesce(sum(n.amount_cents), 0) AS amount_cents
                                  FROM run_counts n JOIN rules r ON r.rule_id = n.rule_id
                                  WHERE n.rule_id = ? AND n.run_id = ? AND {where}""",
                              [r["rule_id"], last["run_id"] if last else ""] + params)
            scope = "" if account is None or not account.districts else \
                f" AND c.district IN ({', '.join('?' * len(account.districts))})"
            seen = self.db.one(f"""SELECT count(*) AS n, coalesce(sum(c.disposition = 'confirmed'), 0) AS confirmed,
                                       coalesce(sum(c.disposition IS NOT NULL), 0) AS answered
                                FROM clues c WHERE c.rule_id = ?{scope}""",
                            [r["rule_id"]] + (list(account.districts) if scope else []))
            answered = int(seen["answered"])
            out.append({"rule_id": r["rule_id"], "title_zh": r["title_zh"], "title_en": r["title_en"],
                        "domain": r["domain"], "last_run_findings": int(counts["findings"]),
                        "last_run_new": int(counts["new"]), "amount_at_risk": money(counts["amount_cents"]),
                        "history_findings": int(seen["n"]), "answered": answered,
                        "confirmation_rate": round(int(seen["confirmed"]) / answered, 4) if answered else None})
        return out

    def needs_tuning(self, account: Account | None) -> dict[str, dict]:
        """Live models whose last ``tuning_window`` answered clues are confirmed under ``tuning_below``."""
        where, params = visible(account)
        window, below = int(self.db.settings.tuning_window), float(self.db.settings.tuning_below)
        rows = self.db.rows(f"""SELECT * FROM (
                                 SELECT c.rule_id, c.finding_key, v.disposition, v.note, v.reviewer, v.reviewed_on,
                                        r.title_zh, r.title_en,
                                        row_number() OVER (PARTITION BY c.rule_id ORDER BY v.review_id DESC) AS n
                                 {CLUE_FROM} JOIN reviews v ON v.review_id = c.review_id WHERE {where})
                             WHERE n <= ? ORDER BY rule_id, n""", params + [window])
        per: dict[str, list[dict]] = {}
        for r in rows:
            per.setdefault(r["rule_id"], []).append(r)
        out = {}
        for rule_id, answers in per.items():
            if len(answers) < window:
                continue
            confirmed = sum(1 for a in answers if a["disposition"] == "confirmed")
            rate = confirmed / len(answers)
            if rate < below:
                out[rule_id] = {
                    "rule_id": rule_id, "title_zh": answers[0]["title_zh"], "title_en": answers[0]["title_en"],
                    "answered": len(answers), "confirmed": confirmed, "confirmation_rate": round(rate, 4),
                    "false_positive_notes": [
                        {"finding_key": a["finding_key"], "note": mask_ids_in_text(a["note"] or ""),
                         "reviewer": a["reviewer"], "reviewed_on": a["reviewed_on"]}
                        for a in answers if a["disposition"] == "false_positive"],
                }
        return out
