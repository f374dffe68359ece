"""Compares ci/tempest.sh's results with the expectation file (ci/tempest-expected.txt), or
rewrites it (--record), and writes the failure-cause summary.

  compare.py --expected FILE --results-dir DIR --groups g1,g2 [--record] [--causes FILE]

Expectation file: one line per test id, `<id> pass` or `<id> skip: <reason>`; `#` comments.
Only the groups run are compared. Exit 1 when an expected `pass` did not pass; tests that
passed but are not marked `pass`, and tests absent from the file, are listed (not failed on).
--record writes the file from this run: passes become `pass`, other tests keep their `skip:`
reason or get one from their failure; a `pass` never becomes a skip (the list only grows);
entries of groups not run, and of tests that did not run, stay as they were.
"""

import argparse
import collections
import json
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import groups  # noqa: E402

HEADER = """\
# Tempest expectations for ci/tempest.sh: one line per test id, `pass` or `skip: <reason>`.
# Every `pass` must pass (CI fails otherwise); a test that starts passing is reported so it
# gets marked `pass` here. The list only grows: never turn a `pass` back into a skip.
# Rewrite from a run with `bash ci/tempest.sh --record` (keeps skip reasons and passes).
"""

# Friendlier skip reasons for known causes: (regex on the test id or cause, reason).
KNOWN = [
    (r"^tempest\.api\.image\.v2\.(admin\.)?test_images_metadefs", "Glance metadefs out of scope (#14 item 3)"),
]


def read_expected(path):
    entries = collections.OrderedDict()
    if not os.path.exists(path):
        return entries
    with open(path) as f:
        for n, line in enumerate(f, 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            tid, _, rest = line.partition(" ")
            rest = rest.strip()
            if rest != "pass" and not rest.startswith("skip:"):
                sys.exit("%s:%d: expected `<id> pass` or `<id> skip: <reason>`, got: %s" % (path, n, line))
            entries[tid] = rest
    return entries


def load_results(results_dir, selected):
    res = {}
    for g in selected:
        path = os.path.join(results_dir, g + ".json")
        if os.path.exists(path):
            with open(path) as f:
                for tid, e in json.load(f).items():
                    res[tid] = e
    return res


def skip_reason(tid, e):
    if e["status"] == "skip":
        text = "tempest skips: " + (e.get("reason") or "skipped")
    else:
        text = "fails: " + (e.get("cause") or "?")
    for rx, reason in KNOWN:
        if re.search(rx, tid):
            return reason
    return text.replace("\n", " ")[:200]


def write_causes(path, res, selected):
    fails = collections.defaultdict(list)
    skips = collections.defaultdict(list)
    for tid, e in res.items():
        if e["status"] == "fail":
            fails[e["cause"]].append(tid)
        elif e["status"] == "skip":
            skips[e.get("reason", "")].append(tid)
    example = {}
    for tid, e in sorted(res.items()):
        if e["status"] == "fail":
            example.setdefault(e["cause"], (tid, e.get("traceback", "")))
    with open(path, "w") as f:
        f.write("# Tempest failure causes (ci/tempest.sh)\n\n")
        f.write("Groups: %s. %d failing tests in %d causes; %d skipped by Tempest.\n"
                "Each cause: the last 4xx/5xx answer in the test's log with the exception, or the\n"
                "exception itself (response-schema rejections, timeouts). Ids are `{id}`.\n\n"
                % (", ".join(selected), sum(map(len, fails.values())), len(fails),
                   sum(map(len, skips.values()))))
        for cause, tids in sorted(fails.items(), key=lambda kv: (-len(kv[1]), kv[0])):
            by_group = collections.Counter(groups.group_of(t) for t in tids)
            f.write("## %d tests: %s\n\n" % (len(tids), cause))
            f.write("Groups: %s\n\n" % ", ".join("%s %d" % kv for kv in sorted(by_group.items())))
            for t in sorted(tids):
                f.write("- `%s`%s\n" % (t, " (setUpClass)" if res[t].get("setUpClass") else ""))
            tid, tb = example[cause]
            lines = tb.rstrip().splitlines()[-12:]
            f.write("\nExample (`%s`), traceback tail:\n\n```\n%s\n```\n\n" % (tid, "\n".join(lines)))
        if skips:
            f.write("## Skipped by Tempest\n\n")
            for reason, tids in sorted(skips.items(), key=lambda kv: (-len(kv[1]), kv[0])):
                f.write("- %d: %s\n" % (len(tids), reason))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--expected", required=True)
    p.add_argument("--results-dir", required=True)
    p.add_argument("--groups", required=True)
    p.add_argument("--record", action="store_true")
    p.add_argument("--causes")
    args = p.parse_args()
    selected = args.groups.split(",")
    expected = read_expected(args.expected)
    res = load_results(args.results_dir, selected)
    if args.causes:
        write_causes(args.causes, res, selected)

    in_scope = {t: v for t, v in expected.items() if groups.group_of(t) in selected}
    regressions = [t for t, v in in_scope.items() if v == "pass" and res.get(t, {}).get("status") != "pass"]
    new_passes = [t for t, e in res.items() if e["status"] == "pass" and expected.get(t) != "pass"]
    absent = [t for t in res if t not in expected]
    not_run = [t for t in in_scope if t not in res]

    if args.record:
        out = collections.OrderedDict(expected)
        for tid, e in res.items():
            old = expected.get(tid)
            if e["status"] == "pass":
                out[tid] = "pass"
            elif old == "pass":
                print("tempest: %s is marked pass but did not pass; kept as pass" % tid)
            elif old is None:
                out[tid] = "skip: " + skip_reason(tid, e)
        with open(args.expected, "w") as f:
            f.write(HEADER)
            for tid in sorted(out):
                f.write("%s %s\n" % (tid, out[tid]))
        print("tempest: wrote %s (%d entries, %d pass)"
              % (args.expected, len(out), sum(1 for v in out.values() if v == "pass")))
        return 0

    def show(title, tids, detail=None):
        if tids:
            print("tempest: %s (%d):" % (title, len(tids)))
            for t in sorted(tids):
                extra = (" -- " + detail(t)) if detail else ""
                print("  %s%s" % (t, extra))

    show("new passes: add them (marked `pass` in %s)" % os.path.basename(args.expected),
         [t for t in new_passes])
    show("not in %s" % os.path.basename(args.expected), [t for t in absent if t not in new_passes],
         lambda t: res[t]["status"])
    show("expected but not run", [t for t in not_run if expected[t] != "pass"])
    show("EXPECTED PASS, DID NOT PASS", regressions,
         lambda t: (res[t]["status"] + ": " + res[t].get("cause", "")) if t in res else "not run")
    if regressions:
        return 1
    print("tempest: every expected pass passed (%d)" % sum(1 for v in in_scope.values() if v == "pass"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
