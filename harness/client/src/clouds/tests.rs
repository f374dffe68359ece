//! clouds.yaml, secure.yaml and `OS_*` resolution against openstacksdk's documented
//! precedence: each key, each auth type, each error.

use super::*;

fn env(pairs: &[(&str, &str)]) -> Environment {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
}

/// A search path over a temporary directory holding the given files.
fn dir_with(files: &[(&str, &str)]) -> (tempfile::TempDir, SearchPath) {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in files {
        std::fs::write(dir.path().join(name), text).unwrap();
    }
    let search = SearchPath { cwd: Some(dir.path().to_owned()), home: Some(dir.path().join("home")), ..SearchPath::default() };
    (dir, search)
}

#[test]
fn candidates_follow_openstacksdk_order() {
    let c = clouds_yaml_candidates(Some("/x/mine.yaml".into()), Some("/work".into()), Some("/home/u".into()));
    let c: Vec<&str> = c.iter().map(|p| p.to_str().unwrap()).collect();
    assert_eq!(
        c,
        [
            "/x/mine.yaml",
            "/work/clouds.yaml",
            "/work/clouds.yml",
            "/work/clouds.json",
            "/home/u/.config/openstack/clouds.yaml",
            "/home/u/.config/openstack/clouds.yml",
            "/home/u/.config/openstack/clouds.json",
            "/etc/openstack/clouds.yaml",
            "/etc/openstack/clouds.yml",
            "/etc/openstack/clouds.json"
        ]
    );
    let c = clouds_yaml_candidates(Some("".into()), None, None);
    assert_eq!(c[0], PathBuf::from("/etc/openstack/clouds.yaml"));
}

const CLOUDS: &str = "clouds:\n  full:\n    auth:\n      auth_url: http://127.0.0.1:5000/v3\n      username: u\n      password: p\n      project_name: proj\n      user_domain_name: UD\n      project_domain_name: PD\n    region_name: R2\n    interface: internal\n    identity_api_version: 3\n  short:\n    auth:\n      auth_url: http://127.0.0.1:5000\n      username: u\n      password: p\n      project_id: abc\n      domain_name: D\n  nopass:\n    auth:\n      auth_url: http://127.0.0.1:5000\n      username: u\n      project_name: p\n";

#[test]
fn clouds_yaml_entries_become_credentials() {
    let y = CloudsYaml::parse(Path::new("c.yaml"), CLOUDS).unwrap();
    let full = y.credentials("full").unwrap();
    assert_eq!(
        (full.username.as_str(), full.user_domain_name.as_str(), full.project_domain_name.as_str(), full.interface.as_str()),
        ("u", "UD", "PD", "internal")
    );
    assert_eq!((full.project_name.as_deref(), full.region_name.as_deref()), (Some("proj"), Some("R2")));
    assert_eq!((full.auth_type, full.tls.clone()), (AuthType::Password, TlsOptions::default()));
    let short = y.credentials("short").unwrap();
    assert_eq!((short.user_domain_name.as_str(), short.project_id.as_deref(), short.interface.as_str()), ("D", Some("abc"), "public"));
}

#[test]
fn unknown_and_incomplete_clouds_are_named() {
    let y = CloudsYaml::parse(Path::new("c.yaml"), CLOUDS).unwrap();
    let e = y.credentials("nope").unwrap_err().to_string();
    assert!(e.contains("'nope'") && e.contains("c.yaml") && e.contains("full, nopass, short"), "{e}");
    assert_eq!(y.credentials("nopass").unwrap_err().to_string(), "cloud 'nopass' in c.yaml has no auth.password");
    assert!(CloudsYaml::parse(Path::new("c.yaml"), "clouds: [1, 2]").is_err());
}

