"""The `crosscheck` command: one typer app (crosscheck.cli.main) and its sub-commands, a module each."""
from crosscheck.cli.main import app

__all__ = ["app"]
