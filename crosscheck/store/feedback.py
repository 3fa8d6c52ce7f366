"""Reviewers' feedback on findings: a disposition of one finding, the dispositions of an
edited findings sheet, and the money recovered on a confirmed finding; written to the casework
database (`crosscheck.casework`), the one record of a clue's status that the workbench, the
reports and the alerts read too. A disposition makes the clue answered, and is in the audit log.

What dispositions mean, when they suppress, and how a sheet is read: `crosscheck.store.reviews`.
`ReviewDesk` does the same with the casework database alone (no findings store lock), so the
`review` commands go on while a run holds the store.
"""
from __future__ import annotations

import os
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import NamedTuple

import sqlite3

from crosscheck.casework import Casework, CaseworkError
from crosscheck.store.db import StoreError
from crosscheck.store.keys import is_key, normalise_key
from crosscheck.store.lock import current_user
from crosscheck.store.reviews import (
    DISPOSITIONS,
    ImportResult,
    ReviewError,
    SheetProblem,
    SheetRow,
    normalise_disposition,
    parse_amount,
    parse_day,
    read_review_file,
)


class Review(NamedTuple):
    key: str
    disposition: str
    note: str
    reviewer: str
    on: date


class ReviewerFeedback:
    """`Store.mark`, `Store.import_reviews` and `Store.record_outcome` (use ``self.casework``)."""

    casework: Casework

    def mark(self, key: str, disposition: str, note: str = "", reviewer: str = "", on: date | None = None) -> int:
        """Record a reviewer's disposition of one finding; returns the review id.

        The finding's amount_at_risk and evidence_json from its latest run are
        stored with the review (the baseline for the material-change test).
        """
        self._writable()
        key = normalise_key(key)
        try:
            value = normalise_disposition(disposition)
        except ReviewError as exc:
            raise StoreError(str(exc)) from None
        if value is None:
            raise StoreError(f"a disposition is required ({', '.join(DISPOSITIONS)})")
        if not (reviewer or "").strip():
            raise StoreError("a reviewer name is required")
        review = Review(key, value, (note or "").strip(), reviewer.strip(), on or date.today())
        try:
            with self.casework.write() as con:
                return self._add_review(con, review, "cli")
        except CaseworkError as exc:
            raise StoreError(str(exc)) from None

    def import_reviews(self, path: str | os.PathLike, reviewer: str, on: date | None = None) -> ImportResult:
        """Apply the dispositions of a reviewer's edited findings.csv / findings.xlsx.

        Blank dispositions are no decision. Rows naming an unknown key, an
        unknown disposition or a bad date are reported as 'file:line: problem';
        every other row is applied (in one transaction). A row repeating the
        finding's current disposition and note is counted as unchanged, so a
        file can be imported twice.
        """
        self._writable()
        path = Path(path)
        if not path.is_file():
            raise StoreError(f"{path}: file not found")
        default_reviewer = (reviewer or "").strip()
        if not default_reviewer:
            raise StoreError("a reviewer name is required")
        result = ImportResult()
        try:
            items = list(read_review_file(path))
        except ReviewError as exc:
            raise StoreError(str(exc)) from None
        items = _without_conflicts(items, result)
        with self.casework.write() as con:
            for item in items:
                self._import_item(con, item, default_reviewer, on, result)
        return result

    def record_outcome(self, key: str, recovered: Decimal | float | str, on: date | None = None,
                       note: str = "", recorded_by: str | None = None) -> int:
        """Record money recovered for a confirmed finding; returns the outcome id."""
        self._writable()
        key = normalise_key(key)
        try:
            amount = parse_amount(recovered, "--recovered")
        except ReviewError as exc:
            raise StoreError(str(exc)) from None
        if amount is None or amount < 0:
            raise StoreError(f"recovered amount '{recovered}': expected a number ≥ 0")
        current = self._current_review(key)
        if current is None:
            if self._finding_snapshot(key) is None:
                raise StoreError(f"unknown finding key '{key}' (no recorded run has it)")
            raise StoreError(f"finding {key} has not been reviewed; mark it confirmed before recording an outcome")
        if current["disposition"] != "confirmed":
            raise StoreError(f"finding {key} is {current['disposition']}, not confirmed; outcomes are recorded for confirmed findings")
        who = recorded_by or current_user()
        with self.casework.write() as con:
            return self.casework.record_outcome(con, key, amount, on or date.today(), (note or "").strip(), who,
                                                actor=who, via=f"cli ({current_user()})")

    # -- a sheet's rows -------------------------------------------------------------
    def _import_item(self, con: sqlite3.Connection, item: SheetRow | SheetProblem,
                     default_reviewer: str, on: date | None, result: ImportResult) -> None:
        """Apply one row of a reviewer's sheet, counting it in ``result``."""
        if isinstance(item, SheetProblem):
            result.errors.append(f"{item.where}: {item.problem}")
            return
        try:
            review = self._review_of_row(item.values, default_reviewer, on)
        except ReviewError as exc:
            result.errors.append(f"{item.where}: {exc}")
            return
        if review is None:
            result.blank += 1
            return
        current = self._current_review(review.key)
        if current and current["disposition"] == review.disposition and (current["note"] or "") == review.note:
            result.unchanged += 1
            return
        try:
            self._add_review(con, review, item.where)
        except CaseworkError as exc:
            result.errors.append(f"{item.where}: {exc}")
            return
        result.applied += 1

    def _review_of_row(self, values: dict, default_reviewer: str, on: date | None) -> Review | None:
        """The review a sheet row gives (None: no decision); ReviewError says what is wrong with it."""
        disposition = normalise_disposition(values.get("disposition"))
        if disposition is None:
            return None
        raw_key = values.get("finding_key")
        key = normalise_key(raw_key)
        if not key:
            raise ReviewError(f"disposition '{values.get('disposition')}' but no finding_key")
        if not is_key(key):
            raise ReviewError(f"'{raw_key}' is not a finding key (16 hex characters)")
        snap = self._finding_snapshot(key)
        if snap is None:
            raise ReviewError(f"unknown finding key '{key}'")
        rule = str(values.get("rule_id") or "").strip()
        if rule and rule != snap["rule_id"]:
            raise ReviewError(f"finding {key} belongs to rule {snap['rule_id']}, not {rule}")
        day = parse_day(values.get("date"), "review date") or on or date.today()
        note = str(values.get("note") or "").strip()
        who = str(values.get("reviewer") or "").strip() or default_reviewer
        return Review(key, disposition, note, who, day)

    # -- the finding and its reviews (casework database) ---------------------------------
    def _finding_snapshot(self, key: str) -> dict | None:
        """The clue's rule, last run, amount and evidence as its latest complete run had them."""
        return self.casework.clue_facts(key)

    def _current_review(self, key: str) -> dict | None:
        return self.casework.current_review(key)

    def _add_review(self, con: sqlite3.Connection, review: Review, source: str) -> int:
        return self.casework.record_review(
            con, review.key, review.disposition, review.note or "", review.reviewer, review.on, source,
            actor=review.reviewer, via=f"{'cli' if source == 'cli' else 'import'} ({current_user()})")


