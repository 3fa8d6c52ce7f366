"""`make serve`: register the nightly deployment (cron) and the ad-hoc one, and serve them.

Scheduled runs need a real Prefect server (the temporary one refuses to
schedule). With PREFECT_API_URL unset this starts `prefect server start` on
127.0.0.1, waits for it, serves, and on Ctrl-C stops the serve loop before the
server (the other order hangs).
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request

import flows  # noqa: F401  (Prefect settings before Prefect is imported)
from prefect import serve
from prefect.schedules import Cron

from crosscheck.config import ProjectConfig
from flows.adhoc import adhoc
from flows.nightly import nightly

NIGHTLY_DEPLOYMENT = "nightly"
ADHOC_DEPLOYMENT = "adhoc"


def build_deployments(config: ProjectConfig | None = None) -> list:
    """The two deployments: nightly on the configured cron, ad-hoc on demand."""
    config = config or ProjectConfig.load()
    return [
        nightly.to_deployment(
            name=NIGHTLY_DEPLOYMENT,
            schedules=[Cron(config.nightly_cron, timezone=config.timezone)],
            parameters={"deliveries": str(config.deliveries_dir)},
            description="Newest delivery, every source, every rule, the reports.",
            tags=["crosscheck", "nightly"],
        ),
        adhoc.to_deployment(
            name=ADHOC_DEPLOYMENT,
            description="An analyst's run: one delivery, chosen rules, districts and parameters.",
            tags=["crosscheck", "adhoc"],
        ),
    ]


def _wait_for_server(url: str, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(1)
    raise RuntimeError(f"Prefect server at {url} did not start within {timeout:.0f} s")


def main() -> None:
    server = None
    if not os.environ.get("PREFECT_API_URL"):
        port = os.environ.get("CROSSCHECK_PREFECT_PORT", "4200")
        url = f"http://127.0.0.1:{port}/api"
        print(f"starting Prefect server on {url} (UI: http://127.0.0.1:{port})", flush=True)
        server = subprocess.Popen([sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1", "--port", port])
        _wait_for_server(url)
        os.environ["PREFECT_API_URL"] = url
        # The settings object was built at import; re-exec so every module sees the URL.
        os.execv(sys.executable, [sys.executable, "-m", "flows.serve", "--server-pid", str(server.pid)])
    server_pid = int(sys.argv[sys.argv.index("--server-pid") + 1]) if "--server-pid" in sys.argv else None
    try:
        serve(*build_deployments())
    finally:
        if server_pid:
            os.kill(server_pid, signal.SIGTERM)


if __name__ == "__main__":
    main()
