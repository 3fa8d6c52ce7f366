"""A Spark standalone cluster on 127.0.0.1 from pyspark's own launcher (nothing downloaded):
a master and workers, for the cluster test and the cluster benchmark.

    with standalone_cluster(folder, workers=2, cores=1, memory="1g") as url:
        ...   # spark://127.0.0.1:<port>; each worker's work folder is folder/work<i>
"""
from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _spark_class() -> Path:
    import pyspark

    return Path(pyspark.__file__).parent / "bin" / "spark-class"


def _wait(log: Path, pattern: str, proc: subprocess.Popen, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if log.exists() and re.search(pattern, log.read_text(errors="replace")):
            return
        if proc.poll() is not None:
            raise AssertionError(f"{log.name}: exited early:\n{log.read_text(errors='replace')[-2000:]}")
        time.sleep(0.3)
    raise AssertionError(f"{log.name}: no '{pattern}' in {seconds} s:\n{log.read_text(errors='replace')[-2000:]}")


@contextmanager
def standalone_cluster(base: Path, workers: int = 2, cores: int = 1, memory: str = "1g"):
    """A master and `workers` workers (`cores` and `memory` each); yields the master URL."""
    base = Path(base)
    port, ui = _free_port(), _free_port()
    env = {**os.environ, "SPARK_LOCAL_IP": "127.0.0.1", "PYSPARK_PYTHON": sys.executable,
           "SPARK_LOG_DIR": str(base / "logs"), "SPARK_WORKER_DIR": str(base / "work")}
    procs = []
    try:
        master_log = base / "master.log"
        master = subprocess.Popen([str(_spark_class()), "org.apache.spark.deploy.master.Master", "--host", "127.0.0.1",
                                   "--port", str(port), "--webui-port", str(ui)],
                                  stdout=master_log.open("w"), stderr=subprocess.STDOUT, env=env)
        procs.append(master)
        _wait(master_log, r"I have been elected leader|Starting Spark master", master)
        url = f"spark://127.0.0.1:{port}"
        for i in range(1, workers + 1):
            log = base / f"worker{i}.log"
            worker = subprocess.Popen([str(_spark_class()), "org.apache.spark.deploy.worker.Worker", url, "--host", "127.0.0.1",
                                       "--cores", str(cores), "--memory", memory, "--webui-port", str(_free_port()),
                                       "--work-dir", str(base / f"work{i}")],
                                      stdout=log.open("w"), stderr=subprocess.STDOUT, env=env)
            procs.append(worker)
            _wait(log, r"Successfully registered with master", worker)
        yield url
    finally:
        for p in reversed(procs):
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()


def cluster_project(project: Path, repo: Path, master: str, work: Path, executor_memory: str = "768m",
                    cores_max: int = 2) -> Path:
    """A project whose crosscheck.toml points the engine at the cluster, as the README says."""
    import shutil

    for folder in ("connectors", "rules"):
        shutil.copytree(repo / folder, project / folder)
    (project / "docs").symlink_to(repo / "docs", target_is_directory=True)
    text = (repo / "crosscheck.toml").read_text(encoding="utf-8")
    text = text.replace("[crosscheck]\n", f'[crosscheck]\nengine = "spark"\nspark_master = "{master}"\n'
                                          f'spark_work_dir = "{work}"\n', 1)
    text += (f'\n[crosscheck.spark_conf]\n"spark.executor.memory" = "{executor_memory}"\n'
             f'"spark.cores.max" = "{cores_max}"\n')
    (project / "crosscheck.toml").write_text(text, encoding="utf-8")
    return project
