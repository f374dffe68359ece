//! jsonschema as the services' Python validators run it, for every service: Python's `repr()`
//! of the instances ([`python`]), jsonschema's types, the messages of the keywords the
//! simulated schemas use, worded as jsonschema 4 words them (`ValidationError.message`), and
//! the [`SchemaError`] a failed keyword becomes.
//!
//! Nothing here is a service's answer: each service wraps a [`SchemaError`] or a message in its
//! own shape where it keeps its wire rules (Nova's `NovaFault` and Cinder's `Fault` in their
//! `fault.rs`, Keystone's error in `keystone/schema.rs`, Barbican's "Provided object does not
//! match schema" in `barbican/validate.rs`, Glance's webob body in `glance/schema.rs`).
//!
//! Objects are dicts in the request's key order (serde_json's `preserve_order`), as Python's
//! `json` module loads them, so a dict's `repr()` and the keyword checks that walk an object
//! (`patternProperties`) follow the request; jsonschema itself sorts the keys it lists as
//! unexpected.

mod python;

pub use python::{py_display, py_repr, py_str};

use serde_json::{Map, Value};

/// The draft whose types a validator checks; they differ on integers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Draft {
    /// Draft 4 (`Draft4Validator`: Nova, Cinder, Keystone; Glance as simulated): an integer is
    /// a number written without a fraction or exponent (`5`, not `5.0`).
    Four,
    /// Draft 6 and later (the latest draft, which Barbican's `jsonschema.validate` picks):
    /// a float without a fraction (`5.0`) is an integer too.
    SixOrLater,
}

/// A keyword of a schema, as far as the simulated schemas use them.
#[derive(Debug, Clone, Copy)]
pub enum Keyword<'a> {
    Type(&'a [&'a str]),
    /// `enum` of strings.
    Enum(&'a [&'a str]),
    MinLength(usize),
    MaxLength(usize),
    /// `pattern`: its source (as the message quotes it) and what it matches (`re.search`).
    Pattern(&'a str, fn(&str) -> bool),
    Minimum(i64),
    Maximum(i64),
}

impl Draft {
    /// Whether `value` is of the jsonschema type `name` (`null`, `boolean`, `integer`, `number`,
    /// `string`, `array`, `object`; an integer is a number too).
    pub fn is_type(self, value: &Value, name: &str) -> bool {
        match name {
            "null" => value.is_null(),
            "boolean" => value.is_boolean(),
            "integer" => {
                value.is_i64() || value.is_u64() || (self == Draft::SixOrLater && value.as_f64().is_some_and(|f| f.fract() == 0.0))
            }
            "number" => value.is_number(),
            "string" => value.is_string(),
            "array" => value.is_array(),
            "object" => value.is_object(),
            _ => false,
        }
    }

    /// The message of `keyword` when `value` fails it. As in jsonschema, the string keywords
    /// pass anything but a string and the numeric ones anything but a number.
    pub fn error(self, value: &Value, keyword: Keyword) -> Option<String> {
        let text = value.as_str();
        let length = || text.map_or(0, |s| s.chars().count());
        match keyword {
            Keyword::Type(types) if !types.iter().any(|t| self.is_type(value, t)) => Some(not_of_type(value, types)),
            Keyword::Enum(choices) if !text.is_some_and(|s| choices.contains(&s)) => {
                let choices: Vec<Value> = choices.iter().map(|c| Value::from(*c)).collect();
                Some(not_one_of(value, &choices))
            }
            Keyword::MinLength(min) if text.is_some() && length() < min => Some(too_short(value, min)),
            Keyword::MaxLength(max) if text.is_some() && length() > max => Some(too_long(value, max)),
            Keyword::Pattern(source, matches) if text.is_some_and(|s| !matches(s)) => Some(does_not_match(value, source)),
            Keyword::Minimum(min) if value.as_f64().is_some_and(|f| f < min as f64) => Some(less_than_minimum(&py_repr(value), min)),
            Keyword::Maximum(max) if value.as_f64().is_some_and(|f| f > max as f64) => Some(greater_than_maximum(&py_repr(value), max)),
            _ => None,
        }
    }

