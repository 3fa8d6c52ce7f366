"""findings.xlsx opens in LibreOffice: `libreoffice --headless --convert-to pdf` renders the Chinese.

Skips, saying why, when LibreOffice is not installed (`apt-get install libreoffice-calc`,
or `make browser` as root); the text check needs pdftotext (poppler-utils).
"""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from conftest_reports import record_two_runs  # noqa: E402

LIBREOFFICE = shutil.which("libreoffice") or shutil.which("soffice")
PDFTOTEXT = shutil.which("pdftotext")

pytestmark = pytest.mark.skipif(
    LIBREOFFICE is None,
    reason="LibreOffice is not installed (apt-get install libreoffice-calc); the findings.xlsx-to-PDF check is skipped",
)


@pytest.fixture(scope="module")
def pdf(tmp_path_factory) -> Path:
    base = tmp_path_factory.mktemp("libreoffice")
    out, _ = record_two_runs(base)
    profile = base / "lo-profile"   # a private profile: never clashes with a LibreOffice already open
    pdf_dir = base / "pdf"
    proc = subprocess.run(
        [LIBREOFFICE, f"-env:UserInstallation={profile.as_uri()}", "--headless", "--norestore",
         "--convert-to", "pdf", "--outdir", str(pdf_dir), str(out / "findings.xlsx")],
        capture_output=True, text=True, timeout=300,
    )
    path = pdf_dir / "findings.pdf"
    assert proc.returncode == 0 and path.is_file(), f"LibreOffice could not convert findings.xlsx: {proc.stdout}{proc.stderr}"
    print(f"\nfindings.xlsx as PDF: {path}  (look at it: pdftoppm -png -r 80 {path} page)")
    return path


def test_libreoffice_converts_findings_xlsx(pdf):
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF-") and len(data) > 5_000


def test_pdf_renders_the_chinese(pdf):
    if PDFTOTEXT is None:
        pytest.skip("pdftotext is not installed (apt-get install poppler-utils); the PDF was written but its text is not checked")
    text = subprocess.run([PDFTOTEXT, "-layout", str(pdf), "-"], capture_output=True, text=True, timeout=60, check=True).stdout
    for want in ("数据比对疑点核查报告", "与上次运行相比", "规则准确率", "死亡后仍发放养老金",  # 汇总 sheet
                 "身份证号", "证据", "处置 / disposition", "复核人"):                      # rule sheets
        assert want in text, f"{want!r} not in the PDF text"
    assert "420202********1234" in text   # masked identity numbers as written
    assert "\ufffd" not in text and "□" not in text  # no replacement characters or tofu boxes
    fonts = shutil.which("pdffonts")
    if fonts:
        listing = subprocess.run([fonts, str(pdf)], capture_output=True, text=True, timeout=60).stdout
        assert listing.count("\n") > 2, listing  # fonts are embedded / referenced
