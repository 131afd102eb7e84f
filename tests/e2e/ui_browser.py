#!/usr/bin/python3
# ui_browser.py - drives Debian's headless Chromium (chromium-driver,
# python3-selenium) through mb-controld's dashboard and checks what it
# shows against the API's own answers. Used by tests/e2e/ui.sh (make
# check-ui) and tests/libvirt/cluster.sh; prints "PASS: ..." and
# "FAIL: ..." lines like tests/e2e/lib.sh and a closing
# "ui_browser: N passed, N failed".
#
#   ui_browser.py --url URL --token ADMIN [--vm-token TOKEN] --shots DIR
#                 [--ca CA.pem --spki BASE64] [--mode full|view] [--tag NAME]
#                 [--live] [--no-auth]
#
# full: no token, bad tokens, every view's numbers, a plan made and
# applied with two clicks, the history, the charts, sign out. view: the
# same without making or applying a plan (for a cluster someone else
# plans, or a second run over HTTPS). --live: guests upload and report
# meanwhile, so each comparison is tried again over a few polls.
import argparse
import json
import os
import ssl
import sys
import time
import urllib.error
import urllib.request

from selenium import webdriver
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

P = argparse.ArgumentParser()
P.add_argument("--url", required=True)
P.add_argument("--token", required=True)
P.add_argument("--vm-token")
P.add_argument("--shots", required=True)
P.add_argument("--ca")
P.add_argument("--spki")
P.add_argument("--mode", choices=("full", "view"), default="full")
P.add_argument("--tag", default="http")
P.add_argument("--timeout", type=float, default=20)
P.add_argument("--live", action="store_true",
               help="the data changes while we look: retry comparisons over polls")
P.add_argument("--no-auth", action="store_true",
               help="the daemon runs with --insecure-no-auth: no token is refused")
ARGS = P.parse_args()

passed = failed = 0


def check(what, expected, got):
    global passed, failed
    if expected == got:
        print("PASS: [%s] %s" % (ARGS.tag, what))
        passed += 1
    else:
        print("FAIL: [%s] %s\n    expected: %r\n    got:      %r" % (ARGS.tag, what, expected, got))
        failed += 1
    return expected == got


def finish():
    print("ui_browser: %d passed, %d failed" % (passed, failed))
    sys.exit(1 if failed else 0)


CTX = ssl.create_default_context(cafile=ARGS.ca) if ARGS.ca else None


def http(path, method="GET", token=None):
    """(status, headers, body bytes) of a request to the daemon."""
    req = urllib.request.Request(ARGS.url + path, method=method)
    if token:
        req.add_header("Authorization", "Bearer " + token)
    try:
        with urllib.request.urlopen(req, context=CTX, timeout=30) as r:
            return r.status, r.headers, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


def api(path, method="GET"):
    status, _, body = http(path, method, ARGS.token)
    return status, (json.loads(body) if body else None)


# Numbers as app.js formats them.
def fmt_int(n):
    return "-" if n is None else "{:,}".format(int(round(n)))


def fmt_mb(x):
    return "-" if x is None else "%.1f" % x


def close(shown, value, decimals):
    """A rounded number shown on the page against the API's value."""
    try:
        return abs(float(shown.replace(",", "").split()[0]) - value) <= 0.5 * 10 ** -decimals + 1e-9
    except ValueError:
        return False


# ---- the files and headers, without a browser ----
status, headers, page = http("/ui/")
check("GET /ui/ needs no token and answers 200", 200, status)
csp = headers.get("Content-Security-Policy", "")
check("the page has a Content-Security-Policy allowing scripts from its origin only",
      (True, False, False), ("script-src 'self'" in csp, "unsafe-inline" in csp, "unsafe-eval" in csp))
check("... and nosniff, no framing", ("nosniff", "DENY"),
      (headers.get("X-Content-Type-Options"), headers.get("X-Frame-Options")))
check("the page holds no inline script", False, b"<script>" in page or b"onclick" in page)
status, headers, _ = http("/ui/app.js")
check("GET /ui/app.js is JavaScript", (200, "text/javascript; charset=utf-8"),
      (status, headers.get("Content-Type")))
check("GET /ui/no-such-file is 404", 404, http("/ui/no-such-file")[0])
if not ARGS.no_auth:
    check("the API itself still wants a token (GET /v1/vms: 401)", 401, http("/v1/vms")[0])

