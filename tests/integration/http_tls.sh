#!/bin/bash
# http_tls.sh - the HTTP API over TLS (http_tls_cert, http_tls_key):
#   - with a certificate and key the daemon answers HTTPS (a client that checks
#     the certificate gets /healthz and can run a job with the token), and
#     plain HTTP on that port gets nothing;
#   - TLS allows a non-loopback http_listen without http_insecure;
#   - a certificate without a key, or a file that is not PEM, is a
#     configuration error naming the option.
set -u
. "$(dirname "$0")/../lib/common.sh"
. "$top/tests/lib/http.sh"
[ -x "$O/syncengine" ] || skip "$O/syncengine not built"
command -v openssl >/dev/null || skip "openssl not installed"
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=localhost -addext subjectAltName=IP:127.0.0.1 \
    -keyout "$T/key.pem" -out "$T/cert.pem" >/dev/null 2>&1 || die "openssl could not make a certificate"
chmod 600 "$T/key.pem"
export TOK=tls-test-token-4b7d19e2c0

conf() { # FILE, [engine] lines
    cat >"$1" <<INI
[engine]
state_dir = $T/state
$2
[source g]
plugin = generate
records = 20
[sink s]
plugin = null
[job j]
source = g
sink = s
schedule = 0 0 1 1 *
[stream j.records]
object = records
INI
}
check_fails() { # what, pattern, [engine] lines
    conf "$T/bad.ini" "$3"
    $SYNCENGINE check -c "$T/bad.ini" --plugin-dir "$O/plugins" >"$T/check.out" 2>&1
    rc=$?
    [ $rc -eq 3 ] && grep -q "$2" "$T/check.out" || die "$1: exit $rc: $(cat "$T/check.out")"
}

note "configuration"
check_fails "cert without key" "option 'http_tls_cert' needs 'http_tls_key' as well" \
    "http_listen = 127.0.0.1:0
http_tls_cert = cert.pem"
echo "not a key" >"$T/notpem"
check_fails "not PEM" "option 'http_tls_key': .*notpem is not a PEM file" \
    "http_listen = 127.0.0.1:0
http_tls_cert = cert.pem
http_tls_key = notpem"
conf "$T/wide.ini" "http_listen = 0.0.0.0:9187
http_tls_cert = cert.pem
http_tls_key = key.pem"
$SYNCENGINE check -c "$T/wide.ini" --plugin-dir "$O/plugins" >"$T/check.out" 2>&1 ||
    die "TLS on a non-loopback address refused: $(cat "$T/check.out")"

note "HTTPS"
conf "$T/t.ini" "http_listen = 127.0.0.1:0
http_token = \${TOK}
http_tls_cert = cert.pem
http_tls_key = key.pem"
http_daemon t "$T/t.ini"
grep -q "http: listening on 127.0.0.1:[0-9]* (https; changes need the bearer token)" "$T/t.log" ||
    die "the log does not say https: $(grep listening "$T/t.log")"
export HTTP_URL T
python3 - <<'PY' || die "HTTPS"
import json, os, socket, ssl, time, urllib.request
base = os.environ["HTTP_URL"].replace("http://", "https://")
ctx = ssl.create_default_context(cafile=os.environ["T"] + "/cert.pem")
r = urllib.request.urlopen(base + "/healthz", context=ctx, timeout=30)
assert r.status == 200 and json.load(r)["status"] == "ok"
req = urllib.request.Request(base + "/api/v1/jobs/j/run", method="POST",
                             headers={"Authorization": "Bearer " + os.environ["TOK"]})
d = json.load(urllib.request.urlopen(req, context=ctx, timeout=30))
assert len(d["run_id"]) == 36, d
for _ in range(100):
    st = json.load(urllib.request.urlopen(base + "/api/v1/status", context=ctx, timeout=30))
    lr = st["jobs"][0]["last_run"]
    if lr and lr.get("run_id") == d["run_id"]:
        break
    time.sleep(0.1)
else:
    raise SystemExit("the run did not show")
assert lr["status"] == "success" and lr["processed"] == 20, lr
# plain HTTP on the TLS port gets no HTTP answer
host, port = base[8:].split(":")
s = socket.create_connection((host, int(port)), timeout=10)
s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
try:
    data = s.recv(100)
except (ConnectionResetError, socket.timeout):
    data = b""
assert not data.startswith(b"HTTP/1.1 200"), data
PY
http_stop
grep -q "BEGIN PRIVATE KEY\|$TOK" "$T/t.log" && die "the key or the token is in the log"
echo ok
