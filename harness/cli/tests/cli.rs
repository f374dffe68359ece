//! The `sigstack` command line as users and CI scripts drive it: flags, outputs, exit codes.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn pki(rel: &str) -> String {
    repo().join("fixtures/pki").join(rel).display().to_string()
}

fn example(rel: &str) -> String {
    repo().join("fixtures/examples").join(rel).display().to_string()
}

fn sigstack(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sigstack")).args(args).output().expect("running sigstack")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).trim_end().to_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn sign(image: &Path, key: &str, hash: &str, key_type: &str) -> String {
    let out = sigstack(&["sign", "--image", image.to_str().unwrap(), "--key", &pki(key), "--hash-method", hash, "--key-type", key_type]);
    assert_eq!(out.status.code(), Some(0), "sign: {}", stderr(&out));
    stdout(&out)
}

fn verify(image: &Path, sig: &str, hash: &str, key_type: &str, cert: &str, extra: &[&str]) -> Output {
    let mut args = vec![
        "verify",
        "--image",
        image.to_str().unwrap(),
        "--signature",
        sig,
        "--hash-method",
        hash,
        "--key-type",
        key_type,
        "--certificate",
        cert,
    ];
    args.extend_from_slice(extra);
    sigstack(&args)
}

fn image(dir: &Path, bytes: &[u8]) -> PathBuf {
    let p = dir.join("image.img");
    std::fs::write(&p, bytes).unwrap();
    p
}

const CHAIN_TRUST: [&str; 6] = ["--trusted", "", "--trusted", "", "--trusted", ""];

fn chain_trust() -> Vec<String> {
    let mut v: Vec<String> = CHAIN_TRUST.iter().map(|s| s.to_string()).collect();
    v[1] = pki("chain/root.crt.pem");
    v[3] = pki("chain/intermediate-a.crt.pem");
    v[5] = pki("chain/intermediate-b.crt.pem");
    v
}

#[test]
fn readme_example_verifies_the_committed_signed_image() {
    let trust = chain_trust();
    let trust: Vec<&str> = trust.iter().map(String::as_str).collect();
    let sig = format!("@{}", example("cirros.img.sig"));
    let out = verify(Path::new(&example("cirros.img")), &sig, "SHA-256", "RSA-PSS", &pki("chain/client.crt.pem"), &trust);
    assert_eq!((out.status.code(), stdout(&out).as_str()), (Some(0), "verified"), "{}", stderr(&out));
}

#[test]
fn sign_then_verify_for_each_key_type() {
    let dir = tempfile::tempdir().unwrap();
    let img = image(dir.path(), &vec![0x5a; 300_000]);
    for (name, key_type, hash) in [
        ("rsa-3072", "RSA-PSS", "SHA-256"),
        ("dsa-2048-256", "DSA", "SHA-224"),
        ("ec-p384", "ECC_SECP384R1", "SHA-384"),
        ("ec-p521", "ECC_SECP521R1", "SHA-256"),
    ] {
        let sig = sign(&img, &format!("signing/{name}.key.pem"), hash, key_type);
        let out = verify(&img, &sig, hash, key_type, &pki(&format!("signing/{name}.crt.pem")), &[]);
        assert_eq!((out.status.code(), stdout(&out).as_str()), (Some(0), "verified"), "{name}: {}", stderr(&out));
    }
}

