//! Request validation with the messages Nova's jsonschema validator produces
//! (`nova/api/validation/validators.py`): `Invalid input for field/attribute <last path
//! element>. Value: <str(value)>. <jsonschema message>`, or the bare message for an error at
//! the root. Keywords are checked in the order of Nova's schema dicts (properties, then
//! required, then additionalProperties), and the first error wins, as with `validate()`.
//! Only the parts of the schemas sigstack relies on are modelled; other known properties are
//! accepted as they come.

use serde_json::{Map, Value};

use crate::python::{py_display, py_repr};

use super::fault::{Microversion, NovaFault};

/// `parameter_types.trusted_certs`' `maxItems`.
const MAX_TRUSTED_CERTS: usize = 50;

fn invalid(field: &str, value: &Value, message: &str) -> NovaFault {
    NovaFault::bad_request(format!("Invalid input for field/attribute {field}. Value: {}. {message}", py_display(value)))
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// jsonschema's `type` check: `<repr> is not of type 'a', 'b'`.
fn check_type(field: &str, value: &Value, allowed: &[&str]) -> Result<(), NovaFault> {
    let t = type_name(value);
    if allowed.contains(&t) || (t == "integer" && allowed.contains(&"number")) {
        return Ok(());
    }
    let names: Vec<String> = allowed.iter().map(|a| format!("'{a}'")).collect();
    Err(invalid(field, value, &format!("{} is not of type {}", py_repr(value), names.join(", "))))
}

fn check_string(field: &str, value: &Value, min: usize, max: usize) -> Result<(), NovaFault> {
    check_type(field, value, &["string"])?;
    let len = value.as_str().map(|s| s.chars().count()).unwrap_or(0);
    if len < min {
        return Err(invalid(field, value, &format!("{} should be non-empty", py_repr(value))));
    }
    if len > max {
        return Err(invalid(field, value, &format!("{} is too long", py_repr(value))));
    }
    Ok(())
}

/// The root `{"<key>": {...}}` of a request, and the inner object.
fn root<'a>(body: &'a Value, key: &str) -> Result<&'a Map<String, Value>, NovaFault> {
    let Some(obj) = body.as_object() else {
        return Err(NovaFault::bad_request(format!("{} is not of type 'object'", py_repr(body))));
    };
    let inner = obj.get(key).ok_or_else(|| NovaFault::bad_request(format!("'{key}' is a required property")))?;
    check_type(key, inner, &["object"])?;
    inner.as_object().ok_or_else(|| NovaFault::bad_request(format!("'{key}' is a required property")))
}

fn required(container: &str, object: &Map<String, Value>, names: &[&str]) -> Result<(), NovaFault> {
    for name in names {
        if !object.contains_key(*name) {
            return Err(invalid(container, &Value::Object(object.clone()), &format!("'{name}' is a required property")));
        }
    }
    Ok(())
}

fn no_additional(container: &str, object: &Map<String, Value>, allowed: &[&str]) -> Result<(), NovaFault> {
    let extra: Vec<String> = object.keys().filter(|k| !allowed.contains(&k.as_str())).map(|k| crate::python::py_str(k)).collect();
    match extra.len() {
        0 => Ok(()),
        1 => Err(invalid(
            container,
            &Value::Object(object.clone()),
            &format!("Additional properties are not allowed ({} was unexpected)", extra[0]),
        )),
        _ => Err(invalid(
            container,
            &Value::Object(object.clone()),
            &format!("Additional properties are not allowed ({} were unexpected)", extra.join(", ")),
        )),
    }
}

/// `parameter_types.trusted_certs`: `["array", "null"]`, 1–50 unique non-empty strings.
/// Returns the list (`None` for null).
pub fn trusted_certs(value: &Value) -> Result<Option<Vec<String>>, NovaFault> {
    const FIELD: &str = "trusted_image_certificates";
    check_type(FIELD, value, &["array", "null"])?;
    let Some(items) = value.as_array() else { return Ok(None) };
    if items.is_empty() {
        return Err(invalid(FIELD, value, &format!("{} should be non-empty", py_repr(value))));
    }
    if items.len() > MAX_TRUSTED_CERTS {
        return Err(invalid(FIELD, value, &format!("{} is too long", py_repr(value))));
    }
    if items.iter().enumerate().any(|(i, a)| items[i + 1..].contains(a)) {
        return Err(invalid(FIELD, value, &format!("{} has non-unique elements", py_repr(value))));
    }
    for (i, item) in items.iter().enumerate() {
        check_string(&i.to_string(), item, 1, usize::MAX)?;
    }
    Ok(Some(items.iter().filter_map(Value::as_str).map(str::to_owned).collect()))
}

