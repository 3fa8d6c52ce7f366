"""report.html in headless Chromium: the findings tables sort and filter, and no request leaves the page.

Speaks the Chrome DevTools Protocol over a websocket (``websockets`` sync client);
skips when Chromium is not installed.
"""
from __future__ import annotations

import base64
import itertools
import json
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from conftest_reports import SCRIPT_NAME, make_run  # noqa: E402

from crosscheck.reports import write_reports  # noqa: E402

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
websockets_sync = pytest.importorskip("websockets.sync.client", reason="the websockets package is needed to drive Chromium")

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (apt-get install chromium); browser test skipped")


class CDP:
    """A minimal Chrome DevTools Protocol client for one page."""

    def __init__(self, ws_url: str):
        self.ws = websockets_sync.connect(ws_url, max_size=None, open_timeout=10)
        self.ids = itertools.count(1)
        self.events: list[dict] = []

    def send(self, method: str, params: dict | None = None, timeout: float = 10) -> dict:
        mid = next(self.ids)
        self.ws.send(json.dumps({"id": mid, "method": method, "params": params or {}}))
        deadline = time.monotonic() + timeout
        while True:
            msg = json.loads(self.ws.recv(timeout=max(0.1, deadline - time.monotonic())))
            if msg.get("id") == mid:
                if "error" in msg:
                    raise RuntimeError(f"{method}: {msg['error']}")
                return msg.get("result", {})
            self.events.append(msg)

    def wait_event(self, method: str, timeout: float = 10) -> dict:
        for i, ev in enumerate(self.events):
            if ev.get("method") == method:
                return self.events.pop(i)
        deadline = time.monotonic() + timeout
        while True:
            msg = json.loads(self.ws.recv(timeout=max(0.1, deadline - time.monotonic())))
            if msg.get("method") == method:
                return msg
            self.events.append(msg)

    def js(self, expression: str):
        res = self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True, "awaitPromise": True})
        if "exceptionDetails" in res:
            raise AssertionError(f"JS error: {res['exceptionDetails']}")
        return res["result"].get("value")

    def close(self):
        self.ws.close()


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    profile = tmp_path_factory.mktemp("chromium-profile")
    proc = subprocess.Popen(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--disable-quic", "--disable-extensions",
         "--hide-scrollbars", "--mute-audio", f"--user-data-dir={profile}", "--remote-debugging-port=0",
         "--remote-debugging-address=127.0.0.1", "--window-size=1400,1000", "about:blank"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    port_file = profile / "DevToolsActivePort"
    try:
        deadline = time.monotonic() + 90  # a busy machine starts it slowly
        while not (port_file.exists() and port_file.read_text().strip()):
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.skip("Chromium did not start (no DevToolsActivePort)")
            time.sleep(0.05)
        port = int(port_file.read_text().split()[0])
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=5) as resp:
            pages = [t for t in json.load(resp) if t.get("type") == "page"]
        yield pages[0]["webSocketDebuggerUrl"]
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture(scope="module")
def page(browser, tmp_path_factory):
    out = tmp_path_factory.mktemp("report-browser")
    run = make_run(extra_findings=400, seed=3)
    write_reports(run, out, mask=False)  # unmasked: the raw <script> name is in the page
    cdp = CDP(browser)
    cdp.send("Network.enable")
    cdp.send("Page.enable")
    cdp.send("Runtime.enable")
    cdp.send("Emulation.setDeviceMetricsOverride", {"width": 1400, "height": 1000, "deviceScaleFactor": 1, "mobile": False})
    cdp.send("Page.addScriptToEvaluateOnNewDocument", {"source": (
        "window.__alerts = 0; window.alert = function () { window.__alerts++; };"
        "window.__blocked = []; document.addEventListener('securitypolicyviolation', function (e) { window.__blocked.push(e.blockedURI || e.violatedDirective); });"
    )})
    cdp.send("Page.navigate", {"url": (out / "report.html").as_uri()})
    cdp.wait_event("Page.loadEventFired", timeout=15)
    yield cdp, run, out
    cdp.close()


def _requests(cdp: CDP) -> list[str]:
    return [ev["params"]["request"]["url"] for ev in cdp.events if ev.get("method") == "Network.requestWillBeSent"]


