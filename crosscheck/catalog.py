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
- a ``text`` (or ``code``) column holding other personal data says which with ``personal``:
  ``card`` (card numbers), ``plate`` (licence plates), ``phone``, ``address``
  (only the leading administrative part is shown), ``account`` (bank, social
  insurance or other personal account numbers), ``document`` (passport and permit numbers).

Organisation names (hospitals, employers, enterprises) and codes (统一社会信用代码) are plain
text: never masked. A delivered column that holds an organisation's value on some rows and a
person's on others (证件类型 + 证件号码) feeds one canonical column per kind, each filled only
on the rows its `when:` names (`ColumnSpec.when`), so every canonical column has one kind.

Values (crosscheck.connectors.parse): ``credit_code`` (统一社会信用代码, GB 32100 form), ``plate``
(车牌号), ``code`` (a text key: NFKC, every whitespace character removed, never a number;
``upper: true`` upper-cases it), ``phone`` (digits only, a leading 86/0086 of a mobile number
removed; personal by its type) are normalised and validated; ``values:`` makes a column an
enumeration (``synonyms:`` other spellings of its values); ``min:`` bounds a number from below;
``if_empty:`` is the value an empty field stands for; ``with_time: true`` requires a
datetime's time of day. A table's ``key:`` names the columns that identify a row: rows equal
in every column are one row, rows sharing a key but differing in any column are a conflict
and every one of them goes to quarantine (crosscheck.connectors.load).
"""
from __future__ import annotations

import unicodedata
from pathlib import Path
from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from crosscheck.yamlio import IDENT, ConfigError, Problem, Strict, load_yaml, validate

ColumnType = Literal["text", "identity", "name", "date", "datetime", "month", "amount", "integer", "number",
                     "credit_code", "plate", "code", "phone"]
#: Personal data a `text` or `code` column may declare it holds (`personal:`); see the module docstring.
PersonalKind = Literal["card", "plate", "phone", "address", "account", "document"]
#: Column types that say what personal data they hold by their type (a phone is one: `phone`), and
#: those that may declare it.
_PERSONAL_BY_TYPE = ("identity", "name", "phone")
_MAY_DECLARE_PERSONAL = ("text", "code")
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
    "credit_code": "VARCHAR",
    "plate": "VARCHAR",
    "code": "VARCHAR",
    "phone": "VARCHAR",
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
    values: list[str] | None = Field(default=None, min_length=1, description="an enumeration: the values allowed (compared trimmed)")
    synonyms: dict[str, list[str]] | None = Field(
        default=None, description="other spellings of values of the enumeration, each read as that value (计量单位: 平方米 for ㎡)")
    min: float | None = Field(default=None, description="an integer, number or amount at least this (e.g. 0)")
    if_empty: str | None = Field(default=None, description="the value an empty field stands for (退回次数: 0)")
    with_time: bool = Field(default=False, description="a datetime that must carry a time of day")
    upper: bool = Field(default=False, description="a code compared upper-cased (事项编码)")
    when: dict[str, list[str]] | None = Field(
        default=None, description="filled only on rows where that enumeration column has one of these values (NULL elsewhere)")
    description: str = ""

    @field_validator("when", mode="before")
    @classmethod
    def _when_lists(cls, value: Any) -> Any:
        return {k: [v] if isinstance(v, str) else v for k, v in value.items()} if isinstance(value, dict) else value

    @model_validator(mode="after")
    def _options_fit_the_type(self) -> "ColumnSpec":
        if self.personal is not None and self.type not in _MAY_DECLARE_PERSONAL:
            raise ValueError(f"'personal' goes on text columns; a {self.type} column says what it is by its type")
        if self.min is not None and self.type not in ("integer", "number", "amount"):
            raise ValueError(f"'min' goes on integer, number and amount columns, not {self.type}")
        if self.upper and self.type != "code":
            raise ValueError("'upper' goes on code columns")
        if self.with_time and self.type != "datetime":
            raise ValueError("'with_time' goes on datetime columns")
        if self.values is not None and self.type not in ("text", "code"):
            raise ValueError(f"'values' goes on text and code columns, not {self.type}")
        if self.synonyms is not None and (self.values is None or set(self.synonyms) - set(self.values)):
            raise ValueError("'synonyms' names values of the column's enumeration ('values'): {value: [other spellings]}")
        if self.when is not None and len(self.when) != 1:
            raise ValueError("'when' names one column: {column: [values]}")
        return self

    @property
    def headers(self) -> list[str]:
        return [self.header, *self.aliases]

    @property
    def kind(self) -> str | None:
        """The personal data this column holds (one of PERSONAL_KINDS), None for none."""
        return self.type if self.type in _PERSONAL_BY_TYPE else self.personal


class TableSpec(Strict):
    title: Bilingual
    files: list[str] = Field(min_length=1)
    key: list[str] = Field(default_factory=list, description="columns that identify a row: rows sharing them but "
                           "differing in another column are a conflict, quarantined")
    columns: list[ColumnSpec] = Field(min_length=1)
    expectations: list[dict[str, dict[str, Any]]] = Field(default_factory=list)
    fallback: Literal["official_holidays"] | None = Field(
        default=None, description="rows that stand in when the table is not delivered (crosscheck.connectors.fallbacks)")

    @model_validator(mode="after")
    def _names_unique_and_key_known(self) -> "TableSpec":
        names = [c.name for c in self.columns]
        duplicated = sorted({n for n in names if names.count(n) > 1})
        if duplicated:
            raise ValueError(f"duplicate column names: {', '.join(duplicated)}")
        unknown = [k for k in self.key if k not in names]
        if unknown:
            raise ValueError(f"key names unknown columns: {', '.join(unknown)}")
        for c in self.columns:
            for other, allowed in (c.when or {}).items():
                target = next((d for d in self.columns if d.name == other), None)
                if target is None or target.values is None:
                    raise ValueError(f"column {c.name}: 'when' names {other}, which is not an enumeration column of the table")
                wrong = [v for v in allowed if v not in target.values]
                if wrong:
                    raise ValueError(f"column {c.name}: 'when' values {', '.join(wrong)} are not values of {other}")
        return self

    def key_headers(self) -> str:
        """The key as reviewers read it: its delivered headers (办件编号, 日期)."""
        return "+".join(self.column(k).header for k in self.key)

    def all_expectations(self) -> list[dict[str, dict[str, Any]]]:
        """The YAML's `expectations` and those its declarations imply: an enumeration in its set,
        a number at least its `min`, a key unique (the loader makes them hold: what breaks one
        is in quarantine)."""
        implied: list[dict[str, dict[str, Any]]] = []
        for c in self.columns:
            if c.values is not None:
                implied.append({"expect_column_values_to_be_in_set": {"column": c.name, "value_set": list(c.values)}})
            if c.min is not None:
                implied.append({"expect_column_values_to_be_between": {"column": c.name, "min_value": c.min}})
        if len(self.key) == 1:
            implied.append({"expect_column_values_to_be_unique": {"column": self.key[0]}})
        elif self.key:
            implied.append({"expect_compound_columns_to_be_unique": {"column_list": list(self.key)}})
        return implied + [e for e in self.expectations if e not in implied]

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
