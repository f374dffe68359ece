#!/usr/bin/env python3
"""Compares two conformance runs scenario by scenario (by @id, from cucumber.json).

Usage: conformance-compare.py PREFIX LABEL_A A/cucumber.json LABEL_B B/cucumber.json [--ran-in-a]
                              [--recorded FILE] [--details OUT]
       conformance-compare.py --only-recorded-failures A/cucumber.json FILE

A scenario is failed if any step or hook failed (or was undefined), skipped if any was
skipped, passed otherwise; the Background element shares its scenario's tags. With
--ran-in-a, scenarios that A skipped (its target lacks what they need) are left out instead
of counted as differences. Last line: "PREFIX: N scenarios identical, M differ"; exit 1 on
any difference or when nothing was compared.

--recorded FILE: differences that are known and explained, one a line:
    <id> <result in A> <result in B>  <why>
(`#` starts a comment). A difference recorded with exactly those results is counted as
"recorded" (printed with its reason, not a failure); a recorded one that no longer differs, or
now differs otherwise, is printed and counts as a difference (the record is out of date).
--details OUT: for every scenario whose results differ, the first failed step of each side with
its error text (the real service's answer).

--only-recorded-failures: exit 0 when every failed scenario of the run is recorded (as failed in
A) and no @required scenario was skipped; the check a certified run that failed only where the
real service is known to answer otherwise must pass.
"""
import json
import sys

RANK = {"passed": 0, "skipped": 1, "failed": 2}


def scenario_ids(el):
    return [t["name"].lstrip("@")[3:] for t in el.get("tags", []) if t["name"].lstrip("@").startswith("id:")]


def status_of(items):
    statuses = {i["result"]["status"] for i in items}
    if statuses - {"passed", "skipped"}:
        return "failed"
    if "skipped" in statuses:
        return "skipped"
    return "passed"


def load(path):
    """{id: (status, tags, first failure text)}"""
    out = {}
    for feature in json.load(open(path)):
        for el in feature.get("elements", []):
            ids = scenario_ids(el)
            if not ids:
                continue
            items = el.get("before", []) + el.get("after", []) + el.get("steps", [])
            status = status_of(items)
            failure = ""
            for i in items:
                if i["result"]["status"] not in ("passed", "skipped"):
                    step = f"{i.get('keyword', '')}{i.get('name', 'hook')}".strip()
                    failure = f"{step}: {i['result'].get('error_message', i['result']['status'])}".strip()
                    break
            tags = {t["name"].lstrip("@") for t in el.get("tags", [])}
            old = out.get(ids[0])
            if old:
                status = max(old[0], status, key=RANK.get)
                tags |= old[1]
                failure = old[2] or failure
            out[ids[0]] = (status, tags, failure)
    return out


def results(path):
    return {k: v[0] for k, v in load(path).items()}


def read_recorded(path):
    recorded = {}
    if not path:
        return recorded
    for line in open(path):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        parts = line.split(None, 3)
        if len(parts) < 4:
            sys.exit(f"{path}: '{line}': want <id> <result A> <result B> <why>")
        recorded[parts[0]] = (parts[1], parts[2], parts[3])
    return recorded


def only_recorded_failures(path_a, path_rec):
    a = load(path_a)
    recorded = read_recorded(path_rec)
    ok = True
    for scenario, (status, tags, failure) in sorted(a.items()):
        if status == "failed" and recorded.get(scenario, ("",))[0] != "failed":
            print(f"unrecorded failure: {scenario}: {failure[:300]}", file=sys.stderr)
            ok = False
        if status == "skipped" and "required" in tags:
            print(f"required scenario skipped: {scenario}", file=sys.stderr)
            ok = False
    return 0 if ok else 1


def option(argv, name):
    if name in argv:
        i = argv.index(name)
        if i + 1 < len(argv):
            return argv[i + 1]
        sys.exit(f"{name} needs a value")
    return None


def main(argv):
    if len(argv) > 1 and argv[1] == "--only-recorded-failures":
        return only_recorded_failures(argv[2], argv[3])
    prefix, label_a, path_a, label_b, path_b = argv[1:6]
    rest = argv[6:]
    ran_in_a = "--ran-in-a" in rest
    recorded = read_recorded(option(rest, "--recorded"))
    details_path = option(rest, "--details")
    a, b = load(path_a), load(path_b)
    same = differ = left_out = known = 0
    details = []
    for scenario in sorted(set(a) | set(b)):
        ra, rb = a.get(scenario, ("absent", set(), ""))[0], b.get(scenario, ("absent", set(), ""))[0]
        rec = recorded.get(scenario)
        if ran_in_a and ra == "skipped":
            left_out += 1
            continue
        if ra != rb:
            details.append(f"{scenario}: {label_a} {ra}, {label_b} {rb}\n"
                           f"  {label_a}: {a.get(scenario, ('', set(), ''))[2] or '-'}\n"
                           f"  {label_b}: {b.get(scenario, ('', set(), ''))[2] or '-'}\n")
        if rec and (ra, rb) == rec[:2]:
            known += 1
            print(f"{prefix}: {scenario}: {label_a} {ra}, {label_b} {rb} (recorded: {rec[2]})", file=sys.stderr)
        elif rec:
            differ += 1
            print(f"{prefix}: {scenario}: {label_a} {ra}, {label_b} {rb}; recorded as {rec[0]}/{rec[1]}"
                  " (the record is out of date)", file=sys.stderr)
        elif ra == rb:
            same += 1
        else:
            differ += 1
            print(f"{prefix}: {scenario}: {label_a} {ra}, {label_b} {rb}", file=sys.stderr)
    if details_path:
        with open(details_path, "w") as f:
            f.write("\n".join(details))
    if left_out:
        print(f"{prefix}: {left_out} scenarios skipped by {label_a} (not compared)", file=sys.stderr)
    if known:
        print(f"{prefix}: {known} recorded differences (explained in the --recorded file)", file=sys.stderr)
    print(f"{prefix}: {same} scenarios identical, {differ} differ")
    return 1 if differ or not same else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
