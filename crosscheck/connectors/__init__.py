"""File connectors: delivered extracts -> canonical DuckDB tables + quarantine.

    load_source(con, extracts_root, connector, validate=True) -> list[TableLoad]
    load_table(con, extracts_root, connector, table, validate=True) -> TableLoad
    load_delivery(con, extracts_root, catalog, validate=True) -> list[TableLoad]
"""
from crosscheck.connectors.load import load_delivery, load_source, load_table

__all__ = ["load_source", "load_table", "load_delivery"]
