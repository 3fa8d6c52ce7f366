"""Running the rules on Spark (`crosscheck run --engine spark`).

The only module that imports pyspark (an optional extra: ``pip install
'crosscheck[spark]'``). The connectors still load and validate every source
into DuckDB (quarantine and row accounting live there); this module then

1. writes each loaded canonical table as Parquet into the run's work folder
   (``spark_work_dir``, which a cluster must see at the same path), partitioned
   by month where a table grows by the month (`PARTITIONS`);
2. registers each as a temporary view of the table's name in a Spark session
   of the run's own (local[*] by default, or ``spark_master`` / the Spark
   Connect URL ``spark_remote`` from crosscheck.toml);
3. runs each rule's Spark SQL, written by crosscheck.engines.dialect from the same
   compiled tree as the DuckDB SQL, with named parameters bound by Spark
   (``spark.sql(sql, args=...)``, never formatted into the text), and returns
   column names and rows to the shared runner, which renders the findings.

``name_similarity`` and the fuzzy_join scorers (``fz_*``) are pandas (Arrow)
UDFs calling the very kernels DuckDB's Arrow UDFs call (`crosscheck.engines.scorers.score`),
so scores are identical.
"""
from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from crosscheck.engines import dialect
from crosscheck.engines.base import Engine

if TYPE_CHECKING:
    from crosscheck.config import ProjectConfig

INSTALL_HINT = "pip install 'crosscheck[spark]' (pyspark 4, which needs Java 17 or newer)"

#: Canonical table -> column whose month partitions its Parquet (tables that grow by the month).
PARTITIONS: dict[str, str] = {"taps": "tapped_at", "pension_payments": "pay_month"}
#: Name of the partition folder column (dropped again from the view: rules never see it).
PARTITION_COLUMN = "_cc_month"

#: Spark settings crosscheck sets unless crosscheck.toml's [crosscheck.spark_conf] says otherwise.
DEFAULT_CONF: dict[str, str] = {
    "spark.app.name": "crosscheck",
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.parquet.inferTimestampNTZ.enabled": "true",
    "spark.sql.execution.arrow.pyspark.enabled": "true",
}
#: Extra defaults for local mode: one machine needs few shuffle partitions.
LOCAL_CONF: dict[str, str] = {"spark.sql.shuffle.partitions": "4", "spark.default.parallelism": "4", "spark.driver.memory": "4g"}

_LOG4J = Path(__file__).with_name("spark_log4j2.properties")

class SparkUnavailable(RuntimeError):
    """Spark cannot be used here; the message says why and what to install."""


class SparkQueryError(RuntimeError):
    """A rule's query failed on Spark; the message is Spark's own, on one line."""


def _short_error(exc: Exception) -> str:
    """The telling line of a Spark error (a JVM stack trace's innermost "Caused by")."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    causes = [line.removeprefix("Caused by:").strip() for line in lines if line.startswith("Caused by:")]
    if causes:
        return causes[-1]
    return lines[0] if lines else type(exc).__name__


def java_version() -> tuple[int, str] | None:
    """(major version, java binary) of the Java that Spark would start, or None if there is none."""
    import re
    import subprocess

    java_home = os.environ.get("JAVA_HOME")
    java = str(Path(java_home) / "bin" / "java") if java_home else shutil.which("java")
    if not java or not Path(java).exists():
        return None
    try:
        out = subprocess.run([java, "-version"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return None
    m = re.search(r'version "(\d+)(?:\.(\d+))?', out.stderr + out.stdout)
    if not m:
        return None
    major = int(m.group(1))
    return (int(m.group(2)) if major == 1 and m.group(2) else major), java


def unavailable_reason(config: "ProjectConfig | None" = None) -> str | None:
    """Why `--engine spark` cannot run here (None: it can). Local mode needs Java 17+; a
    Spark Connect URL needs only pyspark's client."""
    try:
        import pyspark  # noqa: F401
    except ImportError:
        return f"pyspark is not installed: {INSTALL_HINT}"
    remote = (config.spark_remote if config else "") or os.environ.get("SPARK_REMOTE", "")
    if remote:
        return None
    java = java_version()
    if java is None:
        return "Spark needs Java 17 or newer and no java was found (set JAVA_HOME or put java on PATH)"
    if java[0] < 17:
        return f"Spark 4 needs Java 17 or newer, found Java {java[0]} at {java[1]}"
    return None


