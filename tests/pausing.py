"""Stopping a real process at a checkpoint (crosscheck.checkpoints), for the kill tests.

`PauseAt(moment, signal_file)` is a checkpoint that, the first time the process reaches
`moment`, writes "<pid> <moment>" to `signal_file` and waits until the test deletes that
file (or `seconds` pass); the test meanwhile kills the process, or lets it go on by deleting
the file. `paused_run(moment, signal_file, args)` is the command line of `crosscheck ARGS`
stopping at `moment` (tests/paused_cli.py hands the checkpoint to the command).
"""
from __future__ import annotations

import os
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


class PauseAt:
    def __init__(self, moment: str, signal_file: Path | str, seconds: float = 120):
        self.moment, self.signal_file, self.seconds = moment, Path(signal_file), float(seconds)
        self.done = False

    def __call__(self, moment: str) -> None:
        if moment != self.moment or self.done:
            return
        self.done = True
        self.signal_file.write_text(f"{os.getpid()} {moment}\n", encoding="utf-8")
        deadline = time.monotonic() + self.seconds
        while time.monotonic() < deadline and self.signal_file.exists():
            time.sleep(0.05)   # waits for the test: the file deleted, or the process killed


def paused_run(moment: str, signal_file: Path | str, args: list[str], seconds: float = 120) -> list[str]:
    """`crosscheck ARGS`, stopping at `moment` until `signal_file` is deleted."""
    return [sys.executable, str(HERE / "paused_cli.py"), moment, str(signal_file), str(seconds), "--", *args]


def wait_for_pause(signal_file: Path, proc, seconds: float = 300) -> None:
    """Until the process reached its checkpoint (it wrote the signal file); fails if it ended first."""
    deadline = time.monotonic() + seconds
    while not Path(signal_file).exists():
        if proc.poll() is not None:
            raise AssertionError(f"the process ended before its checkpoint: {proc.communicate()}")
        if time.monotonic() > deadline:
            proc.kill()
            raise AssertionError("the process never reached its checkpoint")
        time.sleep(0.05)