#[test]
fn binary_curve_images_verify_under_the_legacy_profile_only() {
    let dir = tempfile::tempdir().unwrap();
    let img = image(dir.path(), &vec![7u8; 10_000]);
    let bc = |f: &str| repo().join("fixtures/binary-curves").join(f).display().to_string();
    let out = sigstack(&[
        "sign",
        "--image",
        img.to_str().unwrap(),
        "--key",
        &bc("sect571k1.key.pem"),
        "--hash-method",
        "SHA-512",
        "--key-type",
        "ECC_SECT571K1",
        "--allow-non-constant-time",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stderr(&out).contains("not constant time"), "{}", stderr(&out));
    let sig = stdout(&out);
    let out = verify(&img, &sig, "SHA-512", "ECC_SECT571K1", &bc("sect571k1.crt.pem"), &["--profile", "legacy"]);
    assert_eq!((out.status.code(), stdout(&out).as_str()), (Some(0), "verified"), "{}", stderr(&out));
    let out = verify(&img, &sig, "SHA-512", "ECC_SECT571K1", &bc("sect571k1.crt.pem"), &[]);
    assert_eq!(stdout(&out), "Signature verification for the image failed: Invalid signature key type: ECC_SECT571K1.");
    let out = verify(&img, &sig, "SHA-512", "ECC_SECP384R1", &bc("sect571k1.crt.pem"), &[]);
    assert_eq!((out.status.code(), stdout(&out).as_str()), (Some(1), "Curve 1.3.132.0.38 is not supported"));
    let crt = bc("sect571k1.crt.pem");
    let out = sigstack(&["certificate", "validate", "--certificate", &crt, "--trusted", &crt, "--profile", "legacy"]);
    assert_eq!(stdout(&out), "valid");
}

#[test]
fn signature_can_come_from_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let img = image(dir.path(), b"data");
    let sig = sign(&img, "signing/ec-p384.key.pem", "SHA-512", "ECC_SECP384R1");
    let sig_file = dir.path().join("sig.b64");
    std::fs::write(&sig_file, format!("{sig}\n")).unwrap();
    let out = verify(&img, &format!("@{}", sig_file.display()), "SHA-512", "ECC_SECP384R1", &pki("signing/ec-p384.crt.pem"), &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

#[test]
fn failures_exit_1_with_the_openstack_message() {
    let dir = tempfile::tempdir().unwrap();
    let img = image(dir.path(), b"original image data");
    let sig = sign(&img, "signing/rsa-2048.key.pem", "SHA-256", "RSA-PSS");
    let cert = pki("signing/rsa-2048.crt.pem");
    let tampered = dir.path().join("tampered.img");
    std::fs::write(&tampered, b"original image dat4").unwrap();

    let cases: Vec<(Output, &str)> = vec![
        (verify(&tampered, &sig, "SHA-256", "RSA-PSS", &cert, &[]), "Signature verification failed"),
        (
            verify(&img, "fake_signature", "SHA-256", "RSA-PSS", &cert, &[]),
            "Signature verification for the image failed: The signature data was not properly encoded using base64.",
        ),
        (
            verify(&img, &sig, "sha256", "RSA-PSS", &cert, &[]),
            "Signature verification for the image failed: Invalid signature hash method: sha256.",
        ),
        (
            verify(&img, &sig, "SHA-256", "ECC_SECT571K1", &cert, &[]),
            "Signature verification for the image failed: Invalid signature key type: ECC_SECT571K1.",
        ),
        (
            verify(&img, &sig, "SHA-256", "DSA", &cert, &[]),
            "Signature verification for the image failed: Invalid public key type for signature key type: DSA.",
        ),
        (
            verify(&img, "", "SHA-256", "RSA-PSS", &cert, &[]),
            "Signature verification for the image failed: Error occurred while creating the verifier.",
        ),
    ];
    for (out, message) in cases {
        assert_eq!((out.status.code(), stdout(&out).as_str()), (Some(1), message), "{}", stderr(&out));
    }
}

#[test]
fn trusted_certificates_validate_the_chain_as_nova_does() {
    let img = PathBuf::from(example("cirros.img"));
    let sig = format!("@{}", example("cirros.img.sig"));
    let client = pki("chain/client.crt.pem");
    // Only intermediates trusted: cursive's degenerate message, wrapped by Nova.
    let partial = ["--trusted", &pki("chain/intermediate-b.crt.pem")];
    let out = verify(&img, &sig, "SHA-256", "RSA-PSS", &client, &partial);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stdout(&out),
        format!(
            "Image signature certificate validation failed for certificate: {client}. certificate '{}'",
            pki("chain/intermediate-b.crt.pem")
        )
    );
    // An unrelated trusted certificate.
    let wrong = ["--trusted", &pki("signing/rsa-2048.crt.pem")];
    let out = verify(&img, &sig, "SHA-256", "RSA-PSS", &client, &wrong);
    assert_eq!(out.status.code(), Some(1));
    assert!(stdout(&out).contains("Certificate chain building failed"), "{}", stdout(&out));
    // Dates are checked against --now.
    let mut trust = chain_trust();
    trust.extend(["--now".to_owned(), "2101-01-01T00:00:00Z".to_owned()]);
    let trust: Vec<&str> = trust.iter().map(String::as_str).collect();
    let out = verify(&img, &sig, "SHA-256", "RSA-PSS", &client, &trust);
    assert_eq!(
        stdout(&out),
        format!(
            "Image signature certificate validation failed for certificate: {client}. The certificate is outside its valid date range."
        )
    );
}

#[test]
fn certificate_validate_subcommand() {
    let mut args = vec!["certificate".to_owned(), "validate".to_owned(), "--certificate".to_owned(), pki("chain/client.crt.pem")];
    args.extend(chain_trust());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = sigstack(&args);
    assert_eq!((out.status.code(), stdout(&out).as_str()), (Some(0), "valid"), "{}", stderr(&out));

    let out = sigstack(&[
        "certificate",
        "validate",
        "--certificate",
        &pki("variants/short-pathlen/leaf.crt.pem"),
        "--trusted",
        &pki("variants/short-pathlen/root.crt.pem"),
        "--trusted",
        &pki("variants/short-pathlen/intermediate.crt.pem"),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stdout(&out),
        format!(
            "Certificate validation failed. The signing certificate '{}' is not configured to support certificate chains of sufficient length.",
            pki("variants/short-pathlen/root.crt.pem")
        )
    );

    let out = sigstack(&[
        "certificate",
        "validate",
        "--certificate",
        &pki("chain/client.crt.pem"),
        "--trusted",
        &pki("chain/root.crt.pem"),
        "--now",
        "2019-06-01T00:00:00+02:00",
    ]);
    assert_eq!(stdout(&out), "The certificate is outside its valid date range.");
}

#[test]
fn usage_errors_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let img = image(dir.path(), b"x");
    let cert = pki("signing/rsa-2048.crt.pem");
    let missing = dir.path().join("nope.img");
    let cases = vec![
        sigstack(&["verify", "--image", img.to_str().unwrap()]),
        sigstack(&["frobnicate"]),
        verify(&missing, "QUFB", "SHA-256", "RSA-PSS", &cert, &[]),
        verify(&img, "QUFB", "SHA-256", "RSA-PSS", &cert, &["--profile", "modern"]),
        verify(&img, "QUFB", "SHA-256", "RSA-PSS", &cert, &["--trusted", &cert, "--now", "yesterday"]),
        verify(&img, "@/definitely/not/here", "SHA-256", "RSA-PSS", &cert, &[]),
        sigstack(&["certificate", "validate", "--certificate", &cert]),
        sigstack(&[
            "sign",
            "--image",
            img.to_str().unwrap(),
            "--key",
            &pki("signing/ec-p384.key.pem"),
            "--hash-method",
            "SHA-256",
            "--key-type",
            "RSA-PSS",
        ]),
        sigstack(&["sign", "--image", img.to_str().unwrap(), "--key", &cert, "--hash-method", "SHA-256", "--key-type", "RSA-PSS"]),
        sigstack(&[
            "sign",
            "--image",
            img.to_str().unwrap(),
            "--key",
            &pki("signing/rsa-2048.key.pem"),
            "--hash-method",
            "MD5",
            "--key-type",
            "RSA-PSS",
        ]),
    ];
    for (i, out) in cases.iter().enumerate() {
        assert_eq!(out.status.code(), Some(2), "case {i}: {}{}", stdout(out), stderr(out));
        assert!(!stderr(out).is_empty(), "case {i} explains itself");
    }
    assert!(stderr(&cases[2]).contains("nope.img"), "{}", stderr(&cases[2]));
    assert!(stderr(&cases[7]).contains("Invalid public key type for signature key type: RSA-PSS"), "{}", stderr(&cases[7]));
}

#[test]
fn a_non_certificate_is_a_verification_failure() {
    let dir = tempfile::tempdir().unwrap();
    let img = image(dir.path(), b"x");
    let out = verify(&img, "QUFB", "SHA-256", "RSA-PSS", &pki("signing/rsa-2048.pub.pem"), &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stdout(&out).starts_with("Unable to load certificate"), "{}", stdout(&out));
}

/// Runs `sigstack` with stderr on a new pseudo-terminal (80x24) and stdout on a pipe; returns
/// the exit code, stdout, and every byte the terminal received.
fn sigstack_with_terminal_stderr(args: &[&str]) -> (Option<i32>, String, String) {
    use std::io::Read;
    use std::os::fd::{FromRawFd, OwnedFd};
    use std::process::Stdio;

    let (mut master, mut slave) = (-1, -1);
    let size = libc::winsize { ws_row: 24, ws_col: 80, ws_xpixel: 0, ws_ypixel: 0 };
    // SAFETY: valid out-pointers; the name and termios arguments may be null.
    let rc = unsafe { libc::openpty(&mut master, &mut slave, std::ptr::null_mut(), std::ptr::null(), &size) };
    assert_eq!(rc, 0, "openpty: {}", std::io::Error::last_os_error());
    // SAFETY: openpty returned two fresh descriptors that nothing else owns.
    let (master, slave) = unsafe { (OwnedFd::from_raw_fd(master), OwnedFd::from_raw_fd(slave)) };
    let child = {
        // The Command (and with it our copy of the slave) is dropped right after the spawn, so
        // the terminal hangs up when the child exits.
        let mut command = Command::new(env!("CARGO_BIN_EXE_sigstack"));
        command.args(args).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::from(slave));
        command.spawn().expect("running sigstack")
    };
    let reader = std::thread::spawn(move || {
        let mut terminal = std::fs::File::from(master);
        let mut seen = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            match terminal.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => seen.extend_from_slice(&buf[..n]),
                // Linux answers EIO on the master once the last slave descriptor is closed.
                Err(e) if e.raw_os_error() == Some(libc::EIO) => break,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => panic!("reading the terminal: {e}"),
            }
        }
        seen
    });
    let out = child.wait_with_output().expect("waiting for sigstack");
    let seen = reader.join().expect("terminal reader");
    (out.status.code(), stdout(&out), String::from_utf8_lossy(&seen).into_owned())
}

