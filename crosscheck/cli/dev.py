"""Developers' commands: the synthetic city and the linkage evaluation (devtools/, outside the runtime package)."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from crosscheck.cli.common import fail, parse_date


def sample(
    out: Path = typer.Option(..., "--out", help="Folder to write the delivery into."),
    people: int = typer.Option(20_000, "--people", min=100, help="Residents in the synthetic city."),
    seed: int = typer.Option(7, "--seed", help="Random seed; same seed, same files."),
    as_of: str = typer.Option("2026-11-01", "--as-of", help="The delivery's as-of date (YYYY-MM-DD)."),
    scale: Optional[bool] = typer.Option(None, "--scale/--no-scale", help="City-scale generator (DuckDB SQL, UTF-8 CSV + parquet taps); default: on above 2,000,000 people."),
    domains: bool = typer.Option(True, "--domains/--core-only", help="Also the domain sources (civil_affairs, finance, vehicle_registry, market_regulation, village_cadres, agriculture, hospital exams) with their planted cases."),
    memory_limit: str = typer.Option("8GB", "--memory-limit", help="City-scale generator: DuckDB's memory limit (e.g. 2GB); beyond it DuckDB spills to a temp folder."),
) -> None:
    """Write a deterministic synthetic city as raw extracts, with its ground truth in _truth/."""
    from devtools.sample import generate_city
    from devtools.sample.scale import AUTO_SCALE_ABOVE, generate_scale_city

    if scale or (scale is None and people > AUTO_SCALE_ABOVE):
        from crosscheck.config import check_memory_limit

        try:
            check_memory_limit(memory_limit, "--memory-limit")
        except ValueError as exc:
            fail(str(exc))
        summary = generate_scale_city(out, people=people, seed=seed, as_of=parse_date(as_of, "--as-of"),
                                      memory_limit=memory_limit)
    else:
        summary = generate_city(out, people=people, seed=seed, as_of=parse_date(as_of, "--as-of"), domains=domains)
    typer.echo(f"sample city of {people:,} people written to {out}")
    if isinstance(summary, dict) and summary.get("planted"):
        typer.echo("planted: " + ", ".join(f"{k} {v}" for k, v in summary["planted"].items()))


def eval_linkage(
    dataset: str = typer.Option("febrl4", "--dataset", help="febrl4 (link 4a to 4b) or febrl3 (deduplicate 3)."),
    data_dir: Optional[Path] = typer.Option(None, "--data-dir", help="FEBRL CSV folder. Default: ../shared/data/febrl or $CROSSCHECK_FEBRL_DIR."),
    param: list[str] = typer.Option([], "--param", help="Override a parameter of the linkage rule: NAME=VALUE (repeatable)."),
    limit_entities: Optional[int] = typer.Option(None, "--limit-entities", min=1, help="Only persons numbered below N (a quick subset)."),
) -> None:
    """Precision, recall, F1 and pairs/s of the fuzzy_join linkage rule on a FEBRL benchmark dataset."""
    from devtools.linkage import DATASETS, evaluate, render

    if dataset not in DATASETS:
        fail(f"--dataset '{dataset}': expected one of {', '.join(DATASETS)}")
    overrides = {}
    for p in param:
        name, sep, value = p.partition("=")
        if not sep or not name.strip():
            fail(f"--param '{p}': expected NAME=VALUE")
        overrides[name.strip()] = value.strip()
    try:
        result = evaluate(dataset, data_dir, overrides=overrides, limit_entities=limit_entities)
    except (FileNotFoundError, ValueError, RuntimeError) as exc:
        fail(str(exc))
    for line in render(result):
        typer.echo(line)


def eval_names(
    seed: int = typer.Option(7, "--seed", help="Seed of the generated registry and records."),
    villages: int = typer.Option(60, "--villages", min=1, help="Villages in the generated registry."),
    people: int = typer.Option(600, "--people", min=10, help="Registry people per village, on average."),
    records: int = typer.Option(6000, "--records", min=10, help="Records to link."),
) -> None:
    """Precision, recall and the ambiguous share of the name linker on the project's corruption harness (BENCHMARKS.md)."""
    from devtools.names.harness import evaluate, render

    for line in render(evaluate(seed=seed, villages=villages, people=people, records=records)):
        typer.echo(line)
