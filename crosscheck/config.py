"""Project settings: where connectors, rules and reports live, engine limits, alerts, the workbench.

Read from `crosscheck.toml` in the project folder when present; every value has a default
so a fresh clone runs with no configuration at all. The file is checked against the models
below (pydantic) before anything runs: an unknown key or a value of the wrong type is a
`SettingsError` naming the file, the key, the value and its line.
"""
from __future__ import annotations

import os
import re
import tomllib
from dataclasses import field, fields
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo

from pydantic import ConfigDict, Field, StrictBool, StrictInt, ValidationError, field_validator
from pydantic.dataclasses import dataclass

from crosscheck.errors import CrosscheckError, did_you_mean

CONFIG_FILE = "crosscheck.toml"
SEVERITIES = ("high", "medium", "low")  # most severe first
Severity = Literal["high", "medium", "low"]
_CHECKED = ConfigDict(extra="forbid", arbitrary_types_allowed=True)

_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([KMGT]?)i?B?\s*$", re.I)
_UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}


class SettingsError(CrosscheckError, ValueError):
    """A setting of crosscheck.toml (or an option) that cannot be used: names the key, the value and the line."""


def parse_size(value: str, where: str) -> int:
    """'20GB', '512MB', '1.5G' -> bytes; SettingsError naming `where`."""
    m = _SIZE.match(str(value))
    if not m:
        raise SettingsError(f"{where} '{value}': expected a size such as 20GB or 512MB")
    return int(float(m.group(1)) * _UNITS[m.group(2).upper()])


def check_memory_limit(value: str, where: str) -> str:
    """``value`` if DuckDB takes it as a memory limit (``4GB``, ``512MB``, ``80%``), else a
    SettingsError naming ``where``."""
    problem = _memory_limit_problem(str(value))
    if problem:
        raise SettingsError(f"{where} '{value}': not a memory size such as 4GB or 512MB ({problem})")
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


@dataclass(frozen=True, config=_CHECKED)
class AlertChannel:
    """One place alerts go: an Apprise URL, with the findings routed to it."""

    url: str = Field(min_length=1)        # Apprise URL (may carry a secret; never printed in full)
    name: str = ""                        # label shown in summaries instead of the URL
    domains: tuple[str, ...] = ()         # rule domains (folders under rules/); empty: every domain
    rules: tuple[str, ...] = ()           # rule ids; empty: every rule (of those domains)
    min_severity: Severity | None = None  # None: the [alerts] min_severity
    reminders: StrictBool = True          # also send the overdue reminder digest


@dataclass(frozen=True, config=_CHECKED)
class AlertsConfig:
    """The `[alerts]` table of crosscheck.toml (see docs/alerts.md)."""

    min_severity: Severity = "high"       # new findings at or above this severity are alerted
    overdue_days: StrictInt = Field(default=14, ge=1)  # days without a reviewer disposition before a reminder
    retries: StrictInt = Field(default=2, ge=0)        # extra tries per channel after a failed send
    retry_wait: float = Field(default=2.0, ge=0)       # seconds before the first retry; doubles each time
    examples: StrictInt = Field(default=3, ge=0)       # masked example findings per rule in a digest (0: none)
    report_url: str = ""                  # where reports_dir is published (http/https); empty: local path
    channels: tuple[AlertChannel, ...] = ()

    @field_validator("report_url")
    @classmethod
    def _published_folder(cls, value: str) -> str:
        if value and not re.fullmatch(r"https?://[^\s/?#]+(/[^\s?#]*)?", value):
            raise ValueError("expected an http:// or https:// address of the published reports folder, with no query")
        return value

    @classmethod
    def from_toml(cls, raw: dict, where: str = CONFIG_FILE) -> "AlertsConfig":
        """The `[alerts]` table (a channel's `url_env` names the environment variable holding its URL)."""
        return _build(cls, _with_channel_urls(raw, where), where, ("alerts",), {})


@dataclass(frozen=True, config=_CHECKED)
class WorkbenchConfig:
    """The `[workbench]` table of crosscheck.toml (see docs/workbench.md)."""

    warn_days: StrictInt = Field(default=3, ge=0)            # a deadline this many days away or less is yellow (三色预警)
    max_deadline_days: StrictInt = Field(default=180, ge=1)  # a deadline (核查期限, 转办期限) is set at most this many days ahead
    notify_seconds: StrictInt = Field(default=300, ge=0)     # the server sends the reminders to people this often (0: never)
    tuning_window: StrictInt = Field(default=20, ge=1)       # a model's last N answered clues ...
    tuning_below: float = Field(default=0.10, ge=0, le=1)    # ... confirmed under this rate: flagged as needing tuning
    session_seconds: StrictInt = Field(default=8 * 3600, ge=1)  # a login lasts this long
    secure_cookies: StrictBool = False  # true behind an HTTPS reverse proxy: the session cookie is Secure
    host: str = Field(default="127.0.0.1", min_length=1)     # `crosscheck workbench` binds here unless --host says otherwise
    port: StrictInt = Field(default=8765, ge=1, le=65535)

    @classmethod
    def from_toml(cls, raw: dict, where: str = CONFIG_FILE) -> "WorkbenchConfig":
        return _build(cls, raw, where, ("workbench",), {})


