//! `GET /v2/images` over the stored images (glance db `_image_get_all`,
//! `_select_images_query`, `_make_conditions_from_filters`, `_paginate_query`): which images
//! a caller lists, the filters with their operators and messages, the sort keys with glance's
//! tie-breakers, and the marker.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use serde_json::Value;

use super::model::{Image, ImageService, Status, no_image};
use super::webob::Fault;
use crate::wire::AuthContext;

/// Query for `GET /v2/images`, already validated by the deserializer.
#[derive(Debug, Clone, Default)]
pub struct ListQuery {
    pub limit: usize,
    pub marker: Option<String>,
    /// Sort keys with their direction (`true`: ascending), in order.
    pub sort: Vec<(String, bool)>,
    /// The remaining parameters, one value each (the last), as filters on base attributes or
    /// custom properties (`name`, `size_min`, `created_at=gt:...`, ...).
    pub filters: BTreeMap<String, String>,
    /// Every `tag` parameter: an image must carry them all.
    pub tags: Vec<String>,
    pub visibility: Option<String>,
    pub os_hidden: bool,
    pub protected: Option<bool>,
    /// `member_status`: which memberships bring a shared image into the list (`accepted` by
    /// default; `all`).
    pub member_status: String,
}

/// The columns of glance's `images` table a filter may name directly (anything else is a
/// custom property).
const COLUMNS: [&str; 17] = [
    "id",
    "name",
    "disk_format",
    "container_format",
    "size",
    "virtual_size",
    "status",
    "visibility",
    "checksum",
    "os_hash_algo",
    "os_hash_value",
    "min_disk",
    "min_ram",
    "owner",
    "protected",
    "os_hidden",
    "created_at",
];

/// The pseudo sort key of creation order.
const SEQUENCE: &str = "\u{0}seq";

/// One filter, parsed (`_make_conditions_from_filters`).
enum Condition {
    Min(String, i64),
    Max(String, i64),
    In(String, Vec<String>),
    Eq(String, String),
    Time(String, String, time::OffsetDateTime),
}

/// `split_filter_op`: `op:value`, or `eq` (a value that parses as an ISO 8601 time keeps its
/// colons).
fn split_op(expression: &str) -> (String, String) {
    match expression.split_once(':') {
        Some(_) if parse_isotime(expression).is_some() => ("eq".into(), expression.into()),
        Some((op, value)) => (op.into(), value.into()),
        None => ("eq".into(), expression.into()),
    }
}

fn parse_isotime(s: &str) -> Option<time::OffsetDateTime> {
    use time::format_description::well_known::Iso8601;
    time::OffsetDateTime::parse(s, &Iso8601::DEFAULT)
        .ok()
        .or_else(|| time::PrimitiveDateTime::parse(s, &Iso8601::DEFAULT).ok().map(|t| t.assume_utc()))
}

/// `split_filter_value_for_quotes`: comma-separated, a value in double quotes may hold commas.
fn split_values(list: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    for c in list.chars() {
        match c {
            '"' => quoted = !quoted,
            ',' if !quoted => out.push(std::mem::take(&mut current)),
            c => current.push(c),
        }
    }
    out.push(current);
    out
}

