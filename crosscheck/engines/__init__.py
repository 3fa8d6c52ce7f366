"""Where rule queries run: one Engine per run, chosen here and nowhere else.

The rule runner calls an engine (`run(tree, bound)`) and never asks which one it is;
each engine asks crosscheck.engines.dialect for the SQL text of the parsed tree and binds the
parameters its own way. Two implementations, as Splink has one database API per
backend: `DuckDBEngine` (crosscheck.engines.base) and `SparkEngine`
(crosscheck.engines.spark, the only module that imports pyspark).
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from crosscheck.engines.base import DuckDBEngine, Engine, as_engine

if TYPE_CHECKING:
    from crosscheck.config import ProjectConfig

__all__ = ["NAMES", "DuckDBEngine", "Engine", "as_engine", "engine_class", "open_engine", "unavailable_reason"]

NAMES = ("duckdb", "spark")


def engine_class(name: str) -> type[Engine]:
    """The engine called `name`; ValueError naming the engines there are."""
    if name == "duckdb":
        return DuckDBEngine
    if name == "spark":
        from crosscheck.engines.spark import SparkEngine

        return SparkEngine
    raise ValueError(f"engine '{name}': expected one of {', '.join(NAMES)}")


def unavailable_reason(name: str, config: "ProjectConfig") -> str | None:
    """Why the engine `name` cannot run here (None: it can)."""
    if name == "spark":
        from crosscheck.engines.spark import unavailable_reason as spark_reason

        return spark_reason(config)
    engine_class(name)
    return None


def open_engine(name: str, config: "ProjectConfig", con, run_id: str) -> Engine:
    """The engine a run's rules run on: the run's DuckDB itself, or a Spark session of its own."""
    if name == "duckdb":
        return DuckDBEngine(con)
    return engine_class(name).start(config, run_id)