def default_project_dir() -> Path:
    """The folder holding connectors/ and rules/: the working directory if it
    has them, else the checkout this package was installed from."""
    cwd = Path.cwd()
    if (cwd / "connectors").is_dir() and (cwd / "rules").is_dir():
        return cwd
    return Path(__file__).resolve().parents[1]


#: [crosscheck] keys that name a folder or file, relative to crosscheck.toml, and their defaults.
PATHS = {"connectors_dir": "connectors", "rules_dir": "rules", "reports_dir": "reports",
         "deliveries_dir": "sample_data/deliveries", "cache_dir": ".crosscheck-cache", "store": "crosscheck.duckdb",
         "spark_work_dir": "", "log_file": ""}


@dataclass(frozen=True, config=_CHECKED)
class ProjectConfig:
    project_dir: Path
    connectors_dir: Path
    rules_dir: Path
    reports_dir: Path
    deliveries_dir: Path          # one folder per delivery; the nightly run takes the newest
    store: Path                   # the findings history (DuckDB file)
    store_lock_timeout: StrictInt = Field(default=600, ge=0)   # seconds a run waits for another run to release the store
    load_retries: StrictInt = Field(default=2, ge=0)           # more tries of a source folder that cannot be listed
    load_retry_wait: float = Field(default=2.0, ge=0)          # seconds before the first retry; four times longer each time
    duckdb_memory_limit: str = "4GB"
    duckdb_threads: StrictInt = Field(default=0, ge=0)         # 0: DuckDB's default (all cores)
    cache_dir: Path | None = None # canonical cache: loaded deliveries by file hashes (crosscheck.cache)
    canonical_cache: StrictBool = True  # false: always parse the raw files
    cache_max_size: str = "50GB"  # beyond it the least recently used deliveries and parsed files go (crosscheck.cache.housekeeping)
    nightly_cron: str = "0 2 * * *"
    timezone: str = "Asia/Shanghai"
    engine: str = "duckdb"        # where rules run: duckdb (one machine) or spark (see README "Running on Spark")
    spark_master: str = "local[*]"  # spark.master: local[*], spark://host:7077, yarn, k8s://...
    spark_remote: str = ""        # Spark Connect URL (sc://host:15002); set: used instead of spark_master
    spark_work_dir: Path | None = None  # Parquet hand-over folder; on a cluster, shared storage at the same path everywhere
    spark_conf: dict[str, Any] = field(default_factory=dict)  # extra Spark settings ([crosscheck.spark_conf] table)
    log_file: Path | None = None  # events of runs, the serve loop and the workbench, one a line (crosscheck.service.logfile)
    log_json: bool = False        # those lines as JSON objects
    alerts: AlertsConfig = field(default_factory=AlertsConfig)  # the [alerts] table
    workbench: WorkbenchConfig = field(default_factory=WorkbenchConfig)  # the [workbench] table

    @field_validator("duckdb_memory_limit")
    @classmethod
    def _memory_limit(cls, value: str) -> str:
        problem = _memory_limit_problem(str(value))
        if problem:
            raise ValueError(f"not a memory size such as 4GB or 512MB ({problem})")
        return value

    @field_validator("cache_max_size")
    @classmethod
    def _cache_size(cls, value: str) -> str:
        if not _SIZE.match(str(value)):
            raise ValueError("expected a size such as 20GB or 512MB")
        return value

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError("not a time zone such as Asia/Shanghai") from None
        return value

    def today(self) -> date:
        """Today in the project's `timezone` (not the machine's): what "today" means everywhere."""
        return datetime.now(ZoneInfo(self.timezone)).date()

    @classmethod
    def load(cls, project_dir: Path | None = None) -> "ProjectConfig":
        """The project's settings (crosscheck.toml beside connectors/ and rules/; environment
        CROSSCHECK_PROJECT, CROSSCHECK_CACHE_DIR and CROSSCHECK_STORE override)."""
        root = Path(project_dir or os.environ.get("CROSSCHECK_PROJECT") or default_project_dir()).resolve()
        path = root / CONFIG_FILE
        data: dict = {}
        lines: dict[tuple, int] = {}
        if path.is_file():
            text = path.read_text(encoding="utf-8")
            try:
                data = tomllib.loads(text)
            except tomllib.TOMLDecodeError as exc:
                raise SettingsError(f"{path}: not valid TOML: {exc}") from None
            lines = toml_lines(text)
        unknown_tables = sorted(set(data) - {"crosscheck", "alerts", "workbench"})
        if unknown_tables:
            t = unknown_tables[0]
            raise SettingsError(f"{path}: unknown table [{t}] (line {lines.get((t,), '?')})"
                                f"{did_you_mean(t, ['crosscheck', 'alerts', 'workbench'])}")
        raw = dict(data.get("crosscheck", {}))
        env = {"cache_dir": os.environ.get("CROSSCHECK_CACHE_DIR"), "store": os.environ.get("CROSSCHECK_STORE"),
               "log_file": os.environ.get("CROSSCHECK_LOG_FILE")}
        values: dict[str, Any] = {"project_dir": root}
        for key, default in PATHS.items():
            given = raw.pop(key, None)
            if env.get(key):
                values[key] = Path(env[key]).resolve()
            elif given is not None and not isinstance(given, str):
                raise SettingsError(f"{path}: {key} {given!r}: expected a path in quotes (line {lines.get(('crosscheck', key), '?')})")
            elif key in ("spark_work_dir", "log_file"):  # optional: none unless given
                values[key] = (root / given).resolve() if given else None
            else:
                values[key] = (root / (given or default)).resolve()
        values.update(raw)
        values["alerts"] = _build(AlertsConfig, _with_channel_urls(data.get("alerts", {}), str(path)), str(path), ("alerts",), lines)
        values["workbench"] = _build(WorkbenchConfig, data.get("workbench", {}), str(path), ("workbench",), lines)
        return _build(cls, values, str(path), ("crosscheck",), lines)


