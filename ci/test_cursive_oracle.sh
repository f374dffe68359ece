#!/usr/bin/env bash
# Self-test for the cursive differential oracle (ci/cursive_oracle.py).
#
# Usage: ci/test_cursive_oracle.sh [current|legacy|all]     (default: all)
#
# Builds a tiny PKI with the openssl CLI in a temp dir, creates/reuses the
# venv(s) via ci/cursive-venv.sh, feeds a batch of cases to ONE oracle process
# per profile and checks verdicts and exact messages. Exits non-zero on any
# mismatch.
set -euo pipefail

script_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
oracle="$script_dir/cursive_oracle.py"

case "${1:-all}" in
  all) profiles=(current legacy) ;;
  current|legacy) profiles=("$1") ;;
  *) echo "usage: $0 [current|legacy|all]" >&2; exit 2 ;;
esac

tmp="$(mktemp -d "${TMPDIR:-/tmp}/cursive-oracle-test.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"

ossl() { openssl "$@" 2>>"$tmp/openssl.log" || { cat "$tmp/openssl.log" >&2; exit 1; }; }

# ---------------------------------------------------------------- PKI
cat > ca.cnf <<'EOF'
[req]
distinguished_name = dn
prompt = no
[dn]
[v3_ca]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign, digitalSignature
subjectKeyIdentifier = hash
[v3_leaf]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
EOF

# Self-signed RSA-2048 CA (also used directly as the signing certificate).
ossl req -x509 -config ca.cnf -extensions v3_ca -newkey rsa:2048 -nodes \
  -keyout ca.key -out ca.pem -days 3650 -subj "/CN=Sigstack Oracle Test CA" -sha256
ossl x509 -in ca.pem -outform DER -out ca.der

# Intermediate + leaf under a separate root, for the "certificate '<uuid>'" quirk.
ossl req -x509 -config ca.cnf -extensions v3_ca -newkey rsa:2048 -nodes \
  -keyout root.key -out root.pem -days 3650 -subj "/CN=Oracle Root" -sha256
ossl req -new -config ca.cnf -newkey rsa:2048 -nodes -keyout inter.key -out inter.csr -subj "/CN=Oracle Intermediate"
ossl x509 -req -in inter.csr -CA root.pem -CAkey root.key -CAcreateserial -days 3650 \
  -extfile ca.cnf -extensions v3_ca -out inter.pem -sha256
ossl req -new -config ca.cnf -newkey rsa:2048 -nodes -keyout leaf.key -out leaf.csr -subj "/CN=Oracle Leaf"
ossl x509 -req -in leaf.csr -CA inter.pem -CAkey inter.key -CAcreateserial -days 3650 \
  -extfile ca.cnf -extensions v3_leaf -out leaf.pem -sha256

# A certificate cycle: A issued by B, B issued by A (same keys), leaf issued by A.
ossl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out cyc_a.key
ossl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out cyc_b.key
ossl req -new -config ca.cnf -key cyc_a.key -out cyc_a.csr -subj "/CN=Cycle A"
ossl req -new -config ca.cnf -key cyc_b.key -out cyc_b.csr -subj "/CN=Cycle B"
ossl req -x509 -config ca.cnf -extensions v3_ca -key cyc_b.key -out cyc_b_self.pem -days 3650 -subj "/CN=Cycle B"
ossl req -x509 -config ca.cnf -extensions v3_ca -key cyc_a.key -out cyc_a_self.pem -days 3650 -subj "/CN=Cycle A"
ossl x509 -req -in cyc_a.csr -CA cyc_b_self.pem -CAkey cyc_b.key -set_serial 11 -days 3650 \
  -extfile ca.cnf -extensions v3_ca -out cyc_a.pem -sha256
ossl x509 -req -in cyc_b.csr -CA cyc_a_self.pem -CAkey cyc_a.key -set_serial 12 -days 3650 \
  -extfile ca.cnf -extensions v3_ca -out cyc_b.pem -sha256
ossl req -new -config ca.cnf -newkey rsa:2048 -nodes -keyout cyc_leaf.key -out cyc_leaf.csr -subj "/CN=Cycle Leaf"
ossl x509 -req -in cyc_leaf.csr -CA cyc_a.pem -CAkey cyc_a.key -set_serial 13 -days 3650 \
  -extfile ca.cnf -extensions v3_leaf -out cyc_leaf.pem -sha256

# ECDSA P-384 and (binary curve) sect571k1 self-signed certificates.
ossl req -x509 -config ca.cnf -extensions v3_ca -newkey ec -pkeyopt ec_paramgen_curve:secp384r1 -nodes \
  -keyout p384.key -out p384.pem -days 3650 -subj "/CN=Oracle P-384" -sha384
