//! The original pixel-art service's JSON shapes, kept working for its existing clients.
//!
//! `{"action":"health"}` and `{"image_base64":…,"pixel_size":…,"color_levels":…}` (optionally with
//! `"action":"pixelate"`) are answered in a flat shape with no envelope: what that service's clients
//! parse. We do not know its exact response fields, so the shape is ours, documented in the README:
//! success `{"status":"ok","image_base64":…,"width":…,…}`, failure
//! `{"status":"error","code":…,"error":…,"http_status":…}`.

use super::pixelate::Job;
use super::reject::Reject;
use super::{SERVICE, VERSION, info};
use crate::engine::quote;
use crate::envelope::{Json, Response, base64};

const ACTIONS: &str = "health, pixelate";

/// Answers a legacy-shaped JSON object (it has `action` or `image_base64`, and no `path`).
pub(super) fn handle(value: &Json) -> Response {
    let fields = value.as_object().unwrap_or_default();
    match value.get("action") {
        None => pixelate(fields),
        Some(Json::String(action)) => match action.to_ascii_lowercase().as_str() {
            "health" => Response::legacy(
                200,
                Json::object([
                    ("status", "ok".into()),
                    ("service", SERVICE.into()),
                    ("version", VERSION.into()),
                    ("limits", info::limits()),
                ]),
            ),
            "pixelate" => pixelate(fields),
            _ => flat_error(Reject::bad(
                "unknown_action",
                format!("unknown action `{}`; actions: {ACTIONS}", quote(action)),
            )),
        },
        Some(other) => flat_error(Reject::bad(
            "unknown_action",
            format!(
                "`action` must be a string ({ACTIONS}), not {}",
                quote(&other.to_string())
            ),
        )),
    }
}

fn pixelate(fields: &[(String, Json)]) -> Response {
    let mut job = Job::new();
    if let Err(reject) = job.set_fields(fields, &["action"]) {
        return flat_error(reject);
    }
    match job.run_still() {
        Ok(done) => {
            let r = &done.report;
            Response::legacy(
                200,
                Json::object([
                    ("status", "ok".into()),
                    ("image_base64", base64::encode(&done.png).into()),
                    ("content_type", "image/png".into()),
                    ("width", r.output_width.into()),
                    ("height", r.output_height.into()),
                    ("original_width", r.source_width.into()),
                    ("original_height", r.source_height.into()),
                    ("grid_width", r.grid_width.into()),
                    ("grid_height", r.grid_height.into()),
                    ("pixel_size", r.block.into()),
                    ("colors", r.palette.len().into()),
                    (
                        "palette",
                        Json::Array(r.palette.iter().map(|c| Json::from(c.as_str())).collect()),
                    ),
                ]),
            )
        }
        Err(reject) => flat_error(reject),
    }
}

/// A refusal in the flat legacy error shape.
fn flat_error(reject: Reject) -> Response {
    Response::legacy(
        reject.status,
        Json::object([
            ("status", "error".into()),
            ("code", reject.code.into()),
            ("error", reject.message.into()),
            ("http_status", reject.status.into()),
        ]),
    )
}