FIRST = "document.querySelector('.findings')"
AMOUNTS = f"Array.from({FIRST}.querySelectorAll('tbody td.c-amount')).map(td => td.textContent)"


def _num(s: str) -> float:
    return float(s.replace(",", "")) if s else float("-inf")


def test_table_sorts_by_clicking_a_header(page):
    cdp, run, _ = page
    n_widgets = cdp.js("window.crosscheckWidgets.length")
    assert n_widgets == sum(1 for r in run.rules if r.status == "ok" and r.rule_id in set(run.findings.column("rule_id").to_pylist()))
    assert cdp.js(f"{FIRST}.querySelectorAll('tbody tr').length") == 100  # first page of a paged table

    cdp.js(f"{FIRST}.querySelector('th[data-col=amount]').click()")
    desc = [_num(a) for a in cdp.js(AMOUNTS)]
    assert desc == sorted(desc, reverse=True) and desc[0] > desc[-1]
    assert cdp.js(f"{FIRST}.querySelector('th[data-col=amount]').getAttribute('aria-sort')") == "descending"
    cdp.js(f"{FIRST}.querySelector('th[data-col=amount]').click()")
    asc = [_num(a) for a in cdp.js(AMOUNTS)]
    assert asc == sorted(asc) and asc[0] < desc[0]

    cdp.js(f"{FIRST}.querySelector('th[data-col=name]').click()")
    names = cdp.js(f"Array.from({FIRST}.querySelectorAll('tbody td.c-name')).map(td => td.textContent)")
    collated = cdp.js(f"(() => {{ const n = {json.dumps(names, ensure_ascii=False)}; const c = new Intl.Collator('zh-CN', {{numeric: true}}); return n.slice().sort(c.compare); }})()")
    assert names == collated


def test_table_filters_by_text_and_district(page):
    cdp, run, _ = page
    rows = [r for r in run.findings.to_pylist() if r["rule_id"] == "pension_paid_after_death"]
    district = "阳新县"
    want = sum(1 for r in rows if r["district"] == district)
    cdp.js(f"(() => {{ const s = {FIRST}.querySelector('select.ft-district'); s.value = {json.dumps(district)}; s.dispatchEvent(new Event('change')); }})()")
    assert cdp.js(f"Number({FIRST}.querySelector('.ft-count').dataset.matched)") == want
    shown = cdp.js(f"Array.from({FIRST}.querySelectorAll('tbody td.c-district')).map(td => td.textContent)")
    assert shown and set(shown) == {district} and len(shown) == min(want, 100)

    # text filter on top of the district filter, then alone
    cdp.js(f"(() => {{ const s = {FIRST}.querySelector('select.ft-district'); s.value = ''; s.dispatchEvent(new Event('change')); }})()")
    cdp.js(f"(() => {{ const i = {FIRST}.querySelector('input.ft-search'); i.value = 'script>alert'; i.dispatchEvent(new Event('input')); }})()")
    assert cdp.js(f"{FIRST}.querySelectorAll('tbody tr').length") == 1
    assert cdp.js(f"{FIRST}.querySelector('tbody td.c-name').textContent") == SCRIPT_NAME  # shown as text
    cdp.js(f"(() => {{ const i = {FIRST}.querySelector('input.ft-search'); i.value = 'no such thing'; i.dispatchEvent(new Event('input')); }})()")
    assert cdp.js(f"{FIRST}.querySelector('tbody td.empty') !== null")
    cdp.js(f"(() => {{ const i = {FIRST}.querySelector('input.ft-search'); i.value = ''; i.dispatchEvent(new Event('input')); }})()")
    assert cdp.js(f"Number({FIRST}.querySelector('.ft-count').dataset.matched)") == len(rows)


def test_language_toggle_and_no_script_injection(page):
    cdp, _, _ = page
    assert cdp.js("window.__alerts") == 0
    assert cdp.js("document.querySelectorAll('script').length") == cdp.js("document.querySelectorAll('script[type=\"application/json\"]').length") + 1
    cdp.js("document.getElementById('lang-toggle').click()")
    assert cdp.js("document.body.classList.contains('lang-en')")
    assert cdp.js(f"{FIRST}.querySelector('th[data-col=amount]').firstChild.textContent") == "Amount (CNY)"
    cdp.js("document.getElementById('lang-toggle').click()")
    assert cdp.js(f"{FIRST}.querySelector('th[data-col=amount]').firstChild.textContent") == "涉及金额（元）"


