//! `GET /v2/images` on the wire: glance's `RequestDeserializer.index` (parameters, sort
//! syntaxes, their messages), the controller's limits and value checks, and the list body with
//! its `first`/`next` links. The listing itself is in `listing`.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::http::GlanceState;
use super::listing::ListQuery;
use super::webob::Fault;
use crate::wire::AuthContext;

const SORT_KEYS: [&str; 8] = ["name", "status", "container_format", "disk_format", "size", "id", "created_at", "updated_at"];
/// glance's `limit_param_default` and `api_limit_max`.
const LIMIT_DEFAULT: usize = 25;
const LIMIT_MAX: usize = 1000;
/// The parameters that are not filters.
const NOT_FILTERS: [&str; 11] =
    ["limit", "marker", "member_status", "tag", "sort", "sort_key", "sort_dir", "visibility", "os_hidden", "protected", "deleted"];

fn sort_key(key: &str) -> Result<String, Fault> {
    if !SORT_KEYS.contains(&key) {
        return Err(Fault::bad_request(format!("Invalid sort key: {key}. It must be one of the following: {}.", SORT_KEYS.join(", "))));
    }
    Ok(key.to_owned())
}

fn sort_dir(dir: &str) -> Result<bool, Fault> {
    match dir {
        "asc" => Ok(true),
        "desc" => Ok(false),
        _ => Err(Fault::bad_request(format!("Invalid sort direction: {dir}"))),
    }
}

/// `_get_sorting_params`: `sort=k1:dir,k2` or the classic repeated `sort_key`/`sort_dir`
/// (one direction applies to every key); `created_at` descending by default.
fn sorting(params: &[(String, String)]) -> Result<Vec<(String, bool)>, Fault> {
    let all = |name: &str| params.iter().filter(|(k, _)| k == name).map(|(_, v)| v.as_str()).collect::<Vec<_>>();
    let mut keys = Vec::new();
    let mut dirs = Vec::new();
    if let Some(sort) = all("sort").first() {
        if !all("sort_key").is_empty() || !all("sort_dir").is_empty() {
            return Err(Fault::bad_request("Old and new sorting syntax cannot be combined"));
        }
        for param in sort.trim().split(',') {
            let (key, dir) = param.split_once(':').unwrap_or((param, ""));
            let dir = if dir.is_empty() { "desc" } else { dir };
            keys.push(sort_key(key.trim())?);
            dirs.push(sort_dir(dir.trim())?);
        }
    } else {
        for key in all("sort_key") {
            keys.push(sort_key(key.trim())?);
        }
        for dir in all("sort_dir") {
            dirs.push(sort_dir(dir.trim())?);
        }
        if dirs.len() > 1 && dirs.len() != keys.len() {
            return Err(Fault::bad_request("Number of sort dirs does not match the number of sort keys"));
        }
    }
    if keys.is_empty() {
        keys.push("created_at".to_owned());
    }
    if dirs.is_empty() {
        dirs.push(false);
    }
    if dirs.len() == 1 {
        dirs = vec![dirs[0]; keys.len()];
    }
    Ok(keys.into_iter().zip(dirs).collect())
}

/// Parses `GET /v2/images` parameters with glance's messages, in glance's order.
pub(super) fn list_query(params: &[(String, String)]) -> Result<ListQuery, Fault> {
    // `MultiDict.pop` takes the first value; the filters dict keeps the last.
    let first = |name: &str| params.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    let mut filters: BTreeMap<String, String> = BTreeMap::new();
    for (k, v) in params {
        filters.insert(k.clone(), v.clone());
    }
    let mut q = ListQuery { limit: LIMIT_DEFAULT, member_status: "accepted".into(), ..ListQuery::default() };
    q.tags = params.iter().filter(|(k, _)| k == "tag").map(|(_, v)| v.trim().to_owned()).collect();
    if let Some(visibility) = filters.get("visibility").filter(|v| !v.is_empty()) {
        if !["community", "public", "private", "shared", "all"].contains(&visibility.as_str()) {
            return Err(Fault::bad_request(format!("Invalid visibility value: {visibility}")));
        }
        q.visibility = Some(visibility.clone());
    }
    if filters.get("changes-since").is_some_and(|v| !v.is_empty()) {
        return Err(Fault::bad_request("The \"changes-since\" filter is no longer available on v2."));
    }
    if let Some(status) = first("member_status") {
        if !["pending", "accepted", "rejected", "all"].contains(&status.as_str()) {
            return Err(Fault::bad_request(format!("Invalid status: {status}")));
        }
        q.member_status = status;
    }
    q.marker = first("marker");
    if let Some(limit) = first("limit") {
        let n: i64 = limit.trim().parse().map_err(|_| Fault::bad_request("limit param must be an integer"))?;
        if n < 0 {
            return Err(Fault::bad_request("limit param must be positive"));
        }
        q.limit = n as usize;
    }
    q.limit = q.limit.min(LIMIT_MAX);
    q.sort = sorting(params)?;
    let os_hidden = filters.get("os_hidden").map_or("false".to_owned(), |v| v.to_lowercase());
    match os_hidden.as_str() {
        "false" => {}
        "true" => q.os_hidden = true,
        other => {
            return Err(Fault::bad_request(format!("Invalid value '{other}' for 'os_hidden' filter. Valid values are 'true' or 'false'.")));
        }
    }
    match filters.get("protected").map(String::as_str) {
        None => {}
        Some("true") => q.protected = Some(true),
        Some("false") => q.protected = Some(false),
        Some(other) => {
            return Err(Fault::bad_request(format!("Invalid value '{other}' for 'protected' filter. Valid values are 'true' or 'false'.")));
        }
    }
    filters.retain(|k, _| !NOT_FILTERS.contains(&k.as_str()));
    q.filters = filters;
    Ok(q)
}

