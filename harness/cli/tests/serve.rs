//! `sigstack serve` as a process: its output, the client configuration it writes, durability
//! across SIGKILL (everything acknowledged survives a restart on the same data directory), a
//! clean exit on SIGTERM/SIGINT, and exit code 2 for bad flags and busy ports.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};
use sigstack_client::{Credentials, Session};

mod serve_support;
use serve_support::{Server, serve, start};

/// What serve must write for a cloud, given the auth URL it printed.
fn expected_cloud(name: &str, user: &str, project: &str, auth_url: &str) -> String {
    format!(
        "  {name}:\n    auth:\n      auth_url: \"{auth_url}\"\n      username: \"{user}\"\n      password: \"{user}-password\"\n      project_name: \"{project}\"\n      user_domain_name: \"Default\"\n      project_domain_name: \"Default\"\n    region_name: \"RegionOne\"\n    interface: \"public\"\n    identity_api_version: 3\n"
    )
}

/// Reads one cloud's credentials back from clouds.yaml (the subset of YAML serve writes).
fn cloud_credentials(clouds_yaml: &str, name: &str) -> Credentials {
    let block: Vec<&str> =
        clouds_yaml.lines().skip_while(|l| l.trim() != format!("{name}:")).skip(1).take_while(|l| l.starts_with("    ")).collect();
    let field = |key: &str| -> String {
        let line = block.iter().find(|l| l.trim_start().starts_with(&format!("{key}:"))).unwrap_or_else(|| panic!("{name} has no {key}"));
        serde_json::from_str(line.split_once(": ").unwrap().1).unwrap()
    };
    Credentials {
        auth_url: field("auth_url"),
        username: field("username"),
        password: field("password"),
        user_domain_name: field("user_domain_name"),
        project_name: Some(field("project_name")),
        project_id: None,
        project_domain_name: field("project_domain_name"),
        region_name: Some(field("region_name")),
        interface: field("interface"),
        ..Credentials::default()
    }
}

fn check_client_files(server: &Server, dir: &Path) -> (Credentials, Credentials) {
    let identity = server.get("identity");
    assert!(identity.starts_with("http://127.0.0.1:") && identity.ends_with("/v3"), "{identity}");
    assert_eq!(server.get("clouds"), "sigstack-admin sigstack-demo sigstack-alt-demo sigstack-instance-ha");
    let path = PathBuf::from(server.get("clouds-yaml"));
    assert_eq!(path, dir.join("clouds.yaml"));
    let yaml = std::fs::read_to_string(&path).unwrap();
    let clouds = format!(
        "clouds:\n{}{}{}{}",
        expected_cloud("sigstack-admin", "admin", "admin", identity),
        expected_cloud("sigstack-demo", "demo", "demo", identity),
        expected_cloud("sigstack-alt-demo", "alt_demo", "alt_demo", identity),
        expected_cloud("sigstack-instance-ha", "instance-ha", "service", identity),
    );
    assert!(yaml.ends_with(&clouds), "{yaml}");
    let openrcs: Vec<PathBuf> = server.info["openrc"].iter().map(PathBuf::from).collect();
    let names = ["sigstack-admin", "sigstack-demo", "sigstack-alt-demo", "sigstack-instance-ha"];
    assert_eq!(openrcs, names.map(|n| dir.join(format!("{n}-openrc.sh"))));
    // The capability file for `sigstack conformance`, beside clouds.yaml.
    assert_eq!(PathBuf::from(server.get("capabilities")), dir.join("capabilities.yaml"));
    let capabilities = std::fs::read_to_string(dir.join("capabilities.yaml")).unwrap();
    assert!(capabilities.contains("users:\n  \"admin\": \"sigstack-admin\"\n  \"demo\": \"sigstack-demo\"\n"), "{capabilities}");
    for line in [
        "  verify_glance_signatures: false\n",
        "  certificate_validation: false\n",
        "  cinder_verification: true\n",
        "  key_type_profile: current\n",
        "  default_trusted_certificates: false\n",
    ] {
        assert!(capabilities.contains(line), "{line:?} in {capabilities}");
    }
    // The control token for `/_sim/`: beside clouds.yaml, readable by its owner only, named
    // by the capability file; a new one on every start.
    let token_file = dir.join("control-token");
    assert_eq!(PathBuf::from(server.get("control-token")), token_file);
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(std::fs::metadata(&token_file).unwrap().permissions().mode() & 0o777, 0o600);
    assert_eq!(server.control_token().len(), 64);
    let setting = format!("settings:\n  control_token_file: \"{}\"\n", token_file.display());
    assert!(capabilities.contains(&setting), "{setting:?} in {capabilities}");
    assert!(!capabilities.contains(&server.control_token()) && !yaml.contains(&server.control_token()));
    assert_eq!(server.get("deployment"), "upstream-defaults");
    assert!(server.get("compute").starts_with("http://127.0.0.1:") && server.get("volume").starts_with("http://127.0.0.1:"));
    // Plain HTTP (no --tls): no CA anywhere.
    assert!(!server.info.contains_key("cacert") && !yaml.contains("cacert") && !dir.join("tls").exists(), "{yaml}");
    let demo_rc = std::fs::read_to_string(&openrcs[1]).unwrap();
    let exports: Vec<&str> = demo_rc.lines().filter(|l| l.starts_with("export ")).collect();
    assert_eq!(
        exports,
        [
            format!("export OS_AUTH_URL='{identity}'").as_str(),
            "export OS_USERNAME='demo'",
            "export OS_PASSWORD='demo-password'",
            "export OS_PROJECT_NAME='demo'",
            "export OS_USER_DOMAIN_NAME='Default'",
            "export OS_PROJECT_DOMAIN_NAME='Default'",
            "export OS_REGION_NAME='RegionOne'",
            "export OS_IDENTITY_API_VERSION='3'",
            "export OS_INTERFACE='public'",
        ]
    );
    (cloud_credentials(&yaml, "sigstack-admin"), cloud_credentials(&yaml, "sigstack-demo"))
}

