//! Request validation with the messages Nova's jsonschema validator produces
//! (`nova/api/validation/validators.py`): `Invalid input for field/attribute <last path
//! element>. Value: <str(value)>. <jsonschema message>`, or the bare message for an error at
//! the root. Keywords are checked in the order of Nova's schema dicts (properties, then
//! required, then additionalProperties), and the first error wins, as with `validate()`.
//! Only the parts of the schemas sigstack relies on are modelled; other known properties are
//! accepted as they come.

use serde_json::{Map, Value, json};

use super::fault::NovaFault;
use crate::jsonschema::{self, Draft, Keyword, SchemaError, check_additional, check_required, check_type, py_display};
use crate::microversion::Microversion;

pub use super::schema_actions::{attach, create_image, evacuate, reboot, rebuild};

/// `parameter_types.trusted_certs`' `maxItems`.
const MAX_TRUSTED_CERTS: usize = 50;

/// A string of `min` to `max` characters.
pub(super) fn check_string(field: &str, value: &Value, min: usize, max: usize) -> Result<(), SchemaError> {
    Draft::Four.check(field, value, &[Keyword::Type(&["string"]), Keyword::MinLength(min), Keyword::MaxLength(max)])
}

/// `parameter_types.name` and `name_with_leading_trailing_spaces`' `format: name` check
/// (`_validate_name`): a failure is `InvalidName`, whose message stands alone.
pub(super) fn check_name(field: &str, value: &Value) -> Result<(), NovaFault> {
    check_type(field, value, &["string"])?;
    if !valid_name(value.as_str().unwrap_or_default()) {
        return Err(NovaFault::bad_request(
            "An invalid 'name' value was provided. The name must be: printable characters. Can not start or end with whitespace.",
        ));
    }
    Ok(check_string(field, value, 1, 255)?)
}

/// `valid_name_regex`, `^(?![NP])[P]*(?<![NP])$` with `re.search`: every character printable
/// (`_is_printable` over `_get_all_chars`, which stops below U+FFFF), the first and last not
/// a space separator either; `$` also matches before a final newline.
fn valid_name(text: &str) -> bool {
    let text = text.strip_suffix('\n').unwrap_or(text);
    let edge_ok = |c: Option<char>| c.is_none_or(|c| printable(c) && !space_separator(c));
    text.chars().all(printable) && edge_ok(text.chars().next()) && edge_ok(text.chars().last())
}

/// `_is_printable`: not in a `C*` category (control, format, private use; surrogates cannot
/// occur) nor a line or paragraph separator, and below U+FFFF. Unassigned code points (`Cn`)
/// count as printable here: telling them needs the Unicode tables.
fn printable(c: char) -> bool {
    let n = c as u32;
    let format = matches!(n, 0xAD | 0x600..=0x605 | 0x61C | 0x6DD | 0x70F | 0x890..=0x891 | 0x8E2 | 0x180E | 0x200B..=0x200F
        | 0x202A..=0x202E | 0x2060..=0x2064 | 0x2066..=0x206F | 0xFEFF | 0xFFF9..=0xFFFB);
    n < 0xFFFF && !c.is_control() && !format && !(0xE000..=0xF8FF).contains(&n) && n != 0x2028 && n != 0x2029
}

/// Unicode category `Zs`.
fn space_separator(c: char) -> bool {
    matches!(c as u32, 0x20 | 0xA0 | 0x1680 | 0x2000..=0x200A | 0x202F | 0x205F | 0x3000)
}

/// `parameter_types.positive_integer` (`min_count`, `max_count`): an integer or a string of
/// digits, at least 1 (Nova's `minimum` reads a string as a number). Returns the number.
fn positive_integer(field: &str, value: &Value) -> Result<u64, NovaFault> {
    check_type(field, value, &["integer", "string"])?;
    let fail = |message: String| NovaFault::from(SchemaError::at(field, value, message));
    match value {
        Value::String(text) => {
            let digits = text.strip_suffix('\n').unwrap_or(text);
            if !digits.bytes().all(|b| b.is_ascii_digit()) {
                return Err(fail(jsonschema::does_not_match(value, "^[0-9]*$")));
            }
            if digits.is_empty() {
                // No number for `minimum`, so only `minLength` fails.
                return Err(fail(jsonschema::too_short(value, 1)));
            }
            match digits.trim_start_matches('0') {
                "" => Err(fail(jsonschema::less_than_minimum("0", 1))),
                significant => Ok(significant.parse::<u64>().unwrap_or(u64::MAX)),
            }
        }
        other => match other.as_u64().filter(|n| *n >= 1) {
            Some(n) => Ok(n),
            None => Err(fail(jsonschema::less_than_minimum(&jsonschema::py_repr(other), 1))),
        },
    }
}