/// Python's `urlencode` of `(key, value)` pairs (`quote_plus`).
pub(super) fn urlencode(params: &[(String, String)]) -> String {
    let quote = |s: &str| -> String {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'_' | b'.' | b'-' | b'~' => (b as char).to_string(),
                b' ' => "+".to_owned(),
                b => format!("%{b:02X}"),
            })
            .collect()
    };
    params.iter().map(|(k, v)| format!("{}={}", quote(k), quote(v))).collect::<Vec<_>>().join("&")
}

pub(super) async fn list_images(
    State(s): State<GlanceState>,
    ctx: AuthContext,
    Query(params): Query<Vec<(String, String)>>,
) -> Result<Response, Fault> {
    let query = list_query(&params)?;
    let (images, next) = s.model.list(&ctx, &query)?;
    // `dict(request.params)`: one value per key (the last), first-seen order.
    let mut unique: Vec<(String, String)> = Vec::new();
    let mut last: BTreeMap<&str, &str> = BTreeMap::new();
    for (k, v) in &params {
        last.insert(k, v);
    }
    for (k, _) in &params {
        if k != "marker" && !unique.iter().any(|(u, _)| u == k) {
            unique.push((k.clone(), last[k.as_str()].to_owned()));
        }
    }
    let mut body = json!({
        "images": images.iter().map(|i| i.view()).collect::<Vec<_>>(),
        "first": "/v2/images",
        "schema": "/v2/schemas/images",
    });
    if !unique.is_empty() {
        body["first"] = format!("/v2/images?{}", urlencode(&unique)).into();
    }
    if let Some(marker) = next {
        unique.push(("marker".into(), marker));
        body["next"] = format!("/v2/images?{}", urlencode(&unique)).into();
    }
    Ok(Json(body).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    #[test]
    fn query_validation() {
        assert_eq!(list_query(&p(&[("limit", "x")])).unwrap_err().explanation, "limit param must be an integer");
        assert_eq!(list_query(&p(&[("limit", "-1")])).unwrap_err().explanation, "limit param must be positive");
        assert_eq!(list_query(&p(&[("visibility", "x")])).unwrap_err().explanation, "Invalid visibility value: x");
        assert_eq!(list_query(&p(&[("sort_dir", "up")])).unwrap_err().explanation, "Invalid sort direction: up");
        let q = list_query(&p(&[("limit", "5000"), ("name", "a b")])).unwrap();
        assert_eq!(q.limit, 1000);
        assert_eq!(q.filters["name"], "a b");
        assert_eq!(q.sort, vec![("created_at".to_owned(), false)]);
        let q = list_query(&p(&[("sort", "size:asc,name"), ("tag", "a"), ("tag", " b ")])).unwrap();
        assert_eq!(q.sort, vec![("size".to_owned(), true), ("name".to_owned(), false)]);
        assert_eq!(q.tags, vec!["a", "b"]);
        assert!(q.filters.is_empty());
        let q = list_query(&p(&[("sort_key", "name"), ("sort_key", "size"), ("sort_dir", "asc")])).unwrap();
        assert_eq!(q.sort, vec![("name".to_owned(), true), ("size".to_owned(), true)]);
        let err = |pairs: &[(&str, &str)]| list_query(&p(pairs)).unwrap_err().explanation;
        assert_eq!(err(&[("sort", "name"), ("sort_dir", "asc")]), "Old and new sorting syntax cannot be combined");
        assert_eq!(
            err(&[("sort_key", "name"), ("sort_dir", "asc"), ("sort_dir", "desc"), ("sort_dir", "asc")]),
            "Number of sort dirs does not match the number of sort keys"
        );
        assert_eq!(err(&[("changes-since", "2020-01-01")]), "The \"changes-since\" filter is no longer available on v2.");
        assert_eq!(
            err(&[("sort", "bogus:asc")]),
            "Invalid sort key: bogus. It must be one of the following: name, status, container_format, disk_format, size, id, created_at, updated_at."
        );
        assert_eq!(urlencode(&p(&[("name", "a b/c"), ("limit", "2")])), "name=a+b%2Fc&limit=2");
    }
}