fn conditions(filters: &BTreeMap<String, String>) -> Result<Vec<Condition>, Fault> {
    let mut out = Vec::new();
    for (k, v) in filters {
        if let Some(key) = k.strip_suffix("_min").or_else(|| k.strip_suffix("_max")) {
            let n: i64 = v.trim().parse().map_err(|_| Fault::bad_request("Unable to filter on a range with a non-numeric value."))?;
            if !COLUMNS.contains(&key) {
                // `getattr(models.Image, key)` fails.
                return Err(Fault::internal_because(format!("range filter on {key}")));
            }
            out.push(if k.ends_with("_min") { Condition::Min(key.into(), n) } else { Condition::Max(key.into(), n) });
        } else if k == "created_at" || k == "updated_at" {
            let (op, value) = split_op(v);
            let Some(at) = parse_isotime(&value) else {
                return Err(Fault::bad_request(format!("Bad \"{k}\" query filter format. Use ISO 8601 DateTime notation.")));
            };
            if !["gt", "gte", "lt", "lte", "eq", "neq"].contains(&op.as_str()) {
                return Err(Fault::bad_request("Unable to filter on a unknown operator."));
            }
            out.push(Condition::Time(k.clone(), op, at));
        } else if ["name", "id", "status", "container_format", "disk_format"].contains(&k.as_str()) {
            match split_op(v) {
                (op, list) if op == "in" => out.push(Condition::In(k.clone(), split_values(&list))),
                (op, value) if op == "eq" => out.push(Condition::Eq(k.clone(), value)),
                (op, _) => return Err(Fault::bad_request(format!("Unable to filter by unknown operator '{op}'."))),
            }
        } else {
            out.push(Condition::Eq(k.clone(), v.clone()));
        }
    }
    Ok(out)
}

fn number(image: &Image, key: &str) -> Option<i64> {
    match key {
        "size" => image.size.map(|s| s as i64),
        "virtual_size" => image.virtual_size.map(|s| s as i64),
        "min_disk" => Some(image.min_disk),
        "min_ram" => Some(image.min_ram),
        _ => attribute_string(image, key).and_then(|s| s.parse().ok()),
    }
}

fn matches(image: &Image, condition: &Condition) -> bool {
    match condition {
        Condition::Min(k, n) => number(image, k).is_some_and(|v| v >= *n),
        Condition::Max(k, n) => number(image, k).is_some_and(|v| v <= *n),
        Condition::In(k, values) => attribute_string(image, k).is_some_and(|v| values.contains(&v)),
        Condition::Eq(k, value) => attribute_string(image, k).as_deref() == Some(value.as_str()),
        Condition::Time(k, op, at) => {
            let Some(stamp) = attribute_string(image, k).and_then(|s| parse_isotime(&s)) else { return false };
            match op.as_str() {
                "gt" => stamp > *at,
                "gte" => stamp >= *at,
                "lt" => stamp < *at,
                "lte" => stamp <= *at,
                "eq" => stamp == *at,
                _ => stamp != *at,
            }
        }
    }
}

/// A sort key's value, numeric or text.
type SortValue = (Option<i64>, Option<String>);

/// A sort key's value: sizes as numbers, the rest as strings; a missing value sorts first
/// (as NULL does in MySQL).
fn sort_value(image: &Image, key: &str) -> SortValue {
    match key {
        "size" => (image.size.map(|s| s as i64), None),
        _ => (None, attribute_string(image, key)),
    }
}

