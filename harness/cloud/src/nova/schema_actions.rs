//! Request validation of the server actions and volume attachments (`attach`, `rebuild`,
//! `evacuate`, `createImage`, `reboot`), with Nova's jsonschema messages as in [`super::schema`].

use serde_json::{Map, Value, json};

use super::fault::NovaFault;
use super::schema::{TAG_PATTERN, check_metadata, check_name, check_string, no_additional, root, root_additional, trusted_certs};
use crate::jsonschema::{self, Draft, Keyword, SchemaError, check_required, check_type};
use crate::microversion::Microversion;

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
    root_additional(body, |k| k == "volumeAttachment")?;
    let mut request = AttachRequest::default();
    if let Some(v) = attachment.get("volumeId") {
        check_type("volumeId", v, &["string"])?;
        let text = v.as_str().unwrap_or_default();
        if uuid::Uuid::parse_str(text).is_err() {
            return Err(SchemaError::at("volumeId", v, jsonschema::not_a(v, "uuid")).into());
        }
        request.volume_id = text.to_owned();
    }
    if let Some(v) = attachment.get("device") {
        check_type("device", v, &["string", "null"])?;
        Draft::Four.check("device", v, &[Keyword::Pattern(DEVICE_PATTERN, device_matches)])?;
        request.device = v.as_str().map(str::to_owned);
    }
    let mut allowed = vec!["volumeId", "device"];
    if version >= Microversion(2, 49) {
        allowed.push("tag");
        if let Some(v) = attachment.get("tag") {
            Draft::Four.check("tag", v, &[Keyword::Type(&["string"]), Keyword::MaxLength(60), TAG_PATTERN])?;
            request.tag = v.as_str().map(str::to_owned);
        }
    }
    if version >= Microversion(2, 79) {
        allowed.push("delete_on_termination");
        if let Some(v) = attachment.get("delete_on_termination") {
            check_type("delete_on_termination", v, &["boolean", "string"])?;
            request.delete_on_termination = match v {
                Value::Bool(b) => *b,
                Value::String(s) if TRUE_STRINGS.contains(&s.as_str()) || s == "t" => true,
                Value::String(s) if FALSE_STRINGS.contains(&s.as_str()) || s == "f" => false,
                _ => {
                    let choices: Vec<Value> = [json!(true)]
                        .into_iter()
                        .chain(TRUE_STRINGS.iter().chain(&["t"]).map(|s| json!(s)))
                        .chain([json!(false)])
                        .chain(FALSE_STRINGS.iter().chain(&["f"]).map(|s| json!(s)))
                        .collect();
                    return Err(SchemaError::at("delete_on_termination", v, jsonschema::not_one_of(v, &choices)).into());
                }
            };
        }
    }
    check_required("volumeAttachment", attachment, &["volumeId"])?;
    no_additional("volumeAttachment", attachment, &allowed)?;
    Ok(request)
}

/// A validated `rebuild` action.
#[derive(Debug, Clone, Default)]
pub struct RebuildRequest {
    pub image_ref: String,
    pub name: Option<String>,
    /// Present key: `Some(list)` or `Some(None)` for null (reset to the defaults).
    pub trusted_certs: Option<Option<Vec<String>>>,
    /// Present key (2.57+): the new user data, `None` for null (cleared).
    pub user_data: Option<Option<String>>,
}

pub fn rebuild(body: &Value, version: Microversion) -> Result<RebuildRequest, NovaFault> {
    let rebuild = root(body, "rebuild")?;
    let mut request = RebuildRequest::default();
    if let Some(v) = rebuild.get("name") {
        check_name("name", v)?;
        request.name = v.as_str().map(str::to_owned);
    }
    if let Some(v) = rebuild.get("imageRef") {
        check_type("imageRef", v, &["string"])?;
        request.image_ref = v.as_str().unwrap_or_default().to_owned();
    }
    if let (true, Some(v)) = (version >= Microversion(2, 63), rebuild.get("trusted_image_certificates")) {
        request.trusted_certs = Some(trusted_certs(v)?);
    }
    check_required("rebuild", rebuild, &["imageRef"])?;
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
        if version >= Microversion(2, min) && version <= Microversion(2, max) {
            allowed.push(name);
        }
    }
    no_additional("rebuild", rebuild, &allowed)?;
    if let (true, Some(v)) = (version >= Microversion(2, 57), rebuild.get("user_data")) {
        request.user_data = Some(v.as_str().map(str::to_owned));
    }
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
    if version < Microversion(2, 14) {
        if let Some(v) = evacuate.get("onSharedStorage") {
            check_type("onSharedStorage", v, &["boolean", "string"])?;
        }
        check_required("evacuate", evacuate, &["onSharedStorage"])?;
    }
    let mut allowed = vec!["host", "adminPass"];
    if version < Microversion(2, 14) {
        allowed.push("onSharedStorage");
    }
    if version >= Microversion(2, 29) && version < Microversion(2, 68) {
        allowed.push("force");
    }
    if version >= Microversion(2, 95) {
        allowed.push("targetState");
    }
    no_additional("evacuate", evacuate, &allowed)?;
    Ok(host)
}

