"""Turns Tempest's subunit output into ci/tempest.sh's per-group results (run with the tempest
venv's python: python-subunit, testtools).

  collect --out-dir DIR --groups g1,g2 --listed LIST [--tempest-log FILE]... SUBUNIT...

LIST: `tempest run --list-tests` output (every selected test, so tests that never ran because
their class's setUpClass failed or was skipped still get a line). Writes, per group:
  DIR/<group>.txt   `<id> pass|fail|skip`, sorted
  DIR/<group>.log   each failing test's traceback tail, with the request that failed
  DIR/<group>.json  id -> {status, cause, reason} (for compare.py)
and prints `group: P passed, F failed, S skipped` per group, then the total.
"""

import argparse
import json
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import groups  # noqa: E402

CLASS_FIXTURE = re.compile(r"^(setUpClass|tearDownClass|setUpModule|tearDownModule) \((.+)\)$")
REQUEST = re.compile(r"Request \(([^)]*)\): (\d{3}) (GET|HEAD|POST|PUT|PATCH|DELETE|COPY|OPTIONS) (\S+)")
EXC_LINE = re.compile(r"^([A-Za-z_][\w.]*): ?(.*)$")
UUIDISH = re.compile(r"[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}")
TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z?")
TAIL_LINES = 30


def text(details, name):
    c = details.get(name)
    if c is None:
        return ""
    try:
        return c.as_text()
    except Exception:  # binary attachment
        return ""


def normalise_url(url):
    path = re.sub(r"^https?://[^/]+", "", url).split("?")[0]
    path = UUIDISH.sub("{id}", path)
    path = re.sub(r"/v3/\{id\}(?=/|$)", "/v3/{project_id}", path)  # Cinder's project in the URL
    return path


def requests_in(log_text):
    """Every `Request (Caller): NNN METHOD URL` of a log, as (caller, status, `NNN METHOD path`)."""
    return [(m.group(1), int(m.group(2)), "%s %s %s" % (m.group(2), m.group(3), normalise_url(m.group(4))))
            for m in REQUEST.finditer(log_text)]


def exception_of(tb):
    """The exception header of a traceback (its last `Name: message` line at column 0) and what
    tempest puts after it (`Details: ...`, a schema validation's first line)."""
    lines = tb.rstrip().splitlines()
    for i in range(len(lines) - 1, -1, -1):
        m = EXC_LINE.match(lines[i])
        if m and not lines[i].startswith(("Traceback", "Details", "Response", "Failed validating", "On instance")):
            details = ""
            for nxt in lines[i + 1:i + 3]:
                if nxt.startswith("Details:"):
                    details = nxt[len("Details:"):].strip()
                    break
            for nxt in lines[i + 1:]:
                if nxt.startswith("Failed validating"):
                    details += " -- " + nxt.strip().rstrip(":")
                    break
            return m.group(1).split(".")[-1], m.group(2).strip(), details
    return "", (lines[-1].strip() if lines else ""), ""


HTTP_EXCEPTIONS = {"NotFound": 404, "BadRequest": 400, "Unauthorized": 401, "Forbidden": 403,
                   "Conflict": 409, "ServerFault": 500, "UnexpectedResponseCode": None,
                   "NotImplemented": 501, "OverLimit": 413, "RateLimitExceeded": 413,
                   "InvalidContentType": 415, "UnprocessableEntity": 422, "Gone": 410}


def cause_of(tb, reqs):
    """A short, id-free cause: what to group failures by, and the default skip reason. `reqs`:
    the requests the test (or its class's setUpClass) made, in order."""
    exc, msg, details = exception_of(tb)
    msg = TIMESTAMP.sub("{time}", UUIDISH.sub("{id}", msg))
    details = TIMESTAMP.sub("{time}", UUIDISH.sub("{id}", details))
    errors = [r for status, r in reqs if status >= 400]
    if exc in HTTP_EXCEPTIONS:
        want = HTTP_EXCEPTIONS[exc]
        if want is None and details.isdigit():  # UnexpectedResponseCode: `Details: 405`
            want = int(details)
        matching = [r for status, r in reqs if status == want] if want else errors
        if matching or errors:
            return "%s (%s)" % ((matching or errors)[-1], exc)
    last = reqs[-1][1] if reqs else None
    if exc == "InvalidHTTPResponseBody":
        why = details.split(" -- ")[0].replace("HTTP response body is invalid (", "", 1)
        return "response schema of %s: %s" % (last or "?", why[:200] or msg[:160])
    head = "%s: %s" % (exc, msg[:160]) if exc else msg[:160]
    if details:
        head += " | %s" % details[:120]
    if errors:
        head += " [last error answer: %s]" % errors[-1]
    return head


def tail(tb, n=TAIL_LINES):
    lines = tb.rstrip().splitlines()
    return "\n".join(lines[-n:])


