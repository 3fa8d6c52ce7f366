"""`make serve`: register the nightly deployment (cron) and the ad-hoc one, and serve them.

Scheduled runs need a real Prefect server (the temporary one refuses to schedule). This
process supervises, and is the one to signal; under it, each in a session of its own:

- with PREFECT_API_URL unset, the Prefect server (`prefect server start` on 127.0.0.1);
- the serve loop (`python -m flows.serve --loop`): Prefect's runner, which starts one process
  per flow run.

SIGTERM or SIGINT (systemd, Docker, a shutdown, Ctrl-C) stops them in the order that does not
hang: the serve loop and its flow runs first (SIGTERM to its process group: a run in progress
is recorded as failed, the signal named), then the server. Each is given a few seconds, then
killed: the whole stops within STOP_BUDGET seconds and nothing is left running. If this
process is killed outright, its children get the parent-death signal. A child that ends on
its own (the server could not start, say) stops the other, and this process exits with 1.
"""
from __future__ import annotations

import argparse
import logging
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import flows  # noqa: F401  (Prefect settings before Prefect is imported)
from crosscheck.config import ProjectConfig
from crosscheck.lifetime import STOP_SIGNALS, set_parent_death_signal

NIGHTLY_DEPLOYMENT = "nightly"
ADHOC_DEPLOYMENT = "adhoc"
#: Seconds the flow runs in progress and then the serve loop are given at most to stop before
#: they are killed; the server has what is left: the whole, this process's exit included, stays
#: under STOP_BUDGET.
RUN_GRACE, LOOP_GRACE, STOP_BUDGET = 4.0, 3.0, 10.0

log = logging.getLogger("crosscheck.serve")


def build_deployments(config: ProjectConfig | None = None) -> list:
    """The two deployments: nightly on the configured cron, ad-hoc on demand."""
    from prefect.schedules import Cron

    from flows.adhoc import adhoc
    from flows.nightly import nightly

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


def serve_loop() -> None:
    """The serve loop itself (`--loop`): Prefect's runner on the server at PREFECT_API_URL. Once
    the runner has stopped, the process ends at once: the interpreter's own teardown of the
    runner's heap takes seconds of a stop's budget and does nothing for anyone."""
    from prefect import serve

    code = 1
    try:
        serve(*build_deployments())
        code = 0
    except SystemExit as exc:  # Prefect's SIGTERM handler ends the runner this way
        code = exc.code if isinstance(exc.code, int) else 0
    except BaseException:
        import traceback

        traceback.print_exc()
    finally:
        logging.shutdown()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


class Supervisor:
    """The server (when this process starts it) and the serve loop, stopped in order."""

    def __init__(self) -> None:
        self.children: list[tuple[str, subprocess.Popen]] = []  # in start order; stopped in reverse
        self.stop_signal: int | None = None
        self.changed = threading.Event()  # a stop signal came, or a child ended

    def start(self, name: str, command: list[str], env: dict) -> subprocess.Popen:
        child = subprocess.Popen(command, env=env, start_new_session=True,
                                 preexec_fn=lambda: set_parent_death_signal(signal.SIGTERM))
        self.children.append((name, child))
        log.info("%s started (pid %d)", name, child.pid)
        return child

    def on_signal(self, signum: int, frame) -> None:
        if signum in STOP_SIGNALS and self.stop_signal is None:
            self.stop_signal = signum
        self.changed.set()

    def ended(self) -> str | None:
        """The name of a child that ended on its own, if any."""
        return next((name for name, child in self.children if child.poll() is not None), None)

    def wait(self) -> None:
        """Until a stop signal comes or a child ends."""
        while self.stop_signal is None and not self.ended():
            self.changed.wait(1.0)
            self.changed.clear()

    def wait_for_server(self, url: str, server: subprocess.Popen, timeout: float = 120) -> bool:
        """Whether the server answers at `url` (False: stopped meanwhile, or it ended)."""
        deadline = time.monotonic() + timeout
        while self.stop_signal is None and server.poll() is None:
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=2) as response:
                    if response.status == 200:
                        return True
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"Prefect server at {url} did not start within {timeout:.0f} s")
            self.changed.wait(0.5)
        return False

    def stop_all(self) -> None:
        """Newest first: the flow runs under the serve loop, the loop, then the server, each with
        its whole process group; what one leaves of the budget the next may use."""
        deadline = time.monotonic() + STOP_BUDGET - 1.0  # a second for this process to end

        def left(most: float) -> float:
            return max(min(most, deadline - time.monotonic()), 0.5)

        for name, child in reversed(self.children):
            if name == "serve loop":
                _stop_members(child, left(RUN_GRACE))
                _stop(name, child, left(LOOP_GRACE))
            else:
                _stop(name, child, left(STOP_BUDGET))