#[test]
fn secure_yaml_is_merged_over_clouds_yaml() {
    let clouds = "clouds:\n  c:\n    auth:\n      auth_url: https://k:5000/v3\n      username: u\n      password: old\n      project_name: p\n    region_name: R1\n";
    let secure =
        "clouds:\n  c:\n    auth:\n      password: from-secure\n    region_name: R9\n  only-secret:\n    auth:\n      password: x\n";
    let y = CloudsYaml::parse_with_secure(Path::new("c.yaml"), clouds, Some((Path::new("s.yaml"), secure))).unwrap();
    let c = y.credentials("c").unwrap();
    assert_eq!((c.password.as_str(), c.username.as_str(), c.region_name.as_deref()), ("from-secure", "u", Some("R9")));
    // A cloud only in secure.yaml exists but lacks what clouds.yaml would have given.
    assert_eq!(y.credentials("only-secret").unwrap_err().to_string(), "cloud 'only-secret' in c.yaml has no auth.auth_url");
}

#[test]
fn every_auth_type_and_its_required_options() {
    let cloud = |auth_type: &str, auth: &str| {
        let text = format!("clouds:\n  c:\n    auth_type: {auth_type}\n    auth:\n      auth_url: https://k/v3\n{auth}");
        CloudsYaml::parse(Path::new("c.yaml"), &text).unwrap().credentials("c")
    };
    let by_id = cloud("v3applicationcredential", "      application_credential_id: ID\n      application_credential_secret: S\n").unwrap();
    assert_eq!(by_id.auth_type, AuthType::ApplicationCredential);
    assert_eq!(by_id.auth_request().unwrap()["auth"]["identity"]["application_credential"], serde_json::json!({"id": "ID", "secret": "S"}));
    assert!(by_id.auth_request().unwrap()["auth"].get("scope").is_none(), "application credentials carry their own scope");
    let by_name = cloud(
        "applicationcredential",
        "      application_credential_name: N\n      application_credential_secret: S\n      username: u\n      user_domain_id: default\n",
    )
    .unwrap();
    assert_eq!(
        by_name.auth_request().unwrap()["auth"]["identity"]["application_credential"],
        serde_json::json!({"name": "N", "secret": "S", "user": {"name": "u", "domain": {"id": "default"}}})
    );
    let err = |t: &str, a: &str| cloud(t, a).unwrap_err().to_string();
    assert_eq!(
        err("v3applicationcredential", "      application_credential_id: ID\n"),
        "cloud 'c' in c.yaml has no auth.application_credential_secret"
    );
    assert_eq!(
        err("v3applicationcredential", "      application_credential_secret: S\n"),
        "cloud 'c' in c.yaml has no auth.application_credential_id"
    );
    assert_eq!(
        err("v3applicationcredential", "      application_credential_name: N\n      application_credential_secret: S\n"),
        "cloud 'c' in c.yaml has no auth.username"
    );
    let token = cloud("v3token", "      token: gAAAA\n      project_id: P\n").unwrap();
    assert_eq!(token.auth_type, AuthType::Token);
    assert!(!token.can_reauthenticate());
    assert_eq!(
        token.auth_request().unwrap()["auth"],
        serde_json::json!({"identity": {"methods": ["token"], "token": {"id": "gAAAA"}}, "scope": {"project": {"id": "P"}}})
    );
    assert_eq!(err("token", "      project_id: P\n"), "cloud 'c' in c.yaml has no auth.token");
    let password =
        cloud("v3password", "      user_id: UID\n      password: pw\n      project_name: p\n      project_domain_id: default\n").unwrap();
    assert_eq!(
        password.auth_request().unwrap()["auth"],
        serde_json::json!({"identity": {"methods": ["password"], "password": {"user": {"id": "UID", "password": "pw"}}},
            "scope": {"project": {"name": "p", "domain": {"id": "default"}}}})
    );
    assert_eq!(err("password", "      username: u\n      password: pw\n"), "cloud 'c' in c.yaml has no auth.project_name");
    let e = err("v3oidcpassword", "      username: u\n");
    assert!(e.starts_with("cloud 'c' in c.yaml: auth_type: 'v3oidcpassword' is not supported (sigstack supports password,"), "{e}");
}

