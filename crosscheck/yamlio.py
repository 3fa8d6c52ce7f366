"""YAML loading that remembers where every value came from.

Rule and connector files are written by analysts; an error must name the file,
the line and the field. `load_yaml` returns plain Python data plus a `Locator`
that maps a pydantic error location (a tuple of keys and indexes) to a line.
"""
from __future__ import annotations

import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from crosscheck.errors import closest, did_you_mean

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
    """Line numbers (1-based) of every mapping key and sequence item, and where the text of
    every scalar starts (a `|` block keeps its lines, so a line within it can be named)."""

    file: str
    lines: dict[tuple, int] = field(default_factory=dict)
    #: loc -> (file line of the text's first line, whether the text keeps its line breaks)
    texts: dict[tuple, tuple[int, bool]] = field(default_factory=dict)

    def line_of(self, loc: tuple) -> int | None:
        loc = tuple(loc)
        while loc:
            if loc in self.lines:
                return self.lines[loc]
            loc = loc[:-1]
        return self.lines.get((), 1)

    def line_in_text(self, loc: tuple, line: int | None) -> int | None:
        """The file line of line `line` (1-based) of the text at `loc` (`sql: |` and the like);
        the line of `loc` when the text is not a block of lines or the line is not known."""
        start = self.texts.get(tuple(loc))
        if start is None or not line:
            return self.line_of(loc)
        first, keeps_lines = start
        return first + line - 1 if keeps_lines else first

    def problem(self, loc: tuple, message: str, text_line: int | None = None) -> Problem:
        """A problem at `loc`; `text_line`: at that line of the text at `loc` (an SQL block)."""
        line = self.line_in_text(loc, text_line) if text_line else self.line_of(loc)
        return Problem(self.file, line, ".".join(str(p) for p in loc), message)


def _walk(node: yaml.Node, path: tuple, locator: Locator) -> Any:
    locator.lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        out = {}
        for key_node, value_node in node.value:
            key = key_node.value
            locator.lines[path + (key,)] = key_node.start_mark.line + 1
            out[key] = _walk(value_node, path + (key,), locator)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_walk(item, path + (i,), locator) for i, item in enumerate(node.value)]
    if node.style == "|":  # the text starts on the line after the `|`
        locator.texts[path] = (node.start_mark.line + 2, True)
    else:
        locator.texts[path] = (node.start_mark.line + 1, False)
    return yaml.SafeLoader.construct_object(_loader, node, deep=True)  # scalar


_loader = yaml.SafeLoader("")
_FAST = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load_yaml(path: Path) -> tuple[Any, Locator]:
    """Parse a YAML file; raise ConfigError naming the line on a syntax error."""
    name = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError([Problem(name, None, "", f"cannot read file: {exc}")]) from exc
    try:
        try:  # libyaml when there is one (ten times faster); PyYAML's own parser words the errors
            node = yaml.compose(text, Loader=_FAST)
        except yaml.YAMLError:
            node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else None
        hint = yaml_hint(exc, text)
        message = f"invalid YAML: {getattr(exc, 'problem', exc)}" + (f"; hint: {hint}" if hint else "")
        raise ConfigError([Problem(name, line, "", message)]) from exc
    locator = Locator(name)
    if node is None:
        return None, locator
    return _walk(node, (), locator), locator


def yaml_hint(exc: yaml.YAMLError, text: str) -> str:
    """One line on the usual cause of a YAML syntax error, from the error and the line it names."""
    problem = str(getattr(exc, "problem", "") or "")
    mark = getattr(exc, "problem_mark", None)
    lines = text.splitlines()
    line = lines[mark.line] if mark is not None and mark.line < len(lines) else ""
    before = line[: mark.column] if mark is not None else ""
    if "'\\t'" in problem or "\t" in problem:
        return "indent with spaces: YAML does not allow tabs"
    if "mapping values are not allowed" in problem:
        if ": " in before.strip() or before.rstrip().endswith(":"):
            return "a ': ' inside an unquoted value starts a new key: put the whole value in quotes"
        return "this line is indented more than the key above it: keys of one mapping start in the same column"
    if "end of stream" in problem and "quoted" in str(getattr(exc, "context", "")):
        start = getattr(exc, "context_mark", None)
        where = f" on line {start.line + 1}" if start is not None else ""
        return f"the quoted value that starts{where} is not closed"
    if "expected <block end>" in problem or "did not find expected" in problem or "could not find expected" in problem:
        if line.lstrip().startswith("-") and not line.lstrip().startswith(("- ", "---")) and line.strip() != "-":
            return "a list item needs a space after the '-'"
        value = line.split(":", 1)[1].strip() if ":" in line else ""
        if value.startswith(("{", "[")) and not value.endswith(("}", "]")):
            return "a value that starts with { or [ is read as a mapping or list: put the whole value in quotes"
        return "check the indentation of this line against the lines above it: the keys of one mapping, and the '- ' of one list, start in the same column"
    if "expected ',' or" in problem:
        return "a mapping or list in { } or [ ] is not closed, or holds an unquoted ':': quote values that contain ': ', '{' or '['"
    return ""


