"""The canonical schema, read from the connector YAML files.

Each connector YAML declares the tables one source system delivers and maps
their Chinese headers onto canonical snake_case columns with a type. The union
of those tables is the canonical catalog that rules are written and linted
against. Adding a file-based source means adding a YAML file, not Python.

What personal data a column holds is declared here, once, and masking follows
that declaration everywhere (crosscheck.privacy.masking; never a guess from a
column's or a field's name):

- ``type: identity`` (resident identity number) and ``type: name`` (person
  name; its ``<name>_raw`` column too) say it by their type;
- a ``text`` column holding other personal data says which with ``personal``:
  ``card`` (card numbers), ``plate`` (licence plates), ``phone``, ``address``
  (only the leading administrative part is shown), ``account`` (bank, social
  insurance or other personal account numbers).

Organisation names (hospitals, employers, enterprises) are plain text: never masked.
"""
from __future__ import annotations

import unicodedata
from pathlib import Path
from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from crosscheck.yamlio import IDENT, ConfigError, Problem, Strict, load_yaml, validate

ColumnType = Literal["text", "identity", "name", "date", "datetime", "month", "amount", "integer", "number"]
#: Personal data a `text` column may declare it holds (`personal:`); see the module docstring.
PersonalKind = Literal["card", "plate", "phone", "address", "account"]
#: Every kind of personal value masking knows: the two column types that are one, then PersonalKind.
PERSONAL_KINDS: tuple[str, ...] = ("identity", "name", *get_args(PersonalKind))

#: DuckDB type of each canonical column type. `month` is the first day of the month.
DUCKDB_TYPES: dict[str, str] = {
    "text": "VARCHAR",
    "identity": "VARCHAR",
    "name": "VARCHAR",
    "date": "DATE",
    "datetime": "TIMESTAMP",
    "month": "DATE",
    "amount": "DECIMAL(18,2)",
    "integer": "BIGINT",
    "number": "DOUBLE",
}

#: Columns every canonical table carries so a finding can point at its records.
PROVENANCE_COLUMNS: dict[str, str] = {"source_file": "VARCHAR", "source_line": "BIGINT"}

DEFAULT_NULL_MARKERS = ["", "NULL", "\\N", "-"]


def normalize_header(header: str | None) -> str:
    """A delivered header as it is matched against the declared ones (NFKC, no BOM, stripped)."""
    return unicodedata.normalize("NFKC", (header or "").replace("\ufeff", "")).strip()


class Bilingual(Strict):
    zh: str
    en: str


class ColumnSpec(Strict):
    name: str = Field(pattern=IDENT)
    header: str
    type: ColumnType = "text"
    nullable: bool = False
    aliases: list[str] = Field(default_factory=list, description="other headers seen for this column")
    personal: PersonalKind | None = Field(default=None, description="personal data a text column holds (masked as such)")
    description: str = ""

    @model_validator(mode="after")
    def _personal_on_text(self) -> "ColumnSpec":
        if self.personal is not None and self.type != "text":
            raise ValueError(f"'personal' goes on text columns; a {self.type} column says what it is by its type")
        return self

    @property
    def headers(self) -> list[str]:
        return [self.header, *self.aliases]

    @property
    def kind(self) -> str | None:
        """The personal data this column holds (one of PERSONAL_KINDS), None for none."""
        return self.type if self.type in ("identity", "name") else self.personal