impl ImageService {
    /// `GET /v2/images`: listed images, filtered, sorted, one page; plus the next marker
    /// when the page is full (glance sets it whenever the page reached `limit`).
    pub fn list(&self, ctx: &AuthContext, q: &ListQuery) -> Result<(Vec<Image>, Option<String>), Fault> {
        let conditions = conditions(&q.filters)?;
        // glance adds `created_at` and `id` as tie-breakers, in the first key's direction; the
        // simulator breaks `created_at` ties (same second) by creation order instead of by id,
        // as if `created_at` were finer.
        let mut sort = q.sort.clone();
        let default_asc = sort.first().is_some_and(|(_, asc)| *asc);
        if !sort.iter().any(|(k, _)| k == "created_at") {
            sort.push(("created_at".into(), default_asc));
        }
        sort.push((SEQUENCE.into(), default_asc));
        let memberships = self.memberships_of(&ctx.project_id)?;
        let mut images: Vec<(Vec<SortValue>, Image)> = self
            .all()?
            .into_iter()
            .enumerate()
            .filter(|(_, i)| {
                let membership = memberships.get(&i.id).map(String::as_str);
                // `deleted=False` also leaves out killed images.
                !matches!(i.status, Status::Deleted | Status::Killed)
                    && listed_for(i, ctx, q.visibility.as_deref(), membership, &q.member_status)
            })
            .map(|(seq, i)| {
                let keys = sort.iter().map(|(k, _)| if k == SEQUENCE { (Some(seq as i64), None) } else { sort_value(&i, k) }).collect();
                (keys, i)
            })
            .collect();
        images.sort_by(|(a, _), (b, _)| {
            sort.iter()
                .zip(a.iter().zip(b.iter()))
                .fold(Ordering::Equal, |ord, ((_, asc), (x, y))| ord.then_with(|| if *asc { x.cmp(y) } else { y.cmp(x) }))
        });
        let mut images: Vec<Image> = images.into_iter().map(|(_, i)| i).collect();
        if let Some(marker) = &q.marker {
            // The marker pages by position in the sorted list, whether or not filters match it.
            let pos = images.iter().position(|i| &i.id == marker).ok_or_else(|| Fault::bad_request(no_image(marker).explanation))?;
            images.drain(..=pos);
        }
        let page: Vec<Image> = images
            .into_iter()
            .filter(|i| i.os_hidden == q.os_hidden)
            .filter(|i| q.protected.is_none_or(|p| i.protected == p))
            .filter(|i| q.tags.iter().all(|t| i.tags.contains(t)))
            .filter(|i| conditions.iter().all(|c| matches(i, c)))
            .take(q.limit)
            .collect();
        let next = if q.limit > 0 && page.len() == q.limit { page.last().map(|i| i.id.clone()) } else { None };
        Ok((page, next))
    }
}

/// Which images a listing shows (glance db `_select_images_query` and `_image_get_all`):
/// admins start from all images; others from public and community ones, their own, and the
/// shared ones they are a member of with `member_status` (`membership` is the caller's status
/// on this image, if any). Then a `visibility` keeps that one only (`all`: any); without one,
/// community images only when the caller owns them.
fn listed_for(image: &Image, ctx: &AuthContext, visibility: Option<&str>, membership: Option<&str>, member_status: &str) -> bool {
    let own = image.owner.as_deref() == Some(ctx.project_id.as_str());
    let member = image.visibility == "shared" && membership.is_some_and(|s| member_status == "all" || s == member_status);
    let candidate = ctx.is_admin() || own || member || matches!(image.visibility.as_str(), "public" | "community");
    candidate
        && match visibility {
            None => own || image.visibility != "community",
            Some("all") => true,
            Some(v) => image.visibility == v,
        }
}

/// A base attribute or custom property as a string (for filters and sorting).
pub fn attribute_string(image: &Image, key: &str) -> Option<String> {
    let view = image.view();
    match view.get(key)? {
        Value::String(s) => Some(s.clone()),
        Value::Null => None,
        Value::Bool(b) => Some(if *b { "true" } else { "false" }.into()),
        other => Some(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_follow_glance() {
        let f = |k: &str, v: &str| conditions(&BTreeMap::from([(k.to_owned(), v.to_owned())]));
        assert_eq!(f("size_min", "x").err().unwrap().explanation, "Unable to filter on a range with a non-numeric value.");
        assert_eq!(f("name", "like:x").err().unwrap().explanation, "Unable to filter by unknown operator 'like'.");
        assert_eq!(
            f("created_at", "gt:yesterday").err().unwrap().explanation,
            "Bad \"created_at\" query filter format. Use ISO 8601 DateTime notation."
        );
        assert_eq!(f("created_at", "xx:2020-01-01T00:00:00Z").err().unwrap().explanation, "Unable to filter on a unknown operator.");
        assert!(f("created_at", "2020-01-01T00:00:00Z").is_ok());
        assert_eq!(split_values("a,\"b,c\",d"), vec!["a", "b,c", "d"]);
    }
}
