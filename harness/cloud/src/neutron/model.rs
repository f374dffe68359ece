//! Neutron's state and rules: networks, subnets (with IP allocation from their pools), ports,
//! routers and their interfaces, security groups and rules, per project, in one SQLite table
//! `neutron_resources` holding each resource as Neutron renders it (ML2/OVN's default
//! attributes). The rules are the ones neutron's plugin applies: ownership and visibility,
//! in-use checks on delete, the per-project `default` security group created on first use.

use std::net::IpAddr;
use std::sync::Arc;

use rusqlite::{OptionalExtension, params};
use serde_json::{Map, Value, json};

use super::fault::NeutronError;
use super::ip::{Cidr, Pool};
use crate::store::{Store, StoreError};
use crate::wire::{AuthContext, format_keystone};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS neutron_resources (
    kind TEXT NOT NULL, id TEXT NOT NULL, project_id TEXT NOT NULL, created INTEGER NOT NULL,
    body TEXT NOT NULL, PRIMARY KEY (kind, id));
CREATE INDEX IF NOT EXISTS neutron_resources_project ON neutron_resources (kind, project_id, created);
";

/// The resources this Neutron keeps, by their collection name on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Network,
    Subnet,
    Port,
    Router,
    SecurityGroup,
    SecurityGroupRule,
}

impl Kind {
    /// The member name (`network`), as in the JSON bodies.
    pub fn member(self) -> &'static str {
        match self {
            Kind::Network => "network",
            Kind::Subnet => "subnet",
            Kind::Port => "port",
            Kind::Router => "router",
            Kind::SecurityGroup => "security_group",
            Kind::SecurityGroupRule => "security_group_rule",
        }
    }

    /// The collection name (`networks`), as in the JSON bodies.
    pub fn collection(self) -> &'static str {
        match self {
            Kind::Network => "networks",
            Kind::Subnet => "subnets",
            Kind::Port => "ports",
            Kind::Router => "routers",
            Kind::SecurityGroup => "security_groups",
            Kind::SecurityGroupRule => "security_group_rules",
        }
    }

    /// The resource's not-found error for `id`.
    pub fn not_found(self, id: &str) -> NeutronError {
        match self {
            Kind::Network => NeutronError::not_found("NetworkNotFound", format!("Network {id} could not be found.")),
            Kind::Subnet => NeutronError::not_found("SubnetNotFound", format!("Subnet {id} could not be found.")),
            Kind::Port => NeutronError::not_found("PortNotFound", format!("Port {id} could not be found.")),
            Kind::Router => NeutronError::not_found("RouterNotFound", format!("Router {id} could not be found")),
            Kind::SecurityGroup => NeutronError::not_found("SecurityGroupNotFound", format!("Security group {id} does not exist")),
            Kind::SecurityGroupRule => {
                NeutronError::not_found("SecurityGroupRuleNotFound", format!("Security group rule {id} does not exist"))
            }
        }
    }
}

/// Simulated Neutron's state.
pub struct NetworkService {
    store: Arc<Store>,
}

/// A new resource's common attributes: ids, owner, the standard attributes every Neutron
/// resource carries.
pub(super) fn standard(project_id: &str) -> Map<String, Value> {
    let now = format_keystone(time::OffsetDateTime::now_utc());
    let mut body = Map::new();
    body.insert("id".into(), json!(uuid::Uuid::new_v4().to_string()));
    body.insert("tenant_id".into(), json!(project_id));
    body.insert("project_id".into(), json!(project_id));
    body.insert("description".into(), json!(""));
    body.insert("tags".into(), json!([]));
    body.insert("created_at".into(), json!(now));
    body.insert("updated_at".into(), json!(now));
    body.insert("revision_number".into(), json!(0));
    body
}

pub fn text<'a>(body: &'a Map<String, Value>, key: &str) -> &'a str {
    body.get(key).and_then(Value::as_str).unwrap_or_default()
}

impl NetworkService {
    pub fn open(store: Arc<Store>) -> Result<NetworkService, StoreError> {
        store.migrate(SCHEMA)?;
        Ok(NetworkService { store })
    }

