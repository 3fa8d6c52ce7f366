"""A rule's parameters: their types, how a value is checked and converted, and the SQL type
it is cast to where the rule reads it (`$name`, bound by the engine, never formatted in)."""
from __future__ import annotations

import re
from datetime import date
from typing import Any, Literal

from pydantic import Field, model_validator

from crosscheck.yamlio import Strict

RESERVED_PARAMETERS = {"as_of"}

ParamType = Literal["integer", "number", "date", "text", "boolean"]
#: DuckDB type each parameter type is cast to where it is referenced.
PARAM_SQL_TYPES: dict[str, str] = {
    "integer": "BIGINT",
    "number": "DOUBLE",
    "date": "DATE",
    "text": "VARCHAR",
    "boolean": "BOOLEAN",
}


def coerce_param(ptype: str, value: Any) -> Any:
    """Check and convert a parameter value to its declared type; ValueError if it does not fit."""
    if value is None:
        raise ValueError("value is missing")
    if ptype == "integer":
        if isinstance(value, bool) or not (isinstance(value, int) or (isinstance(value, str) and re.fullmatch(r"[+-]?\d+", value.strip()))):
            raise ValueError(f"expected an integer, got {value!r}")
        return int(value)
    if ptype == "number":
        if isinstance(value, bool):
            raise ValueError(f"expected a number, got {value!r}")
        try:
            return float(value)
        except (TypeError, ValueError):
            raise ValueError(f"expected a number, got {value!r}") from None
    if ptype == "date":
        if isinstance(value, date):
            return value if type(value) is date else value.date() if hasattr(value, "date") else value
        try:
            return date.fromisoformat(str(value).strip())
        except ValueError:
            raise ValueError(f"expected a date YYYY-MM-DD, got {value!r}") from None
    if ptype == "boolean":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in {"true", "false", "yes", "no", "1", "0"}:
            return value.strip().lower() in {"true", "yes", "1"}
        raise ValueError(f"expected true or false, got {value!r}")
    if not isinstance(value, (str, int, float)) or isinstance(value, bool):
        raise ValueError(f"expected text, got {value!r}")
    return str(value)


class Parameter(Strict):
    type: ParamType = Field(description="integer, number, date (YYYY-MM-DD), text or boolean; the value is checked and cast to it")
    default: Any = Field(description="value used unless a run or a test gives another (`--param RULE.NAME=VALUE`)")
    description: str = Field(default="", description="what the value means, with its unit")

    @model_validator(mode="after")
    def _default_fits(self) -> "Parameter":
        coerce_param(self.type, self.default)
        return self
