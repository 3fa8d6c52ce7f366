"""Project settings: where connectors, rules and reports live, engine limits.

Read from `crosscheck.toml` in the project folder when present; every value
has a default so a fresh clone runs with no configuration at all.
"""
from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path

CONFIG_FILE = "crosscheck.toml"


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
    duckdb_memory_limit: str = "4GB"
    duckdb_threads: int = 0       # 0: DuckDB's default (all cores)
    nightly_cron: str = "0 2 * * *"
    timezone: str = "Asia/Shanghai"
    extra: dict = field(default_factory=dict)

    @classmethod
    def load(cls, project_dir: Path | None = None) -> "ProjectConfig":
        root = Path(project_dir or os.environ.get("CROSSCHECK_PROJECT") or default_project_dir()).resolve()
        raw: dict = {}
        path = root / CONFIG_FILE
        if path.is_file():
            with path.open("rb") as fh:
                raw = tomllib.load(fh).get("crosscheck", {})
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(raw) - known)
        if unknown:
            raise ValueError(f"{path}: unknown setting(s): {', '.join(unknown)}")

        def folder(key: str, default: str) -> Path:
            return (root / raw.get(key, default)).resolve()

        scalars = {k: v for k, v in raw.items() if not k.endswith("_dir") and k != "store"}
        return cls(
            project_dir=root,
            connectors_dir=folder("connectors_dir", "connectors"),
            rules_dir=folder("rules_dir", "rules"),
            reports_dir=folder("reports_dir", "reports"),
            deliveries_dir=folder("deliveries_dir", "sample_data/deliveries"),
            store=Path(os.environ["CROSSCHECK_STORE"]).resolve() if os.environ.get("CROSSCHECK_STORE") else folder("store", "crosscheck.duckdb"),
            **scalars,
        )
