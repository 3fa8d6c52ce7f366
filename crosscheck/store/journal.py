"""Runs in progress: one small file per run beside the store, until the run is recorded.

A run writes ``.<store name>.runs/<run id>.json`` (beside the store) when it starts (what it was asked to do,
its process id and host) and removes it once the store holds the run, finished or
failed. A file whose process is gone is a run that never finished (killed, or the
machine stopped): the next run records it in the store as failed and sends a notice;
`crosscheck runs list` shows it meanwhile. Starting a run never waits for the store.
"""
from __future__ import annotations

import json
import os
import socket
from pathlib import Path

from crosscheck.privacy.files import private_dirs

ENDED = "the run ended without finishing: its process is gone (killed, out of memory, or the machine stopped)"


def process_alive(pid: int) -> bool:
    """Whether process `pid` of this host still runs."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _write(path: Path, entry: dict) -> None:
    """Replace ``path`` with ``entry`` as JSON, owner-only, never half-written."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(entry, ensure_ascii=False, default=str), encoding="utf-8")
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


class RunJournal:
    def __init__(self, store: Path):
        store = Path(store)
        self.folder = store.with_name(f".{store.name}.runs")

    def start(self, entry: dict) -> None:
        """Note a run that starts now (``entry`` has its run_id and what was asked)."""
        private_dirs(self.folder)
        entry = {**entry, "pid": os.getpid(), "host": socket.gethostname()}
        _write(self.folder / f"{entry['run_id']}.json", entry)

    def note_error(self, run_id: str, error: str) -> None:
        """Keep why the run failed, for the run that records it when this one cannot."""
        path = self.folder / f"{run_id}.json"
        try:
            entry = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return
        entry["error"] = error
        _write(path, entry)

    def end(self, run_id: str) -> None:
        (self.folder / f"{run_id}.json").unlink(missing_ok=True)

    def entries(self) -> list[dict]:
        """Every run noted and not yet recorded, oldest first, each with ``state`` running or ended."""
        out = []
        for path in sorted(self.folder.glob("*.json")) if self.folder.is_dir() else []:
            try:
                entry = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue
            here = entry.get("host") == socket.gethostname()
            entry["state"] = "ended" if here and not process_alive(int(entry.get("pid") or 0)) else "running"
            out.append(entry)
        return sorted(out, key=lambda e: str(e.get("started_at")))

    def ended(self) -> list[dict]:
        """Runs of this host whose process is gone without recording them."""
        return [e for e in self.entries() if e["state"] == "ended"]
