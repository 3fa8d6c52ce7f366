"""One clue's whole life in headless Chromium against a real workbench server: a supervisor
assigns it with a deadline and hands it over to the department, the reviewer confirms it with
the amount recovered, the department gives its feedback, the supervisor closes it, and the
dashboard's figures follow; then the day-one tools: search from the header, an attachment, the
线索处置单 and the 整改台账, a red clue once time has passed (the server's clock is moved), long
text that wraps, and the print layout. No request leaves 127.0.0.1, the Content-Security-Policy
blocks nothing the pages need, and the hostile name in the data never runs. Screenshots are
left in screenshots-for-review/ (not committed)."""
from __future__ import annotations

import base64
import os
import time
from datetime import timedelta
from pathlib import Path
from urllib.parse import quote

import pytest

from crosscheck.casework import Settings
from test_report_browser import CDP, CHROMIUM, browser  # noqa: F401 - the Chromium fixture, shared
from workbench_helpers import PASSWORD, REPO, Server, build_store, key_of, write_project

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed; browser test skipped")
SHOTS = Path(os.environ.get("CROSSCHECK_SCREENSHOTS") or REPO / "screenshots-for-review")


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    folder = tmp_path_factory.mktemp("wb-browser")
    server = Server(build_store(folder, n=60), write_project(folder / "project", rules_dir=str(REPO / "rules")),
                    clock_file=folder / "clock").start()
    yield server
    server.stop()


