"""Tests of ci/tempest's expectation logic (stdlib only): `python3 ci/tempest/test_compare.py`.

A listed `pass` that fails must fail the comparison; new passes are reported, not failed on;
--record never turns a `pass` into a skip, keeps skip reasons, and leaves other groups alone;
group_of gives test_tokens to identity-tokens, the rest of identity.v3 to identity-v3."""

import json
import os
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import groups  # noqa: E402
import results  # noqa: E402

TOKENS = "tempest.api.identity.v3.test_tokens.TokensV3Test.test_validate_token"
ADMIN_TOKENS = "tempest.api.identity.admin.v3.test_tokens.TokensV3TestJSON.test_rescope_token"
USERS = "tempest.api.identity.v3.test_users.IdentityV3UsersTest.test_password_history"
CATALOG = "tempest.api.identity.v3.test_catalog.IdentityV3CatalogTest.test_catalog_standardization"
IMAGE = "tempest.api.image.v2.test_images.BasicOperationsImagesTest.test_delete_image"


class Compare(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.results = os.path.join(self.dir.name, "results")
        os.makedirs(self.results)
        self.expected = os.path.join(self.dir.name, "expected.txt")

    def tearDown(self):
        self.dir.cleanup()

    def write_results(self, group, entries):
        with open(os.path.join(self.results, group + ".json"), "w") as f:
            json.dump(entries, f)

    def write_expected(self, lines):
        with open(self.expected, "w") as f:
            f.write("# comment\n" + "".join(line + "\n" for line in lines))

    def run_compare(self, group_names, *extra):
        p = subprocess.run([sys.executable, os.path.join(HERE, "compare.py"), "--expected", self.expected,
                            "--results-dir", self.results, "--groups", ",".join(group_names), *extra],
                           capture_output=True, text=True)
        return p.returncode, p.stdout + p.stderr

    def test_groups(self):
        self.assertEqual(groups.group_of(TOKENS), "identity-tokens")
        self.assertEqual(groups.group_of(ADMIN_TOKENS), "identity-tokens")
        self.assertEqual(groups.group_of(USERS), "identity-v3")
        self.assertIsNone(groups.group_of("tempest.api.compute.servers.test_x.T.test_y"))
        self.assertEqual(groups.strip_attrs(USERS + "[id-1234,smoke]"), USERS)
        self.assertIn("test_tokens", groups.exclude_regex_for(["identity-v3"]))
        self.assertNotIn("identity", groups.exclude_regex_for(["identity-tokens"]))

    def test_expected_pass_that_fails_fails_the_run(self):
        self.write_results("identity-v3", {USERS: {"status": "fail", "cause": "404 GET /v3/x (NotFound)"},
                                           CATALOG: {"status": "pass"}})
        self.write_expected([USERS + " pass", CATALOG + " pass"])
        rc, out = self.run_compare(["identity-v3"])
        self.assertEqual(rc, 1, out)
        self.assertIn("EXPECTED PASS, DID NOT PASS", out)
        self.assertIn(USERS, out)

    def test_expected_pass_not_run_fails(self):
        self.write_results("identity-v3", {CATALOG: {"status": "pass"}})
        self.write_expected([USERS + " pass", CATALOG + " pass"])
        rc, out = self.run_compare(["identity-v3"])
        self.assertEqual(rc, 1, out)

    def test_new_pass_and_absent_are_reported_not_failed(self):
        self.write_results("identity-v3", {USERS: {"status": "pass"}, CATALOG: {"status": "skip", "reason": "r"}})
        self.write_expected([USERS + " skip: fails: 404"])
        rc, out = self.run_compare(["identity-v3"])
        self.assertEqual(rc, 0, out)
        self.assertIn("new passes: add them", out)
        self.assertIn("not in expected.txt", out)
        self.assertIn(CATALOG, out)

    def test_groups_not_run_are_not_compared(self):
        self.write_results("identity-v3", {USERS: {"status": "pass"}})
        self.write_expected([USERS + " pass", IMAGE + " pass"])
        rc, out = self.run_compare(["identity-v3"])
        self.assertEqual(rc, 0, out)

    def test_record_only_grows(self):
        self.write_results("identity-v3", {
            USERS: {"status": "fail", "cause": "404 GET /v3/users/{id} (NotFound)"},
            CATALOG: {"status": "fail", "cause": "500"},
        })
        self.write_results("identity-tokens", {TOKENS: {"status": "skip", "reason": "Neutron not available"},
                                               ADMIN_TOKENS: {"status": "pass"}})
        self.write_expected([USERS + " pass", CATALOG + " skip: kept reason", IMAGE + " pass"])
        rc, out = self.run_compare(["identity-v3", "identity-tokens"], "--record")
        self.assertEqual(rc, 0, out)
        with open(self.expected) as f:
            lines = dict(line.rstrip("\n").split(" ", 1) for line in f if not line.startswith("#"))
        self.assertEqual(lines[USERS], "pass")
        self.assertEqual(lines[CATALOG], "skip: kept reason")
        self.assertEqual(lines[IMAGE], "pass")
        self.assertEqual(lines[ADMIN_TOKENS], "pass")
        self.assertEqual(lines[TOKENS], "skip: tempest skips: Neutron not available")

    def test_bad_expectation_line_is_refused(self):
        self.write_results("identity-v3", {})
        self.write_expected([USERS + " passed"])
        rc, out = self.run_compare(["identity-v3"])
        self.assertNotEqual(rc, 0)
        self.assertIn("expected `<id> pass` or `<id> skip: <reason>`", out)

    def test_causes_file_groups_by_cause(self):
        self.write_results("identity-v3", {
            USERS: {"status": "fail", "cause": "404 POST /v3/roles (NotFound)", "traceback": "tb1"},
            CATALOG: {"status": "fail", "cause": "404 POST /v3/roles (NotFound)", "traceback": "tb2",
                      "setUpClass": True},
        })
        self.write_expected([])
        causes = os.path.join(self.dir.name, "causes.md")
        rc, out = self.run_compare(["identity-v3"], "--causes", causes)
        self.assertEqual(rc, 0, out)
        with open(causes) as f:
            text = f.read()
        self.assertIn("## 2 tests: 404 POST /v3/roles (NotFound)", text)
        self.assertIn("(setUpClass)", text)


class Causes(unittest.TestCase):
    TB_404 = """Traceback (most recent call last):
  File "x.py", line 1, in test_x
    raise exceptions.NotFound(resp_body, resp=resp)
tempest.lib.exceptions.NotFound: Object not found
Details: {'code': 404}
"""
    LOG = ("2026-12-04 INFO tempest.lib.common.rest_client [req-1 ] Request (T:test_x): 201 POST "
           "http://127.0.0.1:5000/v3/auth/tokens 0.1s\n"
           "2026-12-04 INFO tempest.lib.common.rest_client [req-2 ] Request (T:test_x): 404 POST "
           "http://127.0.0.1:9292/v2/images/0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b/members 0.1s\n")

    def test_http_error_names_the_request(self):
        reqs = [(s, r) for _, s, r in results.requests_in(self.LOG)]
        self.assertEqual(results.cause_of(self.TB_404, reqs), "404 POST /v2/images/{id}/members (NotFound)")

    def test_unexpected_response_code_matches_its_status(self):
        tb = "tempest.lib.exceptions.UnexpectedResponseCode: Unexpected response code received\nDetails: 405\n"
        reqs = [(405, "405 POST /v3/roles"), (404, "404 DELETE /v3/projects/{id}")]
        self.assertEqual(results.cause_of(tb, reqs), "405 POST /v3/roles (UnexpectedResponseCode)")

    def test_schema_error_names_the_property(self):
        tb = ("tempest.lib.exceptions.InvalidHTTPResponseBody: HTTP response body is invalid json or xml\n"
              "Details: HTTP response body is invalid (Additional properties are not allowed "
              "('qos_specs_id' was unexpected)\n\nFailed validating 'additionalProperties' in schema:\n")
        reqs = [(200, "200 POST /v3/{project_id}/types")]
        self.assertEqual(results.cause_of(tb, reqs), "response schema of 200 POST /v3/{project_id}/types: "
                         "Additional properties are not allowed ('qos_specs_id' was unexpected)")

    def test_project_in_cinder_url(self):
        self.assertEqual(results.normalise_url("http://h:1/v3/0123456789abcdef0123456789abcdef/volumes?x=1"),
                         "/v3/{project_id}/volumes")


if __name__ == "__main__":
    unittest.main()
