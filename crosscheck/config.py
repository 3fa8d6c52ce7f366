"""Project settings: where connectors, rules and reports live, engine limits.

Read from `crosscheck.toml` in the project folder when present; every value
has a default so a fresh clone runs with no configuration at all.
"""
from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field, fields
from functools import lru_cache
from pathlib import Path

CONFIG_FILE = "crosscheck.toml"
SEVERITIES = ("high", "medium", "low")  # most severe first


@dataclass(frozen=True)
class AlertChannel:
    """One place alerts go: an Apprise URL, with the findings routed to it."""

    url: str                              # Apprise URL (may carry a secret; never printed in full)
    name: str = ""                        # label shown in summaries instead of the URL
    domains: tuple[str, ...] = ()         # rule domains (folders under rules/); empty: every domain
    rules: tuple[str, ...] = ()           # rule ids; empty: every rule (of those domains)
    min_severity: str | None = None       # None: the [alerts] min_severity
    reminders: bool = True                # also send the overdue reminder digest


@dataclass(frozen=True)
class AlertsConfig:
    """The `[alerts]` table of crosscheck.toml (see docs/alerts.md)."""

    min_severity: str = "high"            # new findings at or above this severity are alerted
    overdue_days: int = 14                # days without a reviewer disposition before a reminder
    retries: int = 2                      # extra tries per channel after a failed send
    retry_wait: float = 2.0               # seconds before the first retry; doubles each time
    examples: int = 3                     # masked example findings per rule in a digest (0: none)
    report_url: str = ""                  # where reports_dir is published (http/https); empty: local path
    channels: tuple[AlertChannel, ...] = ()

    @classmethod
    def from_toml(cls, raw: dict, where: str = CONFIG_FILE) -> "AlertsConfig":
        if not isinstance(raw, dict):
            raise ValueError(f"{where}: [alerts] must be a table")
        scalars = {f.name for f in fields(cls)} - {"channels"}
        unknown = sorted(set(raw) - scalars - {"channels"})
        if unknown:
            raise ValueError(f"{where}: unknown [alerts] setting(s): {', '.join(unknown)}")
        values = {k: raw[k] for k in scalars if k in raw}
        channels = []
        for i, ch in enumerate(raw.get("channels", []) or [], 1):
            at = f"{where}: [[alerts.channels]] #{i}"
            if not isinstance(ch, dict):
                raise ValueError(f"{at}: must be a table")
            allowed = {f.name for f in fields(AlertChannel)} | {"url_env"}
            bad = sorted(set(ch) - allowed)
            if bad:
                raise ValueError(f"{at}: unknown setting(s): {', '.join(bad)}")
            url = ch.get("url") or ""
            if ch.get("url_env"):  # keep the secret out of the file
                url = os.environ.get(str(ch["url_env"]), "")
                if not url:
                    raise ValueError(f"{at}: environment variable {ch['url_env']} (url_env) is not set")
            if not isinstance(url, str) or not url.strip():
                raise ValueError(f"{at}: url (or url_env) is required")
            for key in ("domains", "rules"):
                if not isinstance(ch.get(key, []), list):
                    raise ValueError(f"{at}: {key} must be a list")
            channels.append(AlertChannel(
                url=url.strip(), name=str(ch.get("name", "")),
                domains=tuple(str(d) for d in ch.get("domains", [])),
                rules=tuple(str(r) for r in ch.get("rules", [])),
                min_severity=ch.get("min_severity"), reminders=bool(ch.get("reminders", True)),
            ))
        out = cls(**values, channels=tuple(channels))
        out.check(where)
        return out

    def check(self, where: str = CONFIG_FILE) -> None:
        for sev in [self.min_severity, *(c.min_severity for c in self.channels if c.min_severity is not None)]:
            if sev not in SEVERITIES:
                raise ValueError(f"{where}: [alerts] min_severity '{sev}': expected one of {', '.join(SEVERITIES)}")
        if not isinstance(self.overdue_days, int) or self.overdue_days < 1:
            raise ValueError(f"{where}: [alerts] overdue_days '{self.overdue_days}': expected a whole number of days ≥ 1")
        if not isinstance(self.retries, int) or self.retries < 0:
            raise ValueError(f"{where}: [alerts] retries '{self.retries}': expected a whole number ≥ 0")
        if not isinstance(self.retry_wait, (int, float)) or self.retry_wait < 0:
            raise ValueError(f"{where}: [alerts] retry_wait '{self.retry_wait}': expected seconds ≥ 0")
        if not isinstance(self.examples, int) or self.examples < 0:
            raise ValueError(f"{where}: [alerts] examples '{self.examples}': expected a whole number ≥ 0")
        if not isinstance(self.report_url, str) or (
                self.report_url and not re.fullmatch(r"https?://[^\s/?#]+(/[^\s?#]*)?", self.report_url)):
            raise ValueError(f"{where}: [alerts] report_url '{self.report_url}': expected an http:// or https:// "
                             "address of the published reports folder, with no query")


