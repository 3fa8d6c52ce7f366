"""`crosscheck cache list | prune`: the cache of loaded deliveries and parsed files."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from crosscheck.cli.common import fail


cache_app = typer.Typer(no_args_is_help=True, add_completion=False,
                        help="The cache of loaded deliveries and parsed files: list it, prune it.")


@cache_app.command("list")
def cache_list(project: Optional[Path] = typer.Option(None, "--project", help="Project folder (crosscheck.toml).")) -> None:
    """Every delivery and parsed file in the cache, least recently used first, and the total."""
    import time as _time

    from crosscheck.cache.housekeeping import items
    from crosscheck.config import ProjectConfig

    config = ProjectConfig.load(project)
    present = items(config.cache_dir)
    for i in present:
        typer.echo(f"{i.kind:<9} {i.size / 1e6:>10.1f} MB  {_time.strftime('%Y-%m-%d %H:%M', _time.localtime(i.last_used))}  {i.name}")
    typer.echo(f"{len(present)} items, {sum(i.size for i in present) / 1e6:.1f} MB in {config.cache_dir} "
               f"(limit {config.cache_max_size})")


@cache_app.command("prune")
def cache_prune(
    max_size: Optional[str] = typer.Option(None, "--max-size", help="Keep at most this much (e.g. 10GB). Default: cache_max_size."),
    everything: bool = typer.Option(False, "--all", help="Remove everything the cache holds."),
    project: Optional[Path] = typer.Option(None, "--project", help="Project folder (crosscheck.toml)."),
) -> None:
    """Remove the least recently used items until the cache is under its limit (and any leftovers of killed runs)."""
    from crosscheck.cache.housekeeping import prune
    from crosscheck.config import parse_size
    from crosscheck.config import ProjectConfig

    config = ProjectConfig.load(project)
    try:
        limit = 0 if everything else parse_size(max_size or config.cache_max_size, "--max-size")
    except ValueError as exc:
        fail(str(exc))
    removed = prune(config.cache_dir, limit)
    typer.echo(f"removed {len(removed)} items, {sum(i.size for i in removed) / 1e6:.1f} MB")