def _with_channel_urls(raw: Any, where: str) -> Any:
    """`url_env` of each [[alerts.channels]] replaced by the URL its environment variable holds."""
    if not isinstance(raw, dict):
        raise SettingsError(f"{where}: [alerts] must be a table")
    channels = []
    for i, ch in enumerate(raw.get("channels", []) or [], 1):
        if isinstance(ch, dict) and ch.get("url_env"):   # keep the secret out of the file
            ch = dict(ch)
            name = str(ch.pop("url_env"))
            ch["url"] = os.environ.get(name, "")
            if not ch["url"]:
                raise SettingsError(f"{where}: [[alerts.channels]] #{i}: environment variable {name} (url_env) is not set")
        channels.append(ch)
    return {**raw, "channels": channels} if "channels" in raw else raw


def _build(model, values: Any, where: str, table: tuple, lines: dict[tuple, int]):
    """`model(**values)`, or a SettingsError naming the first problem's key, value and line."""
    if not isinstance(values, dict):
        raise SettingsError(f"{where}: [{'.'.join(table)}] must be a table")
    try:
        return model(**values)
    except ValidationError as exc:
        raise SettingsError(_explain(exc.errors()[0], values, where, table, lines, model)) from None
    except TypeError as exc:  # an unexpected keyword (an unknown key) on the dataclass
        raise SettingsError(f"{where}: [{'.'.join(table)}] {exc}") from None


def _explain(error: dict, values: dict, where: str, table: tuple, lines: dict[tuple, int], model) -> str:
    loc = tuple(error["loc"])
    head = [p for p in loc if isinstance(p, str)]
    key = head[0] if head else ""
    if table == ("alerts",) and loc[:1] == ("channels",) and len(loc) > 1 and isinstance(loc[1], int):
        at, line = f"[[alerts.channels]] #{loc[1] + 1} ", lines.get(("alerts.channels", loc[1], str(loc[2]) if len(loc) > 2 else ""))
        key = ".".join(str(p) for p in loc[2:]) or key
    else:
        at = "" if table == ("crosscheck",) else f"[{'.'.join(table)}] "
        line = lines.get((table[0], key))
    where_line = f" (line {line})" if line else ""
    if error["type"] in ("unexpected_keyword_argument", "extra_forbidden"):
        known = [f.name for f in fields(model)]
        return f"{where}: {at}unknown setting '{key}'{where_line}{did_you_mean(key, known)}"
    if error["type"] == "missing":
        return f"{where}: {at}{key} is required{where_line}"
    value = error.get("input")
    message = str(error["msg"]).removeprefix("Value error, ")
    shown = f" {value!r}" if not isinstance(value, str) else f" '{value}'"
    return f"{where}: {at}{key}{shown}: {message}{where_line}"


_TABLE = re.compile(r"^\s*(\[\[?)\s*([A-Za-z0-9_.\-]+)\s*\]\]?")
_KEY = re.compile(r"^\s*([A-Za-z0-9_\-]+)\s*=")


def toml_lines(text: str) -> dict[tuple, int]:
    """(table, key) -> line of each key of a TOML file (array tables: (name, index, key));
    (table,) -> the line of a table's header."""
    out: dict[tuple, int] = {}
    table: tuple = ("",)
    counts: dict[str, int] = {}
    for n, line in enumerate(text.splitlines(), 1):
        if (m := _TABLE.match(line)) and not _KEY.match(line):
            name = m.group(2)
            if m.group(1) == "[[":
                counts[name] = counts.get(name, -1) + 1
                table = (name, counts[name])
            else:
                table = (name,)
            out.setdefault((name,), n)
        elif m := _KEY.match(line):
            out.setdefault((*table, m.group(1)), n)
    return out
