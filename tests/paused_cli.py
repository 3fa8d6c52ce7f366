"""`python tests/paused_cli.py MOMENT SIGNAL_FILE SECONDS -- ARGS`: `crosscheck ARGS`, handed a
checkpoint that stops at MOMENT (tests/pausing.py)."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from pausing import PauseAt  # noqa: E402

from crosscheck.cli import app  # noqa: E402


class Seams:
    def __init__(self, checkpoint):
        self.checkpoint = checkpoint


if __name__ == "__main__":
    moment, signal_file, seconds, dashes, *args = sys.argv[1:]
    assert dashes == "--", "usage: paused_cli.py MOMENT SIGNAL_FILE SECONDS -- ARGS"
    app(args, obj=Seams(PauseAt(moment, signal_file, float(seconds))), prog_name="crosscheck")
