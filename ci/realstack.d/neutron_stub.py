"""The network endpoint real Nova needs, and nothing more (ci/realstack --with compute).

Nova 34 asks Neutron for a server's ports on every `GET /servers/{id}` (for its security
groups) and when it cleans up a build, even for a server booted with `"networks": "none"`;
without a `network` endpoint in the catalog it answers 500. No Neutron runs here: this app
answers what a real Neutron with no networks in the project answers -- empty lists for ports,
networks, subnets, security groups and floating IPs, an empty extension list, Neutron's 404
for an id, its version documents -- behind keystonemiddleware validating every token against
the real Keystone, as Neutron does (401 without a valid token). Nothing can be created here
(POST/PUT/DELETE: 404 as for an unknown resource), so only `networks: none` boots work.
Configuration: environment REALSTACK_NEUTRON_AUTH (JSON of keystonemiddleware options) and
REALSTACK_NEUTRON_URL (this endpoint's URL).
"""
import json
import os
import re

from keystonemiddleware import auth_token

# Collections Nova (and openstacksdk clients) list: resource path -> (collection key, item
# name in Neutron's "<Item> <id> could not be found." message).
COLLECTIONS = {
    "ports": ("ports", "Port"),
    "networks": ("networks", "Network"),
    "subnets": ("subnets", "Subnet"),
    "security-groups": ("security_groups", "Security group"),
    "floatingips": ("floatingips", "Floating IP"),
    "extensions": ("extensions", "Extension"),
}
NOT_FOUND_TYPE = {
    "ports": "PortNotFound",
    "networks": "NetworkNotFound",
    "subnets": "SubnetNotFound",
    "security-groups": "SecurityGroupNotFound",
    "floatingips": "FloatingIPNotFound",
    "extensions": "ExtensionNotFound",
}


def _reply(start_response, status, body):
    data = json.dumps(body).encode()
    start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
    return [data]


def _versions(url):
    return {"versions": [{"id": "v2.0", "status": "CURRENT",
                          "links": [{"href": url.rstrip("/") + "/v2.0/", "rel": "self"}]}]}


def app(environ, start_response):
    url = os.environ.get("REALSTACK_NEUTRON_URL", "")
    path = environ.get("PATH_INFO", "/").rstrip("/")
    method = environ.get("REQUEST_METHOD", "GET")
    if path == "":
        return _reply(start_response, "200 OK", _versions(url))
    if path == "/v2.0":
        return _reply(start_response, "200 OK", {"resources": [
            {"name": item.lower().replace(" ", "_"), "collection": key,
             "links": [{"href": f"{url}/v2.0/{res}", "rel": "self"}]}
            for res, (key, item) in COLLECTIONS.items() if res != "extensions"]})
    m = re.fullmatch(r"/v2\.0/([a-z-]+?)(?:\.json)?(?:/([^/]+?)(?:\.json)?)?", path)
    if m and m.group(1) in COLLECTIONS:
        res, ident = m.group(1), m.group(2)
        key, item = COLLECTIONS[res]
        if ident is None and method == "GET":
            return _reply(start_response, "200 OK", {key: []})
        if ident is not None and method in ("GET", "PUT", "DELETE"):
            return _reply(start_response, "404 Not Found", {"NeutronError": {
                "type": NOT_FOUND_TYPE[res], "message": f"{item} {ident} could not be found.", "detail": ""}})
    return _reply(start_response, "404 Not Found", {"NeutronError": {
        "type": "HTTPNotFound", "message": "The resource could not be found.", "detail": ""}})


def _unauthenticated_versions(inner):
    # Neutron serves its version document without a token (it is outside the auth pipeline).
    def wrapper(environ, start_response):
        if environ.get("PATH_INFO", "/").rstrip("/") == "":
            return app(environ, start_response)
        return inner(environ, start_response)
    return wrapper


application = _unauthenticated_versions(
    auth_token.AuthProtocol(app, json.loads(os.environ["REALSTACK_NEUTRON_AUTH"])))