fn http() -> reqwest::Client {
    sigstack_client::session::http_client()
}

async fn ids(admin: &Session, kind: &str, name: &str) -> String {
    let url = format!("{}/{kind}?name={name}", admin.endpoint("identity").unwrap());
    let list: Value = admin.json(admin.request(reqwest::Method::GET, &url)).await.unwrap();
    list[kind][0]["id"].as_str().unwrap_or_else(|| panic!("no {kind} {name}: {list}")).to_owned()
}

const CERT: &str = include_str!("../../../fixtures/pki/chain/client.crt.pem");

/// Barbican: demo (now creator) stores a certificate. Returns its uuid.
async fn store_secret(demo: &Session, key_manager: &str) -> String {
    use base64::Engine as _;
    let body = json!({"name": "Client", "algorithm": "RSA", "secret_type": "certificate",
        "payload_content_type": "application/octet-stream", "payload_content_encoding": "base64",
        "payload": base64::engine::general_purpose::STANDARD.encode(CERT)});
    let url = format!("{key_manager}/v1/secrets");
    let r: Value = demo.json(demo.request(reqwest::Method::POST, &url).json(&body)).await.unwrap();
    sigstack_client::key_manager::secret_uuid(r["secret_ref"].as_str().unwrap()).to_owned()
}

async fn create_image(demo: &Session, image: &str, name: &str) -> String {
    let url = format!("{image}/v2/images");
    let body = json!({"name": name, "disk_format": "raw", "container_format": "bare"});
    let r: Value = demo.json(demo.request(reqwest::Method::POST, &url).json(&body)).await.unwrap();
    r["id"].as_str().unwrap().to_owned()
}

fn image_data() -> Vec<u8> {
    (0..300_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8).collect()
}

