#!/bin/bash
# http_dashboard.sh - the dashboard page at `/` in a real browser: headless
# Chromium driven over the DevTools protocol (tests/lib/cdp.py), against a
# daemon whose jobs have run:
#   - the page lists every job (HTML in an error message shows as text) with its state, last run, counts, next run,
#     last error and a sparkline of recent runs; it loads nothing from
#     outside and runs under a strict Content-Security-Policy (its own script
#     and style run, an injected inline script does not);
#   - a wrong token typed into the page gets the API's 401 shown, and starts
#     nothing; the right token and a click on "Sync now" start a run that the
#     API then reports; "Pause" pauses the job;
#   - a screenshot is saved as $O/test-artifacts/dashboard.png.
# Skipped (77) when Chromium is not installed (Debian package chromium).
set -u
. "$(dirname "$0")/../lib/common.sh"
. "$top/tests/lib/http.sh"
[ -x "$O/syncengine" ] || skip "$O/syncengine not built"
command -v chromium >/dev/null || command -v chromium-browser >/dev/null || skip "chromium not installed"

export TOK=dashboard-token-9c41e07d2b
cat >"$T/d.ini" <<INI
[engine]
state_dir = $T/state
http_listen = 127.0.0.1:0
http_token = \${TOK}
[source g]
plugin = generate
streams = leads
records = 500
[sink s]
plugin = null
[job henk_leads]
source = g
sink = s
schedule = 0 0 1 1 *
[stream henk_leads.leads]
object = leads
[source bad]
plugin = generate
streams = leads
fields = name:string
[job broken]
source = bad
sink = s
schedule = 0 0 1 1 *
[stream broken.x]
object = <img src=x>nosuchstream
INI
# real runs first: three of the good job, one failing run of the other
http_daemon d "$T/d.ini"
export HTTP_URL T O
for i in 1 2 3; do
    hreq POST /api/v1/jobs/henk_leads/run '' "$TOK" | head -1 | grep -q 202 || die "run $i not started"
    sleep 0.3
done
hreq POST "/api/v1/jobs/broken/run" '' "$TOK" | head -1 | grep -q 202 || die "broken run not started"
sleep 1

mkdir -p "$O/test-artifacts"
python3 - <<'PY' || die "the dashboard"
import json, os, sys, time, urllib.request
sys.path.insert(0, os.path.join(os.environ["top"] if "top" in os.environ else ".", "tests", "lib"))
from cdp import Browser
base, tok = os.environ["HTTP_URL"], os.environ["TOK"]
shot = os.path.join(os.environ["O"], "test-artifacts", "dashboard.png")

def status(job):
    st = json.load(urllib.request.urlopen(base + "/api/v1/status", timeout=30))
    return [j for j in st["jobs"] if j["name"] == job][0]

# the answer itself: a strict policy, nothing loaded from elsewhere
r = urllib.request.urlopen(base + "/", timeout=30)
csp = r.headers["Content-Security-Policy"]
html = r.read().decode()
assert "default-src 'none'" in csp and "script-src 'nonce-" in csp and "unsafe-inline" not in csp, csp
assert r.headers["X-Frame-Options"] == "DENY", r.headers
for bad in ("src=\"http", "href=\"http", "<link", "@import", "url(", " on" + "click="):
    assert bad not in html, bad
assert "<img" not in html and "&lt;img src=x&gt;nosuchstream" in html, "an error message is not escaped"

b = Browser()
try:
    # records policy violations from before the page's first script
    b.call("Page.addScriptToEvaluateOnNewDocument", source=
           "window.__csp=[];document.addEventListener('securitypolicyviolation',"
           "function(e){window.__csp.push(e.violatedDirective+' '+e.blockedURI);});")
    b.navigate(base + "/")
    rows = b.eval("Array.from(document.querySelectorAll('#jobs tbody tr')).map(function(r){"
                  "return Array.from(r.cells).map(function(c){return c.textContent;});})")
    assert [r[0] for r in rows] == ["henk_leads", "broken"], rows
    good, bad = rows
    assert good[1] == "scheduled" and good[3] == "success" and good[4] == "500", good
    assert good[9].startswith("2027-01-01"), good      # next run
    assert bad[3] == "failed" and "<img src=x>nosuchstream" in bad[10], bad   # last error, as text
    assert good[12] == "Sync nowFull re-syncPause", good
    bars = b.eval("document.querySelectorAll('tr[data-job=henk_leads] svg.spark rect').length")
    assert bars == 3, bars
    # the page's own style applied (by nonce), and nothing violated the policy
    assert b.eval("getComputedStyle(document.querySelector('th')).fontWeight") == "600"
    assert b.eval("window.__csp") == [], b.eval("window.__csp")
    # an inline script without the nonce is refused
    b.eval("var s=document.createElement('script');s.textContent='window.__pwned=1';document.body.appendChild(s);1")
    time.sleep(0.2)
    assert b.eval("window.__pwned === undefined"), "an injected inline script ran"
    assert any("script-src" in v for v in b.eval("window.__csp")), b.eval("window.__csp")

    runs_before = len(json.load(urllib.request.urlopen(base + "/api/v1/jobs/henk_leads/runs", timeout=30))["runs"])
    # a wrong token: the API's answer is shown, nothing starts
    b.type_into("#token", "not-the-token")
    b.click("button[data-action=run][data-job=henk_leads]")
    for _ in range(100):
        if b.eval("document.getElementById('msg').getAttribute('data-ok')") == "0":
            break
        time.sleep(0.1)
    msg = b.eval("document.getElementById('msg').textContent")
    assert msg.startswith("error 401"), msg
    # the right token, a click on "Sync now"
    b.eval("document.getElementById('token').value=''")
    b.type_into("#token", tok)
    b.click("button[data-action=run][data-job=henk_leads]")
    for _ in range(100):
        if b.eval("document.getElementById('msg').getAttribute('data-ok')") == "1":
            break
        time.sleep(0.1)
    msg = b.eval("document.getElementById('msg').textContent")
    assert msg.startswith("run ") and msg.endswith(" started for henk_leads"), msg
    rid = msg.split()[1]
    assert b.eval("sessionStorage.getItem('syncengine-token')") == tok
    for _ in range(100):
        j = status("henk_leads")
        if j["last_run"] and j["last_run"].get("run_id") == rid:
            break
        time.sleep(0.1)
    else:
        raise SystemExit("the run %s started from the page is not in status" % rid)
    runs = json.load(urllib.request.urlopen(base + "/api/v1/jobs/henk_leads/runs", timeout=30))["runs"]
    assert len(runs) == runs_before + 1 and runs[0]["run_id"] == rid, runs
    # the page reloads itself; the token survives in sessionStorage; "Pause" pauses
    b.wait_event("Page.loadEventFired", timeout=10)
    assert b.eval("document.getElementById('token').value") == tok
    b.click("button[data-action=pause][data-job=henk_leads]")
    for _ in range(100):
        if status("henk_leads")["paused"]:
            break
        time.sleep(0.1)
    else:
        raise SystemExit("Pause did not pause the job")
    b.wait_event("Page.loadEventFired", timeout=10)
    state = b.eval("document.querySelector('tr[data-job=henk_leads] td.state').textContent")
    assert state == "paused", state
    assert b.eval("document.querySelectorAll('tr[data-job=henk_leads] svg.spark rect').length") == 4
    b.screenshot(shot)
    assert os.path.getsize(shot) > 10000, os.path.getsize(shot)
    print("screenshot:", shot)
finally:
    b.close()
PY
http_stop
echo ok