    /// The first of `keywords` (in the schema's order, as `iter_errors` goes) that `value`
    /// fails, as an error at `field`.
    pub fn check(self, field: &str, value: &Value, keywords: &[Keyword]) -> Result<(), SchemaError> {
        match keywords.iter().find_map(|k| self.error(value, *k)) {
            Some(message) => Err(SchemaError::at(field, value, message)),
            None => Ok(()),
        }
    }
}

/// A draft-4 `type` at `field`, the check every schema starts with.
pub fn check_type(field: &str, value: &Value, types: &[&str]) -> Result<(), SchemaError> {
    Draft::Four.check(field, value, &[Keyword::Type(types)])
}

/// `required` of the object at `field`: the first missing name, an error on the object.
pub fn check_required(field: &str, object: &Map<String, Value>, names: &[&str]) -> Result<(), SchemaError> {
    match names.iter().find(|n| !object.contains_key(**n)) {
        Some(name) => Err(SchemaError::at(field, &Value::Object(object.clone()), required(name))),
        None => Ok(()),
    }
}

/// `additionalProperties: False` of the object at `field`: the keys `allowed` refuses.
pub fn check_additional(field: &str, object: &Map<String, Value>, allowed: impl Fn(&str) -> bool) -> Result<(), SchemaError> {
    match additional_properties(object, allowed) {
        Some(message) => Err(SchemaError::at(field, &Value::Object(object.clone()), message)),
        None => Ok(()),
    }
}

/// The request body as the object every schema's root is, or the root's `type` error.
pub fn root_object(body: &Value) -> Result<&Map<String, Value>, SchemaError> {
    body.as_object().ok_or_else(|| SchemaError::root(body, not_of_type(body, &["object"])))
}

// ---- jsonschema's messages (`_keywords.py`), the instance as Python's `repr()` ----

/// `type`: `5 is not of type 'string', 'null'`.
pub fn not_of_type(value: &Value, types: &[&str]) -> String {
    format!("{} is not of type {}", py_repr(value), quoted(types.iter().copied()))
}

/// `enum`: `'x' is not one of ['a', None, True]` (the choices as Python shows the list).
pub fn not_one_of(value: &Value, choices: &[Value]) -> String {
    format!("{} is not one of {}", py_repr(value), py_repr(&Value::Array(choices.to_vec())))
}

/// `minLength`, `minItems`: `'' should be non-empty` for a minimum of 1, else `is too short`.
pub fn too_short(value: &Value, minimum: usize) -> String {
    format!("{} {}", py_repr(value), if minimum == 1 { "should be non-empty" } else { "is too short" })
}

/// `maxLength`, `maxItems`: `'...' is too long` (`is expected to be empty` for a maximum of 0).
pub fn too_long(value: &Value, maximum: usize) -> String {
    format!("{} {}", py_repr(value), if maximum == 0 { "is expected to be empty" } else { "is too long" })
}

/// `minProperties`: `{} should be non-empty` for a minimum of 1.
pub fn too_few_properties(value: &Value, minimum: usize) -> String {
    format!("{} {}", py_repr(value), if minimum == 1 { "should be non-empty" } else { "does not have enough properties" })
}

/// `maxProperties`: `{...} has too many properties`.
pub fn too_many_properties(value: &Value, maximum: usize) -> String {
    format!("{} {}", py_repr(value), if maximum == 0 { "is expected to be empty" } else { "has too many properties" })
}

/// `pattern`: `'a b' does not match '^[a-z]+$'`.
pub fn does_not_match(value: &Value, pattern: &str) -> String {
    format!("{} does not match {}", py_repr(value), py_str(pattern))
}

/// `minimum`: `0 is less than the minimum of 1`. `shown` is the instance's `repr()` (the
/// services that read a string of digits as a number show the number).
pub fn less_than_minimum(shown: &str, minimum: impl std::fmt::Display) -> String {
    format!("{shown} is less than the minimum of {minimum}")
}

/// `maximum`: `2147483648 is greater than the maximum of 2147483647` (`shown` as for
/// [`less_than_minimum`]).
pub fn greater_than_maximum(shown: &str, maximum: impl std::fmt::Display) -> String {
    format!("{shown} is greater than the maximum of {maximum}")
}