/// A validated `POST /servers` body.
#[derive(Debug, Clone, Default)]
pub struct CreateRequest {
    pub name: String,
    pub image_ref: Option<String>,
    pub flavor_ref: String,
    pub availability_zone: Option<String>,
    pub block_devices: Vec<Map<String, Value>>,
    pub metadata: Map<String, Value>,
    /// The key's value when present (`None` inside for null).
    pub trusted_certs: Option<Option<Vec<String>>>,
    pub admin_pass: Option<String>,
}

const CREATE_PROPERTIES: [&str; 18] = [
    "name",
    "imageRef",
    "flavorRef",
    "adminPass",
    "metadata",
    "networks",
    "OS-DCF:diskConfig",
    "accessIPv4",
    "accessIPv6",
    "personality",
    "availability_zone",
    "block_device_mapping",
    "block_device_mapping_v2",
    "key_name",
    "security_groups",
    "user_data",
    "config_drive",
    "min_count",
];
const CREATE_PROPERTIES_MORE: [&str; 3] = ["max_count", "return_reservation_id", "scheduler_hints"];

pub fn create(body: &Value, version: Microversion) -> Result<CreateRequest, NovaFault> {
    let server = root(body, "server")?;
    if let Some(extra) = body.as_object().and_then(|o| o.keys().find(|k| *k != "server")) {
        // `os:scheduler_hints` sits beside `server`; anything else is unexpected.
        if extra != "os:scheduler_hints" && extra != "OS-SCH-HNT:scheduler_hints" {
            return Err(NovaFault::bad_request(format!("Additional properties are not allowed ('{extra}' was unexpected)")));
        }
    }
    let mut request = CreateRequest::default();
    if let Some(v) = server.get("name") {
        check_string("name", v, 1, 255)?;
        request.name = v.as_str().unwrap_or_default().to_owned();
    }
    if let Some(v) = server.get("imageRef") {
        check_type("imageRef", v, &["string"])?;
        request.image_ref = v.as_str().filter(|s| !s.is_empty()).map(str::to_owned);
    }
    if let Some(v) = server.get("flavorRef") {
        check_type("flavorRef", v, &["string", "integer"])?;
        request.flavor_ref = v.as_str().map(str::to_owned).unwrap_or_else(|| v.to_string());
        if request.flavor_ref.is_empty() {
            return Err(invalid("flavorRef", v, "'' should be non-empty"));
        }
    }
    if let Some(v) = server.get("adminPass") {
        check_type("adminPass", v, &["string"])?;
        request.admin_pass = v.as_str().map(str::to_owned);
    }
    if let Some(v) = server.get("metadata") {
        check_type("metadata", v, &["object"])?;
        request.metadata = v.as_object().cloned().unwrap_or_default();
    }
    if let Some(v) = server.get("networks") {
        if version.at_least(37) {
            if !(matches!(v.as_str(), Some("auto" | "none")) || v.is_array()) {
                return Err(invalid("networks", v, &format!("{} is not valid under any of the given schemas", py_repr(v))));
            }
        } else {
            check_type("networks", v, &["array"])?;
        }
    }
    if let Some(v) = server.get("availability_zone") {
        check_string("availability_zone", v, 1, 255)?;
        request.availability_zone = v.as_str().map(str::to_owned);
    }
    if let Some(v) = server.get("block_device_mapping_v2") {
        check_type("block_device_mapping_v2", v, &["array"])?;
        for (i, item) in v.as_array().into_iter().flatten().enumerate() {
            check_type(&i.to_string(), item, &["object"])?;
            request.block_devices.push(item.as_object().cloned().unwrap_or_default());
        }
    }
    if let (true, Some(v)) = (version.at_least(63), server.get("trusted_image_certificates")) {
        request.trusted_certs = Some(trusted_certs(v)?);
    }
    let mut required_names = vec!["name", "flavorRef"];
    if version.at_least(37) {
        required_names.push("networks");
    }
    required("server", server, &required_names)?;
    let mut allowed: Vec<&str> = CREATE_PROPERTIES.iter().chain(CREATE_PROPERTIES_MORE.iter()).copied().collect();
    for (min, name) in
        [(19, "description"), (52, "tags"), (63, "trusted_image_certificates"), (74, "host"), (74, "hypervisor_hostname"), (90, "hostname")]
    {
        if version.at_least(min) {
            allowed.push(name);
        }
    }
    no_additional("server", server, &allowed)?;
    Ok(request)
}

