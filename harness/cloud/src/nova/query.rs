//! Query strings as Nova's `validation.query_schema` checks them: the query as
//! `req.GET.dict_of_lists()` (every parameter a list of its values, in order of first
//! appearance), validated by jsonschema against the schema of the request's microversion.
//! An error on a value reads `Invalid input for query parameters <name>. Value: <value>.
//! <message>`; one on the query itself (unknown parameters where the schema has
//! `additionalProperties: False`) is jsonschema's bare message, the unknown names sorted.
//! Where a schema allows other parameters they are dropped, so handlers never see them.
//!
//! The schemas of the simulated APIs, from `nova/api/openstack/compute/schemas/`: 2.75
//! closed the lists (flavors, volume attachments) and 2.102 "restricts additional query
//! string parameters for all APIs": the show of a server or a flavor; the flavor lists gain
//! `name` and lose the `rxtx_factor` sort key. The server shares (2.97) were closed from the
//! start. A volume attachment's show keeps its open schema at 2.102: Nova 34 defines
//! `show_query_v2102` in `schemas/volume_attachments.py` but never applies it.

use serde_json::Value;

use super::fault::NovaFault;
use crate::jsonschema::{self, Draft, Keyword, SchemaError};
use crate::microversion::Microversion;

/// A query string's parameters, in order, as axum's `Query<Vec<(String, String)>>` reads them
/// (percent-decoded, a name without `=` having an empty value, like webob's).
pub type Params = Vec<(String, String)>;

/// What a property's `multi_params` allows each value to be.
#[derive(Debug, Clone, Copy)]
pub enum ValueSchema {
    /// `{'type': 'string'}`: anything.
    Text,
    /// `parameter_types.non_negative_integer`: digits, at least one.
    NonNegativeInteger,
    /// `{'type': 'string', 'enum': [...]}`.
    OneOf(&'static [&'static str]),
}

/// A query schema: its properties in the schema's order, and whether other names are
/// allowed (then dropped).
#[derive(Debug, Clone, Copy)]
pub struct QuerySchema {
    pub properties: &'static [(&'static str, ValueSchema)],
    pub additional: bool,
}

/// `{'properties': {}, 'additionalProperties': True}`: anything goes, nothing is kept.
pub const OPEN: QuerySchema = QuerySchema { properties: &[], additional: true };
/// `{'properties': {}, 'additionalProperties': False}`: no parameter at all.
pub const CLOSED: QuerySchema = QuerySchema { properties: &[], additional: false };

/// `show_query` of servers and flavors: [`OPEN`] before 2.102, [`CLOSED`] from it.
pub fn show(v: Microversion) -> QuerySchema {
    if v >= Microversion(2, 102) { CLOSED } else { OPEN }
}

/// `parameter_types.non_negative_integer`'s pattern.
const DIGITS: &str = "^[0-9]*$";

/// `re.search('^[0-9]*$', text)`: `$` also matches before a final newline.
fn digits(text: &str) -> bool {
    text.strip_suffix('\n').unwrap_or(text).bytes().all(|b| b.is_ascii_digit())
}

/// The first error of one value (the keywords in the parameter type's order: type, pattern,
/// minimum, minLength; a value from a query is always a string).
fn value_error(schema: ValueSchema, value: &Value) -> Option<String> {
    match schema {
        ValueSchema::Text => None,
        ValueSchema::NonNegativeInteger => {
            Draft::Four.error(value, Keyword::Pattern(DIGITS, digits)).or_else(|| Draft::Four.error(value, Keyword::MinLength(1)))
        }
        ValueSchema::OneOf(choices) => Draft::Four.error(value, Keyword::Enum(choices)),
    }
}

/// Validates `params` against `schema` and returns those the schema keeps (its properties),
/// or Nova's 400.
pub fn validate(params: &[(String, String)], schema: &QuerySchema) -> Result<Params, NovaFault> {
    for (name, value_schema) in schema.properties {
        for (_, value) in params.iter().filter(|(n, _)| n == name) {
            let value = Value::String(value.clone());
            if let Some(message) = value_error(*value_schema, &value) {
                return Err(NovaFault::bad_request(format!(
                    "Invalid input for query parameters {name}. Value: {}. {message}",
                    jsonschema::py_display(&value)
                )));
            }
        }
    }
    let known = |name: &str| schema.properties.iter().any(|(n, _)| *n == name);
    if !schema.additional {
        let names: serde_json::Map<String, Value> = params.iter().map(|(n, _)| (n.clone(), Value::Null)).collect();
        if let Some(message) = jsonschema::additional_properties(&names, known) {
            return Err(SchemaError::root(&Value::Null, message).into());
        }
    }
    Ok(params.iter().filter(|(n, _)| known(n)).cloned().collect())
}

/// The last value of `name`, as webob's `MultiDict.get` returns it.
pub fn last<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params.iter().rev().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> Params {
        pairs.iter().map(|(n, v)| ((*n).to_owned(), (*v).to_owned())).collect()
    }

    const LIST: QuerySchema = QuerySchema {
        properties: &[("limit", ValueSchema::NonNegativeInteger), ("sort_dir", ValueSchema::OneOf(&["asc", "desc"]))],
        additional: false,
    };

    fn message(pairs: &[(&str, &str)], schema: &QuerySchema) -> String {
        validate(&params(pairs), schema).unwrap_err().message
    }

    #[test]
    fn values_then_unknown_names() {
        assert_eq!(
            message(&[("limit", "5"), ("limit", "x5")], &LIST),
            "Invalid input for query parameters limit. Value: x5. 'x5' does not match '^[0-9]*$'"
        );
        assert_eq!(message(&[("limit", "")], &LIST), "Invalid input for query parameters limit. Value: . '' should be non-empty");
        assert_eq!(
            message(&[("sort_dir", "up")], &LIST),
            "Invalid input for query parameters sort_dir. Value: up. 'up' is not one of ['asc', 'desc']"
        );
        // Values are checked first, whatever the order of the query.
        assert_eq!(
            message(&[("zeta", "1"), ("sort_dir", "up")], &LIST),
            "Invalid input for query parameters sort_dir. Value: up. 'up' is not one of ['asc', 'desc']"
        );
        assert_eq!(
            message(&[("zeta", "1"), ("alpha", ""), ("zeta", "2")], &LIST),
            "Additional properties are not allowed ('alpha', 'zeta' were unexpected)"
        );
        assert_eq!(message(&[("foo", "")], &CLOSED), "Additional properties are not allowed ('foo' was unexpected)");
        assert_eq!(validate(&params(&[("limit", "5\n")]), &LIST).unwrap(), params(&[("limit", "5\n")]));
    }

    #[test]
    fn open_schemas_drop_what_they_do_not_know() {
        let open_list = QuerySchema { additional: true, ..LIST };
        assert_eq!(validate(&params(&[("foo", "1"), ("limit", "2")]), &open_list).unwrap(), params(&[("limit", "2")]));
        assert_eq!(validate(&params(&[("foo", "1")]), &OPEN).unwrap(), Params::new());
        assert!(show(Microversion(2, 101)).additional);
        assert_eq!(message(&[("a", "1")], &show(Microversion(2, 102))), "Additional properties are not allowed ('a' was unexpected)");
        assert_eq!(last(&params(&[("name", "a"), ("name", "b")]), "name"), Some("b"));
    }
}