    pub(super) fn insert(&self, kind: Kind, body: &Map<String, Value>) -> Result<(), NeutronError> {
        let created = time::OffsetDateTime::now_utc().unix_timestamp_nanos() as i64 / 1000;
        let body_text = Value::Object(body.clone()).to_string();
        self.store.with(|c| {
            c.execute(
                "INSERT INTO neutron_resources (kind, id, project_id, created, body) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![kind.member(), text(body, "id"), text(body, "project_id"), created, body_text],
            )
        })?;
        Ok(())
    }

    pub(super) fn save(&self, kind: Kind, body: &mut Map<String, Value>) -> Result<(), NeutronError> {
        let revision = body.get("revision_number").and_then(Value::as_i64).unwrap_or(0) + 1;
        body.insert("revision_number".into(), json!(revision));
        body.insert("updated_at".into(), json!(format_keystone(time::OffsetDateTime::now_utc())));
        let body_text = Value::Object(body.clone()).to_string();
        self.store.with(|c| {
            c.execute(
                "UPDATE neutron_resources SET body = ?3 WHERE kind = ?1 AND id = ?2",
                params![kind.member(), text(body, "id"), body_text],
            )
        })?;
        Ok(())
    }

    pub(super) fn remove(&self, kind: Kind, id: &str) -> Result<(), NeutronError> {
        self.store.with(|c| c.execute("DELETE FROM neutron_resources WHERE kind = ?1 AND id = ?2", params![kind.member(), id]))?;
        Ok(())
    }

    /// Every resource of a kind, oldest first, whoever owns it.
    pub fn all(&self, kind: Kind) -> Result<Vec<Map<String, Value>>, NeutronError> {
        let rows: Vec<String> = self.store.with(|c| {
            let mut stmt = c.prepare("SELECT body FROM neutron_resources WHERE kind = ?1 ORDER BY created, id")?;
            stmt.query_map(params![kind.member()], |r| r.get(0))?.collect()
        })?;
        Ok(rows.iter().filter_map(|b| serde_json::from_str::<Value>(b).ok()).filter_map(|v| v.as_object().cloned()).collect())
    }

    pub(super) fn find(&self, kind: Kind, id: &str) -> Result<Option<Map<String, Value>>, NeutronError> {
        let row: Option<String> = self.store.with(|c| {
            c.query_row("SELECT body FROM neutron_resources WHERE kind = ?1 AND id = ?2", params![kind.member(), id], |r| r.get(0))
                .optional()
        })?;
        Ok(row.and_then(|b| serde_json::from_str::<Value>(&b).ok()).and_then(|v| v.as_object().cloned()))
    }

    /// What the caller may see: its own project's resources, shared and external networks;
    /// an admin sees everything.
    fn visible(caller: &AuthContext, kind: Kind, body: &Map<String, Value>) -> bool {
        caller.is_admin()
            || text(body, "project_id") == caller.project_id
            || (kind == Kind::Network && (body.get("shared") == Some(&json!(true)) || body.get("router:external") == Some(&json!(true))))
    }

    /// `GET /v2.0/<collection>`: what the caller may see (filters are the caller's business).
    pub fn list(&self, caller: &AuthContext, kind: Kind) -> Result<Vec<Map<String, Value>>, NeutronError> {
        if kind == Kind::SecurityGroup && !caller.project_id.is_empty() {
            self.ensure_default_security_group(&caller.project_id)?;
        }
        Ok(self.all(kind)?.into_iter().filter(|b| Self::visible(caller, kind, b)).collect())
    }

    /// `GET /v2.0/<collection>/{id}`: another project's resource is not found, as Neutron's
    /// policy hides it.
    pub fn get(&self, caller: &AuthContext, kind: Kind, id: &str) -> Result<Map<String, Value>, NeutronError> {
        match self.find(kind, id)? {
            Some(body) if Self::visible(caller, kind, &body) => Ok(body),
            _ => Err(kind.not_found(id)),
        }
    }

    /// The resource the caller may change: visible and owned (or admin).
    pub(super) fn owned(&self, caller: &AuthContext, kind: Kind, id: &str) -> Result<Map<String, Value>, NeutronError> {
        let body = self.get(caller, kind, id)?;
        if !caller.is_admin() && text(&body, "project_id") != caller.project_id {
            return Err(NeutronError::policy(&format!("update_{}", kind.member())));
        }
        Ok(body)
    }