/// `parameter_types.boolean`: a boolean or one of its strings.
fn check_boolean(field: &str, value: &Value) -> Result<(), SchemaError> {
    check_type(field, value, &["boolean", "string"])?;
    let choices = json!([
        true, "True", "TRUE", "true", "1", "ON", "On", "on", "YES", "Yes", "yes", false, "False", "FALSE", "false", "0", "OFF", "Off",
        "off", "NO", "No", "no"
    ]);
    let choices = choices.as_array().map(Vec::as_slice).unwrap_or_default();
    if choices.contains(value) {
        return Ok(());
    }
    Err(SchemaError::at(field, value, jsonschema::not_one_of(value, choices)))
}

/// `parameter_types.metadata`: string values of at most 255 characters under keys matching
/// `^[a-zA-Z0-9-_:. ]{1,255}$`; any other key is refused (`additionalProperties: False`
/// beside `patternProperties`).
pub const METADATA_KEY_PATTERN: &str = "^[a-zA-Z0-9-_:. ]{1,255}$";

fn metadata_key_ok(key: &str) -> bool {
    let key = key.strip_suffix('\n').unwrap_or(key);
    let n = key.chars().count();
    (1..=255).contains(&n) && key.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | ':' | '.' | ' '))
}

pub(super) fn check_metadata(field: &str, value: &Value) -> Result<(), SchemaError> {
    check_type(field, value, &["object"])?;
    let Some(items) = value.as_object() else { return Ok(()) };
    for (key, v) in items.iter().filter(|(k, _)| metadata_key_ok(k)) {
        Draft::Four.check(key, v, &[Keyword::Type(&["string"]), Keyword::MaxLength(255)])?;
    }
    match jsonschema::unmatched_properties(items, metadata_key_ok, &[METADATA_KEY_PATTERN]) {
        Some(message) => Err(SchemaError::at(field, value, message)),
        None => Ok(()),
    }
}

/// jsonschema's `format: base64` as Nova checks it (`base64.decode_as_bytes`, Python's
/// lenient `b64decode`): characters outside the alphabet are skipped, padding ends the data,
/// and the data characters must not leave a partial group.
pub fn python_base64_ok(text: &str) -> bool {
    let mut quad = 0usize;
    let mut pads = 0usize;
    for c in text.chars() {
        if c == '=' {
            if quad >= 2 {
                pads += 1;
                if quad + pads >= 4 {
                    return true;
                }
            }
            continue;
        }
        if c.is_ascii_alphanumeric() || c == '+' || c == '/' {
            quad = (quad + 1) % 4;
            pads = 0;
        }
    }
    quad == 0
}

/// `format: uuid` (`uuidutils.is_uuid_like`).
fn uuid_like(text: &str) -> bool {
    uuid::Uuid::parse_str(text).is_ok()
}

/// `parameter_types.ip_address`: an IPv4 or IPv6 address (`oneOf` two formats).
fn ip_address_ok(text: &str) -> bool {
    text.parse::<std::net::Ipv4Addr>().is_ok() || text.parse::<std::net::Ipv6Addr>().is_ok()
}

/// The `networks` items' schema: `None` when the item is valid, else the error (field, value,
/// message) jsonschema reports first.
fn network_item_error(index: usize, item: &Value, version: Microversion) -> Option<SchemaError> {
    network_item(index, item, version).err()
}

