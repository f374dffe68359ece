//! The tasks API (`/v2/tasks`, glance `TasksController`; deprecated, admin-only by the
//! `tasks_api_access` policy): the legacy `import` task's checks at creation, the task views
//! and listing. Import tasks of `POST /v2/images/{id}/import` are tasks too and are listed.

use std::net::{Ipv4Addr, Ipv6Addr};

use rusqlite::{OptionalExtension, params};
use serde_json::{Map, Value, json};

use super::model::{ImageService, Task, not_authorized};
use super::webob::Fault;
use crate::jsonschema::{self, Draft, Keyword};
use crate::wire::AuthContext;

/// `task_time_to_live`'s default, in hours: how long a finished task is kept.
pub const TASK_TIME_TO_LIVE_HOURS: i64 = 48;
/// The task types of the task schema.
pub const TASK_TYPES: [&str; 3] = ["import", "api_image_import", "location_import"];
const TASK_STATUSES: [&str; 4] = ["pending", "processing", "success", "failure"];
/// The message of a task whose flow failed (`TaskExecutor._run`).
pub const INTERNAL_ERROR: &str = "Task failed due to Internal Error";
/// `import_filtering_opts.allowed_ports`' default (the allowed schemes are `http`, `https`).
const ALLOWED_PORTS: [u16; 2] = [80, 443];

/// `_enforce_access_policy`: only admins use the tasks API.
pub fn tasks_api_access(ctx: &AuthContext) -> Result<(), Fault> {
    if ctx.is_admin() { Ok(()) } else { Err(not_authorized("tasks_api_access")) }
}

/// `_format_task` (`GET /v2/tasks/{id}`, `POST /v2/tasks`).
pub fn task_view(task: &Task) -> Value {
    let mut view = json!({
        "id": task.id,
        "input": task.input,
        "type": task.task_type,
        "status": task.status,
        "owner": task.owner,
        "message": task.message,
        "result": task.result,
        "created_at": task.created_at,
        "updated_at": task.updated_at,
        "self": format!("/v2/tasks/{}", task.id),
        "schema": "/v2/schemas/task",
    });
    for (key, value) in [("image_id", &task.image_id), ("request_id", &task.request_id), ("user_id", &task.user_id)] {
        if !value.is_empty() {
            view[key] = value.clone().into();
        }
    }
    if let Some(expires) = &task.expires_at {
        view["expires_at"] = expires.clone().into();
    }
    view
}

/// `_format_task_stub` (`GET /v2/tasks`).
pub fn task_stub(task: &Task) -> Value {
    let mut view = json!({
        "id": task.id,
        "type": task.task_type,
        "status": task.status,
        "owner": task.owner,
        "created_at": task.created_at,
        "updated_at": task.updated_at,
        "self": format!("/v2/tasks/{}", task.id),
        "schema": "/v2/schemas/task",
    });
    if let Some(expires) = &task.expires_at {
        view["expires_at"] = expires.clone().into();
    }
    view
}

/// The task schema's properties, in glance's order (`_TASK_SCHEMA`); `partial` leaves out
/// `input`, `result` and `message` (the list's items).
fn task_properties(partial: bool) -> Value {
    let uuid = "^([0-9a-fA-F]){8}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}-([0-9a-fA-F]){12}$";
    let mut p = json!({
        "id": {"description": "An identifier for the task", "pattern": uuid, "type": "string"},
        "type": {"description": "The type of task represented by this content", "enum": TASK_TYPES, "type": "string"},
        "status": {"description": "The current status of this task", "enum": TASK_STATUSES, "type": "string"},
        "input": {"description": "The parameters required by task, JSON blob", "type": ["null", "object"]},
        "result": {"description": "The result of current task, JSON blob", "type": ["null", "object"]},
        "owner": {"description": "An identifier for the owner of this task", "type": "string"},
        "message": {"description": "Human-readable informative message only included when appropriate (usually on failure)", "type": "string"},
        "image_id": {"description": "Image associated with the task", "type": "string"},
        "request_id": {"description": "Human-readable informative request-id", "type": "string"},
        "user_id": {"description": "User associated with the task", "type": "string"},
        "expires_at": {"description": "Datetime when this resource would be subject to removal", "type": ["null", "string"]},
        "created_at": {"description": "Datetime when this resource was created", "type": "string"},
        "updated_at": {"description": "Datetime when this resource was updated", "type": "string"},
        "self": {"readOnly": true, "type": "string"},
        "schema": {"readOnly": true, "type": "string"},
    });
    if partial && let Some(map) = p.as_object_mut() {
        for key in ["input", "result", "message"] {
            map.remove(key);
        }
    }
    p
}

