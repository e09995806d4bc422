"""bench/lib/report.py - medians over runs, the results table and the verdict on the targets.

Input: the list of per-run measurements bench.py collects (one dict per size,
run and phase).  Every figure in the table is the median over runs of that
figure; ratios to the COPY+upsert limit are computed per run (engine and
reference measured on the same rows in the same run; the limit is the faster
of one and two sessions) and then their median is taken.  Output: Markdown (printed and written to bench/results/latest.md).
"""

import statistics

PHASES = [
    ("initial", "initial load"),
    ("idle", "incremental, no changes"),
    ("changed10", "incremental, 10 % changed"),
    ("full_refresh", "full re-sync (--full-refresh), no changes"),
    ("ceiling", "source ceiling: stand-in pages alone"),
    ("copy", "psql COPY into the target"),
    ("upsert_empty", "COPY + upsert, empty target"),
    ("upsert_full", "COPY + upsert, full target (no changes)"),
    ("upsert2_empty", "COPY + upsert, empty target, 2 sessions"),
    ("upsert2_full", "COPY + upsert, full target (no changes), 2 sessions"),
    ("upsert2_full_pre", "COPY + upsert leaving equal rows out first, full target, 2 sessions"),
]
ENGINE_PHASES = ("initial", "idle", "changed10", "full_refresh")
# which references each engine phase is held against: the faster of the two in each run
LIMIT_OF = {"initial": ("upsert_empty", "upsert2_empty"),
            "full_refresh": ("upsert_full", "upsert2_full")}

RSS_LIMIT_MIB = 64
RATIO_TARGET = 0.5


def _med(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def _rate(m):
    return m["records"] / m["wall"] if m.get("wall") and m.get("records") else None


def _fmt(v, spec):
    return "–" if v is None else format(v, spec)


def summarize(results):
    """{(size, phase): {metric: median}} plus per-run ratios."""
    by = {}
    for m in results:
        by.setdefault((m["size"], m["phase"]), []).append(m)
    ref = {(m["size"], m["run"], m["phase"]): m for m in results}
    out = {}
    for (size, phase), ms in by.items():
        s = {"runs": len(ms),
             "records": _med([m.get("records") for m in ms]),
             "wall": _med([m.get("wall") for m in ms]),
             "rate": _med([_rate(m) for m in ms]),
             "engine_cpu": _med([m.get("engine_cpu") for m in ms]),
             "rss_mib": _med([m["maxrss_kib"] / 1024 for m in ms if "maxrss_kib" in m]),
             "rss_max_mib": max([m["maxrss_kib"] / 1024 for m in ms if "maxrss_kib" in m],
                                default=None),
             "stub_cpu": _med([m.get("stub_cpu") for m in ms]),
             "pg_cpu": _med([m.get("pg_cpu") for m in ms]),
             "failed": sum(1 for m in ms if m.get("rc", 0) != 0)}
        if ms[0].get("api") is not None:
            for k in ("token", "query", "next", "describe", "other", "api_calls"):
                s["api_" + k] = _med([m["api"].get(k, 0) for m in ms])
            s["api_max"] = max(m["api"]["api_calls"] for m in ms)
            s["token_max"] = max(m["api"]["token"] for m in ms)
        if ms[0].get("rows") is not None:
            s["upd"] = _med([m["rows"]["upd"] for m in ms])
            s["dead"] = _med([m["rows"]["dead"] for m in ms])
            s["ins"] = _med([m["rows"]["ins"] for m in ms])
            s["upd_max"] = max(m["rows"]["upd"] for m in ms)
            s["dead_max"] = max(m["rows"]["dead"] for m in ms)
        if phase in LIMIT_OF:
            ratios = []
            for m in ms:
                lims = [_rate(ref[(size, m["run"], p)]) for p in LIMIT_OF[phase]
                        if (size, m["run"], p) in ref]
                lims = [r for r in lims if r]
                if lims and _rate(m):
                    ratios.append(_rate(m) / max(lims))
            s["ratio"] = _med(ratios)
            if phase == "full_refresh":
                pre = [_rate(m) / _rate(ref[(size, m["run"], "upsert2_full_pre")]) for m in ms
                       if (size, m["run"], "upsert2_full_pre") in ref and _rate(m)
                       and _rate(ref[(size, m["run"], "upsert2_full_pre")])]
                s["ratio_pre"] = _med(pre)
        out[(size, phase)] = s
    return out


def table(summary, sizes):
    lines = [
        "| records | phase | rows | wall s | rows/s | of COPY+upsert | engine CPU s | engine peak RSS MiB "
        "| stand-in CPU s | postgres CPU s | API calls: token/query/next/describe | leads rows "
        "inserted / rewritten / dead |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---|",
    ]
    for size in sizes:
        for phase, label in PHASES:
            s = summary.get((size, phase))
            if s is None:
                continue
            api = "–"
            if "api_token" in s:
                api = "%d / %d / %d / %d" % (s["api_token"], s["api_query"], s["api_next"],
                                             s["api_describe"])
            rows = "–"
            if "upd" in s:
                rows = "%d / %d / %d" % (s["ins"], s["upd"], s["dead"])
            ratio = "–" if s.get("ratio") is None else "%.0f %%" % (100 * s["ratio"])
            label_txt = label + (" (FAILED %d)" % s["failed"] if s["failed"] else "")
            lines.append("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
                format(size, ","), label_txt, _fmt(s["records"], ",.0f"), _fmt(s["wall"], ".2f"),
                _fmt(s["rate"], ",.0f"), ratio, _fmt(s["engine_cpu"], ".2f"),
                _fmt(s["rss_mib"], ".1f"), _fmt(s["stub_cpu"], ".2f"), _fmt(s["pg_cpu"], ".2f"),
                api, rows))
    return "\n".join(lines)