/// A validated `POST /servers/{id}/os-volume_attachments` body.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AttachRequest {
    pub volume_id: String,
    pub device: Option<String>,
    pub tag: Option<String>,
    pub delete_on_termination: bool,
}

/// `match_device`'s pattern, which the schema uses for `device`.
const DEVICE_PATTERN: &str = "(^/dev/x{0,1}[a-z]{0,1}d{0,1})([a-z]+)[0-9]*$";

/// `re.search(DEVICE_PATTERN, text)`: `x?[a-z]?d?[a-z]+` is any run of lowercase letters, so
/// the pattern is `/dev/`, letters, then digits (`$` also matching before a final newline).
fn device_matches(text: &str) -> bool {
    let Some(rest) = text.strip_prefix("/dev/") else { return false };
    let rest = rest.strip_suffix('\n').unwrap_or(rest);
    let letters = rest.bytes().take_while(u8::is_ascii_lowercase).count();
    letters > 0 && rest.bytes().skip(letters).all(|b| b.is_ascii_digit())
}

/// `parameter_types.boolean`'s accepted strings.
const TRUE_STRINGS: [&str; 11] = ["True", "TRUE", "true", "1", "ON", "On", "on", "YES", "Yes", "yes", "y"];
const FALSE_STRINGS: [&str; 11] = ["False", "FALSE", "false", "0", "OFF", "Off", "off", "NO", "No", "no", "n"];

/// `volumes_attachments.create` (2.0), `create_v249` (`tag`), `create_v279`
/// (`delete_on_termination`).
pub fn attach(body: &Value, version: Microversion) -> Result<AttachRequest, NovaFault> {
    let attachment = root(body, "volumeAttachment")?;
    if let Some(extra) = body.as_object().and_then(|o| o.keys().find(|k| *k != "volumeAttachment")) {
        return Err(NovaFault::bad_request(format!("Additional properties are not allowed ('{extra}' was unexpected)")));
    }
    let mut request = AttachRequest::default();
    if let Some(v) = attachment.get("volumeId") {
        check_type("volumeId", v, &["string"])?;
        let text = v.as_str().unwrap_or_default();
        if uuid::Uuid::parse_str(text).is_err() {
            return Err(invalid("volumeId", v, &format!("{} is not a 'uuid'", py_repr(v))));
        }
        request.volume_id = text.to_owned();
    }
    if let Some(v) = attachment.get("device") {
        check_type("device", v, &["string", "null"])?;
        if let Some(text) = v.as_str() {
            if !device_matches(text) {
                return Err(invalid("device", v, &format!("{} does not match '{DEVICE_PATTERN}'", py_repr(v))));
            }
            request.device = Some(text.to_owned());
        }
    }
    let mut allowed = vec!["volumeId", "device"];
    if version.at_least(49) {
        allowed.push("tag");
        if let Some(v) = attachment.get("tag") {
            check_string("tag", v, 0, 60)?;
            let text = v.as_str().unwrap_or_default();
            if text.contains(',') || text.contains('/') {
                return Err(invalid("tag", v, &format!("{} does not match '^[^,/]*$'", py_repr(v))));
            }
            request.tag = Some(text.to_owned());
        }
    }
    if version.at_least(79) {
        allowed.push("delete_on_termination");
        if let Some(v) = attachment.get("delete_on_termination") {
            check_type("delete_on_termination", v, &["boolean", "string"])?;
            request.delete_on_termination = match v {
                Value::Bool(b) => *b,
                Value::String(s) if TRUE_STRINGS.contains(&s.as_str()) || s == "t" => true,
                Value::String(s) if FALSE_STRINGS.contains(&s.as_str()) || s == "f" => false,
                _ => {
                    let mut choices: Vec<String> = vec!["True".into()];
                    choices.extend(TRUE_STRINGS.iter().chain(["t"].iter()).map(|s| format!("'{s}'")));
                    choices.push("False".into());
                    choices.extend(FALSE_STRINGS.iter().chain(["f"].iter()).map(|s| format!("'{s}'")));
                    return Err(invalid("delete_on_termination", v, &format!("{} is not one of [{}]", py_repr(v), choices.join(", "))));
                }
            };
        }
    }
    required("volumeAttachment", attachment, &["volumeId"])?;
    no_additional("volumeAttachment", attachment, &allowed)?;
    Ok(request)
}

