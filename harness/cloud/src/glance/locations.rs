//! The locations API of v2.17 (`POST`/`GET /v2/images/{id}/locations`, glance
//! `ImagesController.add_location`/`get_locations`) as Glance answers it with its default
//! configuration: one `file` store (no `http` store), so only a caller with the `service`
//! role could add a location; the simulator refuses what Glance refuses and does not run the
//! `location_import` flow that a service caller would start.

use serde_json::{Map, Value, json};

use super::model::{ImageService, Status, not_authorized};
use super::webob::Fault;
use crate::jsonschema::{self, Draft, Keyword};
use crate::wire::AuthContext;

/// `filesystem_store_datadir`'s default: where the `file` store keeps image data.
pub const FILESYSTEM_STORE_DATADIR: &str = "/var/lib/glance/images/";

fn mismatch(reason: &str) -> Fault {
    Fault::bad_request(format!("Provided object does not match schema 'location': {reason}"))
}

/// `RequestDeserializer.add_location`: the body against the `add_location` schema.
pub fn check_add_body(body: &Value) -> Result<(), Fault> {
    let Some(object) = body.as_object() else {
        return Err(mismatch(&jsonschema::not_of_type(body, &["object"])));
    };
    if !object.contains_key("url") {
        return Err(mismatch(&jsonschema::required("url")));
    }
    if let Some(message) = Draft::Four.error(&object["url"], Keyword::Type(&["string"])) {
        return Err(mismatch(&message));
    }
    let Some(data) = object.get("validation_data") else { return Ok(()) };
    let Some(data) = data.as_object() else {
        return Err(mismatch(&jsonschema::not_of_type(data, &["object"])));
    };
    check_validation_data(data).map_err(|m| mismatch(&m))
}

fn check_validation_data(data: &Map<String, Value>) -> Result<(), String> {
    if let Some(message) = jsonschema::additional_properties(data, |k| k == "os_hash_algo" || k == "os_hash_value") {
        return Err(message);
    }
    if let Some(algo) = data.get("os_hash_algo") {
        for keyword in [Keyword::Type(&["string"]), Keyword::MaxLength(64), Keyword::Enum(&["sha1", "sha256", "sha512", "md5"])] {
            if let Some(message) = Draft::Four.error(algo, keyword) {
                return Err(message);
            }
        }
    }
    if let Some(value) = data.get("os_hash_value") {
        for keyword in [Keyword::Type(&["string"]), Keyword::MaxLength(128)] {
            if let Some(message) = Draft::Four.error(value, keyword) {
                return Err(message);
            }
        }
    }
    for (have, needs) in [("os_hash_value", "os_hash_algo"), ("os_hash_algo", "os_hash_value")] {
        if data.contains_key(have) && !data.contains_key(needs) {
            return Err(format!("'{needs}' is a dependency of '{have}'"));
        }
    }
    Ok(())
}

/// `_validate_hashing_data`: a hex `os_hash_value` of the algorithm's digest size.
fn check_hashing_data(data: Option<&Value>) -> Result<(), Fault> {
    let Some(value) = data.and_then(|d| d.get("os_hash_value")).and_then(Value::as_str) else { return Ok(()) };
    let hex = value.split_whitespace().collect::<String>();
    if hex.len() % 2 != 0 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(Fault::bad_request(format!("os_hash_value ({value}) is not a valid hexadecimal value")));
    }
    let algo = data.and_then(|d| d.get("os_hash_algo")).and_then(Value::as_str).unwrap_or(super::model::HASH_ALGO);
    let want = match algo {
        "sha1" => 20,
        "sha256" => 32,
        "md5" => 16,
        _ => 64,
    };
    if hex.len() / 2 != want {
        return Err(Fault::bad_request(format!(
            "os_hash_value: ({value}) is not the correct size for ({algo}) (should be ({want}) bytes)"
        )));
    }
    Ok(())
}

impl ImageService {
    /// `POST /v2/images/{id}/locations`.
    pub fn add_location(&self, ctx: &AuthContext, id: &str, body: &Value) -> Result<(), Fault> {
        let image = self.get(ctx, id)?;
        if image.status != Status::Queued {
            return Err(Fault::conflict(format!("It's not allowed to add locations if image status is {}.", image.status.as_str())));
        }
        // `add_image_location`: the service API (service or admin role), or a member of the
        // owning project.
        let service = ctx.has_role("service") || ctx.is_admin();
        if !(service || image.owner.as_deref() == Some(ctx.project_id.as_str())) {
            return Err(not_authorized("add_image_location"));
        }
        if !ctx.has_role("service") {
            return Err(Fault::forbidden("http store must be enabled to use location API by normal user."));
        }
        check_hashing_data(body.get("validation_data"))?;
        Err(Fault::internal_because("the location_import flow is not simulated"))
    }

    /// `GET /v2/images/{id}/locations` (`fetch_image_location`: the service API only).
    pub fn locations(&self, ctx: &AuthContext, id: &str) -> Result<Value, Fault> {
        let image = self.get(ctx, id)?;
        if !(ctx.has_role("service") || ctx.is_admin()) {
            return Err(not_authorized("fetch_image_location"));
        }
        if !image.has_data() {
            return Ok(json!([]));
        }
        Ok(json!([{"url": format!("file://{FILESYSTEM_STORE_DATADIR}{id}"), "metadata": {}}]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn add_bodies_follow_the_schema() {
        let reason = |body: Value| check_add_body(&body).unwrap_err().explanation;
        assert_eq!(reason(json!({})), "Provided object does not match schema 'location': 'url' is a required property");
        assert_eq!(reason(json!({"url": 5})), "Provided object does not match schema 'location': 5 is not of type 'string'");
        assert_eq!(
            reason(json!({"url": "http://x", "validation_data": {"os_hash_value": "ab"}})),
            "Provided object does not match schema 'location': 'os_hash_algo' is a dependency of 'os_hash_value'"
        );
        assert!(check_add_body(&json!({"url": "http://x", "validation_data": {"os_hash_algo": "sha512", "os_hash_value": "ab"}})).is_ok());
    }
}
