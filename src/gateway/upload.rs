//! What clients wrap an image in on its way to `POST /pixelate`, taken off before the image is
//! sent on: the habits of HTML forms, curl and HTTP libraries, which otherwise reached the module
//! as "not an image".
//!
//! - `multipart/form-data` (a form's file input, `curl -F image=@cat.png`): the first file part
//!   (one with a file name, or an `image/*` type) is the image; the form's text fields are options,
//!   as if in the query (`-F block=8`), the URL's query coming last so it wins.
//! - The service's JSON shape, `{"image_base64": …, options…}`: the image, its fields as options.
//! - `Content-Encoding: gzip` or `deflate` (zlib or raw deflate), or a list of them:
//!   decompressed, at most the gateway's upload limit.
//! - Left as they are but explained when they are not an image: a urlencoded body (`curl --data
//!   @file` sends a form and drops line breaks, which breaks a binary file), hex text (the
//!   runner's own text format) and base64 text (a `data:` URL too).

use std::io::Read;

use axum::http::{HeaderMap, header};

/// An upload with its wrapping taken off.
pub(super) struct Unwrapped {
    pub body: Vec<u8>,
    /// The image part's own content type (multipart), else the request's.
    pub content_type: Option<String>,
    /// Options from a form's text fields, `name=value&…` (empty without a form).
    pub form_query: String,
}

