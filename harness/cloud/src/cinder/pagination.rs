//! The paging query every Cinder list reads (`api/common.py`: `get_pagination_params`,
//! `get_sort_params`, `_get_collection_links`; `db/api.py`: `process_sort_params`), without
//! HTTP.

use super::fault::Fault;

/// `osapi_max_limit`.
pub const MAX_LIMIT: usize = 1000;

/// `_get_limit_param`: the `limit` asked for (at most [`MAX_LIMIT`]), or [`MAX_LIMIT`].
pub fn limit(value: Option<&str>) -> Result<usize, Fault> {
    match value {
        None => Ok(MAX_LIMIT),
        Some(l) => match l.trim().parse::<i64>() {
            Ok(n) if n >= 0 => Ok((n as usize).min(MAX_LIMIT)),
            Ok(_) => Err(Fault::bad_request("limit param must be positive")),
            Err(_) => Err(Fault::bad_request("limit param must be an integer")),
        },
    }
}

/// `_get_offset_param` (`validate_integer(offset, 'offset', 0, DB_MAX_INT)`).
pub fn offset(value: Option<&str>) -> Result<usize, Fault> {
    let Some(offset) = value else { return Ok(0) };
    let n: i64 = offset.trim().parse().map_err(|_| Fault::bad_request("offset must be an integer"))?;
    if n < 0 {
        return Err(Fault::bad_request("offset must be >= 0"));
    }
    Ok(n as usize)
}

/// `get_sort_params` then `process_sort_params(default_keys=['created_at', 'id'],
/// default_dir='desc')`: `(key, descending)` pairs, the default keys added at the end in the
/// first direction.
pub fn sort_keys(sort: Option<&str>, sort_key: Option<&str>, sort_dir: Option<&str>) -> Result<Vec<(String, bool)>, Fault> {
    let mut keys: Vec<(String, String)> = match (sort, sort_key, sort_dir) {
        (Some(_), Some(_), _) | (Some(_), _, Some(_)) => {
            return Err(Fault::bad_request(
                "The 'sort_key' and 'sort_dir' parameters are deprecated and cannot be used with the 'sort' parameter.",
            ));
        }
        (Some(sort), None, None) => sort
            .trim()
            .split(',')
            .map(|item| {
                let (key, dir) = item.split_once(':').unwrap_or((item, ""));
                let dir = if dir.is_empty() { "desc" } else { dir };
                (key.trim().to_owned(), dir.trim().to_owned())
            })
            .collect(),
        (None, key, dir) => vec![(key.unwrap_or("created_at").trim().to_owned(), dir.unwrap_or("desc").trim().to_owned())],
    };
    let first_dir = keys[0].1.clone();
    for default in ["created_at", "id"] {
        if !keys.iter().any(|(k, _)| k == default) {
            keys.push((default.to_owned(), first_dir.clone()));
        }
    }
    keys.into_iter()
        .map(|(key, dir)| match dir.as_str() {
            "asc" => Ok((key, false)),
            "desc" => Ok((key, true)),
            _ => Err(Fault::invalid_input("Unknown sort direction, must be 'desc' or 'asc'.")),
        })
        .collect()
}

/// Python's `quote_plus` (what `urlencode` applies to each key and value).
pub fn quote_plus(text: &str) -> String {
    let mut out = String::new();
    for b in text.bytes() {
        match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'_' | b'.' | b'-' | b'~' => out.push(b as char),
            b' ' => out.push('+'),
            other => out.push_str(&format!("%{other:02X}")),
        }
    }
    out
}

/// `_get_next_link`: the request's own query with `marker` set to `last` (moved to the end,
/// as webob's `MultiDict` does), under the caller's project.
pub fn next_link(public_url: &str, project_id: &str, collection: &str, query: &[(String, String)], last: &str) -> serde_json::Value {
    let mut params: Vec<(String, String)> = query.iter().filter(|(k, _)| k != "marker").cloned().collect();
    params.push(("marker".into(), last.to_owned()));
    let encoded: Vec<String> = params.iter().map(|(k, v)| format!("{}={}", quote_plus(k), quote_plus(v))).collect();
    let root = public_url.trim_end_matches('/');
    serde_json::json!([{"href": format!("{root}/v3/{project_id}/{collection}?{}", encoded.join("&")), "rel": "next"}])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sort_keys_get_the_defaults_in_the_first_direction() {
        let keys = |sort, key, dir| sort_keys(sort, key, dir).map_err(|f| f.message);
        let pairs = |v: &[(&str, bool)]| v.iter().map(|(k, d)| ((*k).to_owned(), *d)).collect::<Vec<_>>();
        assert_eq!(keys(None, None, None), Ok(pairs(&[("created_at", true), ("id", true)])));
        assert_eq!(keys(Some("event_id:asc,id"), None, None), Ok(pairs(&[("event_id", false), ("id", true), ("created_at", false)])));
        assert_eq!(keys(None, Some("request_id"), Some("asc")), Ok(pairs(&[("request_id", false), ("created_at", false), ("id", false)])));
        assert_eq!(
            keys(Some("id"), Some("id"), None),
            Err("The 'sort_key' and 'sort_dir' parameters are deprecated and cannot be used with the 'sort' parameter.".into())
        );
        assert_eq!(keys(Some("id:up"), None, None), Err("Invalid input received: Unknown sort direction, must be 'desc' or 'asc'.".into()));
    }

    #[test]
    fn limits_and_offsets_like_get_pagination_params() {
        assert_eq!(limit(None).ok(), Some(MAX_LIMIT));
        assert_eq!(limit(Some("5000")).ok(), Some(MAX_LIMIT));
        assert_eq!(limit(Some("2")).ok(), Some(2));
        assert_eq!(limit(Some("-1")).unwrap_err().message, "limit param must be positive");
        assert_eq!(limit(Some("x")).unwrap_err().message, "limit param must be an integer");
        assert_eq!(offset(Some("3")).ok(), Some(3));
        assert_eq!(offset(Some("-3")).unwrap_err().message, "offset must be >= 0");
        assert_eq!(offset(Some("x")).unwrap_err().message, "offset must be an integer");
    }
}
