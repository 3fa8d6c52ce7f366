"""A run's life beside its steps: noted in the store's journal when it starts, recorded as
failed (with a notice to every alert channel) when it cannot finish, found by the next run
when its process ended without a word, and the scheduled nights missed since the last
complete run (crosscheck.pipeline.schedule). Starting a run never waits for the store.
"""
from __future__ import annotations

import logging
from datetime import date, datetime, timezone
from pathlib import Path

from crosscheck.config import ProjectConfig
from crosscheck.results import RunResult

log = logging.getLogger("crosscheck.pipeline.run")

#: Seconds a run stopped by a signal waits for the store to record itself as failed.
STOPPED_LOCK_TIMEOUT = 5


class RunFailed(Exception):
    """The run started but could not finish (disk full, memory, an unexpected error). It is
    recorded in the findings store as failed and a notice went to the alert channels;
    the message is one line naming the cause and the path."""

    def __init__(self, message: str, result: RunResult):
        super().__init__(message)
        self.result = result


class RunLife:
    def __init__(self, config: ProjectConfig, store: Path, result: RunResult, alerts: list[str]):
        self.config, self.store, self.result, self.alerts = config, Path(store), result, list(alerts)
        self.journal = None               # crosscheck.store.journal.RunJournal while the run is noted there
        self.abandoned: list[RunResult] = []  # earlier runs found ended without finishing (recorded failed)

    def begin(self) -> None:
        from crosscheck.store.journal import RunJournal

        r = self.result
        self.journal = RunJournal(self.store)
        self.abandoned = self._record_abandoned(self.journal.ended())
        self.journal.start({"run_id": r.run_id, "as_of": r.as_of.isoformat(), "extracts_root": r.extracts_root,
                            "out_dir": r.out_dir, "started_at": r.started_at.isoformat(), "started_by": r.started_by,
                            "scope": r.scope, "request": r.request})
        r.missed_schedules = self._missed_schedules()
        log.info("run %s started: %s run of %s, as-of %s, by %s", r.run_id, r.scope, r.extracts_root, r.as_of,
                 r.started_by)

    def end(self) -> None:
        """The run is recorded (or asked nothing of the store): no longer in the journal."""
        if self.journal is not None:
            self.journal.end(self.result.run_id)
        r = self.result
        if r.finished_at is not None and not r.error:
            log.info("run %s finished: %d rule(s), %d finding(s) listed, reports in %s", r.run_id, len(r.rules),
                     r.findings.num_rows if r.findings is not None else 0, r.out_dir)

    def fail(self, exc: BaseException) -> BaseException:
        """Record the run as failed (store, else journal) and send the failure notice; returns
        what to raise: RunFailed, or a StoreBusy as it is (nothing could be recorded)."""
        from crosscheck.errors import describe
        from crosscheck.privacy.masking import mask_ids_in_text
        from crosscheck.lifetime import stop_signal_of
        from crosscheck.store import Store, StoreBusy

        result = self.result
        result.error = mask_ids_in_text(describe(exc, memory_limit=self.config.duckdb_memory_limit))
        result.finished_at = datetime.now(timezone.utc)
        message = f"run {result.run_id} failed: {result.error}"
        if self.journal is not None:
            self.journal.note_error(result.run_id, result.error)  # the next run records it if we cannot
            if not isinstance(exc, StoreBusy):
                wait = self.config.store_lock_timeout
                if stop_signal_of(exc):  # asked to stop: no long wait (the journal keeps it for the next run)
                    wait = min(wait, STOPPED_LOCK_TIMEOUT)
                try:
                    with Store.open(self.store, lock_timeout=wait) as store:
                        store.record_failed(result)
                    self.end()
                except BaseException as store_exc:  # noqa: BLE001 - said; the journal keeps the run
                    message += f"; not recorded in the store {self.store}: {describe(store_exc)}"
        log.error("%s", message)
        self._send_failure_notices([result])
        return exc if isinstance(exc, StoreBusy) else RunFailed(message, result)

    def _record_abandoned(self, entries: list[dict]) -> list[RunResult]:
        """Runs whose process ended without recording them: recorded as failed, notice sent."""
        if not entries:
            return []
        from crosscheck.store import Store
        from crosscheck.store.journal import ENDED

        failed = [RunResult(run_id=e["run_id"], as_of=date.fromisoformat(e["as_of"]),
                            extracts_root=e.get("extracts_root", ""), out_dir=e.get("out_dir", ""),
                            started_at=datetime.fromisoformat(e["started_at"]), started_by=e.get("started_by", ""),
                            scope=e.get("scope", "subset"), request=e.get("request") or {},
                            error=e.get("error") or ENDED)
                  for e in entries]
        with Store.open(self.store, lock_timeout=self.config.store_lock_timeout) as store:
            for run in failed:
                store.record_failed(run)
                self.journal.end(run.run_id)
        self._send_failure_notices(failed)
        return failed

    def _send_failure_notices(self, runs: list[RunResult]) -> None:
        from crosscheck.reports.alerts import send_failure_notices

        for run in runs:
            self.result.alerts += send_failure_notices(run, self.config.alerts, self.alerts)

    def _missed_schedules(self) -> list[str]:
        from crosscheck.pipeline.schedule import missed_since
        from crosscheck.store import Store, StoreError

        if not self.store.exists():
            return []
        try:
            with Store.open(self.store, lock_timeout=self.config.store_lock_timeout, read_only=True) as store:
                last = store.last_complete_run()
        except StoreError:
            return []
        if last is None:
            return []
        finished = last["finished_at"].replace(tzinfo=timezone.utc)
        return missed_since(self.config.nightly_cron, self.config.timezone, finished, self.result.started_at)