/// `PUT /servers/{id}`: the new name, if any.
pub fn update(body: &Value, version: Microversion) -> Result<Option<String>, NovaFault> {
    let server = root(body, "server")?;
    let name = match server.get("name") {
        Some(v) => {
            check_string("name", v, 1, 255)?;
            v.as_str().map(str::to_owned)
        }
        None => None,
    };
    let mut allowed = vec!["name", "OS-DCF:diskConfig", "accessIPv4", "accessIPv6"];
    if version.at_least(19) {
        allowed.push("description");
    }
    if version.at_least(90) {
        allowed.push("hostname");
    }
    no_additional("server", server, &allowed)?;
    Ok(name)
}

/// A validated `rebuild` action.
#[derive(Debug, Clone, Default)]
pub struct RebuildRequest {
    pub image_ref: String,
    pub name: Option<String>,
    /// Present key: `Some(list)` or `Some(None)` for null (reset to the defaults).
    pub trusted_certs: Option<Option<Vec<String>>>,
}

pub fn rebuild(body: &Value, version: Microversion) -> Result<RebuildRequest, NovaFault> {
    let rebuild = root(body, "rebuild")?;
    let mut request = RebuildRequest::default();
    if let Some(v) = rebuild.get("name") {
        check_string("name", v, 1, 255)?;
        request.name = v.as_str().map(str::to_owned);
    }
    if let Some(v) = rebuild.get("imageRef") {
        check_type("imageRef", v, &["string"])?;
        request.image_ref = v.as_str().unwrap_or_default().to_owned();
    }
    if let (true, Some(v)) = (version.at_least(63), rebuild.get("trusted_image_certificates")) {
        request.trusted_certs = Some(trusted_certs(v)?);
    }
    required("rebuild", rebuild, &["imageRef"])?;
    let mut allowed =
        vec!["name", "imageRef", "adminPass", "metadata", "preserve_ephemeral", "OS-DCF:diskConfig", "accessIPv4", "accessIPv6"];
    for (min, max, name) in [
        (1, 56, "personality"),
        (19, 999, "description"),
        (54, 999, "key_name"),
        (57, 999, "user_data"),
        (63, 999, "trusted_image_certificates"),
        (90, 999, "hostname"),
    ] {
        if version.at_least(min) && version.0 <= max {
            allowed.push(name);
        }
    }
    no_additional("rebuild", rebuild, &allowed)?;
    Ok(request)
}

/// `evacuate`: the optional target host.
pub fn evacuate(body: &Value, version: Microversion) -> Result<Option<String>, NovaFault> {
    let evacuate = root(body, "evacuate")?;
    let host = match evacuate.get("host") {
        Some(v) => {
            check_string("host", v, 1, 255)?;
            v.as_str().map(str::to_owned)
        }
        None => None,
    };
    if !version.at_least(14) {
        if let Some(v) = evacuate.get("onSharedStorage") {
            check_type("onSharedStorage", v, &["boolean", "string"])?;
        }
        required("evacuate", evacuate, &["onSharedStorage"])?;
    }
    let mut allowed = vec!["host", "adminPass"];
    if !version.at_least(14) {
        allowed.push("onSharedStorage");
    }
    if version.at_least(29) && !version.at_least(68) {
        allowed.push("force");
    }
    if version.at_least(95) {
        allowed.push("targetState");
    }
    no_additional("evacuate", evacuate, &allowed)?;
    Ok(host)
}

/// `createImage`: name and extra image properties.
pub fn create_image(body: &Value) -> Result<(String, Map<String, Value>), NovaFault> {
    let create = root(body, "createImage")?;
    if let Some(v) = create.get("name") {
        check_string("name", v, 1, 255)?;
    }
    if let Some(v) = create.get("metadata") {
        check_type("metadata", v, &["object"])?;
    }
    required("createImage", create, &["name"])?;
    no_additional("createImage", create, &["name", "metadata"])?;
    let name = create.get("name").and_then(Value::as_str).unwrap_or_default().to_owned();
    Ok((name, create.get("metadata").and_then(Value::as_object).cloned().unwrap_or_default()))
}

