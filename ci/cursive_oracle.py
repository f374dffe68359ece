#!/usr/bin/env python3
"""Differential test oracle: drive the REAL OpenStack cursive library.

Run with the interpreter printed by ci/cursive-venv.sh. Reads JSON Lines on
stdin (one case per line) and writes exactly one JSON object per input line on
stdout, flushed after each, so one process can serve many cases. Nothing but
result lines is ever written to stdout; cursive's logging goes to stderr
(silenced by default, see CURSIVE_ORACLE_LOG).

Case kinds (see ci/README-cursive-oracle.md for the full protocol):

  {"kind": "signature", "id": ..., "properties": {...}, "certificates": {...},
   "data_path": "/abs/file" | "data_b64": "...", "chunk_size": 65536}
  {"kind": "certificate", "id": ..., "certificate_uuid": "leaf",
   "trusted_uuids": [...], "certificates": {...}, "now": "2026-11-23T12:00:00Z"}
  {"kind": "registry", "id": ...}

The key manager is mocked at castellan's level (castellan.key_manager.API, which
is what cursive.signature_utils.get_certificate calls), so cursive's own
get_certificate / get_public_key / certificate_utils code runs unmodified.

Environment:
  CURSIVE_ORACLE_TIMEOUT  default per-case timeout in seconds (default 5)
  CURSIVE_ORACLE_LOG      Python logging level for cursive/castellan logs on
                          stderr (e.g. DEBUG, WARNING); default: silent
"""

import base64
import binascii
import datetime
import importlib.metadata
import json
import logging
import os
import signal
import sys
import traceback
import warnings

# Keep stdout clean: anything imported below that writes to stdout would
# corrupt the protocol, so bind the real stdout now and point sys.stdout at
# stderr for everybody else.
_OUT = sys.stdout
sys.stdout = sys.stderr

warnings.simplefilter("ignore")  # CryptographyDeprecationWarning etc.

import cryptography  # noqa: E402
from cryptography import exceptions as crypto_exceptions  # noqa: E402
from cryptography import x509  # noqa: E402
from cryptography.hazmat.primitives import serialization  # noqa: E402

import castellan.key_manager  # noqa: E402
from castellan.common import exception as castellan_exception  # noqa: E402
from castellan.common.objects import opaque_data  # noqa: E402
from castellan.common.objects import passphrase  # noqa: E402
from castellan.common.objects import private_key  # noqa: E402
from castellan.common.objects import public_key  # noqa: E402
from castellan.common.objects import symmetric_key  # noqa: E402
from castellan.common.objects import x_509  # noqa: E402
from oslo_utils import timeutils  # noqa: E402

from cursive import certificate_utils  # noqa: E402
from cursive import signature_utils  # noqa: E402

PROTOCOL_VERSION = 1
DEFAULT_TIMEOUT = float(os.environ.get("CURSIVE_ORACLE_TIMEOUT", "5"))
DEFAULT_CHUNK_SIZE = 65536


class OracleInputError(Exception):
    """The case itself is malformed (reported as outcome "oracle_error")."""


class OracleTimeout(BaseException):
    """Raised from SIGALRM; BaseException so cursive's handlers never eat it."""


# --------------------------------------------------------------------------
# logging
# --------------------------------------------------------------------------

class _ListHandler(logging.Handler):
    def __init__(self):
        super().__init__(level=logging.DEBUG)
        self.records = []

    def emit(self, record):
        try:
            msg = record.getMessage()
        except Exception:  # pragma: no cover - defensive
            msg = str(record.msg)
        self.records.append({"level": record.levelname,
                             "logger": record.name,
                             "message": msg})


def _setup_logging():
    root = logging.getLogger()
    for h in list(root.handlers):
        root.removeHandler(h)
    level_name = os.environ.get("CURSIVE_ORACLE_LOG")
    if level_name:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("oracle-log %(levelname)s %(name)s: %(message)s"))
        handler.setLevel(getattr(logging, level_name.upper(), logging.WARNING))
        root.addHandler(handler)
    else:
        root.addHandler(logging.NullHandler())
    # Let records reach our handlers; the handlers decide what is shown.
    root.setLevel(logging.DEBUG)