#[test]
fn tls_keys_as_openstacksdk_reads_them() {
    let text = "clouds:\n  a:\n    auth: {auth_url: 'https://k/v3', username: u, password: p, project_name: p}\n    cacert: ~/ca.pem\n    cert: rel/client.pem\n    key: /abs/client.key\n  b:\n    auth: {auth_url: 'https://k/v3', username: u, password: p, project_name: p}\n    verify: false\n    cacert: ca.pem\n  c:\n    auth: {auth_url: 'https://k/v3', username: u, password: p, project_name: p}\n    insecure: true\n    verify: true\n  d:\n    auth: {auth_url: 'https://k/v3', username: u, password: p, project_name: p}\n    verify: maybe\n";
    let y = CloudsYaml::parse(Path::new("c.yaml"), text).unwrap();
    let home = std::env::var("HOME").unwrap_or_default();
    let a = y.credentials("a").unwrap().tls;
    assert_eq!(a.cacert, Some(PathBuf::from(format!("{home}/ca.pem"))));
    assert_eq!((a.cert, a.key, a.insecure), (Some(PathBuf::from("rel/client.pem")), Some(PathBuf::from("/abs/client.key")), false));
    let b = y.credentials("b").unwrap().tls;
    assert!(b.insecure, "verify: false turns verification off even with a cacert");
    assert!(y.credentials("c").unwrap().tls.insecure, "insecure wins over verify");
    assert_eq!(y.credentials("d").unwrap_err().to_string(), "cloud 'd' in c.yaml: verify: 'maybe' is not true or false");
}

#[test]
fn region_interface_overrides_and_api_versions() {
    let base = "    auth: {auth_url: 'https://k/v3', username: u, password: p, project_name: p}\n";
    let cloud = |extra: &str| CloudsYaml::parse(Path::new("c.yaml"), &format!("clouds:\n  c:\n{base}{extra}")).unwrap().credentials("c");
    let c = cloud("    endpoint_type: internalURL\n    image_endpoint_override: https://glance:9292\n    block_storage_endpoint_override: https://cinder:8776/v3/%(project_id)s\n    identity_api_version: '3'\n    compute_api_version: '2.63'\n    volume_api_version: 3\n").unwrap();
    assert_eq!(c.interface, "internal");
    assert_eq!(c.endpoint_overrides.get("image").map(String::as_str), Some("https://glance:9292"));
    assert_eq!(c.endpoint_overrides.get("block-storage").map(String::as_str), Some("https://cinder:8776/v3/%(project_id)s"));
    assert_eq!(
        cloud("    interface: weird\n").unwrap_err().to_string(),
        "cloud 'c' in c.yaml: interface: 'weird' is not an interface (public, internal or admin)"
    );
    assert_eq!(
        cloud("    identity_api_version: 2\n").unwrap_err().to_string(),
        "cloud 'c' in c.yaml: identity_api_version: version 2 is not supported (sigstack speaks 3)"
    );
    assert_eq!(
        cloud("    volume_api_version: 2\n").unwrap_err().to_string(),
        "cloud 'c' in c.yaml: volume_api_version: version 2 is not supported (sigstack speaks 3)"
    );
    assert_eq!(
        cloud("    foo_endpoint_override: https://x\n").unwrap_err().to_string(),
        "cloud 'c' in c.yaml: foo_endpoint_override: unknown service type 'foo'"
    );
    assert_eq!(
        cloud("    image_endpoint_override: glance:9292\n").unwrap_err().to_string(),
        "cloud 'c' in c.yaml: image_endpoint_override: 'glance:9292' is not an http(s) URL"
    );
}

const OPENRC: [(&str, &str); 9] = [
    ("OS_AUTH_URL", "https://keystone.example:5000/v3"),
    ("OS_USERNAME", "ops"),
    ("OS_PASSWORD", "secret"),
    ("OS_PROJECT_NAME", "admin"),
    ("OS_USER_DOMAIN_NAME", "Users"),
    ("OS_PROJECT_DOMAIN_ID", "default"),
    ("OS_REGION_NAME", "RegionTwo"),
    ("OS_INTERFACE", "internal"),
    ("OS_IDENTITY_API_VERSION", "3"),
];