/// `required`: `'name' is a required property`.
pub fn required(name: &str) -> String {
    format!("{} is a required property", py_str(name))
}

/// `additionalProperties: False`: the keys `allowed` refuses, sorted as jsonschema sorts them
/// (`('a', 'b' were unexpected)`); `None` when there are none.
pub fn additional_properties(object: &Map<String, Value>, allowed: impl Fn(&str) -> bool) -> Option<String> {
    let extras = sorted_keys(object, |k| !allowed(k));
    let verb = if extras.len() == 1 { "was" } else { "were" };
    (!extras.is_empty()).then(|| format!("Additional properties are not allowed ({} {verb} unexpected)", quoted(extras)))
}

/// `additionalProperties: False` beside `patternProperties`: the keys no pattern matches,
/// sorted, then the sorted patterns (`'a/b' does not match any of the regexes: '^[a-z]+$'`).
pub fn unmatched_properties(object: &Map<String, Value>, matched: impl Fn(&str) -> bool, patterns: &[&str]) -> Option<String> {
    let extras = sorted_keys(object, |k| !matched(k));
    let verb = if extras.len() == 1 { "does" } else { "do" };
    let mut patterns = patterns.to_vec();
    patterns.sort_unstable();
    (!extras.is_empty()).then(|| format!("{} {verb} not match any of the regexes: {}", quoted(extras), quoted(patterns)))
}

/// `anyOf`, `oneOf`: `'x' is not valid under any of the given schemas`.
pub fn no_valid_schema(value: &Value) -> String {
    format!("{} is not valid under any of the given schemas", py_repr(value))
}

/// A `format` the `FormatChecker` refuses: `'x' is not a 'uuid'`.
pub fn not_a(value: &Value, format: &str) -> String {
    format!("{} is not a {}", py_repr(value), py_str(format))
}

/// `uniqueItems`: `['a', 'a'] has non-unique elements`.
pub fn non_unique(value: &Value) -> String {
    format!("{} has non-unique elements", py_repr(value))
}

fn sorted_keys(object: &Map<String, Value>, keep: impl Fn(&str) -> bool) -> Vec<&str> {
    let mut keys: Vec<&str> = object.keys().map(String::as_str).filter(|k| keep(k)).collect();
    keys.sort_unstable();
    keys
}

/// `', '.join(repr(s) for s in strings)`.
fn quoted<'a>(strings: impl IntoIterator<Item = &'a str>) -> String {
    strings.into_iter().map(py_str).collect::<Vec<_>>().join(", ")
}

/// A failed keyword: where, on what and jsonschema's message.
#[derive(Debug, Clone, PartialEq)]
pub struct SchemaError {
    /// The last element of the instance's path (`ValidationError.path[-1]`: a property name or
    /// an array index); `None` for the request body itself.
    pub field: Option<String>,
    /// The instance that failed.
    pub value: Value,
    /// jsonschema's `ValidationError.message`.
    pub message: String,
}

impl SchemaError {
    /// An error on the instance at `field`.
    pub fn at(field: &str, value: &Value, message: impl Into<String>) -> SchemaError {
        SchemaError { field: Some(field.to_owned()), value: value.clone(), message: message.into() }
    }

    /// An error on the request body itself.
    pub fn root(body: &Value, message: impl Into<String>) -> SchemaError {
        SchemaError { field: None, value: body.clone(), message: message.into() }
    }

    /// The 400's text in Nova's, Cinder's and Keystone's validators (`validators.py`, one
    /// lineage): `Invalid input for field/attribute <field>. Value: <str(value)>. <message>`,
    /// and the bare message for an error on the body itself.
    pub fn detail(&self) -> String {
        match &self.field {
            Some(field) => format!("Invalid input for field/attribute {field}. Value: {}. {}", py_display(&self.value), self.message),
            None => self.message.clone(),
        }
    }
}

impl std::fmt::Display for SchemaError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.detail())
    }
}