class TableSpec(Strict):
    title: Bilingual
    files: list[str] = Field(min_length=1)
    key: list[str] = Field(default_factory=list)
    columns: list[ColumnSpec] = Field(min_length=1)
    expectations: list[dict[str, dict[str, Any]]] = Field(default_factory=list)

    @model_validator(mode="after")
    def _names_unique_and_key_known(self) -> "TableSpec":
        names = [c.name for c in self.columns]
        duplicated = sorted({n for n in names if names.count(n) > 1})
        if duplicated:
            raise ValueError(f"duplicate column names: {', '.join(duplicated)}")
        unknown = [k for k in self.key if k not in names]
        if unknown:
            raise ValueError(f"key names unknown columns: {', '.join(unknown)}")
        return self

    def column(self, name: str) -> ColumnSpec:
        return next(c for c in self.columns if c.name == name)

    def canonical_columns(self) -> dict[str, str]:
        """Canonical column name -> DuckDB type: declared columns, `<name>_raw`
        beside each name column, provenance columns last."""
        cols = {c.name: DUCKDB_TYPES[c.type] for c in self.columns}
        for c in self.columns:
            if c.type == "name":
                cols[f"{c.name}_raw"] = "VARCHAR"
        cols.update(PROVENANCE_COLUMNS)
        return cols

    def personal_columns(self) -> dict[str, str]:
        """Canonical column -> kind of personal data, for the columns that hold some."""
        out = {c.name: c.kind for c in self.columns if c.kind}
        out.update({f"{c.name}_raw": "name" for c in self.columns if c.type == "name"})
        return out

    def personal_headers(self) -> dict[str, str]:
        """Delivered header (every alias too, `normalize_header`ed) -> kind, for personal columns."""
        return {normalize_header(h): c.kind for c in self.columns if c.kind for h in c.headers}


class ConnectorSpec(Strict):
    source: str = Field(pattern=IDENT)
    title: Bilingual
    folder: str
    encoding: Literal["auto", "utf-8", "gb18030"] = "auto"
    null_markers: list[str] = Field(default_factory=lambda: list(DEFAULT_NULL_MARKERS))
    tables: dict[str, TableSpec] = Field(min_length=1)

    @field_validator("tables")
    @classmethod
    def _table_names(cls, tables: dict[str, TableSpec]) -> dict[str, TableSpec]:
        import re

        bad = [t for t in tables if not re.fullmatch(r"[a-z][a-z0-9_]*", t)]
        if bad:
            raise ValueError(f"table names must be snake_case: {', '.join(bad)}")
        return tables


class Catalog(BaseModel):
    """All canonical tables, by table name, with the connector that loads each."""

    model_config = ConfigDict(frozen=True)

    connectors: dict[str, ConnectorSpec]
    files: dict[str, str] = Field(default_factory=dict, description="source -> YAML path")

    @property
    def tables(self) -> dict[str, TableSpec]:
        return {name: t for c in self.connectors.values() for name, t in c.tables.items()}

    def source_of(self, table: str) -> str:
        return next(c.source for c in self.connectors.values() if table in c.tables)

    def columns(self, table: str) -> dict[str, str]:
        """Canonical column name -> DuckDB type, provenance columns included."""
        return self.tables[table].canonical_columns()

    def personal_headers(self) -> dict[str, dict[str, str]]:
        """Table -> its `TableSpec.personal_headers` (how a quarantined row is masked)."""
        return {name: t.personal_headers() for name, t in self.tables.items()}


def load_catalog(connectors_dir: Path) -> Catalog:
    """Read every connector YAML; collect all problems before raising."""
    problems: list[Problem] = []
    connectors: dict[str, ConnectorSpec] = {}
    files: dict[str, str] = {}
    seen_tables: dict[str, str] = {}
    for path in sorted(Path(connectors_dir).glob("*.yaml")):
        try:
            data, locator = load_yaml(path)
            spec = validate(ConnectorSpec, data, locator)
        except ConfigError as exc:
            problems.extend(exc.problems)
            continue
        if spec.source != path.stem:
            problems.append(locator.problem(("source",), f"source '{spec.source}' must equal the file name '{path.stem}'"))
        for table in spec.tables:
            if table in seen_tables:
                problems.append(locator.problem(("tables", table), f"table '{table}' is already declared in {seen_tables[table]}"))
            seen_tables[table] = str(path)
        connectors[spec.source] = spec
        files[spec.source] = str(path)
    if problems:
        raise ConfigError(problems)
    if not connectors:
        raise ConfigError([Problem(str(connectors_dir), None, "", "no connector YAML files found")])
    return Catalog(connectors=connectors, files=files)