/// `GET /v2/schemas/task`.
pub fn task_schema() -> Value {
    json!({"name": "task", "properties": task_properties(false), "additionalProperties": false})
}

/// `GET /v2/schemas/tasks`.
pub fn tasks_schema() -> Value {
    json!({
        "name": "tasks",
        "properties": {
            "tasks": {"type": "array", "items": {"name": "task", "properties": task_properties(true), "additionalProperties": false}},
            "first": {"type": "string"},
            "next": {"type": "string"},
            "schema": {"type": "string"},
        },
        "links": [
            {"rel": "first", "href": "{first}"},
            {"rel": "next", "href": "{next}"},
            {"rel": "describedby", "href": "{schema}"},
        ],
    })
}

fn mismatch(reason: &str) -> Fault {
    Fault::bad_request(format!("Provided object does not match schema 'task': {reason}"))
}

/// `RequestDeserializer.create`: `type` and `input` are required, then the body must match
/// the task schema (jsonschema's best match: the body's own error before its properties').
pub fn check_create_body(body: &Value) -> Result<(String, Value), Fault> {
    let has = |key: &str| match body {
        Value::Object(o) => o.contains_key(key),
        Value::Array(a) => a.iter().any(|v| v.as_str() == Some(key)),
        _ => false,
    };
    for key in ["type", "input"] {
        if !has(key) {
            return Err(Fault::bad_request(format!("Task '{key}' is required")));
        }
    }
    let Some(object) = body.as_object() else {
        return Err(mismatch(&jsonschema::not_of_type(body, &["object"])));
    };
    let properties = task_properties(false);
    let known = properties.as_object().cloned().unwrap_or_default();
    if let Some(message) = jsonschema::additional_properties(object, |k| known.contains_key(k)) {
        return Err(mismatch(&message));
    }
    for (name, spec) in &known {
        let Some(value) = object.get(name) else { continue };
        check_property(name, spec, value).map_err(|m| mismatch(&m))?;
    }
    Ok((object["type"].as_str().unwrap_or_default().to_owned(), object["input"].clone()))
}

fn check_property(name: &str, spec: &Value, value: &Value) -> Result<(), String> {
    let types: Vec<&str> = match &spec["type"] {
        Value::String(t) => vec![t.as_str()],
        Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
        _ => vec![],
    };
    if let Some(message) = Draft::Four.error(value, Keyword::Type(&types)) {
        return Err(message);
    }
    let choices: Vec<&str> = spec["enum"].as_array().map(|a| a.iter().filter_map(Value::as_str).collect()).unwrap_or_default();
    if !choices.is_empty()
        && let Some(message) = Draft::Four.error(value, Keyword::Enum(&choices))
    {
        return Err(message);
    }
    if name == "id" && value.as_str().is_some_and(|s| uuid::Uuid::try_parse(s).is_err() || s.len() != 36) {
        return Err(jsonschema::does_not_match(value, spec["pattern"].as_str().unwrap_or_default()));
    }
    Ok(())
}

/// `validate_legacy_import_from_uri`: an `http(s)` URI that passes the import filter (the
/// default one: schemes `http`/`https`, ports 80/443 when given, a host that is an IP address
/// or a name that resolves).
pub async fn check_import_from(location: Option<&Value>) -> Result<String, Fault> {
    let text = match location {
        None | Some(Value::Null) => return Err(Fault::bad_request("Invalid location: None")),
        Some(Value::String(s)) if s.is_empty() => return Err(Fault::bad_request("Invalid location: ")),
        Some(Value::String(s)) => s.clone(),
        // Python calls `startswith` on it.
        Some(_) => return Err(Fault::internal()),
    };
    if text.starts_with("file:///") || text.starts_with("filesystem:///") {
        return Err(Fault::bad_request("File based imports are not allowed. Please use a non-local source of image data."));
    }
    if !(text.starts_with("http://") || text.starts_with("https://")) {
        return Err(Fault::bad_request(
            "The given uri is not valid. Please specify a valid uri from the following list of supported uri ['http']",
        ));
    }
    if !passes_filter(&text).await {
        return Err(Fault::bad_request(format!("URI for legacy import task does not pass filtering: {text}")));
    }
    Ok(text)
}

