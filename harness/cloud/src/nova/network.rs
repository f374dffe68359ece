//! Nova's Neutron calls (`nova.network.neutron.API`), with the user's token as Nova makes them:
//! the API checks requested networks and ports (`validate_networks`), the compute host plugs a
//! port into each requested network once the guest spawned (`allocate_for_instance`; a build
//! that fails leaves none, as `_cleanup_allocated_networks` does), and deleting the server
//! removes them (`deallocate_for_instance`). The server keeps the addresses Neutron gave it
//! (the instance's network info cache), which `addresses` shows.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sigstack_client::Session;

use super::fault::NovaFault;
use super::schema::NetworkRequest;

/// What the compute host asks Neutron for: a network to plug into, or a port the user made.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum RequestedNic {
    Network(String),
    Port(String),
}

fn url(session: &Session, path: &str) -> Result<String, NovaFault> {
    let base = session.endpoint("network").map_err(|e| NovaFault::internal_because(format!("no network endpoint: {e}")))?;
    Ok(format!("{}/v2.0{path}", base.trim_end_matches('/')))
}

async fn call(session: &Session, method: Method, path: &str, body: Option<Value>) -> Result<(StatusCode, Value), NovaFault> {
    let mut request = session.request(method, &url(session, path)?);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = session.send_answered(request).await.map_err(|e| NovaFault::internal_because(format!("Neutron {path}: {e}")))?;
    let status = response.status();
    let body = response.json::<Value>().await.unwrap_or(Value::Null);
    Ok((status, body))
}

/// `validate_networks`: each network must be visible to the user, each port free.
pub async fn validate(session: &Session, requested: &[NetworkRequest]) -> Result<Vec<RequestedNic>, NovaFault> {
    let mut nics = Vec::new();
    for request in requested {
        match request {
            NetworkRequest::Network(id) => {
                let (status, _) = call(session, Method::GET, &format!("/networks/{id}"), None).await?;
                if !status.is_success() {
                    return Err(NovaFault::bad_request(format!("Network {id} could not be found.")));
                }
                nics.push(RequestedNic::Network(id.clone()));
            }
            NetworkRequest::Port(id) => {
                let (status, port) = call(session, Method::GET, &format!("/ports/{id}"), None).await?;
                if !status.is_success() {
                    return Err(NovaFault::bad_request(format!("Port id {id} could not be found.")));
                }
                if port["port"]["device_id"].as_str().is_some_and(|d| !d.is_empty()) {
                    return Err(NovaFault::conflict(format!("Port {id} is still in use.")));
                }
                nics.push(RequestedNic::Port(id.clone()));
            }
        }
    }
    Ok(nics)
}

/// `allocate_for_instance`: a port per requested network (or the user's port, bound to the
/// server), and the addresses as the network info cache renders them, by network name.
pub async fn allocate(session: &Session, server_id: &str, nics: &[RequestedNic]) -> Result<Value, NovaFault> {
    let mut addresses = serde_json::Map::new();
    for nic in nics {
        let device = json!({"device_id": server_id, "device_owner": "compute:nova"});
        let (status, port) = match nic {
            RequestedNic::Network(network_id) => {
                let mut body = device;
                body["network_id"] = json!(network_id);
                call(session, Method::POST, "/ports", Some(json!({"port": body}))).await?
            }
            RequestedNic::Port(port_id) => call(session, Method::PUT, &format!("/ports/{port_id}"), Some(json!({"port": device}))).await?,
        };
        if !status.is_success() {
            let reason = port["NeutronError"]["message"].as_str().unwrap_or_default().to_owned();
            return Err(NovaFault::internal_because(format!("Neutron refused a port ({status}): {reason}")));
        }
        let port = &port["port"];
        let network_id = port["network_id"].as_str().unwrap_or_default();
        let (_, network) = call(session, Method::GET, &format!("/networks/{network_id}"), None).await?;
        let name = network["network"]["name"].as_str().unwrap_or(network_id).to_owned();
        let entry = addresses.entry(name).or_insert_with(|| json!([]));
        for ip in port["fixed_ips"].as_array().into_iter().flatten() {
            let addr = ip["ip_address"].as_str().unwrap_or_default();
            let version = if addr.contains(':') { 6 } else { 4 };
            if let Some(list) = entry.as_array_mut() {
                list.push(
                    json!({"version": version, "addr": addr, "OS-EXT-IPS:type": "fixed", "OS-EXT-IPS-MAC:mac_addr": port["mac_address"]}),
                );
            }
        }
    }
    Ok(Value::Object(addresses))
}

/// `deallocate_for_instance`: the ports Nova made are deleted, the user's own are unbound.
pub async fn deallocate(session: &Session, server_id: &str, nics: &[RequestedNic]) {
    let Ok((_, ports)) = call(session, Method::GET, &format!("/ports?device_id={server_id}"), None).await else { return };
    for port in ports["ports"].as_array().into_iter().flatten() {
        let id = port["id"].as_str().unwrap_or_default();
        let users_own = nics.iter().any(|n| *n == RequestedNic::Port(id.to_owned()));
        let done = match users_own {
            true => call(session, Method::PUT, &format!("/ports/{id}"), Some(json!({"port": {"device_id": "", "device_owner": ""}}))).await,
            false => call(session, Method::DELETE, &format!("/ports/{id}"), None).await,
        };
        if let Err(e) = done {
            crate::logging::cause(format!("releasing port {id} of server {server_id}: {}", e.message));
        }
    }
}
