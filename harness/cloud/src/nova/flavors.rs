//! `/v2.1/flavors` (`nova/api/openstack/compute/flavors.py`): devstack's flavors, listed and
//! shown by microversion. The lists' query schema closes at 2.75; from 2.102 `name` filters
//! them (a regular expression, as the database's `REGEXP` reads it) and the views and sort
//! keys lose `rxtx_factor` and `OS-FLV-DISABLED:disabled`.
//!
//! The other list parameters pass the schema but are not applied: every simulated flavor is
//! public and enabled, and the list is already in the default order (`flavorid` ascending).

use axum::extract::{Extension, Path, Query, State};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};

use super::fault::NovaFault;
use super::http::NovaState;
use super::query::{self, Params, QuerySchema, ValueSchema};
use crate::microversion::Microversion;
use crate::wire::AuthContext;

/// A flavor: (id, name, ram MiB, vcpus, disk GiB).
pub type Flavor = (&'static str, &'static str, u64, u64, u64);

/// Devstack's flavors.
pub const FLAVORS: [Flavor; 6] = [
    ("1", "m1.tiny", 512, 1, 1),
    ("2", "m1.small", 2048, 1, 20),
    ("3", "m1.medium", 4096, 2, 40),
    ("4", "m1.large", 8192, 4, 80),
    ("42", "m1.nano", 128, 1, 1),
    ("5", "m1.xlarge", 16384, 8, 160),
];

pub fn routes() -> Router<NovaState> {
    Router::new()
        .route("/v2.1/flavors", get(list_flavors))
        .route("/v2.1/flavors/detail", get(list_flavors_detail))
        .route("/v2.1/flavors/{id}", get(show_flavor))
}

pub fn flavor(id: &str) -> Option<Flavor> {
    FLAVORS.iter().copied().find(|f| f.0 == id)
}

/// `VALID_SORT_KEYS` (schemas/flavors.py), and without `rxtx_factor` from 2.102.
const SORT_KEYS: [&str; 15] = [
    "created_at",
    "description",
    "disabled",
    "ephemeral_gb",
    "flavorid",
    "id",
    "is_public",
    "memory_mb",
    "name",
    "root_gb",
    "rxtx_factor",
    "swap",
    "updated_at",
    "vcpu_weight",
    "vcpus",
];
const SORT_KEYS_V2102: [&str; 14] = [
    "created_at",
    "description",
    "disabled",
    "ephemeral_gb",
    "flavorid",
    "id",
    "is_public",
    "memory_mb",
    "name",
    "root_gb",
    "swap",
    "updated_at",
    "vcpu_weight",
    "vcpus",
];
const SORT_DIRS: [&str; 2] = ["asc", "desc"];

const INDEX_PROPERTIES: [(&str, ValueSchema); 7] = [
    ("limit", ValueSchema::NonNegativeInteger),
    ("marker", ValueSchema::Text),
    ("is_public", ValueSchema::Text),
    ("minRam", ValueSchema::Text),
    ("minDisk", ValueSchema::Text),
    ("sort_key", ValueSchema::OneOf(&SORT_KEYS)),
    ("sort_dir", ValueSchema::OneOf(&SORT_DIRS)),
];
const INDEX_PROPERTIES_V2102: [(&str, ValueSchema); 8] = [
    ("limit", ValueSchema::NonNegativeInteger),
    ("marker", ValueSchema::Text),
    ("is_public", ValueSchema::Text),
    ("minRam", ValueSchema::Text),
    ("minDisk", ValueSchema::Text),
    ("sort_key", ValueSchema::OneOf(&SORT_KEYS_V2102)),
    ("sort_dir", ValueSchema::OneOf(&SORT_DIRS)),
    ("name", ValueSchema::Text),
];

/// `index_query` (open), `index_query_v275` (closed), `index_query_v2102` (with `name`).
fn index_query(v: Microversion) -> QuerySchema {
    match v {
        v if v >= Microversion(2, 102) => QuerySchema { properties: &INDEX_PROPERTIES_V2102, additional: false },
        v if v >= Microversion(2, 75) => QuerySchema { properties: &INDEX_PROPERTIES, additional: false },
        _ => QuerySchema { properties: &INDEX_PROPERTIES, additional: true },
    }
}

fn flavor_links(base: &str, id: &str) -> Value {
    json!([{"rel": "self", "href": format!("{base}/v2.1/flavors/{id}")}, {"rel": "bookmark", "href": format!("{base}/flavors/{id}")}])
}