/// Why an upload cannot be unwrapped: an HTTP status, a code and an actionable message.
pub(super) type Refusal = (u16, &'static str, String);

/// Takes the wrapping off `body` (see the module doc); `limit` bounds a decompressed body.
pub(super) async fn unwrap(
    headers: &HeaderMap,
    content_type: Option<String>,
    body: Vec<u8>,
    limit: usize,
) -> Result<Unwrapped, Refusal> {
    let mut body = body;
    // Codings are listed in the order they were applied (RFC 9110, 8.4): undone last first.
    let encodings = header_text(headers, header::CONTENT_ENCODING).unwrap_or_default();
    for encoding in encodings.rsplit(',').map(str::trim) {
        body = match encoding {
            "" | "identity" => body,
            "gzip" | "x-gzip" | "deflate" => decompress(encoding, &body, limit)?,
            other => {
                return Err((
                    415,
                    "unsupported_encoding",
                    format!(
                        "the body is sent with Content-Encoding: {other}, which this gateway does \
                         not decode; send the image as it is (gzip and deflate are decoded)"
                    ),
                ));
            }
        };
    }
    let is_form = content_type
        .as_deref()
        .is_some_and(|t| t.to_ascii_lowercase().starts_with("multipart/form-data"));
    if !is_form {
        if let Some((image, fields)) = json_image(&body) {
            return Ok(Unwrapped {
                body: image,
                content_type: None,
                form_query: fields,
            });
        }
        return Ok(Unwrapped {
            body,
            content_type,
            form_query: String::new(),
        });
    }
    form_file(content_type.unwrap_or_default(), body).await
}

/// `body` decompressed, at most `limit` bytes. `deflate` is zlib data by the standard (RFC 9110,
/// 8.4.1.2), but some clients send raw deflate under that name, as browsers also accept it.
fn decompress(encoding: &str, body: &[u8], limit: usize) -> Result<Vec<u8>, Refusal> {
    let mut out = Vec::new();
    let read = if encoding == "deflate" {
        let zlib = flate2::read::ZlibDecoder::new(body)
            .take(limit as u64 + 1)
            .read_to_end(&mut out);
        if zlib.is_err() {
            out.clear();
            flate2::read::DeflateDecoder::new(body)
                .take(limit as u64 + 1)
                .read_to_end(&mut out)
        } else {
            zlib
        }
    } else {
        flate2::read::MultiGzDecoder::new(body)
            .take(limit as u64 + 1)
            .read_to_end(&mut out)
    };
    match read {
        Ok(_) if out.len() > limit => Err((
            413,
            "payload_too_large",
            format!(
                "the {encoding} body decompresses to more than {limit} bytes, the most this \
                 gateway reads: send a smaller image"
            ),
        )),
        Ok(_) => Ok(out),
        Err(err) => Err((
            400,
            "bad_request",
            format!("the body says Content-Encoding: {encoding} but does not decompress ({err})"),
        )),
    }
}

/// The service's JSON shape (`{"image_base64": "…", "block": 8, …}`) as a raw upload: the image's
/// bytes, and the other fields as query pairs. So it gets all a raw upload gets: reduction to fit
/// the runner's limit, `frame` of an animation, WebP and colour-profile conversions. `None` when
/// the body is not such an object, its base64 does not decode, or a field is not a plain value:
/// the module then answers the JSON itself.
fn json_image(body: &[u8]) -> Option<(Vec<u8>, String)> {
    use serde_json::Value;
    if !body.trim_ascii_start().starts_with(b"{") {
        return None;
    }
    let Ok(Value::Object(fields)) = serde_json::from_slice::<Value>(body) else {
        return None;
    };
    let Some(Value::String(text)) = fields.get("image_base64") else {
        return None;
    };
    // The module's own base64 reader: every spelling it takes (data: URLs, URL-safe, line breaks).
    let image = wasm_service::envelope::base64::decode(text).ok()?;
    let mut query = form_urlencoded::Serializer::new(String::new());
    for (name, value) in fields.iter().filter(|(name, _)| *name != "image_base64") {
        let value = match value {
            Value::String(text) => text.clone(),
            Value::Number(n) => n.to_string(),
            Value::Bool(b) => b.to_string(),
            _ => return None,
        };
        query.append_pair(name, &value);
    }
    Some((image, query.finish()))
}

/// The first non-empty file part of a `multipart/form-data` body, and the form's text fields as
/// a query. As browsers send forms: blank fields (left empty) are left out, as is a submit
/// button's `submit` field, and a file input left empty (an empty part) is skipped. The body is
/// already bounded by the gateway's upload limit, so multer is given no limit of its own (axum's
/// extractor would cap a form at 2 MB).
async fn form_file(content_type: String, body: Vec<u8>) -> Result<Unwrapped, Refusal> {
    let bad = |detail: String| {
        (
            400,
            "bad_request",
            format!(
                "the multipart form could not be read ({detail}); send the image as a file \
                 field, e.g. curl -F image=@cat.png"
            ),
        )
    };
    let boundary = multer::parse_boundary(&content_type).map_err(|e| bad(e.to_string()))?;
    let whole = futures_util::stream::iter([Ok::<_, std::io::Error>(bytes::Bytes::from(body))]);
    let mut form = multer::Multipart::new(whole, boundary);
    // Collected first: form_urlencoded's serializer is not Send, so it must not live across awaits.
    let mut fields: Vec<(String, String)> = Vec::new();
    let mut image = None;
    while let Some(field) = form.next_field().await.map_err(|e| bad(e.to_string()))? {
        let is_file = field.file_name().is_some()
            || field.content_type().is_some_and(|t| {
                t.type_() == "image" || t.essence_str() == "application/octet-stream"
            });
        if is_file {
            let kind = field.content_type().map(ToString::to_string);
            let bytes = field.bytes().await.map_err(|e| bad(e.to_string()))?;
            if image.is_none() && !bytes.is_empty() {
                image = Some((bytes.to_vec(), kind));
            }
        } else {
            let name = field.name().unwrap_or_default().to_owned();
            let value = field.text().await.map_err(|e| bad(e.to_string()))?;
            if !name.is_empty() && !value.trim().is_empty() && name != "submit" {
                fields.push((name, value));
            }
        }
    }
    let Some((body, content_type)) = image else {
        return Err((
            400,
            "missing_image",
            "the multipart form has no file: send the image as a file field, e.g. \
             curl -F image=@cat.png (or the raw bytes with --data-binary @cat.png)"
                .into(),
        ));
    };
    Ok(Unwrapped {
        body,
        content_type,
        form_query: form_urlencoded::Serializer::new(String::new())
            .extend_pairs(&fields)
            .finish(),
    })
}

/// Why a body that is not an image may have been sent that way, if its bytes or wrapping say so.
/// `damaged` is whether the engine found a known format damaged (rather than no known format).
pub(super) fn not_an_image_hint(
    content_type: Option<&str>,
    body: &[u8],
    damaged: bool,
) -> Option<String> {
    // curl labels --data-binary uploads as a form too: only damage, or a PNG signature that lost
    // its CR LF, points at --data.
    let form = content_type.is_some_and(|t| {
        t.to_ascii_lowercase()
            .starts_with("application/x-www-form-urlencoded")
    }) && (damaged || body.starts_with(b"\x89PNG\x1a"));
    let hex = !body.is_empty()
        && body
            .iter()
            .all(|b| b.is_ascii_hexdigit() || b.is_ascii_whitespace());
    if body.starts_with(&[0x1F, 0x8B]) {
        Some(
            "the body is gzip data: say so with -H 'Content-Encoding: gzip', or send the image \
             itself"
                .into(),
        )
    } else if hex {
        Some(
            "the body is hex text, the format OSC's runner takes; this gateway takes the image \
             itself: curl --data-binary @cat.png"
                .into(),
        )
    } else if let Some(format) = base64_image(body) {
        Some(format!(
            "the body is base64 text of a {format} image; this gateway takes the image itself \
             (curl --data-binary @cat.png), or base64 inside JSON: {{\"image_base64\": \"…\"}} \
             with Content-Type: application/json"
        ))
    } else if form {
        Some(
            "if it was sent with curl --data, that drops line breaks and so damages a binary \
             file: send it with curl --data-binary @cat.png, or as a file field with -F \
             image=@cat.png"
                .into(),
        )
    } else {
        None
    }
}

/// The image format of `body` read as base64 text (a `data:` URL too), if it is one.
fn base64_image(body: &[u8]) -> Option<&'static str> {
    let text = std::str::from_utf8(body).ok()?.trim();
    let plausible = text.starts_with("data:")
        || (text.len() >= 16
            && text.bytes().all(|b| {
                b.is_ascii_alphanumeric() || b"+/=-_".contains(&b) || b.is_ascii_whitespace()
            }));
    if !plausible {
        return None;
    }
    let bytes = wasm_service::envelope::base64::decode(text).ok()?;
    wasm_service::engine::probe(&bytes)
        .ok()
        .map(|info| info.format.label())
}

fn header_text(headers: &HeaderMap, name: header::HeaderName) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.trim().to_ascii_lowercase())
}