    /// The project a new resource belongs to: the caller's, or (admin only) the one asked for.
    pub(super) fn owner(caller: &AuthContext, request: &Map<String, Value>) -> Result<String, NeutronError> {
        let asked = request.get("project_id").or_else(|| request.get("tenant_id")).and_then(Value::as_str);
        match asked {
            Some(p) if p != caller.project_id && !caller.is_admin() => Err(NeutronError::bad_request(
                "Specifying 'project_id' or 'tenant_id' other than the authenticated project in request requires admin privileges"
                    .to_owned(),
            )),
            Some(p) => Ok(p.to_owned()),
            None => Ok(caller.project_id.clone()),
        }
    }

    pub fn create_network(&self, caller: &AuthContext, request: &Map<String, Value>) -> Result<Map<String, Value>, NeutronError> {
        let project = Self::owner(caller, request)?;
        for privileged in ["shared", "router:external"] {
            if request.get(privileged) == Some(&json!(true)) && !caller.is_admin() {
                return Err(NeutronError::policy(&format!("create_network:{privileged}")));
            }
        }
        let mut body = standard(&project);
        body.insert("name".into(), json!(text(request, "name")));
        body.insert("admin_state_up".into(), request.get("admin_state_up").cloned().unwrap_or(json!(true)));
        body.insert("mtu".into(), json!(1442));
        body.insert("status".into(), json!("ACTIVE"));
        body.insert("subnets".into(), json!([]));
        body.insert("shared".into(), request.get("shared").cloned().unwrap_or(json!(false)));
        body.insert("availability_zone_hints".into(), json!([]));
        body.insert("availability_zones".into(), json!([]));
        body.insert("ipv4_address_scope".into(), Value::Null);
        body.insert("ipv6_address_scope".into(), Value::Null);
        body.insert("router:external".into(), request.get("router:external").cloned().unwrap_or(json!(false)));
        body.insert("port_security_enabled".into(), request.get("port_security_enabled").cloned().unwrap_or(json!(true)));
        body.insert("qos_policy_id".into(), Value::Null);
        body.insert("l2_adjacency".into(), json!(true));
        if let Some(d) = request.get("description") {
            body.insert("description".into(), d.clone());
        }
        body.insert("revision_number".into(), json!(1));
        self.insert(Kind::Network, &body)?;
        Ok(body)
    }

    pub fn create_subnet(&self, caller: &AuthContext, request: &Map<String, Value>) -> Result<Map<String, Value>, NeutronError> {
        // Required attributes in the order of neutron's attribute map, before any lookup.
        if !request.contains_key("ip_version") {
            return Err(NeutronError::bad_request("Failed to parse request. Required attribute 'ip_version' not specified".into()));
        }
        let network_id = required(request, "network_id")?;
        let cidr_text = required(request, "cidr")?;
        let mut network = self.get(caller, Kind::Network, network_id)?;
        let cidr = Cidr::parse(cidr_text)
            .ok_or_else(|| NeutronError::bad_request(format!("Invalid input for cidr. Reason: '{cidr_text}' is not a valid IP subnet.")))?;
        let ip_version = request.get("ip_version").and_then(Value::as_i64).unwrap_or(0);
        if ip_version != cidr.version() {
            return Err(NeutronError::bad_request(format!(
                "Invalid input for operation: Cidr {cidr_text} does not match ip_version {}.",
                request.get("ip_version").map(Value::to_string).unwrap_or_default()
            )));
        }
        let project = Self::owner(caller, request)?;
        if text(&network, "project_id") != project && !caller.is_admin() && network.get("shared") != Some(&json!(true)) {
            return Err(NeutronError::policy("create_subnet"));
        }
        for other in self.all(Kind::Subnet)?.iter().filter(|s| text(s, "network_id") == network_id) {
            if Cidr::parse(text(other, "cidr")).is_some_and(|o| o.overlaps(&cidr)) {
                return Err(NeutronError::bad_request(format!(
                    "Invalid input for operation: Requested subnet with cidr: {cidr} for network: {network_id} overlaps with another subnet."
                )));
            }
        }
        let gateway = match request.get("gateway_ip") {
            Some(Value::Null) => Value::Null,
            Some(Value::String(g)) => json!(g),
            _ => json!(cidr.host(1).to_string()),
        };
        let pool = cidr.default_pool(gateway.as_str().and_then(|g| g.parse().ok()));
        let mut body = standard(&project);
        body.insert("name".into(), json!(text(request, "name")));
        body.insert("network_id".into(), json!(network_id));
        body.insert("ip_version".into(), json!(ip_version));
        body.insert("subnetpool_id".into(), Value::Null);
        body.insert("enable_dhcp".into(), request.get("enable_dhcp").cloned().unwrap_or(json!(true)));
        body.insert("ipv6_ra_mode".into(), Value::Null);
        body.insert("ipv6_address_mode".into(), Value::Null);
        body.insert("gateway_ip".into(), gateway);
        body.insert("cidr".into(), json!(cidr.to_string()));
        body.insert(
            "allocation_pools".into(),
            json!(pool.iter().map(|p| json!({"start": p.start.to_string(), "end": p.end.to_string()})).collect::<Vec<_>>()),
        );
        body.insert("host_routes".into(), json!([]));
        body.insert("dns_nameservers".into(), request.get("dns_nameservers").cloned().unwrap_or(json!([])));
        body.insert("service_types".into(), json!([]));
        self.insert(Kind::Subnet, &body)?;
        let subnets = network.entry("subnets").or_insert(json!([]));
        if let Some(list) = subnets.as_array_mut() {
            list.push(json!(text(&body, "id")));
        }
        self.save(Kind::Network, &mut network)?;
        Ok(body)
    }