/// Glance: an uploaded image, and one whose upload is cut off by the kill. Returns both ids
/// and the socket of the unfinished upload (kept open until the server dies).
async fn images_before_kill(demo: &Session, image: &str) -> (String, String, tokio::net::TcpStream) {
    let done = create_image(demo, image, "durable").await;
    let url = format!("{image}/v2/images/{done}/file");
    demo.send(demo.request(reqwest::Method::PUT, &url).header("Content-Type", "application/octet-stream").body(image_data()))
        .await
        .unwrap();
    let half = create_image(demo, image, "half-uploaded").await;
    // A raw socket, so the upload can stop mid-body: headers promise 300000 bytes, 65536 come.
    use tokio::io::AsyncWriteExt;
    let addr = image.trim_start_matches("http://");
    let mut socket = tokio::net::TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "PUT /v2/images/{half}/file HTTP/1.1\r\nHost: {addr}\r\nX-Auth-Token: {}\r\nContent-Type: application/octet-stream\r\nContent-Length: 300000\r\n\r\n",
        demo.token().value
    );
    socket.write_all(head.as_bytes()).await.unwrap();
    socket.write_all(&image_data()[..65536]).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    (done, half, socket)
}

#[tokio::test(flavor = "multi_thread")]
async fn state_survives_sigkill_and_sigterm_exits_cleanly() {
    let temp = tempfile::tempdir().unwrap();
    let data = temp.path().join("data");
    let data_arg = data.to_str().unwrap();
    let mut server = start(&["--data-dir", data_arg]);
    assert_eq!(server.get("data-dir"), data_arg);
    let (admin_creds, demo_creds) = check_client_files(&server, &data);
    let admin = Session::authenticate(&admin_creds).await.expect("admin from clouds.yaml authenticates");
    let (demo_id, demo_project, creator) =
        (ids(&admin, "users", "demo").await, ids(&admin, "projects", "demo").await, ids(&admin, "roles", "creator").await);
    let grant = format!("{}/projects/{demo_project}/users/{demo_id}/roles/{creator}", admin.endpoint("identity").unwrap());
    admin.send(admin.request(reqwest::Method::PUT, &grant)).await.expect("role grant acknowledged");
    let demo = Session::authenticate(&demo_creds).await.unwrap();
    assert!(demo.token().roles.iter().any(|r| r.name == "creator"));

    let key_manager = server.get("key-manager").to_owned();
    let image = server.get("image").to_owned();
    let uuid = store_secret(&demo, &key_manager).await;
    let (done, half, _unfinished_upload) = images_before_kill(&demo, &image).await;

    // SIGKILL: no chance to flush anything that was not already committed.
    server.child.kill().unwrap();
    server.child.wait().unwrap();
    let mut server = start(&["--data-dir", data_arg]);
    let (admin_creds, demo_creds) = check_client_files(&server, &data);
    // Tokens issued before the kill still validate (the signing secret is in the database).
    let users_url = format!("{}/users", server.get("identity"));
    let r = http().get(&users_url).header("X-Auth-Token", &admin.token().value).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let admin = Session::authenticate(&admin_creds).await.unwrap();
    let url = format!("{}/role_assignments?role.id={creator}&include_names=true", admin.endpoint("identity").unwrap());
    let assignments: Value = admin.json(admin.request(reqwest::Method::GET, &url)).await.unwrap();
    let names: Vec<(&str, &str)> = assignments["role_assignments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| (a["user"]["name"].as_str().unwrap(), a["scope"]["project"]["name"].as_str().unwrap()))
        .collect();
    assert_eq!(names, [("demo", "demo")], "the grant survived");
    let demo = Session::authenticate(&demo_creds).await.unwrap();
    assert!(demo.token().roles.iter().any(|r| r.name == "creator"));

    let key_manager = server.get("key-manager");
    let url = format!("{key_manager}/v1/secrets/{uuid}/payload");
    let r = demo.send(demo.request(reqwest::Method::GET, &url).header("Accept", "application/octet-stream")).await.unwrap();
    assert_eq!(r.bytes().await.unwrap().as_ref(), CERT.as_bytes(), "the secret survived");
    let image = server.get("image");
    let show: Value = demo.json(demo.request(reqwest::Method::GET, &format!("{image}/v2/images/{done}"))).await.unwrap();
    assert_eq!(show["status"], "active", "{show}");
    let r = demo.send(demo.request(reqwest::Method::GET, &format!("{image}/v2/images/{done}/file"))).await.unwrap();
    assert!(r.bytes().await.unwrap().as_ref() == image_data().as_slice(), "the image data survived");
    let show: Value = demo.json(demo.request(reqwest::Method::GET, &format!("{image}/v2/images/{half}"))).await.unwrap();
    assert_ne!(show["status"], "active", "a half-uploaded image must not be active: {show}");

    server.signal(libc::SIGTERM);
    assert_eq!(server.wait(Duration::from_secs(10)).code(), Some(0), "SIGTERM is a clean exit");
}

#[test]
fn without_a_data_dir_serve_keeps_a_temporary_one_and_sigint_exits_0() {
    let mut server = start(&[]);
    let dir = PathBuf::from(server.get("data-dir"));
    assert!(dir.join("clouds.yaml").is_file() && dir.join("sigstack.db").is_file());
    server.signal(libc::SIGINT);
    assert_eq!(server.wait(Duration::from_secs(10)).code(), Some(0));
    assert!(dir.join("sigstack.db").is_file(), "the temporary data directory is kept");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn clouds_yaml_elsewhere_gets_the_openrc_files_beside_it() {
    let temp = tempfile::tempdir().unwrap();
    let yaml = temp.path().join("etc/openstack/clouds.yaml");
    let data = temp.path().join("data");
    let mut server = start(&["--data-dir", data.to_str().unwrap(), "--clouds-yaml", yaml.to_str().unwrap()]);
    assert_eq!(server.get("clouds-yaml"), yaml.to_str().unwrap());
    check_client_files(&server, &temp.path().join("etc/openstack"));
    // `/_sim/` on the shared server: refused without the token, answered with it.
    let deployment = format!("{}/_sim/deployment", server.get("image"));
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let anonymous = rt.block_on(async { http().get(&deployment).send().await.unwrap().status() });
    assert_eq!(anonymous, StatusCode::UNAUTHORIZED);
    let with_token = rt.block_on(async { server.control_http().get(&deployment).send().await.unwrap().status() });
    assert_eq!(with_token, StatusCode::OK);
    server.signal(libc::SIGTERM);
    assert_eq!(server.wait(Duration::from_secs(10)).code(), Some(0));
}

fn run(args: &[&str]) -> (Option<i32>, String) {
    let out = serve(args).output().unwrap();
    (out.status.code(), String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn bad_flags_and_busy_ports_exit_2() {
    for args in [
        &["--port-base", "65532"][..],
        &["--deployment", "nope"],
        &["--port-base", "x"],
        &["--host", "localhost:80"],
        &["--bogus"],
        &["extra"],
    ] {
        let (code, stderr) = run(args);
        assert_eq!(code, Some(2), "{args:?}: {stderr}");
        assert!(stderr.starts_with("error: "), "{args:?}: {stderr}");
    }
    let temp = tempfile::tempdir().unwrap();
    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = busy.local_addr().unwrap().port().to_string();
    let (code, stderr) = run(&["--data-dir", temp.path().to_str().unwrap(), "--port-base", &port]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.starts_with(&format!("error: cannot bind keystone on 127.0.0.1:{port}: ")), "{stderr}");
    // A clouds.yaml that cannot be written is the caller's mistake too.
    let (code, stderr) = run(&["--data-dir", temp.path().to_str().unwrap(), "--clouds-yaml", "/dev/null/clouds.yaml"]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("/dev/null"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread")]
async fn keystone_is_seeded_from_seed_json_in_the_data_dir() {
    let dir = tempfile::tempdir().unwrap();
    let user = |name: &str, project: &str, roles: &[&str]| json!({"name": name, "password": format!("{name}-password"), "project": project, "roles": roles});
    let seed = json!({
        "roles": ["admin", "member", "reader", "creator"],
        "projects": ["admin", "demo", "project_a"],
        "users": [user("admin", "admin", &["admin"]), user("demo", "demo", &["member"]), user("project_a_creator", "project_a", &["member", "creator"])],
    });
    std::fs::write(dir.path().join("seed.json"), seed.to_string()).unwrap();
    let server = start(&["--data-dir", dir.path().to_str().unwrap()]);
    let creds = Credentials {
        username: "project_a_creator".into(),
        password: "project_a_creator-password".into(),
        project_name: Some("project_a".into()),
        ..cloud_credentials(&std::fs::read_to_string(dir.path().join("clouds.yaml")).unwrap(), "sigstack-demo")
    };
    let session = Session::authenticate(&creds).await.unwrap();
    let roles: Vec<String> = session.token().roles.iter().map(|r| r.name.clone()).collect();
    assert_eq!(roles, ["creator", "member", "reader"], "member implies reader, as keystone-manage bootstrap sets up");
    // The default users are not there: only the seed's.
    let alt =
        Credentials { username: "alt_demo".into(), password: "alt_demo-password".into(), project_name: Some("alt_demo".into()), ..creds };
    assert_eq!(Session::authenticate(&alt).await.unwrap_err().status(), Some(401));
    drop(server);

    let bad = tempfile::tempdir().unwrap();
    std::fs::write(bad.path().join("seed.json"), "{\"users\": 3}").unwrap();
    let (code, stderr) = run(&["--data-dir", bad.path().to_str().unwrap()]);
    assert_eq!(code, Some(2));
    assert!(stderr.contains("invalid seed file") && stderr.contains("seed.json"), "{stderr}");
}

/// `sigstack serve --tls`: HTTPS everywhere with the CA it makes (and keeps) in the data
/// directory, clients configured by the clouds.yaml it writes.
mod tls {
    use super::*;

    use base64::Engine as _;
    use sigstack_client::clouds::CloudsYaml;
    use sigstack_client::compute::{self, NewServer};
    use sigstack_client::image::{self, NewImage};
    use sigstack_client::key_manager::{self, NewSecret};
    use sigstack_client::volume::{self, NewVolume};
    use sigstack_client::{Error, TlsOptions};
    use sigstack_verify::{HashMethod, KeyType, SigningKey};

    const SIGNING_KEY: &str = include_str!("../../../fixtures/pki/signing/rsa-2048.key.pem");
    const SIGNING_CERT: &str = include_str!("../../../fixtures/pki/signing/rsa-2048.crt.pem");
    /// A CA that did not issue serve's certificate.
    const OTHER_CA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/pki/chain/root.crt.pem");
    const WAIT: Duration = Duration::from_secs(30);

    fn credentials(clouds_yaml: &Path, cloud: &str) -> Credentials {
        CloudsYaml::load(clouds_yaml).unwrap().credentials(cloud).unwrap()
    }

    /// A qcow2 image (the magic is what Glance's inspector checks) and its four signature
    /// properties (RSA-PSS / SHA-256 by the rsa-2048 fixture, certificate `cert_uuid`).
    fn signed_qcow2(cert_uuid: &str) -> (Vec<u8>, BTreeMap<String, String>) {
        let mut data = image_data();
        data[..8].copy_from_slice(b"QFI\xfb\x00\x00\x00\x03");
        data[8..512].fill(0);
        let key = SigningKey::from_pem(SIGNING_KEY).unwrap();
        let signature =
            key.sign_digest(KeyType::RsaPss, HashMethod::Sha256, &HashMethod::Sha256.digest(&data), &mut rand::rngs::SysRng).unwrap();
        let properties = BTreeMap::from([
            ("img_signature".to_owned(), base64::engine::general_purpose::STANDARD.encode(signature)),
            ("img_signature_hash_method".to_owned(), "SHA-256".to_owned()),
            ("img_signature_key_type".to_owned(), "RSA-PSS".to_owned()),
            ("img_signature_certificate_uuid".to_owned(), cert_uuid.to_owned()),
        ]);
        (data, properties)
    }

    async fn image_with(demo: &Session, name: &str, properties: &BTreeMap<String, String>) -> String {
        let new = NewImage {
            name: Some(name.into()),
            disk_format: Some("qcow2".into()),
            container_format: Some("bare".into()),
            properties: properties.clone(),
            ..NewImage::default()
        };
        image::create_image(demo, &new).await.unwrap().id
    }

    fn assert_https(server: &Server) {
        for key in ["identity", "key-manager", "image", "compute", "volume"] {
            assert!(server.get(key).starts_with("https://127.0.0.1:"), "{key}: {}", server.get(key));
        }
    }

    /// The MOS deployment (so provisioning uploads signed baseline images, Nova and Cinder
    /// verify): every service-to-service call goes over TLS, trusting the generated CA.
    #[tokio::test(flavor = "multi_thread")]
    async fn serve_tls_makes_a_ca_serves_https_and_keeps_the_ca_across_restarts() {
        let temp = tempfile::tempdir().unwrap();
        let data = temp.path().join("data");
        let data_arg = data.to_str().unwrap();
        let mut server = start(&["--data-dir", data_arg, "--tls", "--deployment", "mos"]);
        assert_https(&server);
        let tls_dir = data.join("tls");
        let ca_path = tls_dir.join("ca.pem");
        assert_eq!(PathBuf::from(server.get("cacert")), ca_path, "the CA bundle, absolute");
        use std::os::unix::fs::PermissionsExt;
        for (file, mode) in [("ca.pem", 0o644), ("ca.key", 0o600), ("server.pem", 0o644), ("server.key", 0o600)] {
            assert_eq!(std::fs::metadata(tls_dir.join(file)).unwrap().permissions().mode() & 0o777, mode, "{file}");
        }
        let clouds_yaml = PathBuf::from(server.get("clouds-yaml"));
        let yaml = std::fs::read_to_string(&clouds_yaml).unwrap();
        assert_eq!(yaml.matches(&format!("    cacert: \"{}\"\n", ca_path.display())).count(), 4, "{yaml}");
        let demo_rc = std::fs::read_to_string(&server.info["openrc"][1]).unwrap();
        assert!(demo_rc.contains(&format!("export OS_AUTH_URL='{}'\n", server.get("identity"))), "{demo_rc}");
        assert!(demo_rc.ends_with(&format!("export OS_CACERT='{}'\n", ca_path.display())), "{demo_rc}");
        for file in ["ca.key", "server.key"] {
            let key = std::fs::read_to_string(tls_dir.join(file)).unwrap();
            let body = key.lines().nth(1).unwrap();
            assert!(!yaml.contains(body) && !demo_rc.contains(body), "{file} leaked");
        }

        // The clouds.yaml as written (cacert included) authenticates over HTTPS.
        let admin_creds = credentials(&clouds_yaml, "sigstack-admin");
        assert_eq!(admin_creds.tls.cacert.as_deref(), Some(ca_path.as_path()));
        assert!(admin_creds.auth_url.starts_with("https://"));
        let admin = Session::authenticate(&admin_creds).await.expect("admin authenticates over HTTPS");
        for (service_type, key) in [("identity", "identity"), ("key-manager", "key-manager"), ("image", "image")] {
            assert_eq!(admin.endpoint(service_type).unwrap().trim_end_matches('/'), server.get(key), "catalog {service_type}");
        }
        assert!(admin.endpoint("compute").unwrap().starts_with(&format!("{}/v2.1", server.get("compute"))));
        // Provisioning (admin, over TLS) uploaded the signed baseline images.
        let baseline = image::list_all_images(&admin, &[("name", "Cirros-6.0")]).await.unwrap();
        assert_eq!(baseline.iter().map(|i| i.status.as_str()).collect::<Vec<_>>(), ["active"], "{baseline:?}");

        // Without the CA, the client refuses the certificate, naming the host; verify: false
        // gets through.
        let port = server.get("identity").trim_start_matches("https://127.0.0.1:").split('/').next().unwrap().to_owned();
        for tls in [TlsOptions::default(), TlsOptions { cacert: Some(PathBuf::from(OTHER_CA)), ..TlsOptions::default() }] {
            match Session::authenticate(&Credentials { tls: tls.clone(), ..admin_creds.clone() }).await {
                Err(Error::Tls { reason, host, .. }) => {
                    assert!(reason.starts_with("unknown issuer"), "{tls:?}: {reason}");
                    assert_eq!(host, format!("127.0.0.1:{port}"), "{tls:?}");
                }
                other => panic!("{tls:?}: expected a TLS failure, got {other:?}"),
            }
        }
        let insecure = Credentials { tls: TlsOptions { insecure: true, ..TlsOptions::default() }, ..admin_creds.clone() };
        let unverified = Session::authenticate(&insecure).await.expect("insecure: true authenticates");
        assert_eq!(image::list_all_images(&unverified, &[("name", "Cirros-6.0")]).await.unwrap().len(), 1);

        // A signed upload: Glance fetches the certificate from Barbican over HTTPS.
        let (demo_id, demo_project, creator) =
            (ids(&admin, "users", "demo").await, ids(&admin, "projects", "demo").await, ids(&admin, "roles", "creator").await);
        let grant = format!("{}/projects/{demo_project}/users/{demo_id}/roles/{creator}", admin.endpoint("identity").unwrap());
        admin.send(admin.request(reqwest::Method::PUT, &grant)).await.unwrap();
        let demo = Session::authenticate(&credentials(&clouds_yaml, "sigstack-demo")).await.unwrap();
        let secret_ref = key_manager::create_secret(&demo, &NewSecret::certificate("signing", SIGNING_CERT.as_bytes())).await.unwrap();
        let cert_uuid = key_manager::secret_uuid(&secret_ref).to_owned();
        let (bytes, properties) = signed_qcow2(&cert_uuid);
        let signed = image_with(&demo, "signed-over-tls", &properties).await;
        image::upload(&demo, &signed, std::io::Cursor::new(bytes.clone()), Some(bytes.len() as u64)).await.expect("signed upload verified");
        assert_eq!(image::get_image(&demo, &signed).await.unwrap().status, "active");
        let tampered = image_with(&demo, "tampered-over-tls", &properties).await;
        let mut bad = bytes.clone();
        bad[100_000] ^= 1;
        let refused = image::upload(&demo, &tampered, std::io::Cursor::new(bad), Some(bytes.len() as u64)).await.unwrap_err();
        assert_eq!(refused.status(), Some(400), "{refused}");
        assert!(refused.to_string().contains("Signature verification failed"), "{refused}");

        // Nova downloads it from Glance and the certificate from Barbican (verifying, as MOS
        // does); Cinder does the same for a volume.
        let created = compute::create_server(&demo, "2.63", &NewServer::from_image("tls-vm", &signed)).await.unwrap();
        let vm = compute::wait_for_server_status(&demo, "2.63", &created.id, &["ACTIVE", "ERROR"], WAIT).await.unwrap();
        assert_eq!(vm.status, "ACTIVE", "{vm:?}");
        // Masakari's evacuation: the instance-HA user authenticates (Nova to Keystone over
        // TLS) and calls Nova's evacuate API.
        let host = compute::get_server(&admin, "2.63", &created.id).await.unwrap().host.expect("admin sees the host");
        let url = format!("{}/_sim/compute/nodes/{host}/fail", server.get("compute"));
        let report: Value = admin.json(admin.request(reqwest::Method::POST, &url)).await.unwrap();
        assert_eq!(report["evacuations"][0]["accepted"], true, "{report}");
        let new = NewVolume { size: 1, image_ref: Some(signed.clone()), name: Some("tls-volume".into()), ..NewVolume::default() };
        let created = volume::create_volume(&demo, &new).await.unwrap();
        let vol = volume::wait_for_volume_status(&demo, &created.id, &["available", "error"], WAIT).await.unwrap();
        assert_eq!((vol.status.as_str(), vol.image_metadata("signature_verified")), ("available", Some("True")), "{vol:?}");

        server.signal(libc::SIGTERM);
        assert_eq!(server.wait(Duration::from_secs(10)).code(), Some(0), "SIGTERM is a clean exit over TLS too");

        // A restart on the same directory reuses the CA and the server certificate.
        let files = |name: &str| std::fs::read(tls_dir.join(name)).unwrap();
        let before = ["ca.pem", "ca.key", "server.pem", "server.key"].map(files);
        let mut server = start(&["--data-dir", data_arg, "--tls", "--deployment", "mos"]);
        assert_https(&server);
        let after = ["ca.pem", "ca.key", "server.pem", "server.key"].map(files);
        assert!(before == after, "the TLS files were not reused");
        let demo =
            Session::authenticate(&credentials(&clouds_yaml, "sigstack-demo")).await.expect("the same CA is trusted after the restart");
        assert_eq!(image::get_image(&demo, &signed).await.unwrap().status, "active");
        server.signal(libc::SIGINT);
        assert_eq!(server.wait(Duration::from_secs(10)).code(), Some(0));

        // Another listen address: the same CA issues a new server certificate.
        let mut server = start(&["--data-dir", data_arg, "--tls", "--deployment", "mos", "--host", "127.0.0.2"]);
        assert!(server.get("identity").starts_with("https://127.0.0.2:"), "{}", server.get("identity"));
        assert_eq!(files("ca.pem"), before[0], "same CA");
        assert_ne!(files("server.pem"), before[2], "a new server certificate");
        Session::authenticate(&credentials(&clouds_yaml, "sigstack-demo")).await.expect("127.0.0.2 is in the new certificate");
        server.signal(libc::SIGTERM);
        assert_eq!(server.wait(Duration::from_secs(10)).code(), Some(0));
    }

    /// `--tls-cert/--tls-key/--tls-ca`: the given files are served and written as `cacert`; a
    /// bundle that does not verify the certificate is refused before anything listens.
    #[tokio::test(flavor = "multi_thread")]
    async fn tls_cert_and_key_serve_the_given_files() {
        let temp = tempfile::tempdir().unwrap();
        let made = temp.path().join("made");
        let mut server = start(&["--data-dir", made.to_str().unwrap(), "--tls"]);
        server.signal(libc::SIGTERM);
        assert_eq!(server.wait(Duration::from_secs(10)).code(), Some(0));
        let pki = temp.path().join("pki");
        std::fs::create_dir(&pki).unwrap();
        for file in ["ca.pem", "ca.key", "server.pem", "server.key"] {
            std::fs::copy(made.join("tls").join(file), pki.join(file)).unwrap();
        }
        let given = |name: &str| pki.join(name).to_str().unwrap().to_owned();
        let data = temp.path().join("data");
        let server = start(&[
            "--data-dir",
            data.to_str().unwrap(),
            "--tls-cert",
            &given("server.pem"),
            "--tls-key",
            &given("server.key"),
            "--tls-ca",
            &given("ca.pem"),
        ]);
        assert_https(&server);
        assert_eq!(server.get("cacert"), given("ca.pem"));
        assert!(!data.join("tls").exists(), "nothing generated");
        let clouds_yaml = PathBuf::from(server.get("clouds-yaml"));
        let creds = credentials(&clouds_yaml, "sigstack-demo");
        assert_eq!(creds.tls.cacert, Some(pki.join("ca.pem")));
        let demo = Session::authenticate(&creds).await.expect("demo authenticates with the given CA");
        assert_eq!(demo.endpoint("image").unwrap(), server.get("image"));
        drop(server);

        // Without --tls-ca the certificate file is the bundle: a CA-issued certificate alone
        // does not verify itself. Half a pair is a usage error.
        let other = temp.path().join("other");
        let other = other.to_str().unwrap();
        let (cert, key, ca, ca_key) = (given("server.pem"), given("server.key"), given("ca.pem"), given("ca.key"));
        let cases: [(&[&str], &str); 6] = [
            (&["--tls-cert", &cert, "--tls-key", &key], "does not verify"),
            (&["--tls-cert", &cert, "--tls-key", &key, "--tls-ca", OTHER_CA], "does not verify"),
            (&["--tls-cert", &cert, "--tls-key", &ca_key, "--tls-ca", &ca], "server.pem"),
            (&["--tls-cert", &cert], "--tls-key"),
            (&["--tls-key", &key], "--tls-cert"),
            (&["--tls-ca", &ca, "--tls"], "--tls-cert"),
        ];
        for (args, want) in cases {
            let args: Vec<&str> = ["--data-dir", other].into_iter().chain(args.iter().copied()).collect();
            let (code, stderr) = run(&args);
            assert_eq!(code, Some(2), "{args:?}: {stderr}");
            assert!(stderr.starts_with("error: ") && stderr.contains(want), "{args:?}: {stderr}");
            assert!(!stderr.contains("PRIVATE KEY"), "{stderr}");
        }
    }
}
