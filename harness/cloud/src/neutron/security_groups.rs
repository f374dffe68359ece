//! Security groups and their rules: the per-project `default` group Neutron creates on first
//! use, new groups with their two egress rules, rules with the duplicate check.

use serde_json::{Map, Value, json};

use super::fault::NeutronError;
use super::model::{Kind, NetworkService, required, standard, text};
use crate::wire::AuthContext;

impl NetworkService {
    /// The project's `default` security group, created on first use with Neutron's four
    /// default rules (ingress from members of the group, egress anywhere; IPv4 and IPv6).
    pub fn ensure_default_security_group(&self, project: &str) -> Result<String, NeutronError> {
        let existing =
            self.all(Kind::SecurityGroup)?.into_iter().find(|g| text(g, "project_id") == project && text(g, "name") == "default");
        if let Some(group) = existing {
            return Ok(text(&group, "id").to_owned());
        }
        let mut group = standard(project);
        group.insert("name".into(), json!("default"));
        group.insert("description".into(), json!("Default security group"));
        group.insert("stateful".into(), json!(true));
        group.insert("shared".into(), json!(false));
        let id = text(&group, "id").to_owned();
        let mut rules = Vec::new();
        for (direction, ethertype) in [("ingress", "IPv4"), ("ingress", "IPv6"), ("egress", "IPv4"), ("egress", "IPv6")] {
            let remote_group = if direction == "ingress" { json!(id) } else { Value::Null };
            rules.push(self.new_rule(project, &id, direction, ethertype, remote_group, &Map::new(), true)?);
        }
        group.insert("security_group_rules".into(), json!(rules));
        self.insert(Kind::SecurityGroup, &group)?;
        Ok(id)
    }

    #[allow(clippy::too_many_arguments)]
    fn new_rule(
        &self,
        project: &str,
        group_id: &str,
        direction: &str,
        ethertype: &str,
        remote_group: Value,
        request: &Map<String, Value>,
        default_group: bool,
    ) -> Result<Map<String, Value>, NeutronError> {
        let mut rule = standard(project);
        rule.insert("security_group_id".into(), json!(group_id));
        rule.insert("direction".into(), json!(direction));
        rule.insert("ethertype".into(), json!(ethertype));
        for key in ["protocol", "port_range_min", "port_range_max", "remote_ip_prefix", "remote_address_group_id"] {
            rule.insert(key.into(), request.get(key).cloned().unwrap_or(Value::Null));
        }
        rule.insert("normalized_cidr".into(), request.get("remote_ip_prefix").cloned().unwrap_or(Value::Null));
        rule.insert("remote_group_id".into(), remote_group);
        rule.insert("belongs_to_default_sg".into(), json!(default_group));
        if let Some(d) = request.get("description") {
            rule.insert("description".into(), d.clone());
        }
        self.insert(Kind::SecurityGroupRule, &rule)?;
        Ok(rule)
    }

    pub fn create_security_group(&self, caller: &AuthContext, request: &Map<String, Value>) -> Result<Map<String, Value>, NeutronError> {
        let project = Self::owner(caller, request)?;
        if text(request, "name") == "default" {
            self.ensure_default_security_group(&project)?;
            return Err(NeutronError::conflict("SecurityGroupDefaultAlreadyExists", "Default security group already exists.".into()));
        }
        self.ensure_default_security_group(&project)?;
        let mut group = standard(&project);
        group.insert("name".into(), json!(text(request, "name")));
        group.insert("description".into(), json!(text(request, "description")));
        group.insert("stateful".into(), request.get("stateful").cloned().unwrap_or(json!(true)));
        group.insert("shared".into(), json!(false));
        let id = text(&group, "id").to_owned();
        let rules: Vec<_> = ["IPv4", "IPv6"]
            .into_iter()
            .map(|ethertype| self.new_rule(&project, &id, "egress", ethertype, Value::Null, &Map::new(), false))
            .collect::<Result<_, _>>()?;
        group.insert("security_group_rules".into(), json!(rules));
        group.insert("revision_number".into(), json!(1));
        self.insert(Kind::SecurityGroup, &group)?;
        Ok(group)
    }

    pub fn create_security_group_rule(
        &self,
        caller: &AuthContext,
        request: &Map<String, Value>,
    ) -> Result<Map<String, Value>, NeutronError> {
        let group_id = required(request, "security_group_id")?;
        let mut group = self.owned(caller, Kind::SecurityGroup, group_id)?;
        let direction = required(request, "direction")?;
        if direction != "ingress" && direction != "egress" {
            return Err(NeutronError::bad_request(format!("Invalid input for direction. Reason: {direction} is not in valid_values.")));
        }
        let ethertype = request.get("ethertype").and_then(Value::as_str).unwrap_or("IPv4");
        if ethertype != "IPv4" && ethertype != "IPv6" {
            return Err(NeutronError::bad_request(format!("Invalid input for ethertype. Reason: {ethertype} is not in valid_values.")));
        }
        let same = |r: &Map<String, Value>| {
            text(r, "direction") == direction
                && text(r, "ethertype") == ethertype
                && ["protocol", "port_range_min", "port_range_max", "remote_ip_prefix", "remote_group_id"]
                    .iter()
                    .all(|k| r.get(*k).unwrap_or(&Value::Null) == request.get(*k).unwrap_or(&Value::Null))
        };
        let rules = group.get("security_group_rules").and_then(Value::as_array).cloned().unwrap_or_default();
        if let Some(existing) = rules.iter().filter_map(Value::as_object).find(|r| same(r)) {
            return Err(NeutronError::conflict(
                "SecurityGroupRuleExists",
                format!("Security group rule already exists. Rule id is {}.", text(existing, "id")),
            ));
        }
        let remote_group = request.get("remote_group_id").cloned().unwrap_or(Value::Null);
        let project = text(&group, "project_id").to_owned();
        let rule = self.new_rule(&project, group_id, direction, ethertype, remote_group, request, text(&group, "name") == "default")?;
        if let Some(list) = group.get_mut("security_group_rules").and_then(Value::as_array_mut) {
            list.push(Value::Object(rule.clone()));
        }
        self.save(Kind::SecurityGroup, &mut group)?;
        Ok(rule)
    }
}
