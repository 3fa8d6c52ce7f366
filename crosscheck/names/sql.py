"""The name linker as one SELECT (DuckDB SQL; crosscheck.engines.dialect writes it for Spark).

From each record's name form, township and village (text keys), and sex and birth year
where given, the registry person it is and how, or the candidates when it could be more
than one (docs/names.md). Every step is an equi-join, so it scales with the data:

1. **query keys**: the distinct (name, township, village, sex, birth year) of the records
   without an identity number; records that share a key share its answer;
2. **identical** (一致): join on township + village + name form;
3. **one variant character**, for the keys with no identical candidate: a name of n
   characters gives n masked keys (position i left out), joined on township + village +
   length + position + masked key; the two characters at that position make the pair,
   classified with per-character tables computed once for the distinct characters
   present (``name_char_reading``, ``name_char_shape`` or the rule's look-alike table):
   缺字 (the record's character is ``?`` or ``□``), else 同音, else 形近;
4. optionally (``neighbouring``), the keys with no candidate at all in their village are
   looked for in the other villages of their township, by identical name form only (邻村):
   over a whole township a one-character variant finds a stranger for nearly any name;
5. a key links when exactly one person stands in the class that decided it (identical
   before variant; village before township), and is ambiguous when several do.

Expressions are given already qualified: records' with alias ``r``, the registry's with ``p``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from crosscheck.engines.characters import LOST_CHARACTERS

#: Link status of a record.
LINKED, AMBIGUOUS, UNIDENTIFIED = "linked", "ambiguous", "unidentified"
#: How a link was made (the class; ``link_way`` adds the characters: 同音 健→建).
BY_IDENTITY, IDENTICAL, SAME_SOUND, LOOKALIKE, LOST = "身份证号", "一致", "同音", "形近", "缺字"
NEIGHBOURING = "邻村"
#: Separators a look-alike table may use between its pairs (also in characters.parse_lookalikes).
LOOKALIKE_SEPARATORS = r"[\s,，、;；]+"

#: Columns the linker adds to each record (`rows='records'`): the person, how (class, the two
#: differing characters, the registry's village when found in a neighbouring one), the status
#: and, when ambiguous, the candidates' identity numbers.
RECORD_COLUMNS = ("link_person_id", "link_name", "link_match", "link_from", "link_to", "link_village", "link_status",
                  "link_candidates")
#: Columns of `rows='candidates'`: one row per record and candidate of the class that decided it.
CANDIDATE_COLUMNS = ("link_person_id", "link_status", "candidate_id", "candidate_name", "candidate_match",
                     "candidate_from", "candidate_to", "candidate_village")


@dataclass(frozen=True)
class Side:
    """A relation and the SQL expressions of its link keys (sex and birth year optional; the
    records' own columns are carried whole, so their `id` is not needed)."""

    relation: str
    id: str | None
    name: str
    township: str
    village: str
    sex: str | None = None
    birth_year: str | None = None


@dataclass(frozen=True)
class LinkQuery:
    records: Side
    registry: Side
    identity: str | None = None          # records: identity number, links whatever the name says
    lookalikes: str | None = None        # SQL text of the look-alike table ($param or 'literal'); None: four corners
    neighbouring: bool = False
    rows: Literal["records", "candidates"] = "records"


_KEY = ("name", "town", "vill", "sex", "yr")


def _same_key(a: str, b: str) -> str:
    return " AND ".join(f"{a}.{k} = {b}.{k}" if k in ("name", "town", "vill") else f"{a}.{k} IS NOT DISTINCT FROM {b}.{k}" for k in _KEY)


def _key_cols(alias: str) -> str:
    return ", ".join(f"{alias}.{k}" for k in _KEY)


def _filters(q: str, p: str) -> str:
    return (f"({q}.sex IS NULL OR {p}.sex IS NULL OR {p}.sex = {q}.sex) "
            f"AND ({q}.yr IS NULL OR {p}.yr IS NULL OR {p}.yr = {q}.yr)")


def _year(expr: str | None) -> str:
    return "CAST(NULL AS BIGINT)" if expr is None else f"CAST({expr} AS BIGINT)"


def _text(expr: str | None) -> str:
    return "CAST(NULL AS VARCHAR)" if expr is None else f"CAST({expr} AS VARCHAR)"


def _neighbours(open_keys: str) -> list[tuple[str, str]]:
    """The 邻村 pass: identical name forms in the other villages of the township (ln_cand_town)."""
    return [("ln_cand_town", f"SELECT {_key_cols('q')}, p.pid, p.pname, p.vill AS pvill, '{IDENTICAL}' AS kind, "
                             "CAST(NULL AS VARCHAR) AS a, CAST(NULL AS VARCHAR) AS b "
                             f"FROM {open_keys} AS q JOIN ln_reg AS p ON p.town = q.town AND p.vill <> q.vill AND p.pname = q.name "
                             f"WHERE {_filters('q', 'p')}")]


def _village(lookalike: str) -> list[tuple[str, str]]:
    """The village pass over the query keys (ln_q): identical, else one variant character (ln_cand_village)."""
    none = "CAST(NULL AS VARCHAR)"
    lost = ", ".join(f"'{c}'" for c in LOST_CHARACTERS)
    unlost = "CASE WHEN k.kind = '{}' THEN NULL ELSE k.{} END"
    return [
        ("ln_same", f"SELECT {_key_cols('q')}, p.pid, p.pname, {none} AS pvill, '{IDENTICAL}' AS kind, {none} AS a, {none} AS b "
                    "FROM ln_q AS q JOIN ln_reg AS p ON p.town = q.town AND p.vill = q.vill AND p.pname = q.name "
                    f"WHERE {_filters('q', 'p')}"),
        ("ln_open", f"SELECT q.* FROM ln_q AS q ANTI JOIN ln_same AS s ON {_same_key('s', 'q')}"),
        # a name of n characters: n keys, position i left out
        ("ln_qm", "SELECT o.*, length(o.name) AS len, substr(o.name, 1, o.pos - 1) || substr(o.name, o.pos + 1) AS mkey "
                  "FROM (SELECT q.*, unnest(range(1, length(q.name) + 1)) AS pos FROM ln_open AS q) AS o"),
        ("ln_regm", "SELECT o.*, length(o.pname) AS len, substr(o.pname, 1, o.pos - 1) || substr(o.pname, o.pos + 1) AS mkey "
                    "FROM (SELECT p.*, unnest(range(1, length(p.pname) + 1)) AS pos FROM ln_reg AS p "
                    "SEMI JOIN (SELECT DISTINCT town, vill FROM ln_open) AS s ON s.town = p.town AND s.vill = p.vill) AS o"),
        ("ln_var", f"SELECT {_key_cols('m')}, p.pid, p.pname, {none} AS pvill, substr(m.name, m.pos, 1) AS a, "
                   "substr(p.pname, m.pos, 1) AS b FROM ln_qm AS m JOIN ln_regm AS p ON p.town = m.town AND p.vill = m.vill "
                   "AND p.len = m.len AND p.pos = m.pos AND p.mkey = m.mkey "
                   f"WHERE substr(m.name, m.pos, 1) <> substr(p.pname, m.pos, 1) AND {_filters('m', 'p')}"),
        # the per-character table: computed once for the distinct characters of the differing pairs
        ("ln_chars", "SELECT ch, name_char_reading(ch) AS reading, name_char_shape(ch) AS shape "
                     "FROM (SELECT a AS ch FROM ln_var UNION SELECT b AS ch FROM ln_var) AS c"),
        ("ln_kind", f"SELECT v.*, CASE WHEN v.a IN ({lost}) THEN '{LOST}' "
                    f"WHEN ia.reading IS NOT NULL AND ia.reading = ib.reading THEN '{SAME_SOUND}' "
                    f"WHEN {lookalike} THEN '{LOOKALIKE}' END AS kind "
                    "FROM ln_var AS v LEFT JOIN ln_chars AS ia ON ia.ch = v.a LEFT JOIN ln_chars AS ib ON ib.ch = v.b"
                    + (" LEFT JOIN ln_look AS l ON l.a = v.a AND l.b = v.b" if "l.a" in lookalike else "")),
        ("ln_cand_village", f"SELECT * FROM ln_same UNION ALL SELECT {_key_cols('k')}, k.pid, k.pname, k.pvill, k.kind, "
                            f"{unlost.format(LOST, 'a')}, {unlost.format(LOST, 'b')} FROM ln_kind AS k WHERE k.kind IS NOT NULL"),
    ]


def _lookalike_ctes(table_sql: str) -> list[tuple[str, str]]:
    entries = f"SELECT unnest(string_split_regex(trim({table_sql}), '{LOOKALIKE_SEPARATORS}')) AS e"
    return [
        ("ln_look_e", f"SELECT e FROM ({entries}) AS t WHERE length(e) = 2"),
        ("ln_look", "SELECT substr(e, 1, 1) AS a, substr(e, 2, 1) AS b FROM ln_look_e "
                    "UNION SELECT substr(e, 2, 1) AS a, substr(e, 1, 1) AS b FROM ln_look_e"),
    ]


def link_sql(q: LinkQuery) -> str:
    """The linker's SELECT: the records' columns and the link columns (`RECORD_COLUMNS`), one
    row per record; or with ``rows='candidates'`` one row per record and candidate of the
    class that decided it (`CANDIDATE_COLUMNS`; one row with no candidate when there is none)."""
    r, p = q.records, q.registry
    ident = _text(q.identity)
    key_of_record = (f"{r.name} AS name, {r.township} AS town, {r.village} AS vill, {_text(r.sex)} AS sex, {_year(r.birth_year)} AS yr")
    lookalike = "l.a IS NOT NULL" if q.lookalikes else "ia.shape IS NOT NULL AND ia.shape = ib.shape"
    ctes: list[tuple[str, str]] = [
        ("ln_reg", f"SELECT {_text(p.id)} AS pid, {p.name} AS pname, {p.township} AS town, {p.village} AS vill, "
                   f"{_text(p.sex)} AS sex, {_year(p.birth_year)} AS yr FROM {p.relation} AS p "
                   f"WHERE {p.name} IS NOT NULL AND {p.name} <> '' AND {p.township} IS NOT NULL AND {p.village} IS NOT NULL"),
        ("ln_q", f"SELECT DISTINCT {key_of_record} FROM {r.relation} AS r WHERE {ident} IS NULL "
                 f"AND {r.name} IS NOT NULL AND {r.name} <> '' AND {r.township} IS NOT NULL AND {r.village} IS NOT NULL"),
    ]
    if q.lookalikes:
        ctes += _lookalike_ctes(_text(q.lookalikes))
    ctes += _village(lookalike)
    passes = ["ln_cand_village"]
    if q.neighbouring:
        ctes.append(("ln_q_town", f"SELECT q.* FROM ln_q AS q ANTI JOIN ln_cand_village AS c ON {_same_key('c', 'q')}"))
        ctes += _neighbours("ln_q_town")
        passes.append("ln_cand_town")
    ctes.append(("ln_cand", " UNION ALL ".join(f"SELECT * FROM {c}" for c in passes)))
    ctes.append(("ln_keys", f"SELECT {_key_cols('c')}, count(DISTINCT c.pid) AS n, min(c.pid) AS pid, min(c.pname) AS pname, "
                            "min(c.kind) AS kind, min(c.a) AS a, min(c.b) AS b, min(c.pvill) AS pvill, "
                            f"list(DISTINCT c.pid ORDER BY c.pid) AS candidates FROM ln_cand AS c GROUP BY {_key_cols('c')}"))
    join = (f"LEFT JOIN {{keys}} AS k ON {ident} IS NULL AND k.name = {r.name} AND k.town = {r.township} "
            f"AND k.vill = {r.village} AND k.sex IS NOT DISTINCT FROM {_text(r.sex)} AND k.yr IS NOT DISTINCT FROM {_year(r.birth_year)}")
    status = f"CASE WHEN {ident} IS NOT NULL OR k.n = 1 THEN '{LINKED}' WHEN k.n > 1 THEN '{AMBIGUOUS}' ELSE '{UNIDENTIFIED}' END"
    person = f"CASE WHEN {ident} IS NOT NULL THEN {ident} WHEN k.n = 1 THEN k.pid END"
    if q.rows == "records":
        ctes.append(("ln_names", f"SELECT pid, min(pname) AS pname FROM ln_reg AS p SEMI JOIN {r.relation} AS r ON p.pid = {ident} GROUP BY pid")
                    if q.identity else ("ln_names", "SELECT pid, pname FROM ln_reg WHERE FALSE"))
        linked = f"{ident} IS NULL AND k.n = 1"
        select = (f"SELECT r.*, {person} AS link_person_id, "
                  f"CASE WHEN {ident} IS NOT NULL THEN nm.pname WHEN k.n = 1 THEN k.pname END AS link_name, "
                  f"CASE WHEN {ident} IS NOT NULL THEN '{BY_IDENTITY}' WHEN k.n = 1 THEN k.kind END AS link_match, "
                  f"CASE WHEN {linked} THEN k.a END AS link_from, CASE WHEN {linked} THEN k.b END AS link_to, "
                  f"CASE WHEN {linked} THEN k.pvill END AS link_village, "
                  f"{status} AS link_status, CASE WHEN k.n > 1 THEN k.candidates END AS link_candidates "
                  f"FROM {r.relation} AS r {join.format(keys='ln_keys')} LEFT JOIN ln_names AS nm ON nm.pid = {ident}")
    else:
        ctes.append(("ln_each", f"SELECT k.{', k.'.join(_KEY)}, k.n, k.pid, c.pid AS cid, c.pname AS cname, c.kind AS ckind, "
                                "c.a AS ca, c.b AS cb, c.pvill AS cvill "
                                f"FROM ln_keys AS k JOIN ln_cand AS c ON {_same_key('c', 'k')}"))
        select = (f"SELECT r.*, {person} AS link_person_id, {status} AS link_status, "
                  f"CASE WHEN {ident} IS NOT NULL THEN {ident} ELSE k.cid END AS candidate_id, k.cname AS candidate_name, "
                  f"CASE WHEN {ident} IS NOT NULL THEN '{BY_IDENTITY}' ELSE k.ckind END AS candidate_match, "
                  "k.ca AS candidate_from, k.cb AS candidate_to, k.cvill AS candidate_village "
                  f"FROM {r.relation} AS r {join.format(keys='ln_each')}")
    return "WITH " + ",\n".join(f"{name} AS (\n  {body}\n)" for name, body in ctes) + "\n" + select


def way_phrase(match: str | None, from_char: str | None, to_char: str | None, village: str | None) -> str:
    """How a link was made, as one phrase: ``一致``, ``同音 健→建``, ``形近 金→全``, ``缺字``,
    ``身份证号``; ``邻村 东湾村 一致`` when the person was found in another village of the township."""
    if not match:
        return ""
    phrase = f"{match} {from_char}→{to_char}" if from_char and to_char else match
    return f"{NEIGHBOURING} {village} {phrase}" if village else phrase