def verdict(summary, sizes, streams):
    """Lines judging the targets; each starts with PASS, FAIL or n/a."""
    out = []
    big = max(sizes)

    def ratio_line(phase, what):
        s = summary.get((big, phase))
        r = s.get("ratio") if s else None
        if r is None:
            return "n/a  %s at %s records: not measured" % (what, format(big, ","))
        return "%s %s at %s records: %.0f %% of the COPY+upsert rate, the faster of one and two sessions (target >= %.0f %%)" % (
            "PASS" if r >= RATIO_TARGET else "FAIL", what, format(big, ","), 100 * r,
            100 * RATIO_TARGET)
    out.append(ratio_line("initial", "initial load"))
    out.append(ratio_line("full_refresh", "full re-sync"))
    s = summary.get((big, "full_refresh"))
    if s and s.get("ratio_pre") is not None:
        out.append("info full re-sync at %s records: %.0f %% of a COPY + upsert that leaves equal rows "
                   "out first, as the engine does (2 sessions; not a target)"
                   % (format(big, ","), 100 * s["ratio_pre"]))
    rss = [(s["rss_max_mib"], size, phase) for (size, phase), s in summary.items()
           if s.get("rss_max_mib") is not None]
    if rss:
        worst = max(rss)
        out.append("%s peak RSS: at most %.1f MiB (%s records, %s; target <= %d MiB at every size)"
                   % ("PASS" if worst[0] <= RSS_LIMIT_MIB else "FAIL", worst[0],
                      format(worst[1], ","), dict(PHASES)[worst[2]], RSS_LIMIT_MIB))
    for size in sizes:
        s = summary.get((size, "idle"))
        if s is None:
            continue
        ok = s["token_max"] <= 1 and s["api_max"] <= streams and s["wall"] < 1.0
        out.append("%s idle run at %s records: %d token call(s), %d API call(s) for %d streams "
                   "(query %d, next %d, describe %d), %.2f s wall, %.2f s engine CPU "
                   "(target: <= 1 token call, one query per stream, well under 1 s)"
                   % ("PASS" if ok else "FAIL", format(size, ","), s["token_max"], s["api_max"],
                      streams, s["api_query"], s["api_next"], s["api_describe"], s["wall"],
                      s["engine_cpu"]))
    for size in sizes:
        s = summary.get((size, "full_refresh"))
        if s is None:
            continue
        ok = s["upd_max"] == 0 and s["dead_max"] == 0
        out.append("%s full re-sync, nothing changed, at %s records: %d rows rewritten, %d dead "
                   "tuples (worst run; target 0)" % ("PASS" if ok else "FAIL", format(size, ","),
                                                     s["upd_max"], s["dead_max"]))
    failed = [(size, phase) for (size, phase), s in summary.items() if s["failed"]]
    for size, phase in failed:
        out.append("FAIL engine exited non-zero: %s records, %s" % (format(size, ","),
                                                                   dict(PHASES)[phase]))
    return out


def render(results, sizes, streams, header):
    summary = summarize(results)
    parts = [header, "", table(summary, sizes), "", "Targets:", ""]
    parts += ["- " + line for line in verdict(summary, sizes, streams)]
    return "\n".join(parts) + "\n"