#[test]
fn progress_on_a_terminal_stderr_for_images_over_1_gib_only() {
    let dir = tempfile::tempdir().unwrap();
    // Sparse: 1 GiB + 1 byte of zeros costs no disk, only the time to read it.
    let big = dir.path().join("big.img");
    std::fs::File::create(&big).and_then(|f| f.set_len((1 << 30) + 1)).unwrap();
    let small = image(dir.path(), &vec![9u8; 4096]);
    let cert = pki("signing/rsa-2048.crt.pem");
    let verify_args = |img: &Path, sig: &str| -> Vec<String> {
        [
            "verify",
            "--image",
            img.to_str().unwrap(),
            "--signature",
            sig,
            "--hash-method",
            "SHA-256",
            "--key-type",
            "RSA-PSS",
            "--certificate",
            &cert,
        ]
        .map(str::to_owned)
        .to_vec()
    };
    let big_sig = sign(&big, "signing/rsa-2048.key.pem", "SHA-256", "RSA-PSS");
    let small_sig = sign(&small, "signing/rsa-2048.key.pem", "SHA-256", "RSA-PSS");

    // Over 1 GiB, stderr a terminal: a progress bar there (total size shown), result on stdout.
    let args = verify_args(&big, &big_sig);
    let (code, out, terminal) = sigstack_with_terminal_stderr(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!((code, out.as_str()), (Some(0), "verified"), "terminal saw: {terminal:?}");
    assert!(terminal.contains("1.00 GiB") && terminal.contains("eta"), "no progress bar on the terminal: {terminal:?}");

    // Over 1 GiB, stderr a pipe: nothing on stderr.
    let out = sigstack(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!((out.status.code(), stdout(&out).as_str(), stderr(&out).as_str()), (Some(0), "verified", ""));

    // Under 1 GiB, stderr a terminal: no progress bar.
    let args = verify_args(&small, &small_sig);
    let (code, out, terminal) = sigstack_with_terminal_stderr(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!((code, out.as_str(), terminal.as_str()), (Some(0), "verified", ""));
}

/// A closed or full standard output ends the command with exit 1 and a message, never with
/// Rust's panic code 101: `sigstack verify ... | head -0`, `> /dev/full`.
#[test]
fn a_closed_or_full_stdout_is_exit_1_with_a_message_not_a_panic() {
    let args = [
        "verify",
        "--image",
        &example("cirros.img"),
        "--signature",
        &format!("@{}", example("cirros.img.sig")),
        "--hash-method",
        "SHA-256",
        "--key-type",
        "RSA-PSS",
        "--certificate",
        &pki("chain/client.crt.pem"),
    ]
    .map(|a| a.to_owned());
    // A pipe whose reading end is closed before sigstack writes.
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let out =
        Command::new(env!("CARGO_BIN_EXE_sigstack")).args(&args).stdout(writer).stderr(std::process::Stdio::piped()).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("error: cannot write to standard output: Broken pipe"), "{}", stderr(&out));
    assert!(!stderr(&out).contains("panicked"), "{}", stderr(&out));
    // A full device.
    let full = std::fs::OpenOptions::new().write(true).open("/dev/full").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_sigstack")).args(&args).stdout(full).stderr(std::process::Stdio::piped()).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("error: cannot write to standard output: No space left on device"), "{}", stderr(&out));
    // The same command with a working stdout succeeds (the failure above is the output's).
    assert_eq!(sigstack(&args.iter().map(String::as_str).collect::<Vec<_>>()).status.code(), Some(0));
}

/// `sign` refuses, as a usage error (exit 2, nothing on stdout), keys whose signatures `verify`
/// could not check, and signs with a binary-curve key only when told the signer is not
/// constant time.
#[test]
fn sign_refuses_what_verify_cannot_check() {
    let dir = tempfile::tempdir().unwrap();
    let img = image(dir.path(), b"refusals");
    let openssl = |args: &[&str]| {
        let out = Command::new("openssl").args(args).output().expect("the openssl command line");
        assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    };
    let ec_key = |curve: &str| {
        let path = dir.path().join(format!("{curve}.key.pem"));
        openssl(&["genpkey", "-algorithm", "EC", "-pkeyopt", &format!("ec_paramgen_curve:{curve}"), "-out", path.to_str().unwrap()]);
        path.display().to_string()
    };
    let sign_with = |key: &str, extra: &[&str]| {
        let mut args =
            vec!["sign", "--image", img.to_str().unwrap(), "--key", key, "--hash-method", "SHA-256", "--key-type", "ECC_SECP384R1"];
        args.extend_from_slice(extra);
        sigstack(&args)
    };
    let refused = |out: &Output, message: &str| {
        assert_eq!(out.status.code(), Some(2), "{}", stderr(out));
        assert_eq!(stdout(out), "", "no signature on stdout");
        assert!(stderr(out).contains(message), "expected {message:?} in {}", stderr(out));
    };

    // RSA one byte over OpenSSL's 16384-bit limit: OpenSSL would sign, nobody could verify.
    let big = repo().join("harness/verify/tests/data/rsa-16392.key.pem").display().to_string();
    let out = sigstack(&["sign", "--image", img.to_str().unwrap(), "--key", &big, "--hash-method", "SHA-256", "--key-type", "RSA-PSS"]);
    refused(&out, "RSA-16392 signatures cannot be verified");
    // P-192 verifies but has no signer; a curve cryptography does not load has no verifier.
    refused(&sign_with(&ec_key("prime192v1"), &[]), "P-192 keys cannot sign");
    refused(&sign_with(&ec_key("secp192k1"), &[]), "unsupported curve 1.3.132.0.31");

    // A binary-curve key: refused without the flag, whose name the message gives ...
    let binary = ec_key("sect283k1");
    let out = sign_with(&binary, &[]);
    refused(&out, "the binary-curve signer (EC sect283k1) is not constant time");
    refused(&out, "--allow-non-constant-time");
    // ... signed with it, and the signature verifies where binary curves load (legacy).
    let out = sign_with(&binary, &["--allow-non-constant-time"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let sig = stdout(&out);
    let crt = dir.path().join("sect283k1.crt.pem");
    openssl(&["req", "-new", "-x509", "-key", &binary, "-sha256", "-days", "30", "-subj", "/CN=t", "-out", crt.to_str().unwrap()]);
    let out = verify(&img, &sig, "SHA-256", "ECC_SECP384R1", crt.to_str().unwrap(), &["--profile", "legacy"]);
    assert_eq!((out.status.code(), stdout(&out).as_str()), (Some(0), "verified"), "{}", stderr(&out));

    // Curves that sign in constant time need no flag: secp256k1 and brainpoolP512r1 verify as
    // ECC_SECP384R1 on a current cloud, since cursive does not bind the curve to the key type.
    for curve in ["secp256k1", "brainpoolP512r1"] {
        let key = ec_key(curve);
        let out = sign_with(&key, &[]);
        assert_eq!(out.status.code(), Some(0), "{curve}: {}", stderr(&out));
        let crt = dir.path().join(format!("{curve}.crt.pem"));
        openssl(&["req", "-new", "-x509", "-key", &key, "-sha256", "-days", "30", "-subj", "/CN=t", "-out", crt.to_str().unwrap()]);
        let verified = verify(&img, &stdout(&out), "SHA-256", "ECC_SECP384R1", crt.to_str().unwrap(), &[]);
        assert_eq!((verified.status.code(), stdout(&verified).as_str()), (Some(0), "verified"), "{curve}: {}", stderr(&verified));
    }
}