def spark_conf(config: "ProjectConfig") -> dict[str, str]:
    conf = dict(DEFAULT_CONF)
    master = config.spark_master or "local[*]"
    if not config.spark_remote and master.startswith("local"):
        conf.update(LOCAL_CONF)
        if _LOG4J.is_file():  # quiet start-up in local mode (the driver JVM is ours)
            conf["spark.driver.extraJavaOptions"] = f"-Dlog4j2.configurationFile={_LOG4J.as_uri()}"
    conf.update({str(k): str(v) for k, v in (config.spark_conf or {}).items()})
    return conf


def start_session(config: "ProjectConfig"):
    """(the base SparkSession, whether this call started it). Connects to ``spark_remote``
    (Spark Connect, sc://host:15002) if set, else starts or joins ``spark_master``."""
    reason = unavailable_reason(config)
    if reason:
        raise SparkUnavailable(reason)
    from pyspark import SparkContext
    from pyspark.sql import SparkSession

    conf = spark_conf(config)
    builder = SparkSession.builder
    if config.spark_remote:
        builder = builder.remote(config.spark_remote)
        started = True
        if config.spark_remote.startswith("local"):  # an in-process Connect server (tests, trials)
            os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    else:
        started = SparkContext._active_spark_context is None
        master = config.spark_master or "local[*]"
        builder = builder.master(master)
        if master.startswith("local"):
            # local workers run this very Python, so they import crosscheck, rapidfuzz and pypinyin
            os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
            os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    for key, value in conf.items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    if not config.spark_remote:
        spark.sparkContext.setLogLevel("ERROR")
    return spark, started


# ------------------------------------------------------------------ the UDF


def _strings(series):
    import pyarrow as pa

    return pa.array([v if isinstance(v, str) else None for v in series], type=pa.string())


def _pandas_udf_body(sql_name: str):
    """A pandas UDF body running on aligned Series the very Arrow kernel DuckDB's UDF of the
    same name runs: `crosscheck.engines.scorers.score` for two strings, `crosscheck.engines.characters.compute`
    for one character (pandas 3 gives NaN for a NULL string)."""
    if sql_name.startswith("name_char_"):
        def body(c):
            import pandas as pd

            from crosscheck.engines import characters

            return pd.Series(characters.compute(sql_name, _strings(c)).to_pylist(), dtype=object)

        return body

    def body(a, b):
        import pandas as pd

        from crosscheck.engines import scorers

        scores = scorers.score(sql_name, _strings(a), _strings(b))
        return pd.Series(scores.to_numpy(zero_copy_only=False), dtype="float64")  # NULL -> NaN -> NULL in Spark

    return body


def register_udfs(spark, names: list[str] | None = None) -> None:
    """Register crosscheck's UDFs (crosscheck.engines.dialect.UDFS: name_similarity, the fuzzy_join
    scorers, the name linker's character functions) on a session, each with the return type
    its signature gives. The executors run the same kernels as DuckDB (see `ship_package`)."""
    from pyspark.sql.functions import pandas_udf
    from pyspark.sql.types import DoubleType, StringType

    from crosscheck.engines import dialect

    for name in names if names is not None else list(dialect.UDFS):
        if name not in dialect.UDFS:
            raise ValueError(f"function {name}() is not a crosscheck UDF")
        returns = StringType() if dialect.UDFS[name].endswith("VARCHAR") else DoubleType()
        spark.udf.register(name, pandas_udf(_pandas_udf_body(name), returns))


def ship_package(spark, folder: Path) -> Path:
    """Zip the crosscheck package into `folder` and add it to the session's Python path on
    every executor (Spark Connect: as an artifact), so the UDFs import crosscheck there;
    the executors still need its dependencies (rapidfuzz, pypinyin, opencc, four-corner-method, pandas, pyarrow)."""
    import zipfile

    package = Path(__file__).resolve().parents[1]  # the crosscheck package
    target = Path(folder) / "crosscheck.zip"
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as zf:
        for f in sorted(package.rglob("*.py")):
            if "__pycache__" not in f.parts:
                zf.write(f, Path("crosscheck") / f.relative_to(package))
    if hasattr(spark, "addArtifacts") and not hasattr(spark, "sparkContext"):
        spark.addArtifacts(str(target), pyfile=True)
    else:
        try:
            spark.sparkContext.addPyFile(str(target))
        except Exception:  # Spark Connect sessions have no SparkContext
            spark.addArtifacts(str(target), pyfile=True)
    return target


# ------------------------------------------------------------------ the engine


def _classic_local(spark) -> bool:
    try:
        return spark.sparkContext.master.startswith("local")
    except Exception:  # Spark Connect: no SparkContext on the client
        return False


