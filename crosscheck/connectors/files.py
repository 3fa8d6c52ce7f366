"""Finding delivered files and working out their encoding, without DuckDB extensions.

Every file is streamed once in chunks: the SHA-256 of its bytes, whether it
is strict UTF-8 (an incremental decoder, so a character straddling two chunks
is fine) and how many physical lines it holds. Non-UTF-8 files are taken to be
GB18030 (a superset of GBK) and transcoded, streaming, to a UTF-8 temp file.
"""
from __future__ import annotations

import codecs
import hashlib
from dataclasses import dataclass
from pathlib import Path

CHUNK = 1 << 20

BOMS = [
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
]


class FileProblem(Exception):
    """A file-level failure; the message names the problem (the caller adds the file)."""


@dataclass
class Scan:
    sha256: str
    size: int
    encoding: str          # utf-8, utf-8-sig, utf-16 or gb18030 (binary formats: "")
    lines: int             # physical lines (a last line without newline counts)
    #: A UTF-8 file (its header line has non-ASCII text and decodes as UTF-8) whose
    #: later bytes do not: (line, byte offset, bytes). The file mixes encodings or is
    #: cut inside a character; it is failed, never decoded wholesale as GB18030.
    utf8_break: tuple[int, int, bytes] | None = None
    #: Every byte was decoded (False after a quick scan took the encoding from the file's start).
    checked: bool = True


def discover(folder: Path, patterns: list[str]) -> list[Path]:
    """Files in `folder` matching any glob pattern (extension case-insensitive), sorted by name."""
    if not folder.is_dir():
        return []
    found: dict[str, Path] = {}
    for pattern in patterns:
        stem, dot, ext = pattern.rpartition(".")
        variants = {pattern, f"{stem}{dot}{ext.upper()}"} if dot else {pattern}
        for variant in variants:
            for path in folder.glob(variant):
                if path.is_file() and not path.name.startswith(("~$", ".")):
                    found[path.name] = path
    return [found[name] for name in sorted(found)]


def scan(path: Path, text: bool, *, sha256: str | None = None, quick: bool = False) -> Scan:
    """Hash the file (unless its `sha256` is known); for text files also detect the
    encoding and count lines.

    `quick`: decode only up to the first chunk holding non-ASCII bytes, which decides
    the encoding; the rest is then taken to match (`Scan.checked` False) and the
    caller's CSV reader, which checks UTF-8 itself, reports otherwise."""
    digest = None if sha256 else hashlib.sha256()
    decided = False
    size = newlines = 0
    last = b""
    decoder = codecs.getincrementaldecoder("utf-8")("strict")
    utf8 = True
    broken: tuple[int, int, bytes] | None = None
    first_line = b""

    def failed(exc: UnicodeDecodeError, lines_before: int, end: int) -> tuple[int, int, bytes]:
        data = exc.object
        return (lines_before + data[: exc.start].count(b"\n") + 1, end - len(data) + exc.start,
                bytes(data[exc.start:exc.start + 4]))

    with open(path, "rb") as fh:
        head = fh.read(4)
        fh.seek(0)
        while chunk := fh.read(CHUNK):
            if not size:
                first_line = chunk.split(b"\n", 1)[0]
            if digest is not None:
                digest.update(chunk)
            size += len(chunk)
            last = chunk[-1:]
            if text:
                if utf8 and not decided:
                    try:
                        decoder.decode(chunk)
                    except UnicodeDecodeError as exc:
                        utf8, broken = False, failed(exc, newlines, size)
                    decided = quick and not chunk.isascii()
                newlines += chunk.count(b"\n")
    if text and utf8 and not decided:
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError as exc:
            utf8, broken = False, failed(exc, newlines - exc.object.count(b"\n"), size)
    encoding = ""
    if text:
        encoding = next((name for bom, name in BOMS if head.startswith(bom)), None) or ("utf-8" if utf8 else "gb18030")
    lines = newlines + (1 if size and last != b"\n" else 0)
    mixed = broken if (broken and broken[0] > 1 and encoding == "gb18030" and not first_line.isascii()) else None
    return Scan(sha256 or digest.hexdigest(), size, encoding, lines, mixed, checked=not decided)


def transcode(path: Path, encoding: str, dest: Path) -> int:
    """Stream `path` from `encoding` to UTF-8 at `dest`; return its physical line count.

    Undecodable bytes raise FileProblem naming the line and byte offset.
    """
    decoder = codecs.getincrementaldecoder(encoding)("strict")
    offset = newlines = 0
    last = ""
    with open(path, "rb") as src, open(dest, "w", encoding="utf-8", newline="") as out:
        while True:
            chunk = src.read(CHUNK)
            try:
                text = decoder.decode(chunk, final=not chunk)
            except UnicodeDecodeError as exc:
                bad = offset + exc.start
                line = newlines + exc.object[: exc.start].count(b"\n") + 1
                raise FileProblem(
                    f"line {line}: bytes at offset {bad} are neither UTF-8 nor {encoding.upper()} "
                    f"({bytes(exc.object[exc.start:exc.start + 4])!r})"
                ) from exc
            out.write(text)
            newlines += text.count("\n")
            if text:
                last = text[-1]
            if not chunk:
                break
            offset += len(chunk)
    return newlines + (1 if last and last != "\n" else 0)

