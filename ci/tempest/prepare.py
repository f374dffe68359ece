"""Prepares a running `sigstack serve` for Tempest and writes tempest.conf (ci/tempest.sh).

Runs with the tempest venv's python (requests, PyYAML). Subcommands:

  profile  [--kind rbac|scenario] BASE OUT
                             a deployment YAML: BASE with barbican.enforce_new_defaults true
                             (rbac), or with Nova's verify_glance_signatures true (scenario)
  roles    CLOUDS_YAML SEED_OUT ROLE...
                             makes sure every ROLE exists in Keystone: POST /v3/roles when the
                             service offers it; otherwise writes SEED_OUT, a seed.json
                             reconstructed from the live Keystone (its roles, projects and the
                             clouds.yaml users with their role assignments) plus the missing
                             roles, and exits 3 (serve must restart on a new data directory
                             holding that seed). Exit 0: all roles exist.
  conf     CLOUDS_YAML OUT --work DIR --image QCOW2 --variant api|scenario|rbac
                             uploads the public images Tempest boots from and writes tempest.conf
"""

import argparse
import json
import os
import sys

import requests
import yaml

TIMEOUT = 60


def log(msg):
    print("tempest-prepare: %s" % msg, file=sys.stderr)


def load_clouds(path):
    with open(path) as f:
        return yaml.safe_load(f)["clouds"]


class Session:
    """An admin token and the catalog, from a clouds.yaml entry."""

    def __init__(self, cloud):
        self.cloud = cloud
        auth = cloud["auth"]
        self.auth_url = auth["auth_url"].rstrip("/")
        self.verify = cloud.get("cacert", True)
        body = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
            "name": auth["username"], "password": auth["password"],
            "domain": {"name": auth["user_domain_name"]}}}},
            "scope": {"project": {"name": auth["project_name"],
                                  "domain": {"name": auth["project_domain_name"]}}}}}
        r = requests.post(self.auth_url + "/auth/tokens", json=body, timeout=TIMEOUT, verify=self.verify)
        r.raise_for_status()
        self.token = r.headers["X-Subject-Token"]
        self.catalog = r.json()["token"].get("catalog", [])

    def endpoint(self, service_type, interface="public"):
        for svc in self.catalog:
            if svc["type"] == service_type:
                for ep in svc["endpoints"]:
                    if ep["interface"] == interface:
                        return ep["url"].rstrip("/")
        return None

    def req(self, method, url, **kw):
        headers = kw.pop("headers", {})
        headers["X-Auth-Token"] = self.token
        return requests.request(method, url, headers=headers, timeout=TIMEOUT, verify=self.verify, **kw)


def cmd_profile(args):
    with open(args.base) as f:
        doc = yaml.safe_load(f)
    if args.kind == "rbac":
        doc["name"] = (doc.get("name") or "profile") + "+barbican-new-defaults"
        doc.setdefault("barbican", {})["enforce_new_defaults"] = True
        # tempest's [enforce_scope] barbican = true says Barbican enforces scope too (devstack's
        # ENFORCE_SCOPE sets both options, as the plugin's secure-rbac job does).
        doc["barbican"]["enforce_scope"] = True
        why = ("the barbican-rbac group: %s with Barbican's\n# [oslo_policy] enforce_new_defaults = True "
               "and enforce_scope = True." % args.base)
    else:
        # barbican-tempest-plugin's own gate job (.zuul.yaml, barbican-tempest-plugin-simple-
        # crypto): devstack with Nova's [glance] verify_glance_signatures = True and nothing
        # else changed, so certificates are validated only when the user names trusted ones.
        doc["name"] = (doc.get("name") or "profile") + "+nova-verify"
        doc.setdefault("nova", {}).setdefault("glance", {})["verify_glance_signatures"] = True
        why = ("the image-signing group: %s with Nova's [glance]\n# verify_glance_signatures = True, "
               "as barbican-tempest-plugin's gate job configures it." % args.base)
    with open(args.out, "w") as f:
        f.write("# Written by ci/tempest.sh for %s\n" % why)
        yaml.safe_dump(doc, f, sort_keys=False)
    return 0