def test_no_network_request_and_screenshot(page, tmp_path):
    cdp, _, out = page
    cdp.send("Runtime.evaluate", {"expression": "1"})  # flush pending events
    urls = _requests(cdp)
    assert urls, "the report itself should have been requested"
    external = [u for u in urls if not u.startswith(("file:", "data:", "about:"))]
    assert external == [], f"report.html tried to reach the network: {external}"
    assert cdp.js("window.__blocked") == [], "the page's Content-Security-Policy blocked something it tried to load"

    cdp.js("window.scrollTo({top: 0, behavior: 'instant'})")
    shot = base64.b64decode(cdp.send("Page.captureScreenshot", {"format": "png"}, timeout=20)["data"])
    path = tmp_path / "report-summary.png"
    path.write_bytes(shot)
    cdp.js("window.scrollTo({top: document.querySelector('section.rule').getBoundingClientRect().top + window.scrollY - 70, behavior: 'instant'})")
    path2 = tmp_path / "report-findings.png"
    path2.write_bytes(base64.b64decode(cdp.send("Page.captureScreenshot", {"format": "png"}, timeout=20)["data"]))
    print(f"\nscreenshots: {path} {path2}")
    assert shot[:8] == b"\x89PNG\r\n\x1a\n" and len(shot) > 10_000


def test_status_badges_and_filter_of_a_recorded_run(page, tmp_path):
    """Last in this file: it navigates the page to a report of a run recorded in a store."""
    from conftest_reports import record_two_runs

    cdp, _, _ = page
    out, _ = record_two_runs(tmp_path)
    cdp.send("Page.navigate", {"url": (out / "report.html").as_uri()})
    cdp.wait_event("Page.loadEventFired", timeout=15)
    W = "document.querySelector('section[data-rule-id=pension_duplicate_schemes] .findings')"
    assert cdp.js(f"{W}.querySelector('thead th').getAttribute('data-col')") == "status"
    badges = cdp.js(f"Array.from({W}.querySelectorAll('tbody td.c-status .badge')).map(b => b.className + '|' + b.textContent)")
    assert sorted(badges) == ["badge fs-new|新增", "badge fs-recurring|持续"]
    assert cdp.js(f"Array.from({W}.querySelectorAll('tbody td.c-first_seen')).map(td => td.textContent).sort()") == ["2026-11-01", "2026-12-01"]
    cdp.js(f"(() => {{ const s = {W}.querySelector('select.ft-status'); s.value = 'new'; s.dispatchEvent(new Event('change')); }})()")
    assert cdp.js(f"Number({W}.querySelector('.ft-count').dataset.matched)") == 1
    assert cdp.js(f"{W}.querySelector('tbody td.c-status').textContent") == "新增"
    cdp.js("document.getElementById('lang-toggle').click()")
    assert cdp.js(f"{W}.querySelector('tbody td.c-status').textContent") == "New"
    assert cdp.js("document.getElementById('precision-table').innerText").count("50.0%") == 1
    cdp.js("document.getElementById('lang-toggle').click()")
    assert cdp.js("window.__alerts") == 0


# --- a reviewer's report of a real run: one glance per finding, details and timeline when opened ---

@pytest.fixture(scope="module")
def city_report(sample_city, crosscheck_cmd, tmp_path_factory):
    """`crosscheck run` of the sample city, recorded twice (the second run's findings are recurring)."""
    from conftest import SAMPLE_AS_OF

    base = tmp_path_factory.mktemp("city-report")
    for name in ("r1", "r2"):
        proc = subprocess.run([*crosscheck_cmd, "run", "--extracts", str(sample_city), "--as-of", SAMPLE_AS_OF.isoformat(),
                               "--out", str(base / name), "--store", str(base / "store.duckdb")],
                              capture_output=True, text=True, timeout=600)
        assert proc.returncode == 0, proc.stderr
    return base / "r2"