impl std::error::Error for SchemaError {}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn object(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap()
    }

    #[test]
    fn types_follow_the_draft() {
        let five_point_oh: Value = serde_json::from_str("5.0").unwrap();
        assert!(Draft::Four.is_type(&json!(5), "integer") && Draft::Four.is_type(&json!(5), "number"));
        assert!(!Draft::Four.is_type(&five_point_oh, "integer") && Draft::Four.is_type(&five_point_oh, "number"));
        assert!(Draft::SixOrLater.is_type(&five_point_oh, "integer") && !Draft::SixOrLater.is_type(&json!(5.5), "integer"));
        assert!(!Draft::SixOrLater.is_type(&json!(true), "integer") && !Draft::Four.is_type(&json!("5"), "number"));
        for (value, name) in
            [(json!(null), "null"), (json!(false), "boolean"), (json!("s"), "string"), (json!([]), "array"), (json!({}), "object")]
        {
            assert!(Draft::Four.is_type(&value, name), "{value} {name}");
            assert!(!Draft::Four.is_type(&value, "integer"), "{value}");
        }
        assert!(!Draft::Four.is_type(&json!(1), "unknown"));
    }

    #[test]
    fn keyword_messages_are_jsonschemas() {
        let error = |v: Value, k: Keyword| Draft::Four.error(&v, k);
        assert_eq!(error(json!(5), Keyword::Type(&["string", "null"])).unwrap(), "5 is not of type 'string', 'null'");
        assert_eq!(error(json!(true), Keyword::Type(&["integer"])).unwrap(), "True is not of type 'integer'");
        assert_eq!(error(json!(1.0), Keyword::Type(&["integer"])).unwrap(), "1.0 is not of type 'integer'");
        assert_eq!(error(json!(null), Keyword::Type(&["object"])).unwrap(), "None is not of type 'object'");
        assert_eq!(error(json!(1), Keyword::Type(&["number"])), None);
        assert_eq!(error(json!("x"), Keyword::Enum(&["a", "it's"])).unwrap(), "'x' is not one of ['a', \"it's\"]");
        assert_eq!(error(json!(3), Keyword::Enum(&["a"])).unwrap(), "3 is not one of ['a']");
        assert_eq!(error(json!(""), Keyword::MinLength(1)).unwrap(), "'' should be non-empty");
        assert_eq!(error(json!("ab"), Keyword::MinLength(3)).unwrap(), "'ab' is too short");
        assert_eq!(error(json!("ééé"), Keyword::MaxLength(3)), None, "characters, not bytes");
        assert_eq!(error(json!("éééé"), Keyword::MaxLength(3)).unwrap(), "'éééé' is too long");
        assert_eq!(error(json!("x"), Keyword::MaxLength(0)).unwrap(), "'x' is expected to be empty");
        assert_eq!(error(json!(5), Keyword::MaxLength(0)), None, "not a string");
        let lower: fn(&str) -> bool = |s| s.chars().all(|c| c.is_ascii_lowercase());
        assert_eq!(error(json!("a B"), Keyword::Pattern(r"^[a-z]+\Z", lower)).unwrap(), r"'a B' does not match '^[a-z]+\\Z'");
        assert_eq!(error(json!(5), Keyword::Pattern("^[a-z]+$", lower)), None);
        assert_eq!(error(json!(0), Keyword::Minimum(1)).unwrap(), "0 is less than the minimum of 1");
        assert_eq!(error(json!(0.5), Keyword::Minimum(1)).unwrap(), "0.5 is less than the minimum of 1");
        assert_eq!(error(json!(40000), Keyword::Maximum(32767)).unwrap(), "40000 is greater than the maximum of 32767");
        assert_eq!(error(json!("0"), Keyword::Minimum(1)), None, "not a number");
    }

    #[test]
    fn check_reports_the_first_failing_keyword_at_its_field() {
        let keywords = [Keyword::Type(&["string"]), Keyword::MinLength(1), Keyword::MaxLength(3)];
        assert_eq!(Draft::Four.check("name", &json!("abc"), &keywords), Ok(()));
        let e = Draft::Four.check("name", &json!(""), &keywords).unwrap_err();
        assert_eq!((e.field.as_deref(), e.message.as_str()), (Some("name"), "'' should be non-empty"));
        let e = check_type("name", &json!(["x"]), &["string"]).unwrap_err();
        assert_eq!(e.detail(), "Invalid input for field/attribute name. Value: ['x']. ['x'] is not of type 'string'");
    }

    #[test]
    fn details_show_the_value_as_str() {
        let e = SchemaError::at("name", &json!("it's"), "'x' is too long");
        assert_eq!(e.detail(), "Invalid input for field/attribute name. Value: it's. 'x' is too long");
        assert_eq!(e.to_string(), e.detail());
        let e = SchemaError::at("0", &json!({"b": 1, "a": null}), "m");
        assert_eq!(e.detail(), "Invalid input for field/attribute 0. Value: {'b': 1, 'a': None}. m");
        assert_eq!(SchemaError::root(&json!([]), "[] is not of type 'object'").detail(), "[] is not of type 'object'");
        assert_eq!(root_object(&json!("x")).unwrap_err().detail(), "'x' is not of type 'object'");
        assert!(root_object(&json!({})).is_ok());
    }

    #[test]
    fn object_keywords() {
        let body = object(json!({"zeta": 1, "name": "n", "alpha": 2}));
        let e = check_required("server", &body, &["name", "flavorRef", "imageRef"]).unwrap_err();
        assert_eq!(
            e.detail(),
            "Invalid input for field/attribute server. Value: {'zeta': 1, 'name': 'n', 'alpha': 2}. 'flavorRef' is a required property"
        );
        assert_eq!(check_required("server", &body, &["name"]), Ok(()));
        // Unexpected keys are listed sorted, whatever the request's order.
        assert_eq!(
            additional_properties(&body, |k| k == "name").unwrap(),
            "Additional properties are not allowed ('alpha', 'zeta' were unexpected)"
        );
        assert_eq!(additional_properties(&body, |k| k != "zeta").unwrap(), "Additional properties are not allowed ('zeta' was unexpected)");
        assert_eq!(additional_properties(&body, |_| true), None);
        let e = check_additional("server", &object(json!({"it's": 1})), |_| false).unwrap_err();
        assert_eq!(e.message, "Additional properties are not allowed (\"it's\" was unexpected)");
        let metadata = object(json!({"b/c": "v", "ok": "v", "a/b": "v"}));
        let plain = |k: &str| !k.contains('/');
        assert_eq!(
            unmatched_properties(&metadata, plain, &["^[b]$", "^[a]$"]).unwrap(),
            "'a/b', 'b/c' do not match any of the regexes: '^[a]$', '^[b]$'"
        );
        assert_eq!(
            unmatched_properties(&object(json!({"a/b": 1})), plain, &["^x$"]).unwrap(),
            "'a/b' does not match any of the regexes: '^x$'"
        );
        assert_eq!(unmatched_properties(&object(json!({"ok": 1})), plain, &["^x$"]), None);
    }

    #[test]
    fn other_messages() {
        assert_eq!(required("it's"), "\"it's\" is a required property");
        assert_eq!(
            not_one_of(&json!("maybe"), &json!([true, "True", false, null]).as_array().unwrap().clone()),
            "'maybe' is not one of [True, 'True', False, None]"
        );
        assert_eq!(too_short(&json!([]), 1), "[] should be non-empty");
        assert_eq!(too_long(&json!([1, 2]), 1), "[1, 2] is too long");
        assert_eq!(too_few_properties(&json!({}), 1), "{} should be non-empty");
        assert_eq!(too_few_properties(&json!({}), 2), "{} does not have enough properties");
        assert_eq!(too_many_properties(&json!({"id": "a", "name": "b"}), 1), "{'id': 'a', 'name': 'b'} has too many properties");
        assert_eq!(no_valid_schema(&json!([{"uuid": "x"}])), "[{'uuid': 'x'}] is not valid under any of the given schemas");
        assert_eq!(not_a(&json!("abc"), "uuid"), "'abc' is not a 'uuid'");
        assert_eq!(non_unique(&json!(["a", "a"])), "['a', 'a'] has non-unique elements");
        assert_eq!(less_than_minimum("-1", 0), "-1 is less than the minimum of 0");
        assert_eq!(
            greater_than_maximum("99999999999999999999999", 2147483647),
            "99999999999999999999999 is greater than the maximum of 2147483647"
        );
    }
}
