"""ci/realstack --with compute,volume: the operator's bootstrap, through the APIs.

  catalog        services and endpoints: compute, placement, network (the stub), block-storage
                 and volumev3 (as devstack registers Cinder), for the services in WITH
  flavors        the flavors the suite boots with (admin, Nova's API)
  compute-ready  waits until the compute node is a hypervisor Nova lists and Placement has
                 its inventory
  volume-ready   waits until cinder-volume's backend is up
  compute-restarted  waits until nova-compute reported its state after SINCE (UTC)
Environment: KEYSTONE_URL, CA_FILE, WITH, SCHEME, HOST, *_PORT.
"""
import json
import os
import ssl
import sys
import time
import urllib.error
import urllib.request

env = os.environ
auth_url = env["KEYSTONE_URL"]
base = f"{env['SCHEME']}://{env['HOST']}"
with_ = env["WITH"].split(",")
tls = None
if env.get("CA_FILE"):
    tls = ssl.create_default_context(cafile=env["CA_FILE"])


def call(method, url, body=None, token=None, headers=None, expect=(200, 201, 202, 204)):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method)
    req.add_header("Content-Type", "application/json")
    for k, v in (headers or {}).items():
        req.add_header(k, v)
    if token:
        req.add_header("X-Auth-Token", token)
    try:
        with urllib.request.urlopen(req, timeout=60, context=tls) as resp:
            text, status, hdrs = resp.read(), resp.status, resp.headers
    except urllib.error.HTTPError as e:
        status, text, hdrs = e.code, e.read(), e.headers
    if status not in expect:
        raise RuntimeError(f"{method} {url}: {status} {text[:500]!r}")
    return hdrs, (json.loads(text) if text else {})


def admin_token():
    hdrs, body = call("POST", auth_url + "/auth/tokens", {"auth": {
        "identity": {"methods": ["password"], "password": {"user": {
            "name": "admin", "domain": {"id": "default"}, "password": "admin-password"}}},
        "scope": {"project": {"name": "admin", "domain": {"id": "default"}}}}})
    return hdrs["X-Subject-Token"], body["token"]["project"]["id"]


def catalog(token):
    wanted = []
    if "compute" in with_:
        wanted += [("compute", "nova", f"{base}:{env['NOVA_PORT']}/v2.1"),
                   ("placement", "placement", f"{base}:{env['PLACEMENT_PORT']}"),
                   ("network", "neutron", f"{base}:{env['NEUTRON_PORT']}")]
    if "volume" in with_:
        cinder = f"{base}:{env['CINDER_PORT']}/v3/%(project_id)s"
        wanted += [("block-storage", "cinder", cinder), ("volumev3", "cinderv3", cinder)]
    # The service role for the user the services authenticate as (admin here): Nova's service
    # token must carry it for Cinder to accept the detach of a Nova-owned attachment.
    ids = {}
    for kind, plural, name in [("role", "roles", "service"), ("user", "users", "admin"), ("project", "projects", "admin")]:
        _, found = call("GET", f"{auth_url}/{plural}?name={name}", token=token)
        ids[kind] = found[plural][0]["id"]
    call("PUT", f"{auth_url}/projects/{ids['project']}/users/{ids['user']}/roles/{ids['role']}", token=token)
    for service_type, name, url in wanted:
        _, body = call("POST", auth_url + "/services", {"service": {"type": service_type, "name": name}}, token)
        for interface in ("public", "internal", "admin"):
            call("POST", auth_url + "/endpoints", {"endpoint": {
                "service_id": body["service"]["id"], "interface": interface, "region_id": "RegionOne",
                "url": url}}, token)
        print("registered", service_type, url)


NOVA_HEADERS = {"OpenStack-API-Version": "compute 2.79"}


def flavors(token):
    nova = f"{base}:{env['NOVA_PORT']}/v2.1"
    # A guest with no operating system (the suite's images are data disks): 64 MiB is plenty.
    for flavor_id, name, ram, disk in [("42", "m1.nano", 64, 1), ("84", "m1.micro", 128, 2)]:
        call("POST", nova + "/flavors", {"flavor": {"name": name, "id": flavor_id, "ram": ram,
                                                     "disk": disk, "vcpus": 1}}, token, NOVA_HEADERS)
        print("flavor", name)


def wait(what, probe, seconds=120):
    deadline = time.monotonic() + seconds
    last = None
    while time.monotonic() < deadline:
        try:
            ok, last = probe()
            if ok:
                print(what, "ready:", last)
                return
        except Exception as e:  # noqa: BLE001 (services still starting)
            last = repr(e)
        time.sleep(0.5)
    sys.exit(f"{what} not ready after {seconds} s: {last}")


def compute_ready(token):
    nova = f"{base}:{env['NOVA_PORT']}/v2.1"
    placement = f"{base}:{env['PLACEMENT_PORT']}"

    def probe():
        _, hv = call("GET", nova + "/os-hypervisors/detail", token=token, headers=NOVA_HEADERS)
        up = [h for h in hv["hypervisors"] if h["state"] == "up" and h["status"] == "enabled"]
        if not up:
            return False, hv
        _, rps = call("GET", placement + "/resource_providers", token=token,
                      headers={"OpenStack-API-Version": "placement 1.14"})
        for rp in rps["resource_providers"]:
            _, inv = call("GET", f"{placement}/resource_providers/{rp['uuid']}/inventories", token=token,
                          headers={"OpenStack-API-Version": "placement 1.14"})
            if "VCPU" in inv["inventories"] and "DISK_GB" in inv["inventories"]:
                return True, [h["hypervisor_hostname"] for h in up]
        return False, rps

    wait("compute", probe)


def compute_restarted(token):
    nova = f"{base}:{env['NOVA_PORT']}/v2.1"

    def probe():
        _, services = call("GET", nova + "/os-services?binary=nova-compute", token=token, headers=NOVA_HEADERS)
        fresh = [s for s in services["services"] if s["state"] == "up" and (s["updated_at"] or "") > env["SINCE"]]
        return bool(fresh), [s["updated_at"] for s in services["services"]]

    wait("restarted compute", probe)


def volume_ready(token, project):
    cinder = f"{base}:{env['CINDER_PORT']}/v3/{project}"

    def probe():
        _, services = call("GET", cinder + "/os-services", token=token)
        volume = [s for s in services["services"] if s["binary"] == "cinder-volume" and s["state"] == "up"]
        return bool(volume), [s["host"] for s in volume] or services

    wait("volume", probe)


def main():
    stage = sys.argv[1]
    token, project = admin_token()
    if stage == "catalog":
        catalog(token)
    elif stage == "flavors":
        flavors(token)
    elif stage == "compute-ready":
        compute_ready(token)
    elif stage == "compute-restarted":
        compute_restarted(token)
    elif stage == "volume-ready":
        volume_ready(token, project)
    else:
        sys.exit(f"unknown stage {stage}")


if __name__ == "__main__":
    main()