status, VMS = api("/v1/vms")
check("the admin token reads /v1/vms", 200, status)
NAMES = sorted({v["name"] for v in VMS["vms"] if v.get("name")})
UUIDS = [v["uuid"] for v in VMS["vms"]]

# ---- the browser ----
opts = webdriver.ChromeOptions()
for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
          "--window-size=1280,1000", "--lang=en-GB"):
    opts.add_argument(a)
if ARGS.spki:
    # Trust exactly the test server's key, nothing else.
    opts.add_argument("--ignore-certificate-errors-spki-list=" + ARGS.spki)
opts.binary_location = "/usr/bin/chromium"
opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)
wait = WebDriverWait(driver, ARGS.timeout)
os.makedirs(ARGS.shots, exist_ok=True)
shot_no = 0


def shot(name, full=False):
    global shot_no
    shot_no += 1
    if full:
        h = driver.execute_script("return document.documentElement.scrollHeight")
        driver.set_window_size(1280, min(max(h + 120, 1000), 8000))
    driver.save_screenshot(os.path.join(ARGS.shots, "%s-%02d-%s.png" % (ARGS.tag, shot_no, name)))
    if full:
        driver.set_window_size(1280, 1000)


def by_id(i):
    return driver.find_element(By.ID, i)


def shows_no_data(what):
    src = driver.page_source
    leaked = [n for n in NAMES + UUIDS if n in src]
    check(what + ": nothing of the API is on the page", [], leaked)


def refreshes():
    return int(driver.execute_script("return document.body.dataset.refreshes || 0"))


def wait_refresh(after):
    try:
        wait.until(lambda d: refreshes() > after)
        return True
    except TimeoutException:
        return False


# What the page shows, read in one script: the page re-renders as it
# polls, so elements looked up one by one could be replaced in between.
SNAPSHOT = r"""
const q = (s, r) => [...(r || document).querySelectorAll(s)];
const t = (r, s) => { const e = r.querySelector(s); return e ? e.textContent : null; };
const obj = (pairs) => Object.fromEntries(pairs);
return {
  hosts: obj(q('#host-list [data-host]').map((c) => [c.dataset.host, {
    fields: obj(q('dd[data-field]', c).map((d) => [d.dataset.field, d.textContent])),
    vms: obj(q('tr[data-vm]', c).map((r) => [r.dataset.vm, t(r, 'td[data-field="memory_mb"]')]))}])),
  noHosts: document.getElementById('host-list').textContent.includes('No hosts are configured'),
  cells: q('#heatmap td.cell').map((c) => [+c.dataset.i, +c.dataset.j, t(c, '.common'), t(c, '.frac')]),
  rowNames: q('#heatmap tbody th').map((e) => e.textContent),
  group: obj(q('#sharing-summary [data-field]').map((e) => [e.dataset.field, e.textContent])),
  sharingVms: obj(q('#sharing-vms tr[data-vm]').map((r) => [r.dataset.vm,
    ['pages', 'distinct', 'duplicates'].map((f) => t(r, 'td[data-field="' + f + '"]'))])),
  charts: obj(q('[data-chart] polyline[data-series]').map((p) =>
    [p.closest('[data-chart]').dataset.chart + '|' + p.dataset.series, p.dataset.points])),
  planId: t(document, '#plan-summary [data-field="id"]'),
  planSummary: document.getElementById('plan-summary').textContent,
  planGains: q('#plan-actions td[data-field="gain_mb"]').map((e) => e.textContent),
  planReasons: q('#plan-actions tr[data-action]').map((r) => r.children[5].textContent),
  history: obj(q('#actions tr[data-id]').map((r) => [r.dataset.id, t(r, '.state')])),
  took: obj(q('#actions tr[data-id]').map((r) => [r.dataset.id, t(r, 'td[data-field="duration_s"]')])),
};
"""


def snapshot():
    return driver.execute_script(SNAPSHOT)