/// `reboot`: whether it is HARD.
pub fn reboot(body: &Value) -> Result<bool, NovaFault> {
    let reboot = root(body, "reboot")?;
    const TYPES: [&str; 6] = ["HARD", "Hard", "hard", "SOFT", "Soft", "soft"];
    if let Some(v) = reboot.get("type").filter(|v| !v.as_str().is_some_and(|t| TYPES.contains(&t))) {
        let names: Vec<String> = TYPES.iter().map(|t| format!("'{t}'")).collect();
        return Err(invalid("type", v, &format!("{} is not one of [{}]", py_repr(v), names.join(", "))));
    }
    required("reboot", reboot, &["type"])?;
    no_additional("reboot", reboot, &["type"])?;
    Ok(reboot.get("type").and_then(Value::as_str).is_some_and(|t| t.eq_ignore_ascii_case("hard")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn msg(v: Value) -> String {
        trusted_certs(&v).unwrap_err().message
    }

    #[test]
    fn trusted_cert_messages() {
        assert_eq!(msg(json!([])), "Invalid input for field/attribute trusted_image_certificates. Value: []. [] should be non-empty");
        assert_eq!(msg(json!([""])), "Invalid input for field/attribute 0. Value: . '' should be non-empty");
        assert_eq!(
            msg(json!(["a", "a"])),
            "Invalid input for field/attribute trusted_image_certificates. Value: ['a', 'a']. ['a', 'a'] has non-unique elements"
        );
        assert_eq!(msg(json!([1, 2])), "Invalid input for field/attribute 0. Value: 1. 1 is not of type 'string'");
        assert_eq!(
            msg(json!("x")),
            "Invalid input for field/attribute trusted_image_certificates. Value: x. 'x' is not of type 'array', 'null'"
        );
        let many: Vec<String> = (0..51).map(|i| i.to_string()).collect();
        assert!(msg(json!(many)).ends_with("'49', '50'] is too long"));
        assert_eq!(trusted_certs(&Value::Null).unwrap(), None);
    }

    #[test]
    fn pre_263_rejects_the_field() {
        let body =
            json!({"server": {"flavorRef": "1", "imageRef": "i", "name": "s", "networks": "auto", "trusted_image_certificates": ["a"]}});
        let e = create(&body, Microversion(62)).unwrap_err();
        assert_eq!(
            e.message,
            "Invalid input for field/attribute server. Value: {'flavorRef': '1', 'imageRef': 'i', 'name': 's', 'networks': 'auto', 'trusted_image_certificates': ['a']}. Additional properties are not allowed ('trusted_image_certificates' was unexpected)"
        );
        assert!(create(&body, Microversion(63)).is_ok());
    }

    #[test]
    fn volume_attachment_bodies() {
        let id = "0b9d2a2e-6c1f-4a55-9a3e-5d0c9a1c4e11";
        assert!(device_matches("/dev/vdb") && device_matches("/dev/sda1") && device_matches("/dev/xvdaa"));
        assert!(!device_matches("vdb") && !device_matches("/dev/") && !device_matches("/dev/vdb1a") && !device_matches("/dev/VDB"));
        let ok = attach(&json!({"volumeAttachment": {"volumeId": id, "device": null}}), Microversion(1)).unwrap();
        assert_eq!(ok, AttachRequest { volume_id: id.into(), ..AttachRequest::default() });
        let full = json!({"volumeAttachment": {"volumeId": id, "tag": "db", "delete_on_termination": "yes"}});
        let parsed = attach(&full, Microversion(79)).unwrap();
        assert_eq!((parsed.tag.as_deref(), parsed.delete_on_termination), (Some("db"), true));
        let e = attach(&full, Microversion(78)).unwrap_err();
        assert!(e.message.ends_with("Additional properties are not allowed ('delete_on_termination' was unexpected)"), "{}", e.message);
        let e = attach(&json!({"volumeAttachment": {"volumeId": id, "tag": "a/b"}}), Microversion(49)).unwrap_err();
        assert_eq!(e.message, "Invalid input for field/attribute tag. Value: a/b. 'a/b' does not match '^[^,/]*$'");
        let e = attach(&json!({"volumeAttachment": {"volumeId": id, "delete_on_termination": "maybe"}}), Microversion(79)).unwrap_err();
        assert!(
            e.message
                .starts_with("Invalid input for field/attribute delete_on_termination. Value: maybe. 'maybe' is not one of [True, 'True'"),
            "{}",
            e.message
        );
        let e = attach(&json!({"volumeAttachment": {}}), Microversion(1)).unwrap_err();
        assert_eq!(e.message, "Invalid input for field/attribute volumeAttachment. Value: {}. 'volumeId' is a required property");
        let e = attach(&json!({"volumeAttachment": {"volumeId": 5}}), Microversion(1)).unwrap_err();
        assert_eq!(e.message, "Invalid input for field/attribute volumeId. Value: 5. 5 is not of type 'string'");
    }
}
