//! The compute API's image proxy (`/v2.1/images`, microversions 2.1–2.35; the metadata routes
//! to 2.38): Glance's images as Nova renders them (`views/images.py`), read with the caller's
//! token. Tempest's snapshot scenarios wait on it.

use axum::extract::{Extension, Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Map, Value, json};
use sigstack_client::image;

use super::fault::NovaFault;
use super::http::NovaState;
use crate::microversion::Microversion;
use crate::wire::AuthContext;

/// `MAX_PROXY_API_SUPPORT_VERSION`.
const MAX_PROXY: Microversion = Microversion(2, 35);
/// The image metadata routes end later (`image_metadata.py`).
const MAX_METADATA: Microversion = Microversion(2, 38);

pub fn routes() -> Router<NovaState> {
    Router::new().route("/v2.1/images/{id}", get(show).delete(delete)).route("/v2.1/images/{id}/metadata", get(metadata))
}

/// A method past its last microversion: the router's plain 404.
fn version_not_found() -> NovaFault {
    NovaFault::not_found("The resource could not be found.")
}

async fn fetch(s: &NovaState, ctx: &AuthContext, id: &str) -> Result<image::Image, NovaFault> {
    image::get_image(&ctx.session(s.compute.http.clone()), id).await.map_err(|e| match e.status() {
        Some(404 | 403) => NovaFault::not_found("Image not found."),
        _ => NovaFault::internal_because(format!("Glance, getting image {id}: {e}")),
    })
}

/// Nova's `properties`: the image's custom properties.
fn properties(img: &image::Image) -> Map<String, Value> {
    img.properties.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
}

fn view(s: &NovaState, ctx: &AuthContext, img: &image::Image) -> Value {
    let base = s.base();
    let status = match img.status.as_str() {
        "active" => "ACTIVE",
        "queued" | "saving" => "SAVING",
        "deleted" | "pending_delete" => "DELETED",
        "killed" => "ERROR",
        _ => "UNKNOWN",
    };
    let progress = match img.status.as_str() {
        "queued" => 25,
        "saving" => 50,
        "active" => 100,
        _ => 0,
    };
    // `generate_glance_url`: Glance's endpoint from the catalog.
    let glance = ctx.session(s.compute.http.clone()).endpoint("image").unwrap_or_default();
    let glance = glance.trim_end_matches('/');
    let metadata = properties(img);
    let mut view = json!({
        "id": img.id, "name": img.name, "minRam": img.min_ram, "minDisk": img.min_disk, "metadata": metadata,
        "created": img.created_at, "updated": img.updated_at, "status": status, "progress": progress,
        "OS-EXT-IMG-SIZE:size": img.size,
        "links": [
            {"rel": "self", "href": format!("{base}/v2.1/images/{}", img.id)},
            {"rel": "bookmark", "href": format!("{base}/images/{}", img.id)},
            {"rel": "alternate", "type": "application/vnd.openstack.image", "href": format!("{glance}/images/{}", img.id)},
        ],
    });
    if let Some(server) = metadata.get("instance_uuid").and_then(Value::as_str) {
        view["server"] = json!({"id": server, "links": [
            {"rel": "self", "href": format!("{base}/v2.1/servers/{server}")},
            {"rel": "bookmark", "href": format!("{base}/servers/{server}")},
        ]});
    }
    if let Some(auto) = metadata.get("auto_disk_config").and_then(Value::as_str) {
        let on = matches!(auto.to_ascii_lowercase().as_str(), "true" | "1" | "yes" | "y" | "on" | "t");
        view["OS-DCF:diskConfig"] = json!(if on { "AUTO" } else { "MANUAL" });
    }
    view
}

async fn show(
    State(s): State<NovaState>,
    ctx: AuthContext,
    Extension(v): Extension<Microversion>,
    Path(id): Path<String>,
) -> Result<Json<Value>, NovaFault> {
    if v > MAX_PROXY {
        return Err(version_not_found());
    }
    let img = fetch(&s, &ctx, &id).await?;
    Ok(Json(json!({"image": view(&s, &ctx, &img)})))
}

async fn metadata(
    State(s): State<NovaState>,
    ctx: AuthContext,
    Extension(v): Extension<Microversion>,
    Path(id): Path<String>,
) -> Result<Json<Value>, NovaFault> {
    if v > MAX_METADATA {
        return Err(version_not_found());
    }
    let img = fetch(&s, &ctx, &id).await?;
    Ok(Json(json!({"metadata": properties(&img)})))
}

async fn delete(
    State(s): State<NovaState>,
    ctx: AuthContext,
    Extension(v): Extension<Microversion>,
    Path(id): Path<String>,
) -> Result<StatusCode, NovaFault> {
    if v > MAX_PROXY {
        return Err(version_not_found());
    }
    image::delete_image(&ctx.session(s.compute.http.clone()), &id).await.map_err(|e| match e.status() {
        Some(404) => NovaFault::not_found("Image not found."),
        Some(403) => NovaFault::forbidden("You are not allowed to delete the image."),
        _ => NovaFault::internal_because(format!("Glance, deleting image {id}: {e}")),
    })?;
    Ok(StatusCode::NO_CONTENT)
}