async fn passes_filter(uri: &str) -> bool {
    let Some((host, port)) = host_and_port(uri) else { return false };
    if port.is_some_and(|p| !ALLOWED_PORTS.contains(&p)) {
        return false;
    }
    if host.is_empty() {
        return false;
    }
    if host.parse::<Ipv4Addr>().is_ok() || host.parse::<Ipv6Addr>().is_ok() {
        return true;
    }
    if host.chars().all(|c| c.is_ascii_digit() || c == '.') {
        return false;
    }
    let name = if host.ends_with('.') { host } else { format!("{host}.") };
    tokio::net::lookup_host((name.as_str(), 80)).await.is_ok_and(|mut addrs| addrs.next().is_some())
}

/// Python's `urlparse(uri).hostname` (lower-cased, unnormalised: `127.1` stays) and `.port`;
/// `None` when the port is not a number.
fn host_and_port(uri: &str) -> Option<(String, Option<u16>)> {
    let rest = uri.split_once("://")?.1;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let hostport = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let (host, port) = if let Some(v6) = hostport.strip_prefix('[') {
        let (host, after) = v6.split_once(']')?;
        (host, after.strip_prefix(':'))
    } else {
        match hostport.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (hostport, None),
        }
    };
    let port = match port.filter(|p| !p.is_empty()) {
        None => None,
        Some(p) => Some(p.parse::<u16>().ok()?),
    };
    Some((host.to_ascii_lowercase(), port))
}

/// A validated `GET /v2/tasks` query.
#[derive(Debug, Clone)]
pub struct TaskQuery {
    pub limit: usize,
    pub marker: Option<String>,
    pub sort_key: String,
    pub sort_asc: bool,
    pub filters: Vec<(String, String)>,
}

/// The task columns a listing may filter and sort on.
const TASK_COLUMNS: [&str; 11] =
    ["id", "type", "status", "owner", "expires_at", "created_at", "updated_at", "deleted", "image_id", "request_id", "user_id"];

/// `RequestDeserializer.index` and the controller's limits.
pub fn task_query(params: &[(String, String)]) -> Result<TaskQuery, Fault> {
    let mut q = TaskQuery { limit: 25, marker: None, sort_key: "created_at".into(), sort_asc: false, filters: Vec::new() };
    let mut map: Map<String, Value> = Map::new();
    for (k, v) in params {
        map.insert(k.clone(), v.clone().into());
    }
    let get = |k: &str| map.get(k).and_then(Value::as_str).map(str::to_owned);
    match get("sort_dir").as_deref() {
        None | Some("desc") => {}
        Some("asc") => q.sort_asc = true,
        Some(other) => return Err(Fault::bad_request(format!("Invalid sort direction: {other}"))),
    }
    if let Some(key) = get("sort_key") {
        q.sort_key = key;
    }
    if let Some(status) = get("status").filter(|s| !s.is_empty() && !TASK_STATUSES.contains(&s.as_str())) {
        return Err(Fault::bad_request(format!("Invalid status value: {status}")));
    }
    if let Some(t) = get("type").filter(|t| !t.is_empty() && t != "import") {
        return Err(Fault::bad_request(format!("Invalid type value: {t}")));
    }
    if let Some(marker) = get("marker") {
        if !marker.is_empty() && uuid::Uuid::try_parse(&marker).is_err() {
            return Err(Fault::bad_request("Invalid marker format"));
        }
        q.marker = Some(marker);
    }
    if let Some(limit) = get("limit") {
        let n: i64 = limit.trim().parse().map_err(|_| Fault::bad_request("limit param must be an integer"))?;
        if n < 0 {
            return Err(Fault::bad_request("limit param must be positive"));
        }
        q.limit = n as usize;
    }
    q.limit = q.limit.min(1000);
    for (k, v) in &map {
        if !["limit", "marker", "sort_key", "sort_dir"].contains(&k.as_str()) && TASK_COLUMNS.contains(&k.as_str()) {
            q.filters.push((k.clone(), v.as_str().unwrap_or_default().to_owned()));
        }
    }
    if !TASK_COLUMNS.contains(&q.sort_key.as_str()) {
        return Err(Fault::bad_request("Sort key supplied was not valid."));
    }
    Ok(q)
}

fn field(task: &Task, key: &str) -> Option<String> {
    match key {
        "id" => Some(task.id.clone()),
        "type" => Some(task.task_type.clone()),
        "status" => Some(task.status.clone()),
        "owner" => Some(task.owner.clone()),
        "expires_at" => task.expires_at.clone(),
        "created_at" => Some(task.created_at.clone()),
        "updated_at" => Some(task.updated_at.clone()),
        "deleted" => Some("0".into()),
        "image_id" => Some(task.image_id.clone()).filter(|s| !s.is_empty()),
        "request_id" => Some(task.request_id.clone()).filter(|s| !s.is_empty()),
        "user_id" => Some(task.user_id.clone()).filter(|s| !s.is_empty()),
        _ => None,
    }
}

