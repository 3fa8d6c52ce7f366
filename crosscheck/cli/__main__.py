"""`python -m crosscheck.cli ...` is the `crosscheck` command."""
from crosscheck.cli.main import app

app()
