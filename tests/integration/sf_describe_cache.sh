#!/bin/sh
# An idle incremental run costs one query per stream: describes are reused
# from the state store (describe_cache, default 24h).  A cached describe that
# lacks a mapped field (a field added in Salesforce since) is refreshed at
# once instead of failing the run.
. "$(dirname "$0")/../lib/common.sh"
. "$top/tests/lib/pgcluster.sh"
. "$top/tests/lib/henk.sh"
henk_setup --contacts 500 --leads 300
stat() { sfstub_ctl "$SF_org_URL" GET /__stub/stats | python3 -c "import json,sys; s=json.load(sys.stdin); print(s['by_kind'].get('$1', 0))"; }

engine -c "$top/conf/henk.ini" --once || die "first run failed"
first=$(stat describe)
[ "$first" -ge 2 ] || die "the first run made $first describe calls"
sfstub_ctl "$SF_org_URL" POST /__stub/stats/reset >/dev/null

note "idle run: no describe, one token call, one query per stream"
sfstub_settle "$SF_org_URL"
engine -c "$top/conf/henk.ini" --once || die "idle run failed"
[ "$(stat describe)" = 0 ] || die "the idle run described $(stat describe) object(s)"
[ "$(stat token)" -le 1 ] || die "the idle run made $(stat token) token calls"
q=$(( $(stat query) + $(stat queryAll) ))
[ "$q" = 2 ] || die "the idle run made $q queries for 2 streams"
[ "$(stat next)" = 0 ] || die "the idle run fetched more pages"

note "a cached describe without a mapped field is refreshed"
# the tenant's plugin state is a file of its own (conf/henk.ini's [tenants salesforce])
python3 - "$T/state/tenants/salesforce@$INT/state.json" <<'PY' || die "no cached Contact describe"
import json, sys
p = sys.argv[1]
st = json.load(open(p))
for ns, kv in st.items():
    if ns.startswith("plugin:") and "describe:Contact" in kv:
        exp, _, body = kv["describe:Contact"].partition("\n")
        d = json.loads(body)
        d["fields"] = [f for f in d["fields"] if f["name"] != "Department"]
        kv["describe:Contact"] = exp + "\n" + json.dumps(d)
        json.dump(st, open(p, "w"))
        sys.exit(0)
sys.exit(1)
PY
sfstub_ctl "$SF_org_URL" POST /__stub/stats/reset >/dev/null
sfstub_ctl "$SF_org_URL" POST /__stub/mutate '[{"op":"update","object":"Contact","count":5,"set":{"Department":"R&D"}}]' >/dev/null
sfstub_settle "$SF_org_URL"
engine -c "$top/conf/henk.ini" --once || die "run with a stale describe failed: $(tail -n 3 "$T/engine.log")"
[ "$(stat describe)" -ge 1 ] || die "the stale describe was not refreshed"
n=$(psql -X -A -t -c "SELECT count(*) FROM leads WHERE department = 'R&D'")
[ "$n" = 5 ] || die "expected 5 updated contacts, have $n"
echo ok