ossl req -x509 -config ca.cnf -extensions v3_ca -newkey ec -pkeyopt ec_paramgen_curve:sect571k1 -nodes \
  -keyout k571.key -out k571.pem -days 3650 -subj "/CN=Oracle K-571" -sha512

# Data + signatures (the recipe from Glance's docs).
head -c 200000 /dev/urandom > image.bin
cp image.bin tampered.bin
printf 'X' | dd of=tampered.bin bs=1 seek=12345 conv=notrunc status=none
ossl dgst -sha256 -sign ca.key -sigopt rsa_padding_mode:pss -out image.sig image.bin
ossl dgst -sha384 -sign p384.key -out image.p384.sig image.bin
ossl dgst -sha512 -sign k571.key -out image.k571.sig image.bin
printf 'not a certificate' > garbage.bin

sig_rsa="$(base64 -w0 image.sig)"
sig_p384="$(base64 -w0 image.p384.sig)"
sig_k571="$(base64 -w0 image.k571.sig)"
now="$(date -u +%Y-%m-%dT%H:%M:%SZ)"   # after the certificates were created

# ---------------------------------------------------------------- cases
# Each line: {"case": <oracle input>, "expect": <subset of the oracle output>}
# expect["message_endswith"] checks a suffix instead of the whole message.
# $PROFILE_* placeholders are filled per profile by the checker.
cat > cases.jsonl <<EOF
{"case": {"id": "verified", "kind": "signature", "properties": {"img_signature": "$sig_rsa", "img_signature_hash_method": "SHA-256", "img_signature_key_type": "RSA-PSS", "img_signature_certificate_uuid": "u1"}, "certificates": {"u1": {"path": "$tmp/ca.pem"}}, "data_path": "$tmp/image.bin", "chunk_size": 65536}, "expect": {"should_create_verifier": true, "outcome": "verified"}}
{"case": {"id": "verified-der-7byte-chunks", "kind": "signature", "properties": {"img_signature": "$sig_rsa", "img_signature_hash_method": "SHA-256", "img_signature_key_type": "RSA-PSS", "img_signature_certificate_uuid": "u1"}, "certificates": {"u1": {"path": "$tmp/ca.der"}}, "data_path": "$tmp/image.bin", "chunk_size": 7}, "expect": {"should_create_verifier": true, "outcome": "verified"}}
{"case": {"id": "tampered", "kind": "signature", "properties": {"img_signature": "$sig_rsa", "img_signature_hash_method": "SHA-256", "img_signature_key_type": "RSA-PSS", "img_signature_certificate_uuid": "u1"}, "certificates": {"u1": {"path": "$tmp/ca.pem"}}, "data_path": "$tmp/tampered.bin"}, "expect": {"should_create_verifier": true, "outcome": "invalid_signature", "exception": "InvalidSignature"}}
{"case": {"id": "fake-signature", "kind": "signature", "properties": {"img_signature": "fake_signature", "img_signature_hash_method": "SHA-256", "img_signature_key_type": "RSA-PSS", "img_signature_certificate_uuid": "u1"}, "certificates": {"u1": {"path": "$tmp/ca.pem"}}, "data_path": "$tmp/image.bin"}, "expect": {"should_create_verifier": true, "outcome": "error", "exception": "SignatureVerificationError", "message": "Signature verification for the image failed: The signature data was not properly encoded using base64."}}
{"case": {"id": "missing-cert-uuid", "kind": "signature", "properties": {"img_signature": "$sig_rsa", "img_signature_hash_method": "SHA-256", "img_signature_key_type": "RSA-PSS"}, "certificates": {"u1": {"path": "$tmp/ca.pem"}}, "data_path": "$tmp/image.bin"}, "expect": {"should_create_verifier": false, "outcome": "error", "exception": "SignatureVerificationError", "message_endswith": "Missing property: img_signature_uuid."}}
{"case": {"id": "null-props-present", "kind": "signature", "properties": {"img_signature": null, "img_signature_hash_method": null, "img_signature_key_type": null, "img_signature_certificate_uuid": null}, "certificates": {}, "data_path": "$tmp/image.bin"}, "expect": {"should_create_verifier": true, "outcome": "error", "exception": "SignatureVerificationError", "message": "Signature verification for the image failed: Required image properties for signature verification do not exist. Cannot verify signature. Missing property: img_signature_uuid."}}
{"case": {"id": "cert-not-found", "kind": "signature", "properties": {"img_signature": "$sig_rsa", "img_signature_hash_method": "SHA-256", "img_signature_key_type": "RSA-PSS", "img_signature_certificate_uuid": "u3"}, "certificates": {"u3": {"error": "not_found"}}, "data_path": "$tmp/image.bin"}, "expect": {"outcome": "error", "exception": "SignatureVerificationError", "message": "Signature verification for the image failed: Certificate not found with ID: u3."}}
{"case": {"id": "cert-unknown-uuid", "kind": "signature", "properties": {"img_signature": "$sig_rsa", "img_signature_hash_method": "SHA-256", "img_signature_key_type": "RSA-PSS", "img_signature_certificate_uuid": "nope"}, "certificates": {}, "data_path": "$tmp/image.bin"}, "expect": {"outcome": "error", "message": "Signature verification for the image failed: Certificate not found with ID: nope."}}
{"case": {"id": "key-manager-error", "kind": "signature", "properties": {"img_signature": "$sig_rsa", "img_signature_hash_method": "SHA-256", "img_signature_key_type": "RSA-PSS", "img_signature_certificate_uuid": "u4"}, "certificates": {"u4": {"error": "key_manager_error"}}, "data_path": "$tmp/image.bin"}, "expect": {"outcome": "error", "exception": "SignatureVerificationError", "message": "Signature verification for the image failed: Unable to retrieve certificate with ID: u4."}}
{"case": {"id": "opaque-format", "kind": "signature", "properties": {"img_signature": "$sig_rsa", "img_signature_hash_method": "SHA-256", "img_signature_key_type": "RSA-PSS", "img_signature_certificate_uuid": "u2"}, "certificates": {"u2": {"path": "$tmp/ca.der", "format": "Opaque"}}, "data_path": "$tmp/image.bin"}, "expect": {"outcome": "error", "exception": "SignatureVerificationError", "message": "Signature verification for the image failed: Invalid certificate format: Opaque."}}
{"case": {"id": "garbage-cert", "kind": "signature", "properties": {"img_signature": "$sig_rsa", "img_signature_hash_method": "SHA-256", "img_signature_key_type": "RSA-PSS", "img_signature_certificate_uuid": "g"}, "certificates": {"g": {"path": "$tmp/garbage.bin"}}, "data_path": "$tmp/image.bin"}, "expect": {"outcome": "error", "exception": "ValueError"}}
{"case": {"id": "bad-hash", "kind": "signature", "properties": {"img_signature": "$sig_rsa", "img_signature_hash_method": "sha256", "img_signature_key_type": "RSA-PSS", "img_signature_certificate_uuid": "u1"}, "certificates": {"u1": {"path": "$tmp/ca.pem"}}, "data_path": "$tmp/image.bin"}, "expect": {"outcome": "error", "message": "Signature verification for the image failed: Invalid signature hash method: sha256."}}
{"case": {"id": "ecc-p384", "kind": "signature", "properties": {"img_signature": "$sig_p384", "img_signature_hash_method": "SHA-384", "img_signature_key_type": "ECC_SECP384R1", "img_signature_certificate_uuid": "p"}, "certificates": {"p": {"path": "$tmp/p384.pem"}}, "data_path": "$tmp/image.bin"}, "expect": {"outcome": "verified"}}
{"case": {"id": "ecc-sect571k1", "kind": "signature", "properties": {"img_signature": "$sig_k571", "img_signature_hash_method": "SHA-512", "img_signature_key_type": "ECC_SECT571K1", "img_signature_certificate_uuid": "k"}, "certificates": {"k": {"path": "$tmp/k571.pem"}}, "data_path": "$tmp/image.bin"}, "expect": {"PROFILE": {"current": {"outcome": "error", "exception": "SignatureVerificationError", "message": "Signature verification for the image failed: Invalid signature key type: ECC_SECT571K1."}, "legacy": {"outcome": "verified"}}}}
{"case": {"id": "cert-trusted", "kind": "certificate", "certificate_uuid": "leaf", "trusted_uuids": ["t1"], "certificates": {"leaf": {"path": "$tmp/ca.pem"}, "t1": {"path": "$tmp/ca.der"}}, "now": "$now"}, "expect": {"outcome": "verified"}}
{"case": {"id": "cert-empty-trust", "kind": "certificate", "certificate_uuid": "leaf", "trusted_uuids": [], "certificates": {"leaf": {"path": "$tmp/ca.pem"}}, "now": "$now"}, "expect": {"outcome": "error", "exception": "SignatureVerificationError", "message": "Certificate chain building failed. Could not locate the signing certificate for the base certificate in the set of trusted certificates."}}
{"case": {"id": "cert-chain", "kind": "certificate", "certificate_uuid": "leaf", "trusted_uuids": ["missing", "inter", "root"], "certificates": {"leaf": {"path": "$tmp/leaf.pem"}, "inter": {"path": "$tmp/inter.pem"}, "root": {"path": "$tmp/root.pem"}}, "now": "$now"}, "expect": {"outcome": "verified"}}
{"case": {"id": "cert-missing-root-quirk", "kind": "certificate", "certificate_uuid": "leaf", "trusted_uuids": ["inter"], "certificates": {"leaf": {"path": "$tmp/leaf.pem"}, "inter": {"path": "$tmp/inter.pem"}}, "now": "$now"}, "expect": {"outcome": "error", "exception": "SignatureVerificationError", "message": "certificate 'inter'"}}
{"case": {"id": "cert-expired-leaf", "kind": "certificate", "certificate_uuid": "leaf", "trusted_uuids": ["t1"], "certificates": {"leaf": {"path": "$tmp/ca.pem"}, "t1": {"path": "$tmp/ca.pem"}}, "now": "2099-01-01T00:00:00Z"}, "expect": {"outcome": "error", "exception": "SignatureVerificationError", "message": "The certificate is outside its valid date range."}}
{"case": {"id": "cert-leaf-not-found", "kind": "certificate", "certificate_uuid": "gone", "trusted_uuids": ["t1"], "certificates": {"t1": {"path": "$tmp/ca.pem"}}, "now": "$now"}, "expect": {"outcome": "error", "exception": "SignatureVerificationError", "message": "Signature verification for the image failed: Certificate not found with ID: gone."}}
{"case": {"id": "cert-cycle", "kind": "certificate", "certificate_uuid": "leaf", "trusted_uuids": ["a", "b"], "certificates": {"leaf": {"path": "$tmp/cyc_leaf.pem"}, "a": {"path": "$tmp/cyc_a.pem"}, "b": {"path": "$tmp/cyc_b.pem"}}, "now": "$now", "timeout": 1}, "expect": {"outcome": "timeout"}}
{"case": {"id": "after-timeout", "kind": "certificate", "certificate_uuid": "leaf", "trusted_uuids": ["t1"], "certificates": {"leaf": {"path": "$tmp/ca.pem"}, "t1": {"path": "$tmp/ca.pem"}}, "now": "$now"}, "expect": {"outcome": "verified"}}
{"case": {"id": "bad-input", "kind": "signature", "properties": {}, "data_path": "$tmp/does-not-exist"}, "expect": {"outcome": "oracle_error"}}
{"case": {"id": "registry", "kind": "registry"}, "expect": {"hash_methods": ["SHA-224", "SHA-256", "SHA-384", "SHA-512"], "cursive": "0.3.1", "PROFILE": {"current": {"key_types": ["DSA", "ECC_SECP384R1", "ECC_SECP521R1", "RSA-PSS"]}, "legacy": {"key_types": ["DSA", "ECC_SECP384R1", "ECC_SECP521R1", "ECC_SECT409K1", "ECC_SECT409R1", "ECC_SECT571K1", "ECC_SECT571R1", "RSA-PSS"]}}}}
EOF