impl ImageService {
    fn all_tasks(&self) -> Result<Vec<Task>, Fault> {
        let bodies: Vec<String> = self.store().with(|c| {
            let mut stmt = c.prepare("SELECT body FROM glance_tasks ORDER BY rowid")?;
            let rows = stmt.query_map([], |r| r.get(0))?;
            rows.collect()
        })?;
        Ok(bodies.iter().filter_map(|b| serde_json::from_str(b).ok()).collect())
    }

    /// `GET /v2/tasks/{id}`: 404 for a task that is not there or not the caller's.
    pub fn task(&self, ctx: &AuthContext, id: &str) -> Result<Task, Fault> {
        let body: Option<String> =
            self.store().with(|c| c.query_row("SELECT body FROM glance_tasks WHERE id = ?1", params![id], |r| r.get(0)).optional())?;
        let task: Task = body
            .and_then(|b| serde_json::from_str(&b).ok())
            .ok_or_else(|| Fault::not_found(format!("Task with the given id {id} was not found")))?;
        if !(ctx.is_admin() || task.owner == ctx.project_id) {
            return Err(Fault::forbidden(format!("Forbidding request, task {id} is not visible")));
        }
        Ok(task)
    }

    /// `GET /v2/tasks`: the caller's tasks (all for an admin), sorted, one page; plus the
    /// next marker when the page is full.
    pub fn list_tasks(&self, ctx: &AuthContext, q: &TaskQuery) -> Result<(Vec<Task>, Option<String>), Fault> {
        let mut tasks: Vec<Task> = self
            .all_tasks()?
            .into_iter()
            .filter(|t| ctx.is_admin() || t.owner == ctx.project_id)
            .filter(|t| q.filters.iter().all(|(k, v)| field(t, k).as_deref() == Some(v.as_str())))
            .collect();
        tasks.sort_by(|a, b| {
            let ord = field(a, &q.sort_key).cmp(&field(b, &q.sort_key)).then(a.created_at.cmp(&b.created_at)).then(a.id.cmp(&b.id));
            if q.sort_asc { ord } else { ord.reverse() }
        });
        if let Some(marker) = q.marker.as_deref().filter(|m| !m.is_empty()) {
            let task = self.task(ctx, marker).map_err(|f| Fault::bad_request(f.explanation))?;
            let pos = tasks
                .iter()
                .position(|t| t.id == task.id)
                .ok_or_else(|| Fault::bad_request(format!("Task with the given id {marker} was not found")))?;
            tasks.drain(..=pos);
        }
        tasks.truncate(q.limit);
        let next = if !tasks.is_empty() && tasks.len() == q.limit { tasks.last().map(|t| t.id.clone()) } else { None };
        Ok((tasks, next))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn create_bodies_follow_the_deserializer() {
        assert_eq!(check_create_body(&json!({"input": {}})).unwrap_err().explanation, "Task 'type' is required");
        assert_eq!(check_create_body(&json!({"type": "import"})).unwrap_err().explanation, "Task 'input' is required");
        assert_eq!(
            check_create_body(&json!({"type": "x", "input": {}})).unwrap_err().explanation,
            "Provided object does not match schema 'task': 'x' is not one of ['import', 'api_image_import', 'location_import']"
        );
        assert_eq!(
            check_create_body(&json!({"type": "import", "input": {}, "zz": 1})).unwrap_err().explanation,
            "Provided object does not match schema 'task': Additional properties are not allowed ('zz' was unexpected)"
        );
        assert!(check_create_body(&json!({"type": "import", "input": {"import_from": "http://a"}})).is_ok());
        assert_eq!(tasks_schema()["properties"]["tasks"]["items"]["properties"].get("input"), None);
    }

    #[tokio::test]
    async fn import_from_is_filtered() {
        assert_eq!(check_import_from(None).await.unwrap_err().explanation, "Invalid location: None");
        assert!(check_import_from(Some(&json!("file:///etc/passwd"))).await.unwrap_err().explanation.starts_with("File based imports"));
        assert!(check_import_from(Some(&json!("ftp://x/y"))).await.unwrap_err().explanation.starts_with("The given uri is not valid"));
        assert_eq!(
            check_import_from(Some(&json!("http://127.1/x"))).await.unwrap_err().explanation,
            "URI for legacy import task does not pass filtering: http://127.1/x"
        );
        assert!(check_import_from(Some(&json!("http://127.0.0.1:8080/x"))).await.is_err());
        assert!(check_import_from(Some(&json!("http://127.0.0.1/x"))).await.is_ok());
    }
}
