"""Vectorised field scorers for fuzzy joins, registered on DuckDB as Arrow UDFs.

Every scorer takes two aligned Arrow arrays and returns a DOUBLE array in
[0, 1] (NULL where either side is NULL). Strings are scored with rapidfuzz
``process.cpdist`` (aligned pairs, C++), never a Python loop per row.

SQL name            scorer (``compare: [{scorer: ...}]`` of a fuzzy_join step)
``name_similarity`` name           (crosscheck.engines.similarity: Chinese and Latin names)
``fz_jaro_winkler`` jaro_winkler   (rapidfuzz JaroWinkler.normalized_similarity)
``fz_levenshtein``  levenshtein    (1 - edit distance / longer length)
``fz_ratio``        ratio          (rapidfuzz fuzz.ratio, Indel)
``fz_token_set``    token_set      (rapidfuzz fuzz.token_set_ratio: word order and extra words)
``fz_token_sort``   token_sort     (rapidfuzz fuzz.token_sort_ratio: word order)
``fz_date``         date           (digits of the two dates: 1 equal, 0.8 day/month swapped,
                                    else Levenshtein similarity of the digits)
(SQL)               exact          (1 equal, 0 different)
"""
from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from rapidfuzz import fuzz, process
from rapidfuzz.distance import JaroWinkler, Levenshtein

#: Parallel threads in cpdist from this many pairs on.
_PARALLEL_FROM = 20_000


def _scaled(scorer, factor: float):
    return lambda left, right: _cpdist(left, right, scorer) / factor


def _cpdist(left: np.ndarray, right: np.ndarray, scorer) -> np.ndarray:
    if len(left) == 0:
        return np.zeros(0)
    return process.cpdist(left, right, scorer=scorer, dtype=np.float64, workers=-1 if len(left) >= _PARALLEL_FROM else 1)


def _strings(arr) -> pa.Array:
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    return arr if pa.types.is_string(arr.type) else arr.cast(pa.string())


def _apply(kernel, a, b) -> pa.Array:
    """Run `kernel(left, right)` (numpy object arrays of str) on the rows where both sides are set."""
    a, b = _strings(a), _strings(b)
    valid = pc.and_(pc.is_valid(a), pc.is_valid(b)).to_numpy(zero_copy_only=False)
    out = np.full(len(a), np.nan)
    if valid.any():
        left = a.filter(pa.array(valid)).to_numpy(zero_copy_only=False)
        right = b.filter(pa.array(valid)).to_numpy(zero_copy_only=False)
        out[valid] = np.clip(kernel(left, right), 0.0, 1.0)
    return pa.array(out, type=pa.float64(), mask=np.isnan(out))


def _date_kernel(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    la = pc.replace_substring_regex(pa.array(left, type=pa.string()), "[^0-9]", "")
    lb = pc.replace_substring_regex(pa.array(right, type=pa.string()), "[^0-9]", "")
    score = _cpdist(la.to_numpy(zero_copy_only=False), lb.to_numpy(zero_copy_only=False), Levenshtein.normalized_similarity)
    # YYYYMMDD with day and month swapped
    swapped = pc.binary_join_element_wise(pc.utf8_slice_codeunits(lb, 0, 4), pc.utf8_slice_codeunits(lb, 6, 8),
                                          pc.utf8_slice_codeunits(lb, 4, 6), "")
    is_swap = pc.and_(pc.equal(la, swapped), pc.equal(pc.utf8_length(la), 8)).to_numpy(zero_copy_only=False)
    score = np.where(is_swap, np.maximum(score, 0.8), score)
    equal = pc.equal(la, lb).to_numpy(zero_copy_only=False)
    empty = (pc.utf8_length(la).to_numpy(zero_copy_only=False) == 0) | (pc.utf8_length(lb).to_numpy(zero_copy_only=False) == 0)
    return np.where(equal & ~empty, 1.0, np.where(empty, 0.0, score))


#: SQL function name -> kernel over aligned numpy arrays of strings.
KERNELS = {
    "fz_jaro_winkler": _scaled(JaroWinkler.normalized_similarity, 1.0),
    "fz_levenshtein": _scaled(Levenshtein.normalized_similarity, 1.0),
    "fz_ratio": _scaled(fuzz.ratio, 100.0),
    "fz_token_set": _scaled(fuzz.token_set_ratio, 100.0),
    "fz_token_sort": _scaled(fuzz.token_sort_ratio, 100.0),
    "fz_date": _date_kernel,
}

#: fuzzy_join scorer name -> SQL function (``exact`` is plain SQL).
SCORER_FUNCTIONS = {
    "name": "name_similarity",
    "jaro_winkler": "fz_jaro_winkler",
    "levenshtein": "fz_levenshtein",
    "ratio": "fz_ratio",
    "token_set": "fz_token_set",
    "token_sort": "fz_token_sort",
    "date": "fz_date",
}
SCORERS = (*SCORER_FUNCTIONS, "exact")


def score(sql_name: str, a, b) -> pa.Array:
    """Score two aligned arrays with a registered scorer (what the UDF runs)."""
    if sql_name == "name_similarity":
        from crosscheck.engines.similarity import name_similarity_arrow

        return name_similarity_arrow(_strings(a), _strings(b))
    return _apply(KERNELS[sql_name], a, b)


def _udf(sql_name: str):
    def udf(a, b):
        return score(sql_name, a, b)

    udf.__name__ = sql_name
    return udf


def register(con) -> None:
    """Register every scorer (and name_similarity, and the name linker's character functions)
    on a DuckDB connection; idempotent."""
    from crosscheck.engines import characters, similarity

    similarity.register(con)
    characters.register(con)
    for name in KERNELS:
        try:
            con.remove_function(name)
        except Exception:  # not registered yet
            pass
        con.create_function(name, _udf(name), ["VARCHAR", "VARCHAR"], "DOUBLE", type="arrow", null_handling="special")
