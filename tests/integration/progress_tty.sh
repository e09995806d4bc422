#!/bin/bash
# progress_tty.sh - the progress line on a terminal.
#
# Three streams read in parallel (generate -> null, parallel_streams = 3) on a
# pseudo-terminal 200 columns wide (python's pty module):
#   - one progress line shows all three streams at once;
#   - every log line starts on a line of its own (the progress line is cleared
#     before it and drawn again after it), and no line is left holding a
#     stale progress line;
#   - the stdout sink's JSON lines on the same terminal each start a row of
#     their own;
#   - the line never goes into a log file: with stderr redirected to a file
#     (the terminal still on stdout) the file holds log lines only.
set -u
. "$(dirname "$0")/../lib/common.sh"
[ -x "$O/syncengine" ] || skip "$O/syncengine not built"
unset SYNCENGINE_NO_PROGRESS

cat >"$T/p.ini" <<INI
[engine]
state_dir = $T/state
[source g]
plugin = generate
streams = alpha, beta, gamma
records = 10000
[sink n]
plugin = null
[job j]
source = g
sink = n
parallel_streams = 3
batch_size = 100
[stream j.alpha]
object = alpha
[stream j.beta]
object = beta
[stream j.gamma]
object = gamma
INI

# on_pty OUT CMD...: runs CMD with stdin, stdout and stderr on a 40x200 pty; all it wrote goes to OUT
on_pty() {
    python3 - "$@" <<'PY'
import fcntl, os, pty, struct, sys, termios
out, argv = sys.argv[1], sys.argv[2:]
pid, fd = pty.fork()
if pid == 0:
    os.execvp(argv[0], argv)
fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 200, 0, 0))
data = b""
while True:
    try:
        chunk = os.read(fd, 65536)
    except OSError:
        break
    if not chunk:
        break
    data += chunk
_, status = os.waitpid(pid, 0)
open(out, "wb").write(data)
sys.exit(os.waitstatus_to_exitcode(status))
PY
}

note "on a terminal"
on_pty "$T/tty.out" "$O/syncengine" --once -c "$T/p.ini" --plugin-dir "$O/plugins" ||
    { cat -v "$T/tty.out" | tail -20 >&2; die "the run on a terminal failed"; }
python3 - "$T/tty.out" <<'PY' || die "progress line check failed"
import re, sys
data = open(sys.argv[1], "rb").read().decode("utf-8", "replace").replace("\r\n", "\n")
CLEAR = "\r\x1b[K"
ts = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (error|warn |info |debug|trace)")
frames = data.replace("\n", CLEAR).split(CLEAR)
progress = [f for f in frames if re.search(r": [0-9.kM]+ rec, [0-9.kM]+/s, \d+ pages", f)]
assert progress, "no progress line at all"
assert any(all("j/%s:" % s in f for s in ("alpha", "beta", "gamma")) for f in progress), \
    "no progress line shows all three streams: %r" % progress[-3:]
for m in ts.finditer(data):
    before = data[max(0, m.start() - len(CLEAR)):m.start()]
    assert m.start() == 0 or before.endswith("\n") or before == CLEAR, \
        "a log line does not start a line of its own: %r" % data[max(0, m.start() - 80):m.start() + 40]
for line in data.split("\n")[:-1]:
    last = line.split(CLEAR)[-1]
    assert last == "" or ts.match(last), "a line ends with something not a log line: %r" % last[-120:]
    assert "\r" not in last, "a log line holds a carriage return: %r" % last
n_logs = len(ts.findall(data))
assert n_logs >= 8, "only %d log lines" % n_logs
print("%d progress frames, %d log lines" % (len(progress), n_logs))
PY

note "the stdout sink on the same terminal"
rm -rf "$T/state"
sed 's/^plugin = null$/plugin = stdout/; s/^records = .*/records = 2000/' "$T/p.ini" >"$T/s.ini"
on_pty "$T/tty3.out" "$O/syncengine" --once -c "$T/s.ini" --plugin-dir "$O/plugins" ||
    { cat -v "$T/tty3.out" | tail -5 >&2; die "the run with the stdout sink failed"; }
python3 - "$T/tty3.out" <<'PY' || die "the stdout sink's lines and the progress line mixed"
import sys
data = open(sys.argv[1], "rb").read().decode("utf-8", "replace").replace("\r\n", "\n")
CLEAR = "\r\x1b[K"
records = 0
for line in data.split("\n")[:-1]:
    last = line.split(CLEAR)[-1]
    if '"_stream"' in line:
        assert last.startswith('{"_stream"'), "a record line does not start a row of its own: %r" % line[-160:]
        records += 1
assert records == 6000, records
PY

note "stderr into a log file, stdout still a terminal"
rm -rf "$T/state"
on_pty "$T/tty2.out" sh -c "exec '$O/syncengine' --once -c '$T/p.ini' --plugin-dir '$O/plugins' 2>'$T/run.log'" ||
    { cat "$T/run.log" >&2; die "the run with a log file failed"; }
grep -q "run success" "$T/run.log" || { cat "$T/run.log" >&2; die "no log lines in the log file"; }
if grep -q " rec, " "$T/run.log" || grep -q $'\r' "$T/run.log" || grep -q $'\033' "$T/run.log"; then
    cat -v "$T/run.log" | head >&2
    die "the progress line went into the log file"
fi
grep -vE '^[0-9]{4}-[0-9]{2}-[0-9]{2}T' "$T/run.log" && die "the log file holds lines that are not log lines"
echo ok
