//! Steps shared by every feature: response checks, role grants, and the `/_sim/` control API
//! (`@simulated` scenarios only).

use cucumber::{given, then};
use reqwest::Method;
use serde_json::{Value, json};

use crate::world::Conformance;

#[then(expr = "the request is answered {int}")]
async fn answered(w: &mut Conformance, status: u16) {
    let a = w.answer();
    assert_eq!(a.status, status, "body: {}", a.body);
}

#[then(expr = "the request is answered {int} with the message {string}")]
async fn answered_with(w: &mut Conformance, status: u16, message: String) {
    let expected = w.expand(&message);
    let a = w.answer();
    assert_eq!((a.status, sigstack_client::error::error_message(&a.body)), (status, expected), "body: {}", a.body);
}

#[given(expr = "{string} holds the {string} role in its project")]
async fn holds_role(w: &mut Conformance, user: String, role: String) {
    let admin = w.session("admin").await;
    let s = w.session(&user).await;
    let identity = admin.endpoint("identity").expect("identity endpoint");
    let identity = sigstack_client::session::v3_url(&identity);
    let roles: Value = admin
        .json(admin.request(Method::GET, &format!("{identity}/roles")).query(&[("name", role.as_str())]))
        .await
        .expect("roles listed");
    let role_id = roles["roles"][0]["id"].as_str().unwrap_or_else(|| panic!("no role {role}: {roles}")).to_owned();
    let project = &s.token().project.as_ref().expect("project-scoped token").id;
    let url = format!("{identity}/projects/{project}/users/{}/roles/{role_id}", s.token().user.id);
    admin.send(admin.request(Method::PUT, &url)).await.expect("role granted");
    w.grants.push(url);
}

#[given(expr = "the simulated Barbican answers {int} to {string}")]
async fn barbican_fault(w: &mut Conformance, status: u16, operation: String) {
    let base = w.sim_base().await;
    let fault = json!({"service": "barbican", "operation": operation,
        "action": {"fail": {"status": status, "body": {"code": status, "title": "Service Unavailable", "description": "injected"}}}});
    let http = sigstack_client::session::http_client();
    let r = http.post(format!("{base}/_sim/faults")).json(&fault).send().await.expect("control API answers");
    assert_eq!(r.status().as_u16(), 201);
    let body: Value = r.json().await.expect("fault JSON");
    w.faults.push(format!("{base}/_sim/faults/{}", body["id"].as_str().expect("fault id")));
}