def cmd_roles(args):
    clouds = load_clouds(args.clouds_yaml)
    s = Session(clouds["sigstack-admin"])
    ks = s.auth_url
    have = {r["name"] for r in s.req("GET", ks + "/roles").json()["roles"]}
    missing = [r for r in args.roles if r not in have]
    api_refused = None
    for role in list(missing):
        r = s.req("POST", ks + "/roles", json={"role": {"name": role}})
        if r.status_code == 201:
            log("created role %s (POST /v3/roles)" % role)
            missing.remove(role)
        else:
            api_refused = r.status_code
            break
    if not missing:
        return 0
    log("POST /v3/roles answered %s: seeding roles %s instead" % (api_refused, ", ".join(missing)))
    # The seed as the running Keystone holds it, so the restarted cloud differs only by the roles.
    roles = sorted(have) + missing
    projects = [p["name"] for p in s.req("GET", ks + "/projects").json()["projects"]]
    assignments = s.req("GET", ks + "/role_assignments?include_names=true").json()["role_assignments"]
    users = []
    for cloud in clouds.values():
        auth = cloud["auth"]
        if any(u["name"] == auth["username"] for u in users):
            continue
        user_roles = [a["role"]["name"] for a in assignments
                      if a.get("user", {}).get("name") == auth["username"]
                      and a.get("scope", {}).get("project", {}).get("name") == auth["project_name"]]
        users.append({"name": auth["username"], "password": auth["password"],
                      "project": auth["project_name"], "roles": user_roles})
    with open(args.seed_out, "w") as f:
        json.dump({"roles": roles, "projects": projects, "users": users}, f, indent=2)
    return 3


def upload_image(s, glance, name, path):
    r = s.req("POST", glance + "/v2/images", json={
        "name": name, "disk_format": "qcow2", "container_format": "bare", "visibility": "public"})
    r.raise_for_status()
    image_id = r.json()["id"]
    with open(path, "rb") as f:
        r = s.req("PUT", glance + "/v2/images/%s/file" % image_id, data=f.read(),
                  headers={"Content-Type": "application/octet-stream"})
    r.raise_for_status()
    status = s.req("GET", glance + "/v2/images/%s" % image_id).json()["status"]
    if status != "active":
        raise SystemExit("image %s is %s after upload" % (name, status))
    return image_id


def ini(sections):
    out = ["# Written by ci/tempest.sh (ci/tempest/prepare.py) for one sigstack serve run."]
    for name, items in sections.items():
        out.append("")
        out.append("[%s]" % name)
        for k, v in items.items():
            if isinstance(v, bool):
                v = "true" if v else "false"
            out.append("%s = %s" % (k, v))
    return "\n".join(out) + "\n"