def validate(model: type[BaseModel], data: Any, locator: Locator, context: dict | None = None) -> BaseModel:
    """Validate data against a pydantic model; every error carries file and line."""
    try:
        return model.model_validate(data, context=context)
    except ValidationError as exc:
        errors = exc.errors()
        misspelt = {tuple(e["loc"][:-1]) + (m,) for e in errors if e["type"] == "extra_forbidden"
                    for m in closest_key(model, tuple(e["loc"]))}
        problems = []
        for err in errors:
            loc = tuple(err["loc"])
            message = err["msg"]
            if err["type"] == "extra_forbidden":
                message = unknown_key_message(model, loc)
            elif err["type"] == "missing":
                if loc in misspelt:
                    continue  # said once, as the misspelt key: "evidance: unknown key; did you mean evidence?"
                message = "required key missing"
            else:
                message = _own_words(err)
            problems.append(locator.problem(loc, message))
        raise ConfigError(problems) from exc


def without_unknown_keys(model: type[BaseModel], data: Any, context: dict | None = None) -> BaseModel | None:
    """`data` validated with its unknown keys left out, when unknown keys are its only problems
    (None otherwise): lint then checks the rest of the file too, so one run names every problem."""
    import copy

    try:
        model.model_validate(data, context=context)
        return None
    except ValidationError as exc:
        errors = exc.errors()
    if any(e["type"] != "extra_forbidden" for e in errors):
        return None
    data = copy.deepcopy(data)
    try:
        for err in errors:
            *path, key = err["loc"]
            node = data
            for part in path:
                node = node[part]
            del node[key]
    except (KeyError, IndexError, TypeError):  # a location through a union member's name: not followed
        return None
    try:
        return model.model_validate(data, context=context)
    except ValidationError:
        return None


def _own_words(err: dict) -> str:
    """A pydantic error in the project's words: a validator's own message without pydantic's
    "Value error, " prefix; a value not among those allowed named, with the nearest one."""
    ctx = err.get("ctx") or {}
    if err["type"] == "value_error" and ctx.get("error") is not None:
        return str(ctx["error"])
    if err["type"] == "literal_error" and isinstance(err.get("input"), str):
        allowed = [a.strip().strip("'") for a in str(ctx.get("expected", "")).replace(" or ", ", ").split(",") if a.strip()]
        if allowed:
            return f"'{err['input']}' is not one of {', '.join(allowed)}{did_you_mean(err['input'], allowed)}"
    return err["msg"]


def unknown_key_message(model: type[BaseModel], loc: tuple) -> str:
    """'unknown key; did you mean evidence?', or the keys allowed where the unknown one is."""
    known = keys_at(model, loc[:-1])
    if not known:
        return "unknown key"
    hint = did_you_mean(str(loc[-1]), known)
    return f"unknown key{hint}" if hint else f"unknown key (keys here: {', '.join(known)})"


def closest_key(model: type[BaseModel], loc: tuple) -> list[str]:
    """The known key an unknown one at `loc` is most likely a misspelling of ([] when none is alike)."""
    return closest(str(loc[-1]), keys_at(model, loc[:-1]), n=1)


def keys_at(model: type[BaseModel], loc: tuple) -> list[str]:
    """The keys (aliases where a field has one) of the model found at `loc` under `model`;
    [] when `loc` does not lead to one model."""
    found: list[Any] = [model]
    for part in loc:
        found = [t for tp in found for t in _inside(tp, part)]
    models = [t for t in found if isinstance(t, type) and issubclass(t, BaseModel)]
    if len(models) != 1:
        return []
    return [f.alias or name for name, f in models[0].model_fields.items()]


def _members(tp: Any) -> list[Any]:
    """The types a value of `tp` may have (a union or Optional unpacked)."""
    origin = typing.get_origin(tp)
    if origin is typing.Union or origin is types.UnionType:
        return [m for a in typing.get_args(tp) for m in _members(a) if m is not type(None)]
    if origin is typing.Annotated:
        return _members(typing.get_args(tp)[0])
    return [tp]


def _inside(tp: Any, part: Any) -> list[Any]:
    """The types one step of a pydantic error location leads to from `tp`."""
    out: list[Any] = []
    for m in _members(tp):
        origin = typing.get_origin(m)
        if isinstance(m, type) and issubclass(m, BaseModel):
            if part == m.__name__:
                out.append(m)  # pydantic names the union member it tried
            for name, f in m.model_fields.items():
                if part in (name, f.alias):
                    out.append(f.annotation)
        elif origin is list and isinstance(part, int):
            out.append(typing.get_args(m)[0])
        elif origin is dict and isinstance(part, str):
            out.append(typing.get_args(m)[1])
    return out
