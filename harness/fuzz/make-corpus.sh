#!/usr/bin/env bash
# Regenerates the committed seed corpus (corpus/<target>/) from the repository's fixtures:
# certificates and keys from fixtures/pki and fixtures/binary-curves, signatures made with the
# OpenSSL CLI over fixed digests, and request bodies shaped like the real clients' (tempest's
# certificate secrets, OSC's JSON patches, openstacksdk's clouds.yaml). Signatures are
# randomised (ECDSA, DSA, PSS), so a rerun changes those files; the committed ones are what CI
# uses. Needs openssl and python3.
#
# Usage: harness/fuzz/make-corpus.sh   (from anywhere)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
pki=$root/fixtures/pki
bin=$root/fixtures/binary-curves
out=$here/corpus
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

rm -rf "$out"
mkdir -p "$out"/{signature_properties,certificate,der_signature,barbican_payload,clouds_yaml,glance_patch}

# ---- certificate: PEM and DER certificates of every key kind, a chain CA and a variant ----
cp "$pki/chain/root.crt.pem" "$out/certificate/root-ca.pem"
cp "$pki/chain/client.crt.pem" "$out/certificate/chain-leaf.pem"
cp "$pki/signing/ec-p256.crt.pem" "$out/certificate/ec-p256.pem"
cp "$pki/signing/dsa-1024-160.crt.pem" "$out/certificate/dsa-1024.pem"
cp "$bin/sect409k1.crt.pem" "$out/certificate/sect409k1.pem"
cp "$pki/variants/leaf-of-no-ca.crt.pem" "$out/certificate/leaf-of-no-ca.pem"
openssl x509 -in "$pki/signing/rsa-2048.crt.pem" -outform DER -out "$out/certificate/rsa-2048.der"
openssl x509 -in "$pki/signing/ec-p384.crt.pem" -outform DER -out "$out/certificate/ec-p384.der"

# ---- der_signature: key selector, hash selector, digest, signature ----
# Key order and hash order are the target's: keys p256 p384 p521 dsa1024 dsa2048 sect409k1 rsa2048;
# hashes sha1 sha224 sha256 sha384 sha512 (bit 7: PKCS#1 v1.5 instead of PSS).
seed_sig() { # name key_index hash_index key_file digest_name [pkeyutl options...]
  local name=$1 key=$2 hash=$3 keyfile=$4 dgst=$5
  shift 5
  printf 'sigstack fuzz seed %s' "$name" | openssl dgst "-$dgst" -binary > "$work/digest"
  openssl pkeyutl -sign -inkey "$keyfile" -in "$work/digest" -out "$work/sig" "$@"
  python3 - "$key" "$hash" "$work/digest" "$work/sig" "$out/der_signature/$name" <<'PY'
import sys
key, hash_sel, digest, sig, dest = sys.argv[1:]
with open(dest, "wb") as f:
    f.write(bytes([int(key), int(hash_sel)]) + open(digest, "rb").read() + open(sig, "rb").read())
PY
}
seed_sig ecdsa-p256-sha256 0 2 "$pki/signing/ec-p256.key.pem" sha256
seed_sig ecdsa-p384-sha384 1 3 "$pki/signing/ec-p384.key.pem" sha384
seed_sig ecdsa-p521-sha224 2 1 "$pki/signing/ec-p521.key.pem" sha224
seed_sig dsa-1024-sha1 3 0 "$pki/signing/dsa-1024-160.key.pem" sha1
seed_sig dsa-2048-sha256 4 2 "$pki/signing/dsa-2048-256.key.pem" sha256
seed_sig ecdsa-sect409k1-sha512 5 4 "$bin/sect409k1.key.pem" sha512
seed_sig rsa-pss-sha256 6 2 "$pki/signing/rsa-2048.key.pem" sha256 \
  -pkeyopt digest:sha256 -pkeyopt rsa_padding_mode:pss -pkeyopt rsa_pss_saltlen:max
seed_sig rsa-pkcs1-sha384 6 $((0x80 | 3)) "$pki/signing/rsa-2048.key.pem" sha384 -pkeyopt digest:sha384

# ---- signature_properties: presence flags, then the four values separated by NUL ----
props() { # name flags signature hash key_type uuid
  python3 - "$out/signature_properties/$1" "$2" "$3" "$4" "$5" "$6" <<'PY'
import sys
dest, flags, *values = sys.argv[1:]
with open(dest, "wb") as f:
    f.write(bytes([int(flags, 0)]) + b"\0".join(v.encode() for v in values))
PY
}
uuid=6b8e4a52-7b0c-4f5e-9d1a-2c3f4e5a6b7c
props cirros-rsa-pss 0x0f "$(cat "$root/fixtures/examples/cirros.img.sig")" SHA-256 RSA-PSS "$uuid"
props ecc-legacy-binary 0x1f "MEUCIQDx" SHA-512 ECC_SECT571K1 "$uuid"
props dsa-sha224 0x0f "MCwCFHoYVd1a2c3b4d5e6f7a8b9c0d1e2f3a4b5cAhQ=" SHA-224 DSA "$uuid"
props lenient-base64 0x0f $'QU\nFB!!' SHA-384 ECC_SECP384R1 "$uuid"
props three-of-four 0x07 "fake_signature" SHA-256 RSA-PSS ""
props unknown-hash 0x0f "QUFB" MD5 FOO "$uuid"