#[test]
fn an_openrc_is_the_envvars_cloud_when_no_cloud_is_named() {
    let (_dir, search) = dir_with(&[("clouds.yaml", CLOUDS)]);
    let mut e = env(&OPENRC);
    e.insert("OS_CACERT".into(), "/etc/ca.pem".into());
    let r = resolve(None, None, &e, &search).unwrap();
    assert_eq!((r.name.as_str(), r.source.as_str()), ("envvars", "the environment (OS_* variables)"));
    let c = r.credentials;
    assert_eq!((c.auth_url.as_str(), c.username.as_str(), c.password.as_str()), ("https://keystone.example:5000/v3", "ops", "secret"));
    assert_eq!(
        (c.user_domain_name.as_str(), c.project_domain_id.as_deref(), c.project_name.as_deref()),
        ("Users", Some("default"), Some("admin"))
    );
    assert_eq!((c.region_name.as_deref(), c.interface.as_str()), (Some("RegionTwo"), "internal"));
    assert_eq!(c.tls.cacert, Some(PathBuf::from("/etc/ca.pem")));
    // It can be named, as `--cloud envvars` (the name OS_CLOUD_NAME gives it).
    let named = resolve(Some("envvars"), None, &e, &search).unwrap();
    assert_eq!((named.name.as_str(), named.credentials.username.as_str()), ("envvars", "ops"));
    e.insert("OS_CLOUD_NAME".into(), "mine".into());
    assert_eq!(resolve(None, None, &e, &search).unwrap().name, "mine");
    assert_eq!(resolve(Some("mine"), None, &e, &search).unwrap().credentials.username, "ops");
}

#[test]
fn application_credentials_from_the_environment() {
    let (_dir, search) = dir_with(&[]);
    let e = env(&[
        ("OS_AUTH_TYPE", "v3applicationcredential"),
        ("OS_AUTH_URL", "https://k:5000"),
        ("OS_APPLICATION_CREDENTIAL_ID", "ac-id"),
        ("OS_APPLICATION_CREDENTIAL_SECRET", "ac-secret"),
    ]);
    let c = resolve(None, None, &e, &search).unwrap().credentials;
    assert_eq!((c.auth_type, c.application_credential_id.as_deref()), (AuthType::ApplicationCredential, Some("ac-id")));
    let e =
        env(&[("OS_AUTH_TYPE", "v3applicationcredential"), ("OS_AUTH_URL", "https://k:5000"), ("OS_APPLICATION_CREDENTIAL_ID", "ac-id")]);
    assert_eq!(
        resolve(None, None, &e, &search).unwrap_err().to_string(),
        "cloud 'envvars' in the environment (OS_* variables) has no auth.application_credential_secret"
    );
    let e = env(&[("OS_AUTH_TYPE", "saml2"), ("OS_AUTH_URL", "https://k:5000")]);
    assert!(resolve(None, None, &e, &search).unwrap_err().to_string().contains("auth_type: 'saml2' is not supported"));
}

