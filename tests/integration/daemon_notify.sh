#!/bin/bash
# daemon_notify.sh - the daemon speaks systemd's notify protocol (Type=notify).
#
# A Python datagram socket stands in for systemd ($NOTIFY_SOCKET, with a
# watchdog of 1 s in $WATCHDOG_USEC): the daemon must send READY=1 once it
# schedules, WATCHDOG=1 at least every half interval, and STOPPING=1 on
# SIGTERM, and exit 0.  Without $NOTIFY_SOCKET it runs as before (every other
# daemon test).
set -u
. "$(dirname "$0")/../lib/common.sh"
[ -x "$O/syncengine" ] || skip "$O/syncengine not built"
pkg-config --exists libsystemd 2>/dev/null || skip "built without libsystemd"

cat >"$T/d.ini" <<INI
[engine]
state_dir = $T/state
[source g]
plugin = generate
[sink n]
plugin = null
[job j]
source = g
sink = n
schedule = 0 0 1 1 *
[stream j.records]
object = records
INI

python3 - "$T/notify.sock" "$T/messages" <<'PY' &
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
s.settimeout(15)
with open(sys.argv[2], "w", buffering=1) as out:
    try:
        while True:
            msg = s.recv(4096).decode()
            for line in msg.split("\n"):
                out.write("%.3f %s\n" % (time.monotonic(), line))
            if "STOPPING=1" in msg:
                break
    except socket.timeout:
        pass
PY
listener=$!
at_exit "kill $listener 2>/dev/null"
for _ in $(seq 50); do [ -S "$T/notify.sock" ] && break; sleep 0.1; done

NOTIFY_SOCKET=$T/notify.sock WATCHDOG_USEC=1000000 $SYNCENGINE -c "$T/d.ini" --plugin-dir "$O/plugins" \
    >"$T/daemon.log" 2>&1 &
daemon=$!
sleep 2.5
kill -TERM $daemon
code=0
wait $daemon || code=$?
wait $listener
[ "$code" = 0 ] || { cat "$T/daemon.log" >&2; die "the daemon exited $code after SIGTERM"; }
grep -q " READY=1$" "$T/messages" || { cat "$T/messages" >&2; die "no READY=1"; }
grep -q " STOPPING=1$" "$T/messages" || { cat "$T/messages" >&2; die "no STOPPING=1"; }
n=$(grep -c " WATCHDOG=1$" "$T/messages")
[ "$n" -ge 4 ] || { cat "$T/messages" >&2; die "only $n watchdog pings in 2.5 s with a 1 s watchdog"; }
# no gap between pings longer than the watchdog interval
awk '/ WATCHDOG=1$/ { if (last && $1 - last > 1.0) { print "gap " $1 - last; bad = 1 } last = $1 } END { exit bad }' \
    "$T/messages" || die "a watchdog gap exceeds the interval"
echo ok
