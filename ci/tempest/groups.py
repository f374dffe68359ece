"""The Tempest groups of ci/tempest.sh: name -> which test ids belong to it, and which
tempest.conf/serve variant runs it. Order matters: a test id belongs to the first group whose
pattern matches it (identity-tokens before identity-v3)."""

import re

# (name, variant, id regex)
GROUPS = [
    ("barbican-api", "api", r"^barbican_tempest_plugin\.tests\.api\."),
    ("barbican-rbac", "rbac", r"^barbican_tempest_plugin\.tests\.rbac\."),
    ("image-v2", "api", r"^tempest\.api\.image\.v2\."),
    ("identity-tokens", "api", r"^tempest\.api\.identity\.(admin\.)?v3\.test_tokens\."),
    ("identity-v3", "api", r"^tempest\.api\.identity\.v3\."),
    ("volume", "api", r"^tempest\.api\.volume\."),
    ("image-signing", "scenario",
     r"^barbican_tempest_plugin\.tests\.scenario\.(test_image_signing|test_certificate_validation)\."),
]
NAMES = [g[0] for g in GROUPS]
VARIANT = {g[0]: g[1] for g in GROUPS}
_COMPILED = [(g[0], re.compile(g[2])) for g in GROUPS]

# `name.of.Class.test_x[id-...,smoke]` -> `name.of.Class.test_x`
_ATTRS = re.compile(r"\[[^\]]*\]$")


def strip_attrs(test_id):
    return _ATTRS.sub("", test_id)


def group_of(test_id):
    for name, rx in _COMPILED:
        if rx.search(test_id):
            return name
    return None


def regex_for(names):
    """One tempest --regex selecting the given groups (a superset for identity-v3, which the
    result collection narrows by group_of)."""
    return "|".join("(%s)" % g[2] for g in GROUPS if g[0] in names)


def exclude_regex_for(names):
    """Tests matching an unselected group listed before a selected one belong to that unselected
    group (group_of takes the first match): exclude them from the run."""
    excluded = []
    for i, g in enumerate(GROUPS):
        if g[0] not in names and any(h[0] in names for h in GROUPS[i + 1:]):
            excluded.append("(%s)" % g[2])
    return "|".join(excluded)