# --------------------------------------------------------------------------
# mocked key manager (castellan level)
# --------------------------------------------------------------------------

def _pem_to_der(data):
    """PEM certificate -> DER exactly like castellan's Barbican backend
    (load_pem_x509_certificate(...).public_bytes(DER)). Returns None if the
    data is not a loadable PEM certificate."""
    if b"-----BEGIN" not in data:
        return None
    try:
        cert = x509.load_pem_x509_certificate(data)
    except Exception:
        return None
    return cert.public_bytes(serialization.Encoding.DER)


def _load_cert_entry(uuid, entry):
    """Validate one "certificates" entry and pre-read its file, so that file
    problems are reported as oracle errors rather than cursive behaviour."""
    if not isinstance(entry, dict):
        raise OracleInputError("certificates[%r] must be an object" % uuid)
    if "error" in entry:
        if entry["error"] not in ("not_found", "key_manager_error", "exception"):
            raise OracleInputError("certificates[%r]: unknown error %r" % (uuid, entry["error"]))
        return dict(entry)
    fmt = entry.get("format", "X.509")
    if "path" in entry:
        try:
            with open(entry["path"], "rb") as f:
                data = f.read()
        except OSError as e:
            raise OracleInputError("certificates[%r]: cannot read %s: %s" % (uuid, entry["path"], e))
    elif "b64" in entry:
        try:
            data = base64.b64decode(entry["b64"], validate=True)
        except (binascii.Error, ValueError, TypeError) as e:
            raise OracleInputError("certificates[%r]: bad b64: %s" % (uuid, e))
    elif fmt != "X.509":
        data = b""
    else:
        raise OracleInputError("certificates[%r] needs 'path', 'b64' or 'error'" % uuid)
    return {"format": fmt, "data": data}


def _make_managed_object(uuid, entry):
    fmt = entry["format"]
    data = entry["data"]
    if fmt == "X.509":
        der = _pem_to_der(data)
        # Not a loadable PEM: hand over the raw bytes (DER, or garbage that
        # makes cursive's own load_der_x509_certificate fail).
        return x_509.X509(der if der is not None else data, id=uuid)
    if fmt == "Opaque":
        return opaque_data.OpaqueData(data, id=uuid)
    if fmt == "PKCS8":
        return private_key.PrivateKey("RSA", 2048, data, id=uuid)
    if fmt == "SubjectPublicKeyInfo":
        return public_key.PublicKey("RSA", 2048, data, id=uuid)
    if fmt == "RAW":
        return symmetric_key.SymmetricKey("AES", 256, data, id=uuid)
    if fmt == "Passphrase":  # castellan Passphrase also reports format "RAW"
        return passphrase.Passphrase(data, id=uuid)
    raise OracleInputError("certificates[%r]: unknown format %r" % (uuid, fmt))


class FakeKeyManager:
    """Stands in for castellan's configured backend (Barbican by default)."""

    def __init__(self, entries):
        self._entries = entries
        self.calls = []

    def get(self, context, managed_object_id, metadata_only=False):
        self.calls.append(managed_object_id)
        key = managed_object_id if isinstance(managed_object_id, str) else None
        if key is not None and key in self._entries:
            entry = self._entries[key]
        elif not managed_object_id:
            # castellan's Barbican backend: _get_secret() raises this before
            # contacting Barbican when the id is empty/None.
            raise castellan_exception.KeyManagerError("key identifier not provided")
        else:
            entry = {"error": "not_found"}
        err = entry.get("error")
        if err == "not_found":
            raise castellan_exception.ManagedObjectNotFoundError(uuid=managed_object_id)
        if err == "key_manager_error":
            raise castellan_exception.KeyManagerError(
                reason=entry.get("reason", "simulated key manager failure"))
        if err == "exception":
            raise RuntimeError(entry.get("reason", "simulated unexpected failure"))
        return _make_managed_object(managed_object_id, entry)


