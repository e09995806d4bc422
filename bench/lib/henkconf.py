"""bench/lib/henkconf.py - what the benchmark needs to know about conf/henk.ini.

The reference COPY must move exactly the columns the engine writes, and its
upsert must use the engine's conflict key and compared columns; reading them
from the configuration keeps the benchmark honest when conf/henk.ini changes.
A small reader, not configparser: the file repeats keys (sink.before_run_sql)
and uses ${VAR} syntax configparser would trip over.
"""


def read(path):
    """Returns {section: [(key, value), ...]} in file order."""
    sections, cur = {}, None
    with open(path, encoding="utf-8") as f:
        for raw in f:
            line = raw.strip()
            if not line or line[0] in ";#":
                continue
            if line.startswith("[") and line.endswith("]"):
                cur = sections.setdefault(line[1:-1].strip(), [])
                continue
            if cur is not None and "=" in line:
                k, v = line.split("=", 1)
                cur.append((k.strip(), v.strip()))
    return sections


def _get(items, key, default=None):
    for k, v in items:
        if k == key:
            return v
    return default


def target_layout(path, job="salesforce", stream="contacts"):
    """(mapped columns, conflict key, compared columns, streams, application_name)."""
    s = read(path)
    cols = [k for k, _ in s["map %s.%s" % (job, stream)]]
    jobsec = s["job %s" % job]
    streamsec = s.get("stream %s.%s" % (job, stream), [])
    key = [c.strip() for c in (_get(streamsec, "sink.conflict_key")
                               or _get(jobsec, "sink.conflict_key")).split(",")]
    excl = _get(streamsec, "sink.compare_exclude") or _get(jobsec, "sink.compare_exclude") or ""
    excl = {c.strip() for c in excl.split(",") if c.strip()}
    compare = [c for c in cols if c not in key and c not in excl]
    streams = [name for name in s if name.startswith("stream %s." % job)]
    sink = _get(jobsec, "sink")
    app = _get(s.get("sink %s" % sink, []), "application_name", "syncengine")
    return cols, key, compare, len(streams), app


def page_size(path, job="salesforce"):
    """The job's batch_size, which is also the Salesforce page size it asks for (default 2000)."""
    return int(_get(read(path)["job %s" % job], "batch_size", "2000"))
