"""YAML loading that remembers where every value came from.

Rule and connector files are written by analysts; an error must name the file,
the line and the field. `load_yaml` returns plain Python data plus a `Locator`
that maps a pydantic error location (a tuple of keys and indexes) to a line.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

#: Names of sources, tables, columns, rules, steps, parameters: snake_case.
IDENT = r"^[a-z][a-z0-9_]*$"


class Strict(BaseModel):
    """A closed schema: unknown keys are errors (with file and line, see `validate`)."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class ConfigError(Exception):
    """One or more problems in a YAML file, each with file, line and field."""

    def __init__(self, problems: list["Problem"]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


@dataclass(frozen=True)
class Problem:
    file: str
    line: int | None
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.field}: {self.message}" if self.field else f"{where}: {self.message}"


@dataclass
class Locator:
    """Line numbers (1-based) of every mapping key and sequence item."""

    file: str
    lines: dict[tuple, int] = field(default_factory=dict)

    def line_of(self, loc: tuple) -> int | None:
        loc = tuple(loc)
        while loc:
            if loc in self.lines:
                return self.lines[loc]
            loc = loc[:-1]
        return self.lines.get((), 1)

    def problem(self, loc: tuple, message: str) -> Problem:
        return Problem(self.file, self.line_of(loc), ".".join(str(p) for p in loc), message)


def _walk(node: yaml.Node, path: tuple, lines: dict[tuple, int]) -> Any:
    lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        out = {}
        for key_node, value_node in node.value:
            key = key_node.value
            lines[path + (key,)] = key_node.start_mark.line + 1
            out[key] = _walk(value_node, path + (key,), lines)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_walk(item, path + (i,), lines) for i, item in enumerate(node.value)]
    return yaml.SafeLoader.construct_object(_loader, node, deep=True)  # scalar


_loader = yaml.SafeLoader("")


def load_yaml(path: Path) -> tuple[Any, Locator]:
    """Parse a YAML file; raise ConfigError naming the line on a syntax error."""
    name = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError([Problem(name, None, "", f"cannot read file: {exc}")]) from exc
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else None
        raise ConfigError([Problem(name, line, "", f"invalid YAML: {getattr(exc, 'problem', exc)}")]) from exc
    locator = Locator(name)
    if node is None:
        return None, locator
    return _walk(node, (), locator.lines), locator


def validate(model: type[BaseModel], data: Any, locator: Locator, context: dict | None = None) -> BaseModel:
    """Validate data against a pydantic model; every error carries file and line."""
    try:
        return model.model_validate(data, context=context)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = tuple(err["loc"])
            message = err["msg"]
            if err["type"] == "extra_forbidden":
                message = f"unknown key '{loc[-1]}'"
            problems.append(locator.problem(loc, message))
        raise ConfigError(problems) from exc