class _Patched:
    """Install the fake key manager and (optionally) a fixed "now"."""

    def __init__(self, manager, now=None):
        self.manager = manager
        self.now = now

    def __enter__(self):
        self._saved_api = castellan.key_manager.API
        self._saved_utcnow = timeutils.utcnow
        manager = self.manager
        castellan.key_manager.API = lambda configuration=None: manager
        if self.now is not None:
            now = self.now

            def fake_utcnow(with_timezone=False):
                return now if with_timezone else now.replace(tzinfo=None)
            timeutils.utcnow = fake_utcnow
        return self

    def __exit__(self, *exc):
        castellan.key_manager.API = self._saved_api
        timeutils.utcnow = self._saved_utcnow
        return False


# cursive.signature_utils does "from castellan import key_manager" and calls
# key_manager.API() at run time; certificate_utils does "from oslo_utils import
# timeutils" and calls timeutils.utcnow(). Patching the module attributes above
# therefore reaches exactly the objects cursive uses. Assert it, so an upstream
# change of import style cannot silently bypass the mock.
assert signature_utils.key_manager is castellan.key_manager
assert certificate_utils.timeutils is timeutils


# --------------------------------------------------------------------------
# timeout
# --------------------------------------------------------------------------

def _on_alarm(signum, frame):
    raise OracleTimeout()


class _Deadline:
    def __init__(self, seconds):
        self.seconds = seconds

    def __enter__(self):
        if self.seconds and self.seconds > 0:
            signal.setitimer(signal.ITIMER_REAL, self.seconds)
        return self

    def __exit__(self, *exc):
        signal.setitimer(signal.ITIMER_REAL, 0)
        return False


# --------------------------------------------------------------------------
# cases
# --------------------------------------------------------------------------

def _exc_result(e):
    return {"outcome": "error", "exception": type(e).__name__, "message": str(e)}


def _parse_now(value):
    if value is None:
        return None
    if not isinstance(value, str):
        raise OracleInputError("'now' must be an ISO 8601 string")
    s = value.strip()
    if s.endswith(("Z", "z")):
        s = s[:-1] + "+00:00"
    try:
        dt = datetime.datetime.fromisoformat(s)
    except ValueError as e:
        raise OracleInputError("bad 'now': %s" % e)
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=datetime.timezone.utc)
    return dt.astimezone(datetime.timezone.utc)


def _load_certificates(case):
    certs = case.get("certificates") or {}
    if not isinstance(certs, dict):
        raise OracleInputError("'certificates' must be an object")
    return {uuid: _load_cert_entry(uuid, entry) for uuid, entry in certs.items()}


def _open_data(case):
    if "data_path" in case and case["data_path"] is not None:
        try:
            return open(case["data_path"], "rb")
        except OSError as e:
            raise OracleInputError("cannot open data_path: %s" % e)
    if "data_b64" in case:
        import io
        try:
            return io.BytesIO(base64.b64decode(case["data_b64"], validate=True))
        except (binascii.Error, ValueError, TypeError) as e:
            raise OracleInputError("bad data_b64: %s" % e)
    raise OracleInputError("signature case needs 'data_path' or 'data_b64'")