fn network_item(index: usize, item: &Value, version: Microversion) -> Result<(), SchemaError> {
    check_type(&index.to_string(), item, &["object"])?;
    let Some(obj) = item.as_object() else { return Ok(()) };
    if let Some(v) = obj.get("fixed_ip") {
        check_type("fixed_ip", v, &["string"])?;
        if !v.as_str().is_some_and(ip_address_ok) {
            return Err(SchemaError::at("fixed_ip", v, jsonschema::no_valid_schema(v)));
        }
    }
    if let Some(v) = obj.get("port") {
        check_type("port", v, &["string", "null"])?;
        if v.as_str().is_some_and(|p| !uuid_like(p)) {
            return Err(SchemaError::at("port", v, jsonschema::not_a(v, "uuid")));
        }
    }
    if let Some(v) = obj.get("uuid") {
        check_type("uuid", v, &["string"])?;
        if version >= Microversion(2, 37) && v.as_str().is_some_and(|u| !uuid_like(u)) {
            return Err(SchemaError::at("uuid", v, jsonschema::not_a(v, "uuid")));
        }
    }
    let mut allowed = vec!["fixed_ip", "port", "uuid"];
    if version == Microversion(2, 32) || version >= Microversion(2, 42) {
        allowed.push("tag");
        if let Some(v) = obj.get("tag") {
            Draft::Four.check("tag", v, &[Keyword::Type(&["string"]), Keyword::MinLength(1), Keyword::MaxLength(60), TAG_PATTERN])?;
        }
    }
    check_additional(&index.to_string(), obj, |k| allowed.contains(&k))
}

/// `parameter_types.tag`'s pattern: no comma and no slash.
pub(super) const TAG_PATTERN: Keyword<'static> = Keyword::Pattern("^[^,/]*$", |t| !t.contains(',') && !t.contains('/'));

/// `networks`: before 2.37 an array of network objects; from 2.37 `oneOf` that array or
/// `"none"`/`"auto"`, where any failure is the `oneOf`'s own message.
fn check_networks(value: &Value, version: Microversion) -> Result<(), SchemaError> {
    if version >= Microversion(2, 37) {
        let valid = match value {
            Value::String(s) => s == "none" || s == "auto",
            Value::Array(items) => items.iter().enumerate().all(|(i, item)| network_item_error(i, item, version).is_none()),
            _ => false,
        };
        if !valid {
            return Err(SchemaError::at("networks", value, jsonschema::no_valid_schema(value)));
        }
        return Ok(());
    }
    check_type("networks", value, &["array"])?;
    for (i, item) in value.as_array().into_iter().flatten().enumerate() {
        network_item(i, item, version)?;
    }
    Ok(())
}

/// One requested network, as `_get_requested_networks` reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NetworkRequest {
    Port(String),
    Network(String),
}

/// `_get_requested_networks` (after the schema): a port may be given once and without a
/// fixed IP; otherwise the item needs a `uuid` that looks like one. `"auto"` and `"none"`
/// request no particular network.
pub fn requested_networks(value: Option<&Value>) -> Result<Vec<NetworkRequest>, NovaFault> {
    let Some(Value::Array(items)) = value else { return Ok(Vec::new()) };
    let mut out = Vec::new();
    let mut ports: Vec<String> = Vec::new();
    for item in items {
        let text = |k: &str| item.get(k).and_then(Value::as_str).filter(|s| !s.is_empty());
        if let Some(port) = text("port") {
            if ports.iter().any(|p| p == port) {
                return Err(NovaFault::bad_request(format!(
                    "Port ID '{port}' was specified twice: you cannot attach a port multiple times."
                )));
            }
            if let Some(address) = item.get("fixed_ip").filter(|v| !v.is_null()) {
                return Err(NovaFault::bad_request(format!(
                    "Specified Fixed IP '{}' cannot be used with port '{port}': the two cannot be specified together.",
                    py_display(address)
                )));
            }
            ports.push(port.to_owned());
            out.push(NetworkRequest::Port(port.to_owned()));
            continue;
        }
        let Some(uuid) = item.get("uuid") else {
            return Err(NovaFault::bad_request("Bad network format: missing 'uuid'"));
        };
        let uuid = py_display(uuid);
        if !uuid_like(&uuid) {
            return Err(NovaFault::bad_request(format!("Bad networks format: network uuid is not in proper format ({uuid})")));
        }
        out.push(NetworkRequest::Network(uuid));
    }
    Ok(out)
}

/// The root `{"<key>": {...}}` of a request, and the inner object.
pub(super) fn root<'a>(body: &'a Value, key: &str) -> Result<&'a Map<String, Value>, SchemaError> {
    let obj = jsonschema::root_object(body)?;
    let inner = obj.get(key).ok_or_else(|| SchemaError::root(body, jsonschema::required(key)))?;
    inner.as_object().ok_or_else(|| SchemaError::at(key, inner, jsonschema::not_of_type(inner, &["object"])))
}

