#!/usr/bin/env python3
"""Compares two conformance runs scenario by scenario (by @id, from cucumber.json).

Usage: conformance-compare.py PREFIX LABEL_A A/cucumber.json LABEL_B B/cucumber.json [--ran-in-a]

A scenario is failed if any step or hook failed (or was undefined), skipped if any was
skipped, passed otherwise; the Background element shares its scenario's tags. With
--ran-in-a, scenarios that A skipped (its target lacks what they need) are left out instead
of counted as differences. Last line: "PREFIX: N scenarios identical, M differ"; exit 1 on
any difference or when nothing was compared.
"""
import json
import sys

RANK = {"passed": 0, "skipped": 1, "failed": 2}


def results(path):
    out = {}
    for feature in json.load(open(path)):
        for el in feature.get("elements", []):
            ids = [t["name"].lstrip("@")[3:] for t in el.get("tags", []) if t["name"].lstrip("@").startswith("id:")]
            if not ids:
                continue
            items = el.get("before", []) + el.get("after", []) + el.get("steps", [])
            statuses = {i["result"]["status"] for i in items}
            status = "passed"
            if statuses - {"passed", "skipped"}:
                status = "failed"
            elif "skipped" in statuses:
                status = "skipped"
            out[ids[0]] = max(out.get(ids[0], "passed"), status, key=RANK.get)
    return out


def main(argv):
    prefix, label_a, path_a, label_b, path_b = argv[1:6]
    ran_in_a = "--ran-in-a" in argv[6:]
    a, b = results(path_a), results(path_b)
    same = differ = left_out = 0
    for scenario in sorted(set(a) | set(b)):
        ra, rb = a.get(scenario, "absent"), b.get(scenario, "absent")
        if ran_in_a and ra == "skipped":
            left_out += 1
        elif ra == rb:
            same += 1
        else:
            differ += 1
            print(f"{prefix}: {scenario}: {label_a} {ra}, {label_b} {rb}", file=sys.stderr)
    if left_out:
        print(f"{prefix}: {left_out} scenarios skipped by {label_a} (not compared)", file=sys.stderr)
    print(f"{prefix}: {same} scenarios identical, {differ} differ")
    return 1 if differ or not same else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