def wait_until(cdp: CDP, expression: str, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if cdp.js(expression):
                return
        except (AssertionError, RuntimeError):
            pass  # the page is changing under us
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {expression}: at {cdp.js('location.href')}")


def go(cdp: CDP, url: str) -> None:
    cdp.send("Page.navigate", {"url": url})
    wait_until(cdp, f"location.href === {url!r} && document.readyState === 'complete'")


def fill(cdp: CDP, values: dict[str, str]) -> None:
    for element, value in values.items():
        cdp.js(f"(function(){{var e=document.getElementById({element!r}); e.value={value!r};"
               "e.dispatchEvent(new Event('change')); return true;})()")


def submit_and_reload(cdp: CDP, button: str) -> None:
    cdp.js("window.__reloaded = false; true")
    cdp.js(f"document.getElementById({button!r}).click(); true")
    wait_until(cdp, "window.__reloaded === undefined && document.readyState === 'complete'")
    error = cdp.js("Array.from(document.querySelectorAll('.msg.err')).map(e => e.textContent).join(' ')")
    assert not error, error


def login(cdp: CDP, site: Server, user: str) -> None:
    go(cdp, site.url + "/login")
    fill(cdp, {"username": user, "password": PASSWORD})
    cdp.js("document.getElementById('login-btn').click(); true")
    wait_until(cdp, "location.pathname === '/clues' && document.readyState === 'complete'")


def logout(cdp: CDP) -> None:
    cdp.js("document.getElementById('logout').click(); true")
    wait_until(cdp, "location.pathname === '/login' && document.readyState === 'complete'")


def kpi(cdp: CDP, name: str) -> str:
    return cdp.js(f"document.getElementById('k-{name}').textContent")


def screenshot(cdp: CDP, name: str) -> Path:
    SHOTS.mkdir(exist_ok=True)
    height = cdp.js("Math.min(4000, document.documentElement.scrollHeight)")
    cdp.send("Emulation.setDeviceMetricsOverride", {"width": 1400, "height": int(height), "deviceScaleFactor": 1,
                                                    "mobile": False})
    data = cdp.send("Page.captureScreenshot", {"format": "png"}, timeout=30)["data"]
    cdp.send("Emulation.setDeviceMetricsOverride", {"width": 1400, "height": 1000, "deviceScaleFactor": 1, "mobile": False})
    path = SHOTS / name
    path.write_bytes(base64.b64decode(data))
    return path


def test_one_clue_through_its_whole_life_in_a_browser(browser, site):  # noqa: F811
    cdp = CDP(browser)
    for domain in ("Network", "Page", "Runtime"):
        cdp.send(f"{domain}.enable")
    cdp.send("Emulation.setDeviceMetricsOverride", {"width": 1400, "height": 1000, "deviceScaleFactor": 1, "mobile": False})
    cdp.send("Page.addScriptToEvaluateOnNewDocument", {"source": (
        "window.__alerts = 0; window.alert = function () { window.__alerts++; };"
        "window.__blocked = []; document.addEventListener('securitypolicyviolation', function (e) {"
        " window.__blocked.push(e.blockedURI + ' ' + e.violatedDirective); });")})
    key = key_of(6)           # pension, 大冶市
    deadline = (Settings().today() + timedelta(days=2)).isoformat()
    try:
        login(cdp, site, "boss")
        go(cdp, site.url + "/dashboard")
        before = {k: kpi(cdp, k) for k in ("confirmed", "recovered", "open", "rate")}
        go(cdp, site.url + "/clues")
        assert cdp.js("document.querySelectorAll('#clue-table tbody tr').length") == 40   # 60 findings, 20 in shadow
        assert cdp.js("document.body.innerText.indexOf('<script>alert(1)</script>') < 0")
        assert cdp.js("window.__alerts") == 0
        cdp.js("document.getElementById('lang-toggle').click(); true")
        assert "Clue pool" in cdp.js("document.querySelector('h1').innerText")
        cdp.js("document.getElementById('lang-toggle').click(); true")
        assert "线索池" in cdp.js("document.querySelector('h1').innerText")

        go(cdp, f"{site.url}/clues/{key}")
        fill(cdp, {"assign-who": "li", "assign-deadline": deadline})
        submit_and_reload(cdp, "assign-btn")
        assert cdp.js("document.getElementById('clue-assignee').textContent") == "li"
        assert cdp.js("!!document.querySelector('.dot-yellow')")        # two days left: yellow
        fill(cdp, {"handover-to": "rs", "handover-deadline": deadline, "handover-request": "请停发并追回多发养老金"})
        submit_and_reload(cdp, "handover-btn")
        assert "请停发并追回多发养老金" in cdp.js("document.getElementById('clue-handover').innerText")
        go(cdp, site.url + "/clues")
        screenshot(cdp, "1-clue-list.png")
        logout(cdp)

        login(cdp, site, "li")
        assert cdp.js(f"!!document.querySelector('tr[data-key=\"{key}\"]')")
        go(cdp, f"{site.url}/clues/{key}")
        assert not cdp.js("!!document.getElementById('close-form')")      # a reviewer cannot close
        fill(cdp, {"disp-value": "confirmed", "disp-note": "核实：死亡后仍领取 3 个月", "disp-amount": "1234.50",
                   "disp-fix": "已停发，追回全部款项"})
        cdp.js("document.getElementById('disp-btn').click(); true")      # above the amount at risk: refused
        wait_until(cdp, "document.querySelector('#disposition-form .msg.err') !== null")
        assert "超过涉及金额" in cdp.js("document.querySelector('#disposition-form .msg').textContent")
        cdp.js("document.getElementById('disp-above').checked = true; true")
        submit_and_reload(cdp, "disp-btn")
        assert "属实" in cdp.js("document.getElementById('clue-disposition').innerText")
        logout(cdp)

        login(cdp, site, "rs")
        go(cdp, f"{site.url}/clues/{key}")
        assert "核实：死亡后仍领取" not in cdp.js("document.body.innerText")      # never the reviewer's note
        fill(cdp, {"fb-note": "社保局已停发并完成追缴", "fb-fixed": "停发养老金，追回 3 个月", "fb-returned": "1234.50"})
        submit_and_reload(cdp, "fb-btn")
        assert "社保局已停发并完成追缴" in cdp.js("document.body.innerText")
        screenshot(cdp, "5-department-answers-its-hand-over.png")
        logout(cdp)

        login(cdp, site, "boss")
        go(cdp, f"{site.url}/clues/{key}")
        submit_and_reload(cdp, "close-btn")
        assert "已销号" in cdp.js("document.querySelector('h1').innerText")
        assert cdp.js("document.querySelectorAll('#history tbody tr').length") == 6   # assign, handover, disposition, outcome, feedback, close
        screenshot(cdp, "2-one-clue.png")
        go(cdp, site.url + "/dashboard")
        after = {k: kpi(cdp, k) for k in ("confirmed", "recovered", "open", "rate")}
        assert int(after["confirmed"]) == int(before["confirmed"]) + 1
        assert float(after["recovered"].replace(",", "")) == float(before["recovered"].replace(",", "")) + 1234.5
        assert int(after["open"].replace(",", "")) == int(before["open"].replace(",", "")) - 1
        assert after["rate"] == "100%"
        assert cdp.js("document.querySelectorAll('svg.chart').length") >= 5
        screenshot(cdp, "3-dashboard.png")
        go(cdp, site.url + "/audit")
        screenshot(cdp, "4-audit-log.png")

        assert cdp.js("window.__alerts") == 0
        assert cdp.js("window.__blocked") == []
        urls = [ev["params"]["request"]["url"] for ev in cdp.events if ev.get("method") == "Network.requestWillBeSent"]
        assert urls and all(u.startswith(site.url) or u.startswith("data:") for u in urls), \
            [u for u in urls if not u.startswith(site.url)]
    finally:
        cdp.close()


def upload_file(cdp: CDP, selector: str, path: Path) -> None:
    root = cdp.send("DOM.getDocument")["root"]["nodeId"]
    node = cdp.send("DOM.querySelector", {"nodeId": root, "selector": selector})["nodeId"]
    cdp.send("DOM.setFileInputFiles", {"files": [str(path)], "nodeId": node})


def fetched(cdp: CDP, url: str) -> list:
    """[status, content type, first bytes as text, size] of a same-origin GET from the page."""
    return cdp.js(f"fetch({url!r}, {{credentials: 'same-origin'}}).then(r => r.arrayBuffer().then(b => "
                  "[r.status, r.headers.get('content-type'), String.fromCharCode.apply(null, new Uint8Array(b.slice(0, 4))), "
                  "b.byteLength]))")


def test_the_day_one_tools_in_a_browser(browser, site, tmp_path):  # noqa: F811
    cdp = CDP(browser)
    for domain in ("Network", "Page", "Runtime", "DOM"):
        cdp.send(f"{domain}.enable")
    cdp.send("Emulation.setDeviceMetricsOverride", {"width": 1366, "height": 900, "deviceScaleFactor": 1, "mobile": False})
    cdp.send("Page.addScriptToEvaluateOnNewDocument", {"source": (
        "window.__blocked = []; document.addEventListener('securitypolicyviolation', function (e) {"
        " window.__blocked.push(e.blockedURI + ' ' + e.violatedDirective); });")})
    key, red_key = key_of(12), key_of(18)                   # pension, 大冶市
    today = Settings().today()
    try:
        login(cdp, site, "boss")
        # search from the header box: a clue number, then a name
        cdp.js(f"document.getElementById('search-box').value = {key[:8]!r}; document.querySelector('form.search').submit(); true")
        wait_until(cdp, f"location.search === '?q={key[:8]}' && document.readyState === 'complete'")
        assert cdp.js("Array.from(document.querySelectorAll('#clue-table tbody tr')).map(r => r.dataset.key)") == [key]
        go(cdp, site.url + "/clues?q=" + quote("张13明"))
        assert cdp.js("document.querySelectorAll('#clue-table tbody tr[data-key]').length") == 1
        screenshot(cdp, "6-search.png")

        go(cdp, f"{site.url}/clues/{key}")
        assert "死亡日期" in cdp.js("document.getElementById('evidence-fields').innerText")   # the rule file's label
        assert "death_date" not in cdp.js("document.getElementById('evidence-fields').innerText")
        fill(cdp, {"assign-who": "li", "assign-deadline": (today + timedelta(days=20)).isoformat()})
        submit_and_reload(cdp, "assign-btn")
        fill(cdp, {"comment-text": "请调取银行流水核对" + "长" * 4000})
        cdp.js("document.getElementById('comment-btn').click(); true")
        wait_until(cdp, "document.querySelector('#comment-form .msg.err') !== null")   # over 4000 characters
        fill(cdp, {"comment-text": "X" * 3990})                                      # no spaces at all
        submit_and_reload(cdp, "comment-btn")
        assert cdp.js("document.documentElement.scrollWidth <= window.innerWidth"), "a long comment widens the page"
        pdf = tmp_path / "银行流水.pdf"
        pdf.write_bytes(b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n")
        upload_file(cdp, "#upload-file", pdf)
        submit_and_reload(cdp, "upload-btn")
        assert "银行流水.pdf" in cdp.js("document.getElementById('attachments').innerText")
        href = cdp.js("document.querySelector('#attachments a').getAttribute('href')")
        assert fetched(cdp, href)[:3] == [200, "application/pdf", "%PDF"]
        screenshot(cdp, "7-evidence-labels-comment-attachment.png")

        cdp.send("Emulation.setEmulatedMedia", {"media": "print"})
        assert cdp.js("getComputedStyle(document.querySelector('.actions-col')).display") == "none"
        assert cdp.js("document.documentElement.scrollWidth <= window.innerWidth")
        cdp.send("Emulation.setEmulatedMedia", {"media": ""})

        go(cdp, f"{site.url}/clues/{key}/sheet")
        assert "线索处置单" in cdp.js("document.querySelector('.sheet-title').innerText")
        assert "签字" in cdp.js("document.body.innerText") and "死亡日期" in cdp.js("document.body.innerText")
        assert fetched(cdp, f"/api/clues/{key}/sheet.pdf")[:3] == [200, "application/pdf", "%PDF"]
        screenshot(cdp, "8-disposition-sheet.png")
        go(cdp, site.url + "/clues?district=" + quote("大冶市"))
        ledger = fetched(cdp, cdp.js("document.getElementById('ledger-link').getAttribute('href')"))
        assert ledger[0] == 200 and ledger[2] == "PK\x03\x04" and ledger[3] > 4000

        # a red clue: assigned due tomorrow, then the server's clock moves three days on
        go(cdp, f"{site.url}/clues/{red_key}")
        fill(cdp, {"assign-who": "li2", "assign-deadline": (today + timedelta(days=1)).isoformat()})
        submit_and_reload(cdp, "assign-btn")
        site.move_clock(3 * 86400)
        login(cdp, site, "boss")                           # three days on, the session has ended
        go(cdp, site.url + "/clues?color=red")
        assert red_key in cdp.js("Array.from(document.querySelectorAll('#clue-table tbody tr')).map(r => r.dataset.key)")
        assert cdp.js("!!document.querySelector('.dot-red')") and "逾期 2 天" in cdp.js("document.body.innerText")
        go(cdp, site.url + "/work")
        assert "li2" in cdp.js("document.getElementById('workload').innerText")
        screenshot(cdp, "9-red-clue-workload.png")
        go(cdp, site.url + "/dashboard")
        assert cdp.js("Array.from(document.querySelectorAll('.kpi b')).every(b => b.scrollWidth <= b.clientWidth + 1)")
        go(cdp, site.url + "/audit")
        assert cdp.js("document.documentElement.scrollWidth <= window.innerWidth"), "the audit page widens"
        assert cdp.js("window.__blocked") == []
        urls = [ev["params"]["request"]["url"] for ev in cdp.events if ev.get("method") == "Network.requestWillBeSent"]
        assert urls and all(u.startswith(site.url) or u.startswith("data:") for u in urls)
    finally:
        site.move_clock(0)
        cdp.close()