def _open(cdp: CDP, report: Path) -> None:
    cdp.send("Emulation.setDeviceMetricsOverride", {"width": 1400, "height": 900, "deviceScaleFactor": 1, "mobile": False})
    cdp.send("Page.navigate", {"url": report.as_uri()})
    cdp.wait_event("Page.loadEventFired", timeout=15)


def _shot(cdp: CDP, path: Path) -> Path:
    path.write_bytes(base64.b64decode(cdp.send("Page.captureScreenshot", {"format": "png"}, timeout=20)["data"]))
    return path


def test_a_finding_row_is_one_glance_and_opens_to_its_evidence_and_timeline(page, city_report, tmp_path):
    cdp, _, _ = page
    _open(cdp, city_report / "report.html")
    heights = cdp.js("Array.from(document.querySelectorAll('tr.ft-row')).map(tr => tr.getBoundingClientRect().height)")
    assert heights and max(heights) <= 80, max(heights)
    # the investigate-first list: every finding, highest severity first, the largest amounts leading
    rows = cdp.js("window.crosscheckPriority.rows.length")
    listed = sum(1 for _ in open(city_report / "findings.csv", encoding="utf-8-sig")) - 1
    assert rows == listed
    sev = cdp.js("Array.from(document.querySelectorAll('.priority-findings tbody td.c-severity')).map(td => td.textContent)")
    assert sev == sorted(sev, key=["高", "中", "低"].index)
    # at 1400 px no findings table scrolls sideways: the evidence takes the width left, ending in …
    sideways = cdp.js("Array.from(document.querySelectorAll('.ft-wrap')).filter(w => w.offsetParent !== null)"
                      ".map(w => w.scrollWidth - w.clientWidth)")
    widest = cdp.js("Array.from(document.querySelectorAll('.ft-wrap')).filter(w => w.offsetParent !== null"
                    " && w.scrollWidth - w.clientWidth > 1).map(w => { const m = {}; w.querySelectorAll('tbody tr.ft-row td')"
                    ".forEach(td => { m[td.className] = Math.max(m[td.className] || 0, Math.round(td.getBoundingClientRect().width)); });"
                    " return [w.clientWidth, w.scrollWidth, m]; })")
    assert sideways and max(sideways) <= 1, json.dumps(widest, ensure_ascii=False)
    top = tmp_path / "report-top-1400x900.png"
    cdp.js("window.scrollTo({top: 0, behavior: 'instant'})")
    _shot(cdp, top)
    # one rule's section, then one finding opened: whole evidence, timeline with the death and the months paid, sources
    section = "document.querySelector('section[data-rule-id=pension_paid_after_death]')"
    cdp.js(f"window.scrollTo({{top: {section}.getBoundingClientRect().top + window.scrollY - 10, behavior: 'instant'}})")
    rule_shot = _shot(cdp, tmp_path / "report-rule-1400x900.png")
    cdp.js(f"{section}.querySelector('tr.ft-row').click()")
    detail = f"{section}.querySelector('tr.ft-detail')"
    assert cdp.js(f"{detail} !== null")
    assert cdp.js(f"{detail}.querySelector('svg.timeline .tl-death') !== null")
    assert cdp.js(f"{detail}.querySelector('svg.timeline .tl-span') !== null")
    assert cdp.js(f"{detail}.querySelectorAll('.d-sources li').length") >= 2
    assert "死亡" in cdp.js(f"{detail}.querySelector('svg.timeline').textContent")
    # its evidence fields by their Chinese labels (rules/pension/pension_paid_after_death.yaml)
    labels = cdp.js(f"Array.from({detail}.querySelectorAll('.d-fields dt')).map(dt => dt.textContent)")
    assert labels == ["死亡日期", "死亡日期来源", "死亡后发放月数", "起始月份", "截止月份", "合计金额"]
    assert cdp.js(f"{detail}.querySelectorAll('.d-fields dd')[2].textContent").isdigit()
    opened = _shot(cdp, tmp_path / "report-opened-1400x900.png")
    cdp.js(f"{section}.querySelector('tr.ft-row').click()")
    assert cdp.js(f"{detail} === null")  # closed again
    print(f"\nscreenshots: {top} {rule_shot} {opened}")
    assert cdp.js("window.__alerts") == 0
