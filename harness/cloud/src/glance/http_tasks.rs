//! Glance v2 on the wire: the tasks API (`/v2/tasks`, `/v2/schemas/task(s)`) and the legacy
//! `import` task's flow (`glance.async_.flows.base_import` with Glance's default single store
//! and no `work_dir`: create the image from `image_properties`, fetch `import_from` into it,
//! activate it; any failure deletes the image and fails the task).

use std::sync::Arc;

use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::http::{GlanceState, json_body};
use super::http_data;
use super::model::{ImageService, Status, Task, now};
use super::schema;
use super::tasks::{self, INTERNAL_ERROR, TASK_TIME_TO_LIVE_HOURS};
use super::webob::Fault;
use crate::wire::{AuthContext, format_glance};

/// `POST /v2/tasks` (201, `Location: /v2/tasks/{id}`).
pub async fn create(State(s): State<GlanceState>, ctx: AuthContext, body: Bytes) -> Result<Response, Fault> {
    tasks::tasks_api_access(&ctx)?;
    let body = json_body(&body)?;
    let (task_type, input) = tasks::check_create_body(&body)?;
    let mut uri = None;
    if task_type == "import" {
        let empty = json!({});
        let task_input = if input.is_null() { &empty } else { &input };
        uri = Some(tasks::check_import_from(task_input.get("import_from")).await?);
    }
    // `task['input'].get('image_id')`: a task without an input object fails here.
    let Some(input_object) = input.as_object() else {
        return Err(Fault::internal_because("task input is not a dict"));
    };
    let stamp = now();
    let task = Task {
        id: uuid::Uuid::new_v4().to_string(),
        task_type,
        status: "pending".into(),
        owner: ctx.project_id.clone(),
        user_id: ctx.user_id.clone(),
        image_id: input_object.get("image_id").and_then(Value::as_str).unwrap_or_default().to_owned(),
        request_id: format!("req-{}", uuid::Uuid::new_v4()),
        input: input.clone(),
        result: None,
        message: String::new(),
        expires_at: None,
        created_at: stamp.clone(),
        updated_at: stamp,
    };
    s.model.save_task(&task)?;
    let view = tasks::task_view(&task);
    let location = format!("/v2/tasks/{}", task.id);
    let request_id = super::http::TaskRequestId(task.request_id.clone());
    tokio::spawn(crate::logging::carry(run(s.model.clone(), ctx, task, uri)));
    let mut response = (StatusCode::CREATED, Json(view)).into_response();
    response.extensions_mut().insert(request_id);
    if let Ok(v) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, v);
    }
    Ok(response)
}

/// The task's flow, run after the answer.
async fn run(model: Arc<ImageService>, ctx: AuthContext, mut task: Task, uri: Option<String>) {
    task.status = "processing".into();
    task.updated_at = now();
    let _ = model.save_task(&task);
    let outcome = match uri {
        Some(uri) => legacy_import(&model, &ctx, &task, &uri).await,
        // Another type through this API has no flow input it can run on.
        None => Err(()),
    };
    let expires = time::OffsetDateTime::now_utc() + time::Duration::hours(TASK_TIME_TO_LIVE_HOURS);
    task.updated_at = now();
    task.expires_at = Some(format_glance(expires));
    match outcome {
        Ok(image_id) => {
            task.status = "success".into();
            task.result = Some(json!({"image_id": image_id}));
        }
        Err(()) => {
            task.status = "failure".into();
            task.message = INTERNAL_ERROR.into();
        }
    }
    let _ = model.save_task(&task);
}

/// `_CreateImage`, `_ImportToStore`, `_SaveImage`; the image goes again on failure.
async fn legacy_import(model: &Arc<ImageService>, ctx: &AuthContext, task: &Task, uri: &str) -> Result<String, ()> {
    let properties = task.input.get("image_properties").cloned().unwrap_or_else(|| json!({}));
    let request = schema::split_create(&properties).map_err(|_| ())?;
    let image = model.create(ctx, request).map_err(|_| ())?;
    let id = image.id.clone();
    let fetched = async {
        let response = model.http().get(uri).send().await.map_err(|_| ())?.error_for_status().map_err(|_| ())?;
        let expected = response.content_length();
        let image = model.transition(ctx, &id, "upload_image", Status::Saving).map_err(|_| ())?;
        let body = Body::from_stream(response.bytes_stream());
        http_data::save_data(model.clone(), ctx.clone(), image, body, expected).await.map_err(|_| ())
    }
    .await;
    match fetched {
        Ok(_) => Ok(id),
        Err(()) => {
            let _ = model.delete(ctx, &id);
            Err(())
        }
    }
}

/// `GET /v2/tasks`.
pub async fn index(State(s): State<GlanceState>, ctx: AuthContext, Query(params): Query<Vec<(String, String)>>) -> Result<Response, Fault> {
    tasks::tasks_api_access(&ctx)?;
    let query = tasks::task_query(&params)?;
    let (found, next) = s.model.list_tasks(&ctx, &query)?;
    let mut unique: Vec<(String, String)> = Vec::new();
    for (k, v) in &params {
        match unique.iter_mut().find(|(u, _)| u == k) {
            Some(entry) => entry.1 = v.clone(),
            None => unique.push((k.clone(), v.clone())),
        }
    }
    unique.retain(|(k, _)| k != "marker");
    let mut body = json!({
        "tasks": found.iter().map(tasks::task_stub).collect::<Vec<_>>(),
        "first": "/v2/tasks",
        "schema": "/v2/schemas/tasks",
    });
    if !unique.is_empty() {
        body["first"] = format!("/v2/tasks?{}", super::http_listing::urlencode(&unique)).into();
    }
    if let Some(marker) = next {
        unique.push(("marker".into(), marker));
        body["next"] = format!("/v2/tasks?{}", super::http_listing::urlencode(&unique)).into();
    }
    Ok(Json(body).into_response())
}

/// `GET /v2/tasks/{id}`.
pub async fn show(State(s): State<GlanceState>, ctx: AuthContext, Path(id): Path<String>) -> Result<Response, Fault> {
    tasks::tasks_api_access(&ctx)?;
    Ok(Json(tasks::task_view(&s.model.task(&ctx, &id)?)).into_response())
}

/// `DELETE /v2/tasks/{id}`: never allowed (405, `Allow: GET`). Glance renders this one with
/// the bare explanation as its body template; the simulator uses webob's 405 template.
pub async fn delete(ctx: AuthContext, Path(_id): Path<String>) -> Result<Response, Fault> {
    tasks::tasks_api_access(&ctx)?;
    Err(Fault::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "This operation is currently not permitted on Glance Tasks. They are auto deleted after reaching the time based on their expires_at property.",
    )
    .with_header(header::ALLOW, "GET"))
}

pub async fn task_schema(_ctx: AuthContext) -> Response {
    Json(tasks::task_schema()).into_response()
}

pub async fn tasks_schema(_ctx: AuthContext) -> Response {
    Json(tasks::tasks_schema()).into_response()
}
