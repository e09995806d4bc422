# tests/lib/henk_multi.sh - several Henk businesses, each from its own Salesforce org.
#
# henk_business_conf K DIR: writes DIR/conf.d/bizK.ini for business K, reading
# that business's own variables (BIZK_BUSINESS_ID, BIZK_INTEGRATION_ID,
# BIZK_SF_URL), then DIR/main.ini including every DIR/conf.d/*.ini.  Business 1
# is a full copy of conf/henk.ini's source, job, streams and mappings, made a
# job of its own (not a template of the tenants: its ${tenant.X} references
# become their environment defaults); the others are what a user adds for
# another business: a source and a job that is `like` business 1's.
henk_business_conf() {
    k=$1; dir=$2
    mkdir -p "$dir/conf.d"
    if [ "$k" != 1 ]; then
        cat >"$dir/conf.d/biz$k.ini" <<INI
[source sf$k]
plugin = salesforce
login_url = \${BIZ${k}_SF_URL}
client_id = \${SALESFORCE_CLIENT_ID}
client_secret = \${SALESFORCE_CLIENT_SECRET}
refresh_token = \${SALESFORCE_REFRESH_TOKEN}
lag = 0s
lookback = 0s

[job biz$k]
like = biz1
source = sf$k
sink = henk
sink.sql_params = \${BIZ${k}_BUSINESS_ID}, \${BIZ${k}_INTEGRATION_ID}
var.BIZ1_BUSINESS_ID = \${BIZ${k}_BUSINESS_ID}
INI
        return
    fi
    PYTHONPATH="$top/tests/lib" python3 - "$top/conf/henk.ini" "$k" >"$dir/conf.d/biz$k.ini" <<'PY'
import re, sys
from henk_conf import single_line
src, k = sys.argv[1], sys.argv[2]
out, keep = [], False

for line in open(src):
    m = re.match(r"\[(\w+)(?: ([^\]]+))?\]", line)
    if m:
        keep = m.group(1) in ("source", "job", "stream", "map")
    if not keep:
        continue
    line = single_line(line)
    if line is None:
        continue
    line = line.replace("[source salesforce]", "[source sf%s]" % k)
    line = line.replace("[job salesforce]", "[job biz%s]" % k)
    line = re.sub(r"\[(stream|map) salesforce\.", r"[\1 biz%s." % k, line)
    line = line.replace("source = salesforce\n", "source = sf%s\n" % k)
    line = line.replace("${HENK_BUSINESS_ID}", "${BIZ%s_BUSINESS_ID}" % k)
    line = line.replace("${HENK_INTEGRATION_ID}", "${BIZ%s_INTEGRATION_ID}" % k)
    line = line.replace("${SALESFORCE_LOGIN_URL:-https://login.salesforce.com}", "${BIZ%s_SF_URL}" % k)
    out.append(line)
sys.stdout.write("".join(out))
PY
    cat >"$dir/main.ini" <<INI
[engine]
max_jobs = 8
include = conf.d/*.ini

[sink henk]
plugin = postgres
conninfo = \${DATABASE_URL}
INI
}