class SparkEngine(Engine):
    """The rules on Spark (crosscheck.engines.Engine): each query's Spark SQL from
    crosscheck.engines.dialect, its parameters bound by Spark.

    One per run: its own Spark session (temporary views and UDFs do not leak
    between runs sharing a cluster) and its own Parquet folder.
    """

    name = "spark"

    def __init__(self, spark, work_dir: Path, *, stop_on_close: bool = False, keep_files: bool = False, ship: bool | None = None):
        try:
            self.spark = spark.newSession()
        except Exception:  # Spark Connect: a session is already one client's own
            self.spark = spark
        self._base = spark
        self.work_dir = Path(work_dir)
        self.work_dir.mkdir(parents=True, exist_ok=True)
        self.stop_on_close = stop_on_close
        self.keep_files = keep_files
        self.published: dict[str, Path] = {}
        self._udfs: set[str] = set()
        self._shipped = False
        #: ship crosscheck to the executors before the first UDF, unless they run this very Python (classic local mode)
        self.ship = ship if ship is not None else not _classic_local(spark)

    @classmethod
    def start(cls, config: "ProjectConfig", run_id: str) -> "SparkEngine":
        spark, started = start_session(config)
        if config.spark_work_dir:
            work = Path(config.spark_work_dir) / run_id
        else:
            work = Path(tempfile.mkdtemp(prefix=f"crosscheck-spark-{run_id}-"))
        return cls(spark, work, stop_on_close=started)

    def publish(self, con, table: str) -> Path:
        """Write a DuckDB table as Parquet (by month where `PARTITIONS` says) and register it as a view."""
        target = self.work_dir / table
        if target.exists():
            shutil.rmtree(target)
        column = PARTITIONS.get(table)
        columns = {r[0] for r in con.execute("SELECT column_name FROM duckdb_columns() WHERE table_name = ?", [table]).fetchall()}
        if column not in columns:
            column = None
        rows = con.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0]
        path = str(target).replace("'", "''")
        if column and rows:
            con.execute(
                f"""COPY (SELECT *, strftime("{column}", '%Y-%m') AS {PARTITION_COLUMN} FROM "{table}")
                    TO '{path}' (FORMAT parquet, PARTITION_BY ({PARTITION_COLUMN}), OVERWRITE_OR_IGNORE)"""
            )
        else:
            target.mkdir(parents=True)
            con.execute(f"""COPY "{table}" TO '{path}/part-0.parquet' (FORMAT parquet)""")
        df = self.spark.read.parquet(str(target))
        if PARTITION_COLUMN in df.columns:
            df = df.drop(PARTITION_COLUMN)
        df.createOrReplaceTempView(table)
        self.published[table] = target
        return target

    def offer_tables(self, con, available: dict[str, str | None]) -> None:
        """Publish every table rules may read that is not published yet (before the DuckDB is locked)."""
        for table, reason in available.items():
            if reason is None and table not in self.published:
                self.publish(con, table)

    def forget_table(self, table: str) -> None:
        self.published.pop(table, None)

    def execute(self, sql, tree, bound):
        return self.query(sql, dialect.engine_params(bound, self.name), udfs=self.udfs_of(tree))

    def unpublish(self, table: str) -> None:
        self.published.pop(table, None)
        self.spark.catalog.dropTempView(table)

    def query(self, sql: str, params: dict[str, Any], udfs: list[str] | tuple = ()) -> tuple[list[str], list[tuple]]:
        """Run Spark SQL with named parameters (``:name``) bound by Spark; column names and rows."""
        missing = [u for u in udfs if u not in self._udfs]
        if missing:
            if self.ship and not self._shipped:
                ship_package(self.spark, self.work_dir)
                self._shipped = True
            register_udfs(self.spark, missing)
            self._udfs.update(missing)
        try:
            table = self.spark.sql(sql, args=params or None).toArrow()
        except Exception as exc:
            raise SparkQueryError(_short_error(exc)) from exc
        columns = table.column_names
        rows = list(zip(*(c.to_pylist() for c in table.columns))) if table.num_rows else []
        return columns, rows

    def close(self) -> None:
        for table in list(self.published):
            try:
                self.spark.catalog.dropTempView(table)
            except Exception:  # the session may already be gone
                pass
        self.published.clear()
        if self.stop_on_close:
            try:
                self._base.stop()
            except Exception:
                pass
        if not self.keep_files:
            shutil.rmtree(self.work_dir, ignore_errors=True)