@dataclass(frozen=True)
class WorkbenchConfig:
    """The `[workbench]` table of crosscheck.toml (see docs/workbench.md)."""

    warn_days: int = 3                 # a deadline this many days away or less is yellow (三色预警)
    tuning_window: int = 20            # a model's last N answered clues ...
    tuning_below: float = 0.10         # ... confirmed under this rate: flagged as needing tuning
    session_seconds: int = 8 * 3600    # a login lasts this long
    secure_cookies: bool = False       # true behind an HTTPS reverse proxy: the session cookie is Secure
    host: str = "127.0.0.1"            # `crosscheck workbench` binds here unless --host says otherwise
    port: int = 8765

    @classmethod
    def from_toml(cls, raw: dict, where: str = CONFIG_FILE) -> "WorkbenchConfig":
        if not isinstance(raw, dict):
            raise ValueError(f"{where}: [workbench] must be a table")
        known = {f.name: f for f in fields(cls)}
        unknown = sorted(set(raw) - set(known))
        if unknown:
            raise ValueError(f"{where}: unknown [workbench] setting(s): {', '.join(unknown)}")
        out = cls(**raw)
        out.check(where)
        return out

    def check(self, where: str = CONFIG_FILE) -> None:
        def whole(name: str, low: int) -> None:
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < low:
                raise ValueError(f"{where}: [workbench] {name} '{value}': expected a whole number ≥ {low}")

        for name, low in (("warn_days", 0), ("tuning_window", 1), ("session_seconds", 1), ("port", 1)):
            whole(name, low)
        if not isinstance(self.tuning_below, (int, float)) or isinstance(self.tuning_below, bool) \
                or not 0 <= self.tuning_below <= 1:
            raise ValueError(f"{where}: [workbench] tuning_below '{self.tuning_below}': expected a rate from 0 to 1")
        if not isinstance(self.secure_cookies, bool):
            raise ValueError(f"{where}: [workbench] secure_cookies '{self.secure_cookies}': expected true or false")
        if not isinstance(self.host, str) or not self.host.strip():
            raise ValueError(f"{where}: [workbench] host '{self.host}': expected an address such as 127.0.0.1")


def check_memory_limit(value: str, where: str) -> str:
    """``value`` if DuckDB takes it as a memory limit (``4GB``, ``512MB``, ``80%``), else a
    ValueError naming ``where``."""
    problem = _memory_limit_problem(str(value))
    if problem:
        raise ValueError(f"{where} '{value}': not a memory size such as 4GB or 512MB ({problem})")
    return str(value)


@lru_cache(maxsize=8)
def _memory_limit_problem(value: str) -> str:
    """DuckDB's own objection to ``value`` as a memory limit ("" if none); asked once per
    value and process (a connection costs tens of milliseconds, and the project file is
    read by every run)."""
    import duckdb

    try:
        duckdb.connect(":memory:", config={"memory_limit": value}).close()
    except duckdb.Error as exc:
        return str(exc)
    return ""