class ReviewDesk(ReviewerFeedback):
    """The `review` commands' feedback methods on the casework database alone: used while a run
    holds the findings store, so a reviewer never waits for it."""

    def __init__(self, casework: Casework):
        self.casework = casework
        self.path = casework.path

    def _writable(self) -> None:
        if self.casework.con is None:
            raise StoreError("casework database is closed")

    def close(self) -> None:
        self.casework.close()

    def __enter__(self) -> "ReviewDesk":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def finding(self, key: str) -> dict:
        key = normalise_key(key)
        clue = self.casework.clue_facts(key)
        if clue is None:
            raise StoreError(f"unknown finding key '{key}'")
        return {"key": clue, "reviews": self.casework.reviews_of(key), "outcomes": self.casework.outcomes_of(key)}


def _without_conflicts(items: list, result: ImportResult) -> list:
    """A finding may appear on several sheets (findings.xlsx lists it on the priority sheet and
    on its rule's sheet): the same decision twice is applied once; different decisions for one
    finding are an error naming every place, and none of them is applied."""
    decided: dict[str, list] = {}
    for item in items:
        if isinstance(item, SheetRow) and str(item.values.get("disposition") or "").strip():
            decided.setdefault(normalise_key(item.values.get("finding_key")), []).append(item)
    out, skip = [], set()
    for key, places in decided.items():
        if not key:
            continue
        seen = {(str(r.values.get("disposition")).strip(), str(r.values.get("note") or "").strip()) for r in places}
        if len(seen) > 1:
            skip.update(id(r) for r in places)
            result.errors.append(f"{places[0].where}: finding {key} has different dispositions or notes at "
                                 + ", ".join(r.where for r in places) + "; none applied: give it one decision")
        else:
            skip.update(id(r) for r in places[1:])
            result.unchanged += len(places) - 1
    for item in items:
        if id(item) not in skip:
            out.append(item)
    return out