fn flavor_view(base: &str, f: Flavor, v: Microversion, detail: bool) -> Value {
    let (id, name, ram, vcpus, disk) = f;
    let mut view = json!({"id": id, "name": name, "links": flavor_links(base, id)});
    if v >= Microversion(2, 55) {
        view["description"] = Value::Null;
    }
    if detail {
        view["ram"] = ram.into();
        view["vcpus"] = vcpus.into();
        view["disk"] = disk.into();
        view["OS-FLV-EXT-DATA:ephemeral"] = 0.into();
        view["os-flavor-access:is_public"] = true.into();
        // Deprecated (rxtx_factor belonged to nova-network), gone from 2.102.
        if v < Microversion(2, 102) {
            view["OS-FLV-DISABLED:disabled"] = false.into();
            view["rxtx_factor"] = 1.0.into();
        }
        view["swap"] = if v >= Microversion(2, 75) { 0.into() } else { "".into() };
        if v >= Microversion(2, 61) {
            view["extra_specs"] = json!({});
        }
    }
    view
}

/// `_get_flavors`: the flavors the query asks for. `name` (which only a 2.102 schema keeps)
/// is matched as `REGEXP` does, anywhere in the name; a pattern the database cannot compile
/// fails the query (Nova's 500).
fn listed(query: &Params) -> Result<Vec<Flavor>, NovaFault> {
    let pattern = match query::last(query, "name") {
        Some(text) => {
            Some(regex::Regex::new(text).map_err(|e| NovaFault::internal_because(format!("the flavor name filter {text:?}: {e}")))?)
        }
        None => None,
    };
    Ok(FLAVORS.iter().copied().filter(|f| pattern.as_ref().is_none_or(|p| p.is_match(f.1))).collect())
}

fn list(s: &NovaState, v: Microversion, params: &Params, detail: bool) -> Result<Json<Value>, NovaFault> {
    let query = query::validate(params, &index_query(v))?;
    let flavors = listed(&query)?;
    Ok(Json(json!({"flavors": flavors.into_iter().map(|f| flavor_view(s.base(), f, v, detail)).collect::<Vec<_>>()})))
}

async fn list_flavors(
    State(s): State<NovaState>,
    _ctx: AuthContext,
    Extension(v): Extension<Microversion>,
    Query(params): Query<Params>,
) -> Result<Json<Value>, NovaFault> {
    list(&s, v, &params, false)
}

async fn list_flavors_detail(
    State(s): State<NovaState>,
    _ctx: AuthContext,
    Extension(v): Extension<Microversion>,
    Query(params): Query<Params>,
) -> Result<Json<Value>, NovaFault> {
    list(&s, v, &params, true)
}

async fn show_flavor(
    State(s): State<NovaState>,
    _ctx: AuthContext,
    Extension(v): Extension<Microversion>,
    Path(id): Path<String>,
    Query(params): Query<Params>,
) -> Result<Json<Value>, NovaFault> {
    query::validate(&params, &query::show(v))?;
    let f = flavor(&id).ok_or_else(|| NovaFault::not_found(format!("Flavor {id} could not be found.")))?;
    Ok(Json(json!({"flavor": flavor_view(s.base(), f, v, true)})))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(query: &[(&str, &str)]) -> Vec<&'static str> {
        let query: Params = query.iter().map(|(n, v)| ((*n).to_owned(), (*v).to_owned())).collect();
        listed(&query).unwrap().into_iter().map(|f| f.1).collect()
    }

    #[test]
    fn name_is_a_regular_expression_searched_anywhere() {
        assert_eq!(names(&[]).len(), 6);
        assert_eq!(names(&[("name", "tiny")]), ["m1.tiny"]);
        assert_eq!(names(&[("name", "^m1\\.(s|m)")]), ["m1.small", "m1.medium"]);
        assert_eq!(names(&[("name", "a"), ("name", "nano$")]), ["m1.nano"], "the last value counts");
        assert!(names(&[("name", "TINY")]).is_empty());
        let bad: Params = vec![("name".into(), "(".into())];
        assert_eq!(listed(&bad).unwrap_err().status.as_u16(), 500);
    }

    #[test]
    fn sort_keys_lose_rxtx_factor_at_2_102() {
        assert_eq!(SORT_KEYS.iter().filter(|k| **k != "rxtx_factor").copied().collect::<Vec<_>>(), SORT_KEYS_V2102);
        assert!(index_query(Microversion(2, 74)).additional && !index_query(Microversion(2, 75)).additional);
        assert_eq!(index_query(Microversion(2, 102)).properties.last().map(|p| p.0), Some("name"));
    }
}