def views_against_api():
    """(what, expected, shown) for every number of the views: hosts, VMs,
    sharing, charts; the API asked right after the page's last poll."""
    out = []
    page = snapshot()
    hs, hosts = api("/v1/hosts")
    _, sharing = api("/v1/sharing")
    saved = {h["name"]: h["saved_mb"] for h in sharing.get("hosts", [])}
    if hs == 200:
        for h in hosts["hosts"]:
            card = page["hosts"].get(h["name"], {"fields": {}, "vms": {}})
            field = card["fields"].get
            out.append(("host %s: capacity, in use, reserved as /v1/hosts says" % h["name"],
                        [fmt_mb(h["capacity_mb"]) + " MiB", fmt_mb(h["configured_mb_in_use"]) + " MiB",
                         fmt_mb(h["reserve_mb"]) + " MiB"],
                        [field("capacity_mb"), field("configured_mb_in_use"), field("reserve_mb")]))
            out.append(("host %s: saved by sharing as /v1/sharing says" % h["name"],
                        fmt_mb(saved.get(h["name"], 0)) + " MiB", field("saved_mb")))
            out.append(("host %s: its VMs with their memory" % h["name"],
                        {d["uuid"]: fmt_mb(d["memory_mb"]) for d in h["domains"]}, card["vms"]))
            st, stats = api("/v1/hosts/%s/stats" % h["name"])
            if st == 200:
                want = len([p for p in stats["samples"] if p.get("cpu_pct") is not None])
                out.append(("host %s: its chart plots the CPU samples of /v1/hosts/{name}/stats" % h["name"],
                            str(want), page["charts"].get("host:%s|CPU %%" % h["name"])))
    else:
        out.append(("without hosts the page says so", True, page["noHosts"]))
    vms = sharing["vms"]
    n = len(vms)
    bad = [(vms[i]["name"], vms[j]["name"], common, frac) for i, j, common, frac in page["cells"]
           if i >= n or j >= n or common != fmt_int(sharing["common"][i][j]) or
           not close(frac, sharing["shared_fraction"][i][j], 2)]
    out.append(("the heatmap has a cell for each of the %d pairs" % (n * n), n * n, len(page["cells"])))
    out.append(("... showing /v1/sharing's common pages and shared fractions", [], bad))
    out.append(("the heatmap is labelled with the VMs' names", [v["name"] for v in vms], page["rowNames"]))
    g = sharing["group"]
    out.append(("the group's pages, distinct, saved as /v1/sharing says",
                [fmt_int(g["pages"]), fmt_int(g["distinct"]), fmt_int(g["saved"]), fmt_mb(g["saved_mb"])],
                [page["group"].get("group." + f) for f in ("pages", "distinct", "saved", "saved_mb")]))
    out.append(("per VM: pages, distinct, duplicates as /v1/sharing says",
                {v["uuid"]: [fmt_int(v["pages"]), fmt_int(v["distinct"]), fmt_int(v["duplicates"])]
                 for v in vms}, page["sharingVms"]))
    charted = set(k.split("|")[0] for k in page["charts"])
    for v in api("/v1/vms")[1]["vms"]:
        st, stats = api("/v1/vms/%s/stats" % v["uuid"])
        if st != 200 or not stats.get("guest") or "vm:" + v["uuid"] not in charted:
            continue
        want = len([p for p in stats["guest"] if p.get("mem_available_mb") is not None])
        out.append(("VM %s: its chart plots the guest reports of /v1/vms/{uuid}/stats" % v["name"],
                    str(want), page["charts"].get("vm:%s|guest available MiB" % v["uuid"])))
    return out


def sign_in(token):
    by_id("token").clear()
    by_id("token").send_keys(token)
    by_id("signin").click()


