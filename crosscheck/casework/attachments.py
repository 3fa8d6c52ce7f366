"""Evidence files of a clue (附件): PDF, images, xlsx and docx up to `MAX_BYTES` each.

The type is sniffed from the first bytes, never taken from the name or the browser; anything
else (HTML, scripts, executables, unknown) is refused. A file is stored once per content,
outside anything the web server serves, under its SHA-256 in a folder beside the casework
database (``<store stem>.attachments/ab/abcdef…``), owner-only (0700 folders, 0600 files).
The name a person sees keeps no path. Every upload and download is in the audit log; who may
see the clue may download its files, who may work on it may upload (see `MAY`)."""
from __future__ import annotations

import hashlib
import io
import os
import re
import unicodedata
import zipfile
from pathlib import Path

from crosscheck.casework.auditlog import AuditLog
from crosscheck.casework.clues import Clues
from crosscheck.casework.db import BadInput, Database, NotFound
from crosscheck.casework.scope import Account
from crosscheck.casework.workflow import allowed

MAX_BYTES = 20 * 1024 * 1024
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
EXTENSION = {"application/pdf": ".pdf", "image/png": ".png", "image/jpeg": ".jpg", "image/gif": ".gif",
             XLSX: ".xlsx", DOCX: ".docx"}


class TooLarge(BadInput):
    """A file over `MAX_BYTES` (HTTP 413)."""


def sniff(data: bytes) -> str | None:
    """The file's type from its content, or None when it is none of the kinds taken."""
    if data.startswith(b"%PDF-"):
        return "application/pdf"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if data.startswith(b"PK\x03\x04"):
        try:
            names = zipfile.ZipFile(io.BytesIO(data)).namelist()
        except zipfile.BadZipFile:
            return None
        if "[Content_Types].xml" in names:
            if any(n.startswith("xl/") for n in names):
                return XLSX
            if any(n.startswith("word/") for n in names):
                return DOCX
    return None


def safe_name(name: str, kind: str) -> str:
    """The name shown and offered on download: no folders, no control characters, at most 100
    characters, ending in an extension of the sniffed type."""
    base = re.split(r"[\\/]", name or "")[-1]
    base = "".join(ch for ch in base if unicodedata.category(ch)[0] != "C").strip().lstrip(".") or "附件"
    stem, dot, ext = base.rpartition(".")
    stem, ext = (stem, "." + ext.lower()) if dot else (base, "")
    if ext not in (EXTENSION[kind], ".jpeg" if kind == "image/jpeg" else EXTENSION[kind]):
        ext = EXTENSION[kind]
    return stem[:90] + ext


def folder_of(casework_db: Path) -> Path:
    """Where a casework database's files are kept: ``crosscheck.clues.sqlite`` -> ``crosscheck.attachments``."""
    return casework_db.with_name(casework_db.name.removesuffix(".clues.sqlite").removesuffix(".sqlite") + ".attachments")


class Attachments:
    """A clue's files: kept under ``folder``, listed and read through the clue's scope."""

    def __init__(self, db: Database, clues: Clues, audit: AuditLog, folder: Path):
        self.db = db
        self.clues = clues
        self.audit = audit
        self.folder = folder

    def _path(self, sha256: str) -> Path:
        return self.folder / sha256[:2] / sha256

    def add(self, account: Account, key: str, name: str, data: bytes) -> dict:
        clue = self.clues.row(account, key)
        allowed(account, "attach")
        if len(data) > MAX_BYTES:
            raise TooLarge(f"附件超过 {MAX_BYTES // 1024 // 1024} MB", f"the file is over {MAX_BYTES // 1024 // 1024} MB")
        if not data:
            raise BadInput("附件是空文件", "the file is empty")
        kind = sniff(data)
        if kind is None:
            raise BadInput("只接受 PDF、图片（PNG、JPEG、GIF）、xlsx 和 docx 文件（按内容识别，不看文件名）",
                           "only PDF, images (PNG, JPEG, GIF), xlsx and docx are taken (judged by content, not name)")
        digest = hashlib.sha256(data).hexdigest()
        self._store(digest, data)
        shown = safe_name(name, kind)
        with self.db.write() as con:
            at = self.db.stamp()
            cur = con.execute("""INSERT INTO attachments (finding_key, name, size, sha256, type, user, at)
                                 VALUES (?, ?, ?, ?, ?, ?, ?)""",
                              [clue["finding_key"], shown, len(data), digest, kind, account.username, at])
            meta = {"id": int(cur.lastrowid), "name": shown, "size": len(data), "sha256": digest, "type": kind}
            self.audit.append(con, account.username, "attachment_upload", clue["finding_key"], None, meta)
        return dict(meta, user=account.username, at=self.db.local(at))

    def _store(self, digest: str, data: bytes) -> None:
        path = self._path(digest)
        if path.exists():
            return
        for folder in (self.folder, path.parent):
            folder.mkdir(mode=0o700, exist_ok=True)
            os.chmod(folder, 0o700)
        part = path.with_name(f".{digest}.{os.getpid()}.part")
        fd = os.open(part, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(part, path)

    def list(self, account: Account, key: str) -> list[dict]:
        clue = self.clues.row(account, key)
        return [{"id": r["attachment_id"], "name": r["name"], "size": r["size"], "sha256": r["sha256"],
                 "type": r["type"], "user": r["user"], "at": self.db.local(r["at"])}
                for r in self.db.rows("SELECT * FROM attachments WHERE finding_key = ? ORDER BY attachment_id",
                                      [clue["finding_key"]])]

    def read(self, account: Account, key: str, attachment_id: int) -> tuple[dict, bytes]:
        """One file of a clue the account sees (404 otherwise), its download logged."""
        clue = self.clues.row(account, key)
        row = self.db.one("SELECT * FROM attachments WHERE attachment_id = ? AND finding_key = ?",
                          [int(attachment_id), clue["finding_key"]])
        if row is None:
            raise NotFound(f"该线索没有附件 #{attachment_id}", f"no attachment #{attachment_id} of this clue")
        data = self._path(row["sha256"]).read_bytes()
        with self.db.write() as con:
            self.audit.append(con, account.username, "attachment_download", clue["finding_key"], None,
                              {"id": row["attachment_id"], "name": row["name"], "sha256": row["sha256"]})
        return {"id": row["attachment_id"], "name": row["name"], "type": row["type"], "size": row["size"]}, data