def run_signature(case, result):
    props = case.get("properties", {})
    if props is not None and not isinstance(props, dict):
        raise OracleInputError("'properties' must be an object or null")
    chunk_size = case.get("chunk_size", DEFAULT_CHUNK_SIZE)
    if not isinstance(chunk_size, int) or isinstance(chunk_size, bool) or chunk_size <= 0:
        raise OracleInputError("'chunk_size' must be a positive integer")
    entries = _load_certificates(case)
    data = _open_data(case)
    p = props or {}
    try:
        with _Patched(FakeKeyManager(entries)), _Deadline(case.get("timeout", DEFAULT_TIMEOUT)):
            result["should_create_verifier"] = bool(signature_utils.should_create_verifier(props))
            try:
                # Exactly as nova/image/glance.py: missing properties -> None.
                verifier = signature_utils.get_verifier(
                    context=None,
                    img_signature_certificate_uuid=p.get(signature_utils.CERT_UUID),
                    img_signature_hash_method=p.get(signature_utils.HASH_METHOD),
                    img_signature=p.get(signature_utils.SIGNATURE),
                    img_signature_key_type=p.get(signature_utils.KEY_TYPE),
                )
                while True:
                    chunk = data.read(chunk_size)
                    if not chunk:
                        break
                    verifier.update(chunk)
                verifier.verify()
            except crypto_exceptions.InvalidSignature as e:
                result.update({"outcome": "invalid_signature",
                               "exception": type(e).__name__, "message": str(e)})
            except Exception as e:  # report, never crash
                result.update(_exc_result(e))
            else:
                result["outcome"] = "verified"
    finally:
        data.close()


def run_certificate(case, result):
    trusted = case.get("trusted_uuids", [])
    if not isinstance(trusted, list):
        raise OracleInputError("'trusted_uuids' must be a list")
    now = _parse_now(case.get("now"))
    entries = _load_certificates(case)
    with _Patched(FakeKeyManager(entries), now), _Deadline(case.get("timeout", DEFAULT_TIMEOUT)):
        try:
            ret = certificate_utils.verify_certificate(
                context=None,
                certificate_uuid=case.get("certificate_uuid"),
                trusted_certificate_uuids=trusted,
            )
        except Exception as e:
            result.update(_exc_result(e))
        else:
            result["outcome"] = "verified"
            if ret is not None:  # cursive returns None; flag anything else
                result["returned"] = repr(ret)


def run_registry(case, result):
    result.update({
        "key_types": sorted(signature_utils.SignatureKeyType.REGISTERED_TYPES),
        "hash_methods": sorted(signature_utils.HASH_METHODS),
        "cryptography": cryptography.__version__,
        "cursive": importlib.metadata.version("cursive"),
        "castellan": importlib.metadata.version("castellan"),
        "python": sys.version.split()[0],
        "protocol": PROTOCOL_VERSION,
    })


KINDS = {"signature": run_signature, "certificate": run_certificate, "registry": run_registry}


def handle_line(line):
    try:
        case = json.loads(line)
    except ValueError as e:
        return {"id": None, "outcome": "oracle_error", "message": "invalid JSON: %s" % e}
    if not isinstance(case, dict):
        return {"id": None, "outcome": "oracle_error", "message": "case must be a JSON object"}
    result = {"id": case.get("id")}
    kind = case.get("kind")
    capture = _ListHandler() if case.get("capture_logs") else None
    if capture is not None:
        logging.getLogger().addHandler(capture)
    try:
        if kind not in KINDS:
            raise OracleInputError("unknown kind %r" % (kind,))
        KINDS[kind](case, result)
    except OracleTimeout:
        for k in ("exception", "message"):
            result.pop(k, None)
        result["outcome"] = "timeout"
        result["timeout_seconds"] = case.get("timeout", DEFAULT_TIMEOUT)
    except OracleInputError as e:
        result.update({"outcome": "oracle_error", "message": str(e)})
    except Exception as e:  # bug in the oracle itself; keep serving
        result.update({"outcome": "oracle_error",
                       "message": "%s: %s" % (type(e).__name__, e),
                       "traceback": traceback.format_exc()})
    finally:
        if capture is not None:
            logging.getLogger().removeHandler(capture)
            result["logs"] = capture.records
    return result


def main():
    _setup_logging()
    signal.signal(signal.SIGALRM, _on_alarm)
    for line in sys.stdin:
        if not line.strip():
            continue
        result = handle_line(line)
        _OUT.write(json.dumps(result, sort_keys=True) + "\n")
        _OUT.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
