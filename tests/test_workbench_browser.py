"""One clue's whole life in headless Chromium against a real workbench server: a supervisor
assigns it with a deadline, the reviewer confirms it with the amount recovered, the department
gives its feedback, the supervisor closes it, and the dashboard's figures follow. No request
leaves 127.0.0.1, the Content-Security-Policy blocks nothing the pages need, and the hostile
name in the data never runs. Screenshots of the clue list, the clue and the dashboard are
left in screenshots-for-review/ (not committed)."""
from __future__ import annotations

import base64
import os
import time
from datetime import timedelta
from pathlib import Path

import pytest

from crosscheck.casework import Settings
from test_report_browser import CDP, CHROMIUM, browser  # noqa: F401 - the Chromium fixture, shared
from workbench_helpers import PASSWORD, REPO, Server, build_store, key_of, write_project

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed; browser test skipped")
SHOTS = Path(os.environ.get("CROSSCHECK_SCREENSHOTS") or REPO / "screenshots-for-review")


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    folder = tmp_path_factory.mktemp("wb-browser")
    server = Server(build_store(folder, n=60), write_project(folder / "project")).start()
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
        go(cdp, site.url + "/clues")
        screenshot(cdp, "1-clue-list.png")
        logout(cdp)

        login(cdp, site, "li")
        assert cdp.js(f"!!document.querySelector('tr[data-key=\"{key}\"]')")
        go(cdp, f"{site.url}/clues/{key}")
        assert not cdp.js("!!document.getElementById('close-form')")      # a reviewer cannot close
        fill(cdp, {"disp-value": "confirmed", "disp-note": "核实：死亡后仍领取 3 个月", "disp-amount": "1234.50",
                   "disp-fix": "已停发，追回全部款项"})
        submit_and_reload(cdp, "disp-btn")
        assert "属实" in cdp.js("document.getElementById('clue-disposition').innerText")
        logout(cdp)

        login(cdp, site, "rs")
        go(cdp, f"{site.url}/clues/{key}")
        fill(cdp, {"fb-note": "社保局已停发并完成追缴"})
        submit_and_reload(cdp, "fb-btn")
        assert "社保局已停发并完成追缴" in cdp.js("document.body.innerText")
        logout(cdp)

        login(cdp, site, "boss")
        go(cdp, f"{site.url}/clues/{key}")
        submit_and_reload(cdp, "close-btn")
        assert "已销号" in cdp.js("document.querySelector('h1').innerText")
        assert cdp.js("document.querySelectorAll('#history tbody tr').length") == 5   # assign, disposition, outcome, feedback, close
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