#[test]
fn a_named_cloud_wins_over_the_environment_and_os_cacert_applies_to_it() {
    let (_dir, search) = dir_with(&[("clouds.yaml", CLOUDS)]);
    let mut e = env(&OPENRC);
    e.insert("OS_CACERT".into(), "~/private-ca.pem".into());
    e.insert("OS_INSECURE".into(), "false".into());
    e.insert("OS_CERT".into(), "/pki/me.pem".into());
    e.insert("OS_KEY".into(), "/pki/me.key".into());
    let r = resolve(Some("full"), None, &e, &search).unwrap();
    assert_eq!((r.name.as_str(), r.credentials.username.as_str()), ("full", "u"));
    assert_eq!(r.credentials.tls.cacert, Some(search.home.clone().unwrap().join("private-ca.pem")));
    assert_eq!(
        (r.credentials.tls.cert.as_deref(), r.credentials.tls.key.as_deref()),
        (Some(Path::new("/pki/me.pem")), Some(Path::new("/pki/me.key")))
    );
    assert!(!r.credentials.tls.insecure);
    // $OS_CLOUD names it too.
    let e = env(&[("OS_CLOUD", "short"), ("OS_INSECURE", "true")]);
    let r = resolve(None, None, &e, &search).unwrap();
    assert_eq!((r.name.as_str(), r.credentials.project_id.as_deref(), r.credentials.tls.insecure), ("short", Some("abc"), true));
}

#[test]
fn without_a_name_or_environment_the_only_cloud_is_used() {
    let only = "clouds:\n  solo:\n    auth: {auth_url: 'https://k/v3', username: u, password: p, project_name: p}\n";
    let (_dir, search) = dir_with(&[("clouds.yaml", only)]);
    // Selectors alone do not make an envvars cloud.
    let e = env(&[("OS_REGION_NAME", "R")]);
    assert_eq!(resolve(None, None, &e, &search).unwrap().name, "solo");
    let (_dir, search) = dir_with(&[("clouds.yaml", CLOUDS)]);
    let e = resolve(None, None, &Environment::new(), &search).unwrap_err();
    assert_eq!(e.to_string(), "no cloud given: pass --cloud NAME, set OS_CLOUD, or source an openrc file (OS_AUTH_URL, OS_USERNAME, ...)");
    let (_dir, search) = dir_with(&[]);
    let e = resolve(None, None, &Environment::new(), &search).unwrap_err().to_string();
    assert!(e.starts_with("no cloud given:") && e.contains("no clouds.yaml found"), "{e}");
}

#[test]
fn secure_yaml_is_found_on_the_search_path() {
    let clouds = "clouds:\n  c:\n    auth: {auth_url: 'https://k/v3', username: u, project_name: p}\n";
    let (_dir, search) = dir_with(&[("clouds.yaml", clouds), ("secure.yml", "clouds:\n  c:\n    auth: {password: hidden}\n")]);
    let r = resolve(Some("c"), None, &Environment::new(), &search).unwrap();
    assert_eq!(r.credentials.password, "hidden");
    // $OS_CLIENT_SECURE_FILE comes first.
    let (dir, mut search) = dir_with(&[
        ("clouds.yaml", clouds),
        ("secure.yaml", "clouds:\n  c:\n    auth: {password: cwd}\n"),
        ("mine.yaml", "clouds:\n  c:\n    auth: {password: mine}\n"),
    ]);
    search.secure_file = Some(dir.path().join("mine.yaml"));
    assert_eq!(resolve(Some("c"), None, &Environment::new(), &search).unwrap().credentials.password, "mine");
}

#[test]
fn the_v3_link_is_found_in_keystone_version_documents() {
    use crate::auth::{names_v3, v3_from_versions};
    let multiple = serde_json::json!({"versions": {"values": [
        {"id": "v3.14", "status": "stable", "links": [{"rel": "self", "href": "https://k/identity/v3/"}]},
        {"id": "v2.0", "status": "deprecated", "links": [{"rel": "self", "href": "https://k/identity/v2.0/"}]}]}});
    assert_eq!(v3_from_versions(&multiple).as_deref(), Some("https://k/identity/v3"));
    let single =
        serde_json::json!({"version": {"id": "v3.14", "status": "stable", "links": [{"rel": "self", "href": "http://k:5000/v3/"}]}});
    assert_eq!(v3_from_versions(&single).as_deref(), Some("http://k:5000/v3"));
    assert_eq!(v3_from_versions(&serde_json::json!({"versions": {"values": []}})), None);
    assert!(names_v3("http://k:5000/v3/") && names_v3("https://k/identity/v3") && !names_v3("https://k/identity"));
}