def _group_members(pgid: int) -> list[int]:
    """Processes of process group `pgid` but its leader (Linux /proc; none found elsewhere)."""
    found = []
    for entry in Path("/proc").iterdir() if Path("/proc").is_dir() else []:
        if entry.name.isdigit() and int(entry.name) != pgid:
            try:
                if os.getpgid(int(entry.name)) == pgid:
                    found.append(int(entry.name))
            except OSError:
                pass
    return found


def _stop_members(leader: subprocess.Popen, grace: float) -> None:
    """SIGTERM to the flow runs under the serve loop (and their workers) before the loop itself:
    stopped together, Prefect's runner kills its flow runs before they record how they ended."""
    members = _group_members(leader.pid)
    for pid in members:
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + grace
    while members and time.monotonic() < deadline:
        members = [pid for pid in members if _running(pid)]
        time.sleep(0.1)


def _stop(name: str, child: subprocess.Popen, grace: float) -> None:
    """SIGTERM to the child's process group; SIGKILL to what is left after `grace` seconds."""
    def signal_group(signum: int) -> None:
        try:
            os.killpg(child.pid, signum)
        except ProcessLookupError:
            pass

    started = time.monotonic()
    signal_group(signal.SIGTERM)
    try:
        child.wait(grace)
    except subprocess.TimeoutExpired:
        log.warning("%s did not stop within %.0f s: killed", name, grace)
    signal_group(signal.SIGKILL)  # whatever of its group is left (flow runs, workers)
    child.wait()
    log.info("%s stopped in %.1f s", name, time.monotonic() - started)


def _running(pid: int) -> bool:
    """Neither gone nor a zombie."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def supervise() -> int:
    supervisor = Supervisor()
    for signum in (*STOP_SIGNALS, signal.SIGCHLD):
        signal.signal(signum, supervisor.on_signal)
    env = dict(os.environ)
    try:
        if not env.get("PREFECT_API_URL"):
            port = env.get("CROSSCHECK_PREFECT_PORT", "4200")
            url = f"http://127.0.0.1:{port}/api"
            print(f"starting Prefect server on {url} (UI: http://127.0.0.1:{port})", flush=True)
            server = supervisor.start("Prefect server", [sys.executable, "-m", "prefect", "server", "start",
                                                         "--host", "127.0.0.1", "--port", port], env)
            if supervisor.wait_for_server(url, server):
                env["PREFECT_API_URL"] = url
        if supervisor.stop_signal is None and not supervisor.ended():
            supervisor.start("serve loop", [sys.executable, "-m", "flows.serve", "--loop"], env)
            supervisor.wait()
    finally:
        ended = supervisor.ended()
        supervisor.stop_all()
    if supervisor.stop_signal is not None:
        log.info("serve stopped by %s", signal.Signals(supervisor.stop_signal).name)
        return 0
    log.error("the %s ended on its own; everything is stopped", ended)
    print(f"crosscheck serve: the {ended} ended on its own; everything is stopped", file=sys.stderr)
    return 1


def main() -> None:
    parser = argparse.ArgumentParser(description="Serve the nightly and ad-hoc deployments (see flows/serve.py).")
    parser.add_argument("--log-file", help="also write the events of the service (the serve loop, the server's "
                                           "start and stop, every flow run) here, one a line, rotated; "
                                           "default: crosscheck.toml's log_file")
    parser.add_argument("--loop", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.loop:
        serve_loop()
        return
    if args.log_file:
        from crosscheck.service.logfile import start_logging

        start_logging(ProjectConfig.load(), Path(args.log_file))
    sys.exit(supervise())


if __name__ == "__main__":
    main()