cat > check.py <<'EOF'
import json, subprocess, sys
profile, python, oracle, cases_file = sys.argv[1:5]
pairs = [json.loads(l) for l in open(cases_file) if l.strip()]
inp = "".join(json.dumps(p["case"]) + "\n" for p in pairs)
proc = subprocess.run([python, oracle], input=inp, capture_output=True, text=True, timeout=300)
if proc.returncode != 0:
    print(proc.stderr, file=sys.stderr)
    sys.exit("oracle exited with %d" % proc.returncode)
lines = proc.stdout.splitlines()
fails = 0
if len(lines) != len(pairs):
    print("FAIL [%s] expected %d result lines, got %d" % (profile, len(pairs), len(lines)))
    fails += 1
for pair, line in zip(pairs, lines):
    got = json.loads(line)
    exp = dict(pair["expect"])
    exp.update(exp.pop("PROFILE", {}).get(profile, {}))
    exp["id"] = pair["case"]["id"]
    suffix = exp.pop("message_endswith", None)
    bad = [k for k, v in exp.items() if got.get(k) != v]
    if suffix is not None and not str(got.get("message", "")).endswith(suffix):
        bad.append("message_endswith")
    if got.get("outcome") == "verified" and ("exception" in got or "message" in got):
        bad.append("verified-has-exception")
    if pair["case"].get("kind") == "registry":
        major = int(got.get("cryptography", "0").split(".")[0])
        if (profile == "current") != (major >= 47):
            bad.append("cryptography-version")
    tag = "FAIL" if bad else "ok  "
    fails += bool(bad)
    print("%s [%s] %-26s %s" % (tag, profile, exp["id"], line if bad or pair["case"].get("kind") == "registry" else got["outcome"]))
    if bad:
        print("       mismatched keys %s; expected %s" % (bad, json.dumps(exp)))
sys.exit(1 if fails else 0)
EOF

status=0
for profile in "${profiles[@]}"; do
  python="$("$script_dir/cursive-venv.sh" "$profile" | tail -n 1)"
  echo "== profile $profile ($python)"
  "$python" check.py "$profile" "$python" "$oracle" cases.jsonl || status=1
done
if [ "$status" -eq 0 ]; then echo "cursive oracle self-test: PASS"; else echo "cursive oracle self-test: FAIL"; fi
exit "$status"
