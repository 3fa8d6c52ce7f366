"""Stable finding keys.

A finding's key is the first 16 hex characters of SHA-256 over
``"rule_id|subject|discriminator"`` (a missing value counts as the empty
string). The key never shows an identity number in clear text, and the same
finding gets the same key in every run, so reviews follow it from run to run.
"""
from __future__ import annotations

import hashlib
import re

import pyarrow as pa

KEY_LENGTH = 16
KEY_PATTERN = re.compile(r"^[0-9a-f]{16}$")


def finding_key(rule_id: str | None, subject: str | None, discriminator: str | None) -> str:
    text = f"{rule_id or ''}|{subject or ''}|{discriminator or ''}"
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:KEY_LENGTH]


def normalise_key(value: object) -> str:
    """A key as a reviewer may have typed or pasted it: trimmed, lower case."""
    return str(value if value is not None else "").strip().lower()


def is_key(value: str) -> bool:
    return bool(KEY_PATTERN.match(value))


def key_column(findings: pa.Table) -> pa.Array:
    """The finding_key of every row of a findings table, in row order."""
    rules = findings.column("rule_id").to_pylist()
    subjects = findings.column("subject").to_pylist()
    discs = findings.column("discriminator").to_pylist()
    return pa.array([finding_key(r, s, d) for r, s, d in zip(rules, subjects, discs)], pa.string())