try:
    driver.get(ARGS.url + "/ui/")
    wait.until(lambda d: by_id("login").is_displayed())
    check("without a token the page shows the sign-in form only", (True, False),
          (by_id("login").is_displayed(), by_id("app").is_displayed()))
    shows_no_data("without a token")
    shot("sign-in")

    if not ARGS.no_auth:
        sign_in("not-a-token-of-this-daemon")
        wait.until(lambda d: by_id("login-error").text)
        check("an unknown token is refused with the API's message", "unknown token",
              by_id("login-error").text)
        shows_no_data("with an unknown token")
    if ARGS.vm_token and not ARGS.no_auth:
        sign_in(ARGS.vm_token)
        wait.until(lambda d: "admin" in by_id("login-error").text)
        check("a VM's token is refused: the dashboard needs an admin token",
              "this token may not read (needs an admin token)", by_id("login-error").text)
        shows_no_data("with a VM's token")
    check("no refused token is kept", None,
          driver.execute_script("return sessionStorage.getItem('mb-controld-token')"))
    shot("refused")

    sign_in(ARGS.token)
    check("the admin token shows the dashboard", True, wait_refresh(0))
    check("the token is kept in sessionStorage only (no localStorage, no cookie)",
          (ARGS.token, 0, ""),
          (driver.execute_script("return sessionStorage.getItem('mb-controld-token')"),
           driver.execute_script("return localStorage.length"),
           driver.execute_script("return document.cookie")))
    driver.refresh()
    check("a reload keeps the session: the token is entered once", True, wait_refresh(0))
    n0 = refreshes()
    check("the page updates itself (a second poll within 12 s)", True,
          WebDriverWait(driver, 12).until(lambda d: refreshes() > n0))

    # ---- every view against the API ----
    results = views_against_api()
    if ARGS.live:
        # Guests upload and report while we look: compare a fresh page
        # with a fresh answer until they agree (each poll is a new try).
        for _ in range(6):
            if all(e == g for _, e, g in results):
                break
            wait_refresh(refreshes())
            results = views_against_api()
    for r in results:
        check(*r)
    shot("dashboard", full=True)

    # ---- the plan ----
    if ARGS.mode == "full" and api("/v1/hosts")[0] == 200:
        before = len(api("/v1/actions")[1]["actions"])
        by_id("plan-new").click()
        wait.until(lambda d: snapshot()["planId"])
        _, plan = api("/v1/plan")
        page = snapshot()
        check("'Make a plan now' shows the plan /v1/plan has", "#%d" % plan["id"], page["planId"])
        check("... each of its actions with its expected gain",
              [fmt_mb(a["gain_mb"]) for a in plan["actions"]], page["planGains"])
        check("... and its reason", [a["reason"] for a in plan["actions"]], page["planReasons"])
        check("the data set's plan proposes actions", True, len(plan["actions"]) > 0)
        check("it is a dry run: nothing moves unless applied", True, "Dry run" in page["planSummary"])
        shot("plan")
        by_id("plan-apply").click()
        check("a first click on Apply asks for confirmation", True,
              by_id("plan-apply").text.startswith("Confirm: queue %d actions" % len(plan["actions"])))
        check("... and queues nothing yet", before, len(api("/v1/actions")[1]["actions"]))
        shot("apply-confirm")
        by_id("plan-apply").click()
        wait.until(lambda d: "queued" in by_id("plan-message").text or "nothing" in by_id("plan-message").text)
        _, acts = api("/v1/actions")
        queued = [a for a in acts["actions"] if a["plan"] == plan["id"]]
        check("the second click queues the plan's actions (POST /v1/plan/apply)",
              len(plan["actions"]), len(queued))
        check("... as the page says", True,
              ("queued %d actions" % len(queued)) in by_id("plan-message").text)

        # The history follows the actions; their states change, so wait
        # until a poll shows what the API says.
        def history_matches(d):
            _, now = api("/v1/actions")
            want = {str(a["id"]): a["state"] for a in now["actions"] if a["plan"] == plan["id"]}
            got = {k: v for k, v in snapshot()["history"].items() if k in want}
            return want == got and want
        try:
            WebDriverWait(driver, 30, poll_frequency=1).until(history_matches)
            ok = True
        except TimeoutException:
            ok = False
        check("History shows every queued action in the state /v1/actions has", True, ok)

        # Once they are done, how long each took, as /v1/actions says.
        def durations_match(d):
            _, now = api("/v1/actions")
            mine = [a for a in now["actions"] if a["plan"] == plan["id"]]
            if not mine or any(a.get("duration_s") is None for a in mine):
                return False
            took = snapshot()["took"]
            return all(str(a["id"]) in took and close(took[str(a["id"])], a["duration_s"], 2)
                       for a in mine)
        try:
            WebDriverWait(driver, 30, poll_frequency=1).until(durations_match)
            ok = True
        except TimeoutException:
            ok = False
        check("... and, once they end, how long each took", True, ok)
        shot("history", full=True)

    # ---- the console ----
    logs = driver.get_log("browser")
    bad = [e["message"] for e in logs
           if "Content Security Policy" in e["message"] or "Refused to" in e["message"]
           or (e["level"] == "SEVERE" and e.get("source") == "javascript")]
    check("no script error and no Content-Security-Policy violation in the console", [], bad)

    # ---- sign out ----
    by_id("signout").click()
    wait.until(lambda d: by_id("login").is_displayed())
    check("signing out forgets the token", None,
          driver.execute_script("return sessionStorage.getItem('mb-controld-token')"))
    shows_no_data("after signing out")
    shot("signed-out")
except Exception as e:  # a step that could not run is a failure, not a crash
    check("the browser session runs to its end", "no error", "%s: %s" % (type(e).__name__, e))
    try:
        shot("error", full=True)
    except Exception:
        pass
finally:
    driver.quit()
finish()