def cmd_conf(args):
    clouds = load_clouds(args.clouds_yaml)
    admin = clouds["sigstack-admin"]
    s = Session(admin)
    glance = s.endpoint("image")
    image_ref = upload_image(s, glance, "tempest-image", args.image)
    image_ref_alt = upload_image(s, glance, "tempest-image-alt", args.image)
    neutron = s.endpoint("network") is not None
    auth = admin["auth"]
    region = admin.get("region_name", "RegionOne")
    os.makedirs(os.path.join(args.work, "locks"), exist_ok=True)
    os.makedirs(os.path.join(args.work, "logs"), exist_ok=True)
    sections = {
        "DEFAULT": {"log_dir": os.path.join(args.work, "logs"), "log_file": "tempest.log",
                    "use_stderr": False},
        "oslo_concurrency": {"lock_path": os.path.join(args.work, "locks")},
        "auth": {
            "use_dynamic_credentials": True,
            "create_isolated_networks": False,
            "admin_username": auth["username"],
            "admin_password": auth["password"],
            "admin_project_name": auth["project_name"],
            "admin_domain_name": auth["user_domain_name"],
            "default_credentials_domain_name": auth["user_domain_name"],
        },
        "identity": {
            "uri_v3": auth["auth_url"],
            "auth_version": "v3",
            "region": region,
            "default_domain_id": "default",
        },
        "identity-feature-enabled": {
            "api_v2": False, "api_v2_admin": False, "security_compliance": False,
            "application_credentials": False, "access_rules": False, "trust": False,
        },
        "service_available": {
            "glance": True, "barbican": True, "nova": True, "cinder": True,
            "neutron": neutron, "swift": False, "heat": False, "horizon": False,
        },
        "image-feature-enabled": {"api_v2": True, "api_v1": False, "import_image": True},
        "compute": {
            "image_ref": image_ref, "image_ref_alt": image_ref_alt,
            "flavor_ref": "42", "flavor_ref_alt": "1",
            "min_microversion": "2.1", "max_microversion": "2.104",
            "fixed_network_name": "", "build_timeout": 120,
        },
        "compute-feature-enabled": {
            "console_output": False, "resize": False, "config_drive": False,
            "interface_attach": False, "attach_encrypted_volume": False, "snapshot": True,
        },
        "volume": {"catalog_type": "block-storage", "min_microversion": "3.0",
                   "max_microversion": "latest"},
        "volume-feature-enabled": {"backup": False, "snapshot": False, "manage_volume": False,
                                   "manage_snapshot": False},
        "validation": {"run_validation": False},
        "network-feature-enabled": {"ipv6": False},
        "scenario": {"img_file": os.path.abspath(args.image), "img_disk_format": "qcow2",
                     "img_container_format": "bare"},
        "key_manager": {"catalog_type": "key-manager", "min_microversion": "1.0",
                        "max_microversion": "latest"},
        "barbican_tempest": {"enable_multiple_secret_stores": False},
        "enforce_scope": {"barbican": args.variant == "rbac"},
        "image_signature_verification": {"enforced": True, "certificate_validation": True},
        "ephemeral_storage_encryption": {"enabled": False},
    }
    if args.variant == "scenario":
        # Barbican's legacy policy refuses secret creation without `creator` (correctly).
        sections["auth"]["tempest_roles"] = "creator"
        # CertificateValidationTest runs only with isolated networks (the simulated Neutron
        # gives each test project a network, subnet and router); the volume tests need the
        # encrypted-volume attach and attached-volume extension the simulated Nova and Cinder do.
        sections["auth"]["create_isolated_networks"] = neutron
        sections["compute-feature-enabled"]["attach_encrypted_volume"] = True
        sections["volume-feature-enabled"]["extend_attached_volume"] = True
        sections["volume-feature-enabled"]["extend_attached_encrypted_volume"] = True
    if admin.get("cacert"):
        sections["identity"]["ca_certificates_file"] = admin["cacert"]
    with open(args.out, "w") as f:
        f.write(ini(sections))
    log("wrote %s (variant %s, neutron %s)" % (args.out, args.variant, neutron))
    return 0


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    a = sub.add_parser("profile")
    a.add_argument("--kind", choices=["rbac", "scenario"], default="rbac")
    a.add_argument("base")
    a.add_argument("out")
    a = sub.add_parser("roles")
    a.add_argument("clouds_yaml")
    a.add_argument("seed_out")
    a.add_argument("roles", nargs="+")
    a = sub.add_parser("conf")
    a.add_argument("clouds_yaml")
    a.add_argument("out")
    a.add_argument("--work", required=True)
    a.add_argument("--image", required=True)
    a.add_argument("--variant", choices=["api", "scenario", "rbac"], required=True)
    args = p.parse_args()
    return {"profile": cmd_profile, "roles": cmd_roles, "conf": cmd_conf}[args.cmd](args)


if __name__ == "__main__":
    sys.exit(main())
