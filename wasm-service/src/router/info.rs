//! The bodies of the informational routes: `GET /`, `GET /health` and `GET /palettes`.
//!
//! Built on demand, so a request that does not ask for them pays nothing. The fixed prose of the
//! index is one JSON text (cheaper in the module than code building it field by field).

use super::{MAX_STDIN_BYTES, SERVICE, VERSION};
use crate::engine::{Limits, OPTION_NAMES, palettes};
use crate::envelope::{ENVELOPE_TAG, Json};

/// The formats this build decodes, as `/health` lists them (WebP is a cargo feature the deployed
/// module leaves out).
const FORMATS: &[&str] = if cfg!(feature = "webp") {
    &["png", "jpeg", "webp", "gif", "bmp"]
} else {
    &["png", "jpeg", "gif", "bmp"]
};

/// The router's own `/pixelate` field, listed with the engine's options.
const REPORT_OPTION: (&str, &str) = (
    "report",
    "true: answer a JSON report (sizes, palette, timings and the PNG as png_base64) instead of image/png",
);

/// The router's `frame` field: an animated source otherwise answers an animated GIF.
const FRAME_OPTION: (&str, &str) = (
    "frame",
    "0-based frame of an animated GIF to answer as a still PNG; without it an animated GIF answers an animated GIF (image/gif) with one palette for all frames",
);

/// The fixed part of `GET /`: how to write requests and read responses, and the other inputs.
const INDEX_PROSE: &str = r#"{
"request": {
  "about": "write one JSON request envelope to stdin; on OSC's runner POST it as text/plain",
  "fields": {
    "method": "GET or POST (default GET)",
    "path": "a route, optionally with ?query (default /)",
    "query": "query string without ?, e.g. block=8&colors=16",
    "content_type": "the body's media type, e.g. image/png or application/json",
    "accept": "application/json asks /pixelate for a JSON report",
    "body": "a text body (a JSON string) or a JSON body, e.g. {\"image_base64\":\"...\",\"block\":8}",
    "body_base64": "a binary body such as an image, standard base64"
  },
  "example": {"method": "POST", "path": "/pixelate", "query": "block=8&colors=16",
              "content_type": "image/png", "body_base64": "iVBORw0KGgo..."}
},
"response": {
  "about": "one JSON line on stdout",
  "fields": {
    "envelope": "pixelsmith/1",
    "status": "the HTTP status of the answer (OSC's runner itself always answers 200)",
    "content_type": "the body's media type",
    "headers": "extra headers, e.g. allow on a 405",
    "body": "a JSON body, or text as a JSON string; errors are {\"error\":{\"code\":...,\"message\":...}}",
    "body_base64": "a binary body (image/png), standard base64"
  }
},
"other_inputs": {
  "empty stdin": "GET /health (OSC's runner sends this for GET /)",
  "raw image bytes": "POST /pixelate with default options, answering image/png; on OSC, POST the image as hex text (xxd -p | tr -d '\\n') and the runner decodes it",
  "request line + raw body": "e.g. POST /pixelate?block=8&palette=pico-8, a line break, then the image bytes; hex-encode the whole thing on OSC (options without base64)",
  "{\"action\":\"health\"}": "the original service's health check, answered as flat JSON",
  "{\"image_base64\":...,\"pixel_size\":...,\"color_levels\":...}": "the original service's pixelate call, answered as flat JSON with image_base64"
}
}"#;

/// `GET /`: the routes, the options and how to call the module.
pub(super) fn index<'a>(routes: impl Iterator<Item = (&'a str, &'a str, &'a str)>) -> Json {
    let routes = routes
        .map(|(method, path, about)| {
            Json::object([
                ("method", method.into()),
                ("path", path.into()),
                ("about", about.into()),
            ])
        })
        .collect();
    let options = OPTION_NAMES
        .iter()
        .chain([&REPORT_OPTION, &FRAME_OPTION])
        .map(|(name, about)| Json::object([("name", (*name).into()), ("about", (*about).into())]))
        .collect();
    let mut fields = vec![
        ("service".to_string(), Json::from(SERVICE)),
        ("version".to_string(), Json::from(VERSION)),
        ("envelope".to_string(), Json::from(ENVELOPE_TAG)),
        ("routes".to_string(), Json::Array(routes)),
        ("pixelate_options".to_string(), Json::Array(options)),
    ];
    // A unit test proves the prose parses; an error here could only drop the prose.
    if let Ok(Json::Object(prose)) = Json::parse(INDEX_PROSE.as_bytes()) {
        fields.extend(prose);
    }
    Json::Object(fields)
}

/// `GET /health`.
pub(super) fn health() -> Json {
    Json::object([
        ("status", "ok".into()),
        ("service", SERVICE.into()),
        ("version", VERSION.into()),
        ("build", super::build_id().into()),
        ("envelope", ENVELOPE_TAG.into()),
        (
            "formats",
            FORMATS
                .iter()
                .map(|f| Json::from(*f))
                .collect::<Vec<_>>()
                .into(),
        ),
        ("limits", limits()),
    ])
}

/// The limits a request meets: the engine's and the module's own stdin bound.
pub(super) fn limits() -> Json {
    let engine = Limits::default();
    Json::object([
        ("max_pixels", engine.max_pixels.into()),
        ("max_input_bytes", engine.max_input_bytes.into()),
        ("max_stdin_bytes", MAX_STDIN_BYTES.into()),
    ])
}

/// `GET /palettes`.
pub(super) fn palettes() -> Json {
    let list = palettes::BUILT_IN
        .iter()
        .map(|p| {
            let colors: Vec<Json> = p
                .hex
                .iter()
                .map(|v| Json::from(format!("#{v:06x}")))
                .collect();
            Json::object([
                ("name", p.name.into()),
                (
                    "aliases",
                    p.aliases
                        .iter()
                        .map(|a| Json::from(*a))
                        .collect::<Vec<_>>()
                        .into(),
                ),
                ("source", p.source.into()),
                ("size", colors.len().into()),
                ("colors", colors.into()),
            ])
        })
        .collect();
    Json::object([("palettes", Json::Array(list))])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_prose_is_valid_json() {
        let prose = Json::parse(INDEX_PROSE.as_bytes()).unwrap();
        assert!(prose.get("request").unwrap().get("example").is_some());
        let index = index([("GET", "/", "x")].into_iter());
        assert_eq!(index.get("other_inputs"), prose.get("other_inputs"));
        let options = index.get("pixelate_options").unwrap().as_array().unwrap();
        assert_eq!(options.len(), OPTION_NAMES.len() + 2);
    }

    #[test]
    fn palettes_list_every_built_in_with_lower_case_hex() {
        let body = palettes();
        let list = body.get("palettes").unwrap().as_array().unwrap();
        assert_eq!(list.len(), palettes::BUILT_IN.len());
        let gb = list
            .iter()
            .find(|p| p.get("name") == Some(&Json::from("game-boy")))
            .unwrap();
        let colors: Vec<&str> = gb
            .get("colors")
            .unwrap()
            .as_array()
            .unwrap()
            .iter()
            .filter_map(Json::as_str)
            .collect();
        assert_eq!(colors, ["#0f380f", "#306230", "#8bac0f", "#9bbc0f"]);
        assert_eq!(gb.get("size").and_then(Json::as_u64), Some(4));
    }
}