# ---- barbican_payload: an Accept line, then a POST /v1/secrets (or ACL) body ----
python3 - "$out/barbican_payload" "$pki/signing/rsa-2048.crt.pem" <<'PY'
import base64, json, sys
dest, pem = sys.argv[1], open(sys.argv[2], "rb").read()
def seed(name, accept, body):
    with open(f"{dest}/{name}", "wb") as f:
        f.write(accept.encode() + b"\n" + (body if isinstance(body, bytes) else json.dumps(body).encode()))
seed("tempest-certificate", "*/*", {
    "name": "signing", "secret_type": "certificate", "algorithm": "rsa",
    "payload": base64.b64encode(pem).decode(), "payload_content_type": "application/octet-stream",
    "payload_content_encoding": "base64", "expiration": "2030-01-01T00:00:00.123456+02:00"})
seed("text-passphrase", "text/plain", {
    "secret_type": "passphrase", "payload": "  correct horse battery staple ",
    "payload_content_type": "text/plain; charset=utf-8"})
seed("pkcs8-binary", "application/pkcs8", {
    "secret_type": "private", "payload": base64.b64encode(b"\x30\x82\x01\x00" + bytes(range(64))).decode(),
    "payload_content_type": "application/pkcs8", "payload_content_encoding": "base64", "bit_length": 2048})
seed("metadata-only", "application/json", {"name": "later", "secret_type": "opaque", "mode": "cbc", "expiration": "2099-12-31"})
seed("missing-content-type", "2026-12-04T10:20:30Z", {"payload": "QUFB", "payload_content_encoding": "base64"})
seed("acl", "text/plain;charset=utf-8", {"read": {"users": ["demo-user", "alt-user"], "project-access": False}})
PY

# ---- clouds_yaml: clouds.yaml text, optionally NUL and secure.yaml text ----
cat > "$out/clouds_yaml/password-and-appcred" <<'YAML'
clouds:
  sigstack-demo:
    auth:
      auth_url: https://127.0.0.1:5000/v3
      username: demo
      password: demo-password
      project_name: demo
      user_domain_name: Default
      project_domain_name: Default
    region_name: RegionOne
    interface: public
    identity_api_version: 3
    cacert: ~/ca.pem
  realstack-appcred:
    auth_type: v3applicationcredential
    auth:
      auth_url: https://127.0.0.1:5000/v3
      application_credential_id: 2f1e0c4b5a6d7e8f
      application_credential_secret: s3cret
YAML
cat > "$out/clouds_yaml/overrides-and-versions" <<'YAML'
clouds:
  vendor:
    auth: {auth_url: 'https://keystone.example:5000', username: u, password: p, project_id: abc, domain_name: D}
    endpoint_type: internalURL
    image_endpoint_override: https://glance:9292
    block_storage_endpoint_override: https://cinder:8776/v3/%(project_id)s
    compute_api_version: '2.63'
    volume_api_version: 3
    verify: false
    cert: rel/client.pem
    key: /abs/client.key
  empty:
YAML
printf 'clouds:\n  c:\n    auth:\n      auth_url: http://127.0.0.1:5000/v3\n      username: u\n      project_name: p\n\0clouds:\n  c:\n    auth:\n      password: from-secure\n' \
  > "$out/clouds_yaml/with-secure-yaml"
printf 'clouds:\n  by-name:\n    auth_type: v3applicationcredential\n    auth:\n      auth_url: http://k/v3\n      application_credential_name: N\n      application_credential_secret: S\n      username: u\n      user_domain_id: default\n' \
  > "$out/clouds_yaml/appcred-by-name"

# ---- glance_patch: a Content-Type line, then the JSON-patch body ----
v21=application/openstack-images-v2.1-json-patch
v20=application/openstack-images-v2.0-json-patch
printf '%s\n%s' "$v21" '[{"op": "replace", "path": "/img_signature", "value": "fake_signature"}]' > "$out/glance_patch/tempest-replace"
printf '%s\n%s' "$v21" '[{"op": "add", "path": "/img_signature_key_type", "value": "RSA-PSS"}, {"op": "add", "path": "/img_signature_certificate_uuid", "value": "'"$uuid"'"}, {"op": "remove", "path": "/img_signature_hash_method"}]' > "$out/glance_patch/sign-images"
printf '%s; charset=utf-8\n%s' "$v20" '[{"add": "/tags", "value": ["signed", "signed"]}, {"replace": "/min_disk", "value": 1}, {"remove": "/os~1distro"}]' > "$out/glance_patch/draft4"
printf '%s\n%s' "$v21" '[{"op": "replace", "path": "/visibility", "value": "public"}, {"op": "add", "path": "/locations/-", "value": {"url": "file:///x", "metadata": {}}}, {"op": "replace", "path": "/owner", "value": "alt"}]' > "$out/glance_patch/admin-only"
printf '%s\n%s' "application/json" '[{"op": "replace", "path": "/status", "value": "active"}, {"op": "add", "path": "//a~2", "value": 1}]' > "$out/glance_patch/rejected"

find "$out" -type f | sort | while read -r f; do printf '%6d %s\n' "$(wc -c < "$f")" "${f#"$here"/}"; done