def default_project_dir() -> Path:
    """The folder holding connectors/ and rules/: the working directory if it
    has them, else the checkout this package was installed from."""
    cwd = Path.cwd()
    if (cwd / "connectors").is_dir() and (cwd / "rules").is_dir():
        return cwd
    return Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class ProjectConfig:
    project_dir: Path
    connectors_dir: Path
    rules_dir: Path
    reports_dir: Path
    deliveries_dir: Path          # one folder per delivery; the nightly run takes the newest
    store: Path                   # the findings history (DuckDB file)
    store_lock_timeout: int = 600 # seconds a run waits for another run to release the store
    load_retries: int = 2         # more tries of a source folder that cannot be listed (a share that hiccups)
    load_retry_wait: float = 2.0  # seconds before the first retry; four times longer each time
    duckdb_memory_limit: str = "4GB"
    duckdb_threads: int = 0       # 0: DuckDB's default (all cores)
    cache_dir: Path | None = None # canonical cache: loaded deliveries by file hashes (crosscheck.cache.canonical)
    canonical_cache: bool = True  # false: always parse the raw files
    cache_max_size: str = "50GB"  # beyond it the least recently used deliveries and parsed files go (crosscheck.cache.housekeeping)
    nightly_cron: str = "0 2 * * *"
    timezone: str = "Asia/Shanghai"
    engine: str = "duckdb"        # where rules run: duckdb (one machine) or spark (see README "Running on Spark")
    spark_master: str = "local[*]"  # spark.master: local[*], spark://host:7077, yarn, k8s://...
    spark_remote: str = ""        # Spark Connect URL (sc://host:15002); set: used instead of spark_master
    spark_work_dir: Path | None = None  # Parquet hand-over folder; on a cluster, shared storage at the same path everywhere
    spark_conf: dict = field(default_factory=dict)  # extra Spark settings ([crosscheck.spark_conf] table)
    log_file: Path | None = None  # events of runs, the serve loop and the workbench, one a line (crosscheck.service.logfile)
    log_json: bool = False        # those lines as JSON objects
    extra: dict = field(default_factory=dict)
    alerts: AlertsConfig = field(default_factory=AlertsConfig)  # the [alerts] table
    workbench: WorkbenchConfig = field(default_factory=WorkbenchConfig)  # the [workbench] table

    def casework_settings(self):
        """What the casework database needs of this project (crosscheck.casework.Settings)."""
        from crosscheck.casework.db import Settings

        w = self.workbench
        return Settings(timezone=self.timezone, warn_days=w.warn_days, tuning_window=w.tuning_window,
                        tuning_below=float(w.tuning_below))

    @classmethod
    def load(cls, project_dir: Path | None = None) -> "ProjectConfig":
        root = Path(project_dir or os.environ.get("CROSSCHECK_PROJECT") or default_project_dir()).resolve()
        raw: dict = {}
        alerts_raw: dict = {}
        workbench_raw: dict = {}
        path = root / CONFIG_FILE
        if path.is_file():
            with path.open("rb") as fh:
                data = tomllib.load(fh)
            raw = data.get("crosscheck", {})
            alerts_raw = data.get("alerts", {})
            workbench_raw = data.get("workbench", {})
        known = {f.name for f in fields(cls)} - {"alerts", "workbench"}
        unknown = sorted(set(raw) - known)
        if unknown:
            raise ValueError(f"{path}: unknown setting(s): {', '.join(unknown)}")

        def folder(key: str, default: str) -> Path:
            return (root / raw.get(key, default)).resolve()

        scalars = {k: v for k, v in raw.items() if not k.endswith("_dir") and k not in ("store", "log_file")}
        if not isinstance(scalars.get("log_json", False), bool):
            raise ValueError(f"{path}: log_json '{scalars['log_json']}': expected true or false")
        if "cache_max_size" in scalars:
            from crosscheck.cache.housekeeping import parse_size

            parse_size(scalars["cache_max_size"], f"{path}: cache_max_size")
        if "duckdb_memory_limit" in scalars:
            check_memory_limit(scalars["duckdb_memory_limit"], f"{path}: duckdb_memory_limit")
        return cls(
            project_dir=root,
            connectors_dir=folder("connectors_dir", "connectors"),
            rules_dir=folder("rules_dir", "rules"),
            reports_dir=folder("reports_dir", "reports"),
            deliveries_dir=folder("deliveries_dir", "sample_data/deliveries"),
            cache_dir=Path(os.environ["CROSSCHECK_CACHE_DIR"]).resolve() if os.environ.get("CROSSCHECK_CACHE_DIR") else folder("cache_dir", ".crosscheck-cache"),
            store=Path(os.environ["CROSSCHECK_STORE"]).resolve() if os.environ.get("CROSSCHECK_STORE") else folder("store", "crosscheck.duckdb"),
            spark_work_dir=folder("spark_work_dir", "") if raw.get("spark_work_dir") else None,
            log_file=Path(os.environ["CROSSCHECK_LOG_FILE"]).resolve() if os.environ.get("CROSSCHECK_LOG_FILE")
            else folder("log_file", "") if raw.get("log_file") else None,
            alerts=AlertsConfig.from_toml(alerts_raw, str(path)),
            workbench=WorkbenchConfig.from_toml(workbench_raw, str(path)),
            **scalars,
        )
