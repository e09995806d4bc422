#!/bin/sh
# Self-test of the Salesforce stand-in (tests/sfstub): OAuth, query paging and
# snapshots, SOQL rules, every fault kind, limits and gzip.  Python 3 only.
cd "$(dirname "$0")/../sfstub" || exit 1
command -v python3 >/dev/null 2>&1 || { echo "python3 not found" >&2; exit 77; }
python3 -m unittest test_sfstub || exit 1
exit 0