/// `createImage`: name and extra image properties.
pub fn create_image(body: &Value) -> Result<(String, Map<String, Value>), NovaFault> {
    let create = root(body, "createImage")?;
    if let Some(v) = create.get("name") {
        check_name("name", v)?;
    }
    if let Some(v) = create.get("metadata") {
        check_metadata("metadata", v)?;
    }
    check_required("createImage", create, &["name"])?;
    no_additional("createImage", create, &["name", "metadata"])?;
    let name = create.get("name").and_then(Value::as_str).unwrap_or_default().to_owned();
    Ok((name, create.get("metadata").and_then(Value::as_object).cloned().unwrap_or_default()))
}

/// `reboot`: whether it is HARD.
pub fn reboot(body: &Value) -> Result<bool, NovaFault> {
    let reboot = root(body, "reboot")?;
    const TYPES: [&str; 6] = ["HARD", "Hard", "hard", "SOFT", "Soft", "soft"];
    if let Some(v) = reboot.get("type") {
        Draft::Four.check("type", v, &[Keyword::Enum(&TYPES)])?;
    }
    check_required("reboot", reboot, &["type"])?;
    no_additional("reboot", reboot, &["type"])?;
    Ok(reboot.get("type").and_then(Value::as_str).is_some_and(|t| t.eq_ignore_ascii_case("hard")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn volume_attachment_bodies() {
        let id = "0b9d2a2e-6c1f-4a55-9a3e-5d0c9a1c4e11";
        assert!(device_matches("/dev/vdb") && device_matches("/dev/sda1") && device_matches("/dev/xvdaa"));
        assert!(!device_matches("vdb") && !device_matches("/dev/") && !device_matches("/dev/vdb1a") && !device_matches("/dev/VDB"));
        let ok = attach(&json!({"volumeAttachment": {"volumeId": id, "device": null}}), Microversion(2, 1)).unwrap();
        assert_eq!(ok, AttachRequest { volume_id: id.into(), ..AttachRequest::default() });
        let full = json!({"volumeAttachment": {"volumeId": id, "tag": "db", "delete_on_termination": "yes"}});
        let parsed = attach(&full, Microversion(2, 79)).unwrap();
        assert_eq!((parsed.tag.as_deref(), parsed.delete_on_termination), (Some("db"), true));
        let e = attach(&full, Microversion(2, 78)).unwrap_err();
        assert!(e.message.ends_with("Additional properties are not allowed ('delete_on_termination' was unexpected)"), "{}", e.message);
        let e = attach(&json!({"volumeAttachment": {"volumeId": id, "tag": "a/b"}}), Microversion(2, 49)).unwrap_err();
        assert_eq!(e.message, "Invalid input for field/attribute tag. Value: a/b. 'a/b' does not match '^[^,/]*$'");
        let e = attach(&json!({"volumeAttachment": {"volumeId": id, "delete_on_termination": "maybe"}}), Microversion(2, 79)).unwrap_err();
        assert!(
            e.message
                .starts_with("Invalid input for field/attribute delete_on_termination. Value: maybe. 'maybe' is not one of [True, 'True'"),
            "{}",
            e.message
        );
        let e = attach(&json!({"volumeAttachment": {}}), Microversion(2, 1)).unwrap_err();
        assert_eq!(e.message, "Invalid input for field/attribute volumeAttachment. Value: {}. 'volumeId' is a required property");
        let e = attach(&json!({"volumeAttachment": {"volumeId": 5}}), Microversion(2, 1)).unwrap_err();
        assert_eq!(e.message, "Invalid input for field/attribute volumeId. Value: 5. 5 is not of type 'string'");
    }
}
