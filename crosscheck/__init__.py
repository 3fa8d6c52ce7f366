import warnings

__version__ = "0.1.0"

# pyspark 4.x warns on import that it does not yet fully support pandas 3. It is imported
# by the Spark engine, and by Great Expectations' compatibility shim whenever it is
# installed, so every run would print it; crosscheck's pandas UDF only passes strings in
# and floats out, which tests/test_spark.py checks.
warnings.filterwarnings("ignore", message=r"PySpark does not yet fully support pandas", category=FutureWarning)