def collect(args):
    import subunit
    import testtools

    selected = args.groups.split(",")
    listed = []
    with open(args.listed) as f:
        for line in f:
            line = line.strip()
            if line and (line.startswith("tempest.") or line.startswith("barbican_tempest_plugin.")):
                listed.append(line)
    tests = {}  # stripped id -> record
    fixtures = {}  # class path -> record (setUpClass)
    teardowns = {}

    def on_test(t):
        tid = t["id"]
        status = t["status"]
        details = t["details"]
        tb = text(details, "traceback")
        log_text = text(details, "pythonlogging:''") + text(details, "pythonlogging")
        rec = {"raw_status": status, "traceback": tb, "log": log_text,
               "reason": text(details, "reason").strip()}
        m = CLASS_FIXTURE.match(tid)
        if m:
            target = fixtures if m.group(1).startswith("setUp") else teardowns
            target[m.group(2)] = rec
            return
        if status in ("exists", "inprogress"):
            return
        tests[groups.strip_attrs(tid)] = rec

    for path in args.subunit:
        with open(path, "rb") as f:
            stream = subunit.ByteStreamToStreamResult(f, non_subunit_name="stdout")
            result = testtools.StreamToDict(on_test)
            result.startTestRun()
            try:
                stream.run(result)
            finally:
                result.stopTestRun()

    # setUpClass requests by class short name (their captured logs are not in the subunit).
    fixture_reqs = {}
    for path in args.tempest_log or []:
        with open(path, errors="replace") as f:
            for caller, status, r in requests_in(f.read()):
                cls, _, where = caller.partition(":")
                if where.startswith("setUp"):
                    fixture_reqs.setdefault(cls, []).append((status, r))

    per_group = {g: {} for g in selected}
    ids = [groups.strip_attrs(i) for i in listed] + list(tests)
    for tid in dict.fromkeys(ids):
        g = groups.group_of(tid)
        if g not in per_group:
            continue
        rec = tests.get(tid)
        fixture = False
        reqs = [(status, r) for _, status, r in requests_in(rec["log"])] if rec else []
        if rec is None:
            cls = tid.rsplit(".", 1)[0]
            rec = fixtures.get(cls)
            if rec is None:
                # Module-level fixture, or the run died before the test.
                mod = cls.rsplit(".", 1)[0]
                rec = fixtures.get(mod) or {"raw_status": "fail", "traceback": "no result: the test did not run",
                                            "log": "", "reason": ""}
            fixture = True
            reqs = fixture_reqs.get(cls.rsplit(".", 1)[-1], [])
        raw = rec["raw_status"]
        if raw in ("success", "xfail"):
            entry = {"status": "pass"}
        elif raw == "skip":
            reason = rec["reason"] or "skipped"
            entry = {"status": "skip", "reason": reason}
        else:
            errors = [r for status, r in reqs if status >= 400]
            entry = {"status": "fail", "cause": cause_of(rec["traceback"], reqs), "setUpClass": fixture,
                     "traceback": tail(rec["traceback"]), "request": errors[-1] if errors else ""}
        per_group[g][tid] = entry

    os.makedirs(args.out_dir, exist_ok=True)
    totals = [0, 0, 0]
    for g in selected:
        res = per_group[g]
        counts = [sum(1 for e in res.values() if e["status"] == s) for s in ("pass", "fail", "skip")]
        totals = [a + b for a, b in zip(totals, counts)]
        with open(os.path.join(args.out_dir, g + ".txt"), "w") as f:
            for tid in sorted(res):
                f.write("%s %s\n" % (tid, res[tid]["status"]))
        with open(os.path.join(args.out_dir, g + ".log"), "w") as f:
            for tid in sorted(res):
                e = res[tid]
                if e["status"] == "fail":
                    where = " (in setUpClass: the whole class failed)" if e["setUpClass"] else ""
                    f.write("=== FAIL %s%s\n--- cause: %s\n" % (tid, where, e["cause"]))
                    if e["request"]:
                        f.write("--- last error answer: %s\n" % e["request"])
                    f.write(e["traceback"] + "\n\n")
            for cls, rec in sorted(teardowns.items()):
                if groups.group_of(cls + ".x") == g and rec["raw_status"] not in ("success", "skip"):
                    f.write("=== tearDownClass FAILED %s (its tests keep their result)\n%s\n\n"
                            % (cls, tail(rec["traceback"])))
            for tid in sorted(res):
                if res[tid]["status"] == "skip":
                    f.write("--- skip %s: %s\n" % (tid, res[tid]["reason"]))
        with open(os.path.join(args.out_dir, g + ".json"), "w") as f:
            json.dump(res, f, indent=1, sort_keys=True)
        print("%s: %d passed, %d failed, %d skipped" % (g, *counts))
    print("total: %d passed, %d failed, %d skipped" % tuple(totals))
    return 0


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    a = sub.add_parser("collect")
    a.add_argument("--out-dir", required=True)
    a.add_argument("--groups", required=True)
    a.add_argument("--listed", required=True)
    a.add_argument("--tempest-log", action="append", help="tempest.log (setUpClass requests)")
    a.add_argument("subunit", nargs="+")
    args = p.parse_args()
    return collect(args)


if __name__ == "__main__":
    sys.exit(main())