    /// Every IP address allocated on a subnet.
    fn allocated(&self, subnet_id: &str) -> Result<Vec<IpAddr>, NeutronError> {
        Ok(self
            .all(Kind::Port)?
            .iter()
            .flat_map(|p| p.get("fixed_ips").and_then(Value::as_array).cloned().unwrap_or_default())
            .filter(|ip| ip.get("subnet_id").and_then(Value::as_str) == Some(subnet_id))
            .filter_map(|ip| ip.get("ip_address").and_then(Value::as_str).and_then(|a| a.parse().ok()))
            .collect())
    }

    /// The next free address of the subnet's pools (`IpAddressGenerationFailure` when none).
    fn allocate(&self, subnet: &Map<String, Value>) -> Result<IpAddr, NeutronError> {
        let used = self.allocated(text(subnet, "id"))?;
        let pools: Vec<Pool> = subnet
            .get("allocation_pools")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|p| Some(Pool { start: p.get("start")?.as_str()?.parse().ok()?, end: p.get("end")?.as_str()?.parse().ok()? }))
            .collect();
        pools.iter().find_map(|p| p.first_free(&used)).ok_or_else(|| {
            NeutronError::conflict(
                "IpAddressGenerationFailure",
                format!("No more IP addresses available on network {}.", text(subnet, "network_id")),
            )
        })
    }

    pub fn create_port(&self, caller: &AuthContext, request: &Map<String, Value>) -> Result<Map<String, Value>, NeutronError> {
        let network_id = required(request, "network_id")?;
        let network = self.get(caller, Kind::Network, network_id)?;
        let project = Self::owner(caller, request)?;
        let subnets: Vec<Map<String, Value>> =
            self.all(Kind::Subnet)?.into_iter().filter(|s| text(s, "network_id") == network_id).collect();
        let mut fixed_ips = Vec::new();
        match request.get("fixed_ips").and_then(Value::as_array) {
            Some(asked) => {
                for item in asked {
                    let subnet_id = item.get("subnet_id").and_then(Value::as_str).unwrap_or_default();
                    let subnet = subnets.iter().find(|s| text(s, "id") == subnet_id).ok_or_else(|| {
                        NeutronError::bad_request(format!(
                            "Invalid input for operation: Failed to create port on network {network_id}, because fixed_ips included invalid subnet {subnet_id}."
                        ))
                    })?;
                    let address = match item.get("ip_address").and_then(Value::as_str) {
                        Some(a) => a.to_owned(),
                        None => self.allocate(subnet)?.to_string(),
                    };
                    fixed_ips.push(json!({"subnet_id": subnet_id, "ip_address": address}));
                }
            }
            // One address from the first IPv4 subnet, as the IPAM driver picks.
            None => {
                if let Some(subnet) = subnets.iter().find(|s| s.get("ip_version") == Some(&json!(4))).or(subnets.first()) {
                    fixed_ips.push(json!({"subnet_id": text(subnet, "id"), "ip_address": self.allocate(subnet)?.to_string()}));
                }
            }
        }
        let device_owner = text(request, "device_owner").to_owned();
        let port_security = request.get("port_security_enabled").cloned().unwrap_or_else(|| network["port_security_enabled"].clone());
        let security_groups = match request.get("security_groups") {
            Some(groups) => groups.clone(),
            None if port_security == json!(true) && !device_owner.starts_with("network:") => {
                json!([self.ensure_default_security_group(&project)?])
            }
            None => json!([]),
        };
        let mut body = standard(&project);
        body.insert("name".into(), json!(text(request, "name")));
        body.insert("network_id".into(), json!(network_id));
        body.insert("mac_address".into(), json!(mac_address()));
        body.insert("admin_state_up".into(), request.get("admin_state_up").cloned().unwrap_or(json!(true)));
        body.insert("status".into(), json!(if device_owner.starts_with("network:router") { "ACTIVE" } else { "DOWN" }));
        body.insert("device_id".into(), json!(text(request, "device_id")));
        body.insert("device_owner".into(), json!(device_owner));
        body.insert("fixed_ips".into(), json!(fixed_ips));
        body.insert("allowed_address_pairs".into(), json!([]));
        body.insert("extra_dhcp_opts".into(), json!([]));
        body.insert("security_groups".into(), security_groups);
        body.insert("binding:vnic_type".into(), request.get("binding:vnic_type").cloned().unwrap_or(json!("normal")));
        body.insert("port_security_enabled".into(), port_security);
        body.insert("qos_policy_id".into(), Value::Null);
        body.insert("qos_network_policy_id".into(), Value::Null);
        body.insert("revision_number".into(), json!(1));
        self.insert(Kind::Port, &body)?;
        Ok(body)
    }

    pub fn create_router(&self, caller: &AuthContext, request: &Map<String, Value>) -> Result<Map<String, Value>, NeutronError> {
        let project = Self::owner(caller, request)?;
        if let Some(gateway) = request.get("external_gateway_info").filter(|g| !g.is_null()) {
            let network_id = gateway.get("network_id").and_then(Value::as_str).unwrap_or_default();
            let network = self.get(caller, Kind::Network, network_id)?;
            if network.get("router:external") != Some(&json!(true)) {
                return Err(NeutronError::bad_request(format!("Bad router request: Network {network_id} is not an external network.")));
            }
        }
        let mut body = standard(&project);
        body.insert("name".into(), json!(text(request, "name")));
        body.insert("admin_state_up".into(), request.get("admin_state_up").cloned().unwrap_or(json!(true)));
        body.insert("status".into(), json!("ACTIVE"));
        body.insert("external_gateway_info".into(), request.get("external_gateway_info").cloned().unwrap_or(Value::Null));
        body.insert("availability_zone_hints".into(), json!([]));
        body.insert("availability_zones".into(), json!([]));
        body.insert("routes".into(), json!([]));
        body.insert("flavor_id".into(), Value::Null);
        body.insert("revision_number".into(), json!(1));
        self.insert(Kind::Router, &body)?;
        Ok(body)
    }

    /// `PUT /v2.0/routers/{id}/add_router_interface` with a `subnet_id`: a port on the subnet
    /// holding its gateway address, owned by the router.
    pub fn add_router_interface(&self, caller: &AuthContext, router_id: &str, request: &Map<String, Value>) -> Result<Value, NeutronError> {
        let router = self.owned(caller, Kind::Router, router_id)?;
        let port = match (request.get("subnet_id").and_then(Value::as_str), request.get("port_id").and_then(Value::as_str)) {
            (Some(_), Some(_)) => {
                return Err(NeutronError::bad_request("Bad router request: Cannot specify both subnet-id and port-id.".to_owned()));
            }
            (None, None) => {
                return Err(NeutronError::bad_request("Bad router request: Either subnet_id or port_id must be specified.".to_owned()));
            }
            (Some(subnet_id), None) => {
                let subnet = self.get(caller, Kind::Subnet, subnet_id)?;
                let Some(gateway) = subnet.get("gateway_ip").and_then(Value::as_str) else {
                    return Err(NeutronError::bad_request(
                        "Bad router request: Subnet for router interface must have a gateway IP.".into(),
                    ));
                };
                if self.router_ports(router_id)?.iter().any(|p| port_subnets(p).contains(&subnet_id.to_owned())) {
                    return Err(NeutronError::bad_request(format!("Bad router request: Router already has a port on subnet {subnet_id}.")));
                }
                let mut port_request = Map::new();
                port_request.insert("network_id".into(), subnet["network_id"].clone());
                port_request.insert("project_id".into(), router["project_id"].clone());
                port_request.insert("device_id".into(), json!(router_id));
                port_request.insert("device_owner".into(), json!("network:router_interface"));
                port_request.insert("fixed_ips".into(), json!([{"subnet_id": subnet_id, "ip_address": gateway}]));
                self.create_port(&as_admin(caller), &port_request)?
            }
            (None, Some(port_id)) => {
                let mut port = self.owned(caller, Kind::Port, port_id)?;
                if !text(&port, "device_id").is_empty() {
                    return Err(NeutronError::conflict(
                        "PortInUse",
                        format!(
                            "Unable to complete operation on port {port_id} for network {}. Port already has an attached device {}.",
                            text(&port, "network_id"),
                            text(&port, "device_id")
                        ),
                    ));
                }
                port.insert("device_id".into(), json!(router_id));
                port.insert("device_owner".into(), json!("network:router_interface"));
                self.save(Kind::Port, &mut port)?;
                port
            }
        };
        let subnets = port_subnets(&port);
        Ok(json!({
            "network_id": port["network_id"], "tenant_id": router["tenant_id"], "subnet_id": subnets.first(),
            "subnet_ids": subnets, "port_id": port["id"], "id": router_id, "project_id": router["project_id"],
        }))
    }

    pub fn remove_router_interface(
        &self,
        caller: &AuthContext,
        router_id: &str,
        request: &Map<String, Value>,
    ) -> Result<Value, NeutronError> {
        let router = self.owned(caller, Kind::Router, router_id)?;
        let ports = self.router_ports(router_id)?;
        let port = match (request.get("port_id").and_then(Value::as_str), request.get("subnet_id").and_then(Value::as_str)) {
            (Some(port_id), _) => ports.into_iter().find(|p| text(p, "id") == port_id).ok_or_else(|| {
                NeutronError::not_found(
                    "RouterInterfaceNotFound",
                    format!("Router {router_id} does not have an interface with id {port_id}"),
                )
            })?,
            (None, Some(subnet_id)) => ports.into_iter().find(|p| port_subnets(p).contains(&subnet_id.to_owned())).ok_or_else(|| {
                NeutronError::not_found(
                    "RouterInterfaceNotFoundForSubnet",
                    format!("Router {router_id} has no interface on subnet {subnet_id}"),
                )
            })?,
            (None, None) => {
                return Err(NeutronError::bad_request("Bad router request: Either subnet_id or port_id must be specified.".to_owned()));
            }
        };
        self.remove(Kind::Port, text(&port, "id"))?;
        let subnets = port_subnets(&port);
        Ok(json!({
            "network_id": port["network_id"], "tenant_id": router["tenant_id"], "subnet_id": subnets.first(),
            "subnet_ids": subnets, "port_id": port["id"], "id": router_id, "project_id": router["project_id"],
        }))
    }

    fn router_ports(&self, router_id: &str) -> Result<Vec<Map<String, Value>>, NeutronError> {
        Ok(self
            .all(Kind::Port)?
            .into_iter()
            .filter(|p| text(p, "device_id") == router_id && text(p, "device_owner").starts_with("network:router"))
            .collect())
    }

    /// `PUT`: the attributes every resource lets its owner change.
    pub fn update(
        &self,
        caller: &AuthContext,
        kind: Kind,
        id: &str,
        request: &Map<String, Value>,
    ) -> Result<Map<String, Value>, NeutronError> {
        let mut body = self.owned(caller, kind, id)?;
        if kind == Kind::SecurityGroup && text(&body, "name") == "default" && request.get("name").is_some_and(|n| n != "default") {
            return Err(NeutronError::conflict("SecurityGroupCannotUpdateDefault", "Updating default security group not allowed.".into()));
        }
        for key in ["name", "description", "admin_state_up", "device_id", "device_owner"] {
            if let Some(v) = request.get(key).filter(|_| body.contains_key(key)) {
                body.insert(key.into(), v.clone());
            }
        }
        self.save(kind, &mut body)?;
        Ok(body)
    }

    pub fn delete(&self, caller: &AuthContext, kind: Kind, id: &str) -> Result<(), NeutronError> {
        let body = self.owned(caller, kind, id)?;
        match kind {
            Kind::Network => {
                let ports = self.all(Kind::Port)?;
                if ports.iter().any(|p| text(p, "network_id") == id && !text(p, "device_owner").starts_with("network:dhcp")) {
                    return Err(NeutronError::conflict(
                        "NetworkInUse",
                        format!("Unable to complete operation on network {id}. There are one or more ports still in use on the network."),
                    ));
                }
                for subnet in self.all(Kind::Subnet)?.iter().filter(|s| text(s, "network_id") == id) {
                    self.remove(Kind::Subnet, text(subnet, "id"))?;
                }
            }
            Kind::Subnet => {
                if !self.allocated(id)?.is_empty() {
                    return Err(NeutronError::conflict(
                        "SubnetInUse",
                        format!("Unable to complete operation on subnet {id}: One or more ports have an IP allocation from this subnet."),
                    ));
                }
                if let Some(mut network) = self.find(Kind::Network, text(&body, "network_id"))? {
                    if let Some(list) = network.get_mut("subnets").and_then(Value::as_array_mut) {
                        list.retain(|s| s != id);
                    }
                    self.save(Kind::Network, &mut network)?;
                }
            }
            Kind::Router => {
                if !self.router_ports(id)?.is_empty() {
                    return Err(NeutronError::conflict("RouterInUse", format!("Router {id} still has ports")));
                }
            }
            Kind::Port => {
                if text(&body, "device_owner").starts_with("network:router_interface") && !caller.is_admin() {
                    return Err(NeutronError::conflict(
                        "L3PortInUse",
                        format!("Port {id} cannot be deleted directly via the port API: has device owner network:router_interface."),
                    ));
                }
            }
            Kind::SecurityGroup => {
                if text(&body, "name") == "default" && !caller.is_admin() {
                    return Err(NeutronError::conflict(
                        "SecurityGroupCannotRemoveDefault",
                        "Insufficient rights for removing default security group.".into(),
                    ));
                }
                let in_use = self
                    .all(Kind::Port)?
                    .iter()
                    .any(|p| p.get("security_groups").and_then(Value::as_array).is_some_and(|g| g.iter().any(|g| g == id)));
                if in_use {
                    return Err(NeutronError::conflict("SecurityGroupInUse", format!("Security Group {id} in use.")));
                }
                for rule in self.all(Kind::SecurityGroupRule)?.iter().filter(|r| text(r, "security_group_id") == id) {
                    self.remove(Kind::SecurityGroupRule, text(rule, "id"))?;
                }
            }
            Kind::SecurityGroupRule => {
                if let Some(mut group) = self.find(Kind::SecurityGroup, text(&body, "security_group_id"))? {
                    if let Some(list) = group.get_mut("security_group_rules").and_then(Value::as_array_mut) {
                        list.retain(|r| r.get("id").and_then(Value::as_str) != Some(id));
                    }
                    self.save(Kind::SecurityGroup, &mut group)?;
                }
            }
        }
        self.remove(kind, id)
    }
}

/// An admin acting for the plugin itself (the router's own port on a subnet).
fn as_admin(caller: &AuthContext) -> AuthContext {
    let mut admin = caller.clone();
    admin.roles.push("admin".into());
    admin
}

fn port_subnets(port: &Map<String, Value>) -> Vec<String> {
    port.get("fixed_ips")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|ip| ip.get("subnet_id").and_then(Value::as_str).map(str::to_owned))
        .collect()
}

/// A required attribute (`Failed to parse request. Required attribute '<name>' not specified`).
pub(super) fn required<'a>(request: &'a Map<String, Value>, name: &str) -> Result<&'a str, NeutronError> {
    request
        .get(name)
        .and_then(Value::as_str)
        .ok_or_else(|| NeutronError::bad_request(format!("Failed to parse request. Required attribute '{name}' not specified")))
}

/// A MAC address under OpenStack's default `base_mac` (`fa:16:3e:00:00:00`).
fn mac_address() -> String {
    let bytes = uuid::Uuid::new_v4().into_bytes();
    format!("fa:16:3e:{:02x}:{:02x}:{:02x}", bytes[0], bytes[1], bytes[2])
}
