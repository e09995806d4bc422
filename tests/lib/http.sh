# tests/lib/http.sh - helpers for tests of the daemon's HTTP API (core/http/).
#
#   http_daemon NAME CONFIG [ARGS...]   starts `syncengine -c CONFIG` as a service, waits until its
#                                       HTTP server listens; sets HTTP_PID and HTTP_URL (http://127.0.0.1:PORT);
#                                       its log is $T/NAME.log
#   http_stop                           SIGTERM to the daemon, waits, fails unless it exits 0
#   hreq METHOD PATH [BODY] [TOKEN]     one request; prints "STATUS" on the first line, then the body
#                                       (the response headers go to $T/last.headers)
http_daemon() {
    _hn=$1; _hc=$2; shift 2
    $SYNCENGINE -c "$_hc" --plugin-dir "$O/plugins" "$@" 2>>"$T/$_hn.log" &
    HTTP_PID=$!
    at_exit "kill $HTTP_PID 2>/dev/null"
    _i=0
    while ! grep -q "http: listening on" "$T/$_hn.log"; do
        _i=$((_i + 1))
        [ $_i -gt 300 ] && { cat "$T/$_hn.log" >&2; die "the HTTP server of $_hn did not start"; }
        kill -0 $HTTP_PID 2>/dev/null || { cat "$T/$_hn.log" >&2; die "$_hn exited"; }
        sleep 0.1
    done
    HTTP_URL="http://127.0.0.1:$(sed -n 's/.*http: listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$T/$_hn.log" | tail -n 1)"
}

http_stop() {
    kill -TERM $HTTP_PID
    wait $HTTP_PID || die "the daemon exited $? on SIGTERM"
}

hreq() {
    python3 - "$HTTP_URL" "$1" "$2" "${3:-}" "${4:-}" "$T/last.headers" <<'PY'
import sys, urllib.request, urllib.error
base, method, path, body, token, hfile = sys.argv[1:7]
h = {"Authorization": "Bearer " + token} if token else {}
req = urllib.request.Request(base + path, method=method, data=body.encode() if body else None, headers=h)
try:
    r = urllib.request.urlopen(req, timeout=60)
    status, hdrs, data = r.status, r.headers, r.read()
except urllib.error.HTTPError as e:
    status, hdrs, data = e.code, e.headers, e.read()
open(hfile, "w").write(str(hdrs))
sys.stdout.write("%d\n%s" % (status, data.decode()))
PY
}