/// The root's `additionalProperties: False` beside the keys `allowed` takes.
pub(super) fn root_additional(body: &Value, allowed: impl Fn(&str) -> bool) -> Result<(), SchemaError> {
    match body.as_object().and_then(|o| jsonschema::additional_properties(o, allowed)) {
        Some(message) => Err(SchemaError::root(body, message)),
        None => Ok(()),
    }
}

pub(super) fn no_additional(container: &str, object: &Map<String, Value>, allowed: &[&str]) -> Result<(), SchemaError> {
    check_additional(container, object, |k| allowed.contains(&k))
}

/// `parameter_types.trusted_certs`: `["array", "null"]`, 1–50 unique non-empty strings.
/// Returns the list (`None` for null).
pub fn trusted_certs(value: &Value) -> Result<Option<Vec<String>>, NovaFault> {
    const FIELD: &str = "trusted_image_certificates";
    check_type(FIELD, value, &["array", "null"])?;
    let Some(items) = value.as_array() else { return Ok(None) };
    let fail = |message: String| NovaFault::from(SchemaError::at(FIELD, value, message));
    if items.is_empty() {
        return Err(fail(jsonschema::too_short(value, 1)));
    }
    if items.len() > MAX_TRUSTED_CERTS {
        return Err(fail(jsonschema::too_long(value, MAX_TRUSTED_CERTS)));
    }
    if items.iter().enumerate().any(|(i, a)| items[i + 1..].contains(a)) {
        return Err(fail(jsonschema::non_unique(value)));
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
    /// `networks` as sent (checked by [`requested_networks`] later, as Nova does).
    pub networks: Option<Value>,
    pub key_name: Option<String>,
    /// `min_count` (default 1) and `max_count` (default `min_count`).
    pub min_count: u64,
    pub max_count: u64,
    /// `return_reservation_id`, as the controller reads it (Python truthiness: any of the
    /// schema's strings, `"False"` too, is true).
    pub return_reservation_id: bool,
    pub user_data: Option<String>,
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

/// `user_data`'s `maxLength`.
pub const MAX_USER_DATA: usize = 65535;

/// Checks a create body against Nova's `create` schema of `version`, property by property in
/// the schema's order (the first failure is the answer), then `min_count <= max_count`.
pub fn create(body: &Value, version: Microversion) -> Result<CreateRequest, NovaFault> {
    let server = root(body, "server")?;
    // `os:scheduler_hints` sits beside `server`; anything else is unexpected.
    root_additional(body, |k| matches!(k, "server" | "os:scheduler_hints" | "OS-SCH-HNT:scheduler_hints"))?;
    let mut request = CreateRequest::default();
    if let Some(v) = server.get("name") {
        check_name("name", v)?;
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
            return Err(SchemaError::at("flavorRef", v, jsonschema::too_short(v, 1)).into());
        }
    }
    if let Some(v) = server.get("adminPass") {
        check_type("adminPass", v, &["string"])?;
        request.admin_pass = v.as_str().map(str::to_owned);
    }
    if let Some(v) = server.get("metadata") {
        check_metadata("metadata", v)?;
        request.metadata = v.as_object().cloned().unwrap_or_default();
    }
    if let Some(v) = server.get("networks") {
        check_networks(v, version)?;
        request.networks = Some(v.clone());
    }
    if let Some(v) = server.get("availability_zone") {
        check_name("availability_zone", v)?;
        request.availability_zone = v.as_str().map(str::to_owned);
    }
    if let Some(v) = server.get("block_device_mapping_v2") {
        check_type("block_device_mapping_v2", v, &["array"])?;
        for (i, item) in v.as_array().into_iter().flatten().enumerate() {
            check_type(&i.to_string(), item, &["object"])?;
            request.block_devices.push(item.as_object().cloned().unwrap_or_default());
        }
    }
    if let Some(v) = server.get("key_name") {
        check_name("key_name", v)?;
        request.key_name = v.as_str().map(str::to_owned);
    }
    let min_count = server.get("min_count").map(|v| positive_integer("min_count", v)).transpose()?;
    let max_count = server.get("max_count").map(|v| positive_integer("max_count", v)).transpose()?;
    if let Some(v) = server.get("return_reservation_id") {
        check_boolean("return_reservation_id", v)?;
        request.return_reservation_id = v.as_bool().unwrap_or(true);
    }
    if let Some(v) = server.get("security_groups") {
        check_type("security_groups", v, &["array"])?;
        for (i, item) in v.as_array().into_iter().flatten().enumerate() {
            check_type(&i.to_string(), item, &["object"])?;
            let group = item.as_object().cloned().unwrap_or_default();
            if let Some(name) = group.get("name") {
                check_name("name", name)?;
            }
            no_additional(&i.to_string(), &group, &["name"])?;
        }
    }
    if let Some(v) = server.get("user_data") {
        check_type("user_data", v, &["string"])?;
        let text = v.as_str().unwrap_or_default();
        if !python_base64_ok(text) {
            return Err(SchemaError::at("user_data", v, jsonschema::not_a(v, "base64")).into());
        }
        Draft::Four.check("user_data", v, &[Keyword::MaxLength(MAX_USER_DATA)])?;
        request.user_data = Some(text.to_owned());
    }
    if let (true, Some(v)) = (version >= Microversion(2, 63), server.get("trusted_image_certificates")) {
        request.trusted_certs = Some(trusted_certs(v)?);
    }
    let mut required_names = vec!["name", "flavorRef"];
    if version >= Microversion(2, 37) {
        required_names.push("networks");
    }
    check_required("server", server, &required_names)?;
    let mut allowed: Vec<&str> = CREATE_PROPERTIES.iter().chain(CREATE_PROPERTIES_MORE.iter()).copied().collect();
    for (min, name) in
        [(19, "description"), (52, "tags"), (63, "trusted_image_certificates"), (74, "host"), (74, "hypervisor_hostname"), (90, "hostname")]
    {
        if version >= Microversion(2, min) {
            allowed.push(name);
        }
    }
    no_additional("server", server, &allowed)?;
    // `ServersController.create`: min_count defaults to 1, max_count to min_count.
    request.min_count = min_count.unwrap_or(1);
    request.max_count = max_count.unwrap_or(request.min_count);
    if request.min_count > request.max_count {
        return Err(NovaFault::bad_request("min_count must be <= max_count"));
    }
    Ok(request)
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
    fn formats_follow_nova() {
        // Python's lenient `b64decode`: other characters are skipped, padding ends the data.
        for ok in ["", "YWJj", "YWI=", "YWJj\n", "Y!WJj", "ab==cd", "A".repeat(8).as_str()] {
            assert!(python_base64_ok(ok), "{ok:?}");
        }
        for bad in ["a", "ab", "abc", "notbase64!!", "YWJjZ"] {
            assert!(!python_base64_ok(bad), "{bad:?}");
        }
        for ok in ["", "vm", "a b", "vm\n", "é"] {
            assert!(valid_name(ok), "{ok:?}");
        }
        for bad in [" vm", "vm ", "v\tm", "vm\u{2028}", "😀", "\u{a0}vm", "v\u{200b}m"] {
            assert!(!valid_name(bad), "{bad:?}");
        }
        let e = |v: Value| positive_integer("min_count", &v).unwrap_err().message;
        assert_eq!(e(json!("007x")), "Invalid input for field/attribute min_count. Value: 007x. '007x' does not match '^[0-9]*$'");
        assert_eq!(e(json!("000")), "Invalid input for field/attribute min_count. Value: 000. 0 is less than the minimum of 1");
        assert_eq!(positive_integer("min_count", &json!("007")).unwrap(), 7);
        assert_eq!(positive_integer("min_count", &json!("99999999999999999999999")).unwrap(), u64::MAX);
    }

    #[test]
    fn pre_263_rejects_the_field() {
        let body =
            json!({"server": {"flavorRef": "1", "imageRef": "i", "name": "s", "networks": "auto", "trusted_image_certificates": ["a"]}});
        let e = create(&body, Microversion(2, 62)).unwrap_err();
        assert_eq!(
            e.message,
            "Invalid input for field/attribute server. Value: {'flavorRef': '1', 'imageRef': 'i', 'name': 's', 'networks': 'auto', 'trusted_image_certificates': ['a']}. Additional properties are not allowed ('trusted_image_certificates' was unexpected)"
        );
        assert!(create(&body, Microversion(2, 63)).is_ok());
    }
}
