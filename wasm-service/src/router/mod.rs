//! The module's HTTP API, as a pure function: a [`Request`] in, a [`Response`] out.
//!
//! [`handle_stdin`] is what the module's `main` calls with the bytes OSC's wasm runner put on stdin;
//! it works out which kind of input they are (nothing, a JSON envelope, one of the original service's
//! JSON shapes, raw image bytes, or something else) and hands requests to [`handle`], which routes
//! them. The runner emulation, the gateway and the tests call the same two functions, so every front
//! end answers the same way. No I/O happens here.

mod info;
mod legacy;
mod pixelate;
mod query;
mod reject;

use crate::engine::{self, quote};
use crate::envelope::{Json, Request, Response};
use reject::Reject;

pub use reject::{engine_error, status_for};

/// The most bytes the module reads from stdin. OSC's runner refuses bodies over 1 MiB before the
/// module runs; this bound is for local runs, so a huge stdin is refused rather than read forever.
pub const MAX_STDIN_BYTES: usize = 32 * 1024 * 1024;

/// The service name `/health` and `/` report.
pub const SERVICE: &str = "pixelsmith";

/// The module's version (the `wasm-service` package version).
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// What precedes the build identity in the module's bytes (see [`BUILD_MARKER`]).
pub const BUILD_MARKER_PREFIX: &str = "pixelsmith-build:";

/// `pixelsmith-build:<16 hex digits>`: a hash of this crate's sources and the lock file (from
/// `build.rs`), kept whole in the module's data so a deploy can read it from the bytes it pushes
/// and check that the live app answers the same in `/health` (`build`).
pub static BUILD_MARKER: &str = concat!("pixelsmith-build:", env!("PIXELSMITH_BUILD"));

/// This build's identity: the 16 hex digits of [`BUILD_MARKER`].
pub fn build_id() -> &'static str {
    // Through black_box, so the optimiser keeps the whole marker, prefix included, in the data.
    &std::hint::black_box(BUILD_MARKER)[BUILD_MARKER_PREFIX.len()..]
}

/// The build identity a module's bytes carry (`None` for a module that is not this service).
pub fn build_id_of(module: &[u8]) -> Option<&str> {
    let prefix = BUILD_MARKER_PREFIX.as_bytes();
    let at = module.windows(prefix.len()).position(|w| w == prefix)? + prefix.len();
    let id = std::str::from_utf8(module.get(at..at + 16)?).ok()?;
    id.bytes().all(|b| b.is_ascii_hexdigit()).then_some(id)
}

/// One route: what `GET /` lists and what [`handle`] dispatches on.
struct Route {
    method: &'static str,
    path: &'static str,
    about: &'static str,
}

const ROUTES: &[Route] = &[
    Route {
        method: "GET",
        path: "/",
        about: "this index: routes, options and the accepted input shapes",
    },
    Route {
        method: "GET",
        path: "/health",
        about: "status, service name, version and engine limits (also what empty stdin answers)",
    },
    Route {
        method: "GET",
        path: "/palettes",
        about: "the built-in palettes with their colours as #rrggbb",
    },
    Route {
        method: "POST",
        path: "/pixelate",
        about: "pixelate the image in the body; options from the query and/or JSON body fields; \
                answers image/png, or a JSON report with ?report=true or accept: application/json",
    },
];

/// Answers the bytes the runner wrote to stdin.
///
/// - empty (or only whitespace): `GET /health`, which is what the runner's `GET /` sends;
/// - a JSON object with `method`, `path` or `envelope`: a request envelope;
/// - `{"action": …}` or `{"image_base64": …}` without `path`: the original service's shapes;
/// - a request line `POST /pixelate?block=8` and a line break, then the body's raw bytes;
/// - image bytes (what the runner hands over for a hex body): `POST /pixelate` with defaults;
/// - anything else: 400 (text) or 415 (binary) naming what the module accepts.
pub fn handle_stdin(input: &[u8]) -> Response {
    if input.len() > MAX_STDIN_BYTES {
        return stdin_too_large(input.len());
    }
    let start = input
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(input.len());
    let text = input[start..]
        .strip_prefix("\u{feff}".as_bytes())
        .unwrap_or(&input[start..]);
    match text.first() {
        None => handle(Request::get("/health")),
        Some(b'{') => handle_json(text),
        Some(_) => match request_line(text) {
            Some((method, target, body)) => route(Request::new(method, target), Some(body)),
            None => handle_other(input),
        },
    }
}

/// Routes one request.
pub fn handle(request: Request) -> Response {
    route(request, None)
}

/// Splits `METHOD /path?query` (optionally followed by ` HTTP/1.1`), a line break, and the raw body
/// after it. Sent hex-encoded, this lets a client pass options with a binary image that the runner
/// decodes natively, so the module spends nothing on JSON or base64. `None` if the input does not
/// start that way (images, garbage); the line must end within the first 8 KiB.
fn request_line(input: &[u8]) -> Option<(&str, &str, &[u8])> {
    let end = input.iter().take(8192).position(|&b| b == b'\n')?;
    let line = std::str::from_utf8(&input[..end]).ok()?;
    let mut parts = line.trim_end_matches('\r').split(' ');
    let (method, target) = (parts.next()?, parts.next()?);
    let version_ok = match parts.next() {
        None => true,
        Some(version) => version.starts_with("HTTP/") && parts.next().is_none(),
    };
    let method_ok = !method.is_empty() && method.bytes().all(|b| b.is_ascii_alphabetic());
    (version_ok && method_ok && target.starts_with('/'))
        .then(|| (method, target, &input[end + 1..]))
}

/// Routes a request; `raw_body` is the body of a request line, in place of the envelope's body.
fn route(request: Request, raw_body: Option<&[u8]>) -> Response {
    if let Err(e) = request.check_version() {
        return Response::error(400, "bad_request", &e.to_string());
    }
    let (path, path_query) = request.path.split_once('?').unwrap_or((&request.path, ""));
    let query = match (path_query, request.query.as_str()) {
        ("", q) | (q, "") => q.to_string(),
        (a, b) => format!("{a}&{b}"),
    };
    let path = match path.trim_end_matches('/') {
        "" => "/",
        p => p,
    };
    let method = request.method.to_ascii_uppercase();

    let Some(route) = ROUTES.iter().find(|r| r.path == path) else {
        return Response::error(
            404,
            "not_found",
            &format!(
                "no route {} {}; routes: {} (GET / describes them)",
                quote(&method),
                quote(path),
                route_list()
            ),
        );
    };
    if route.method != method {
        return Response::error(
            405,
            "method_not_allowed",
            &format!(
                "{path} takes {} not {}: {}",
                route.method,
                quote(&method),
                route.about
            ),
        )
        .with_header("allow", route.method);
    }
    match route.path {
        "/" => Response::json(
            200,
            info::index(ROUTES.iter().map(|r| (r.method, r.path, r.about))),
        ),
        "/health" => Response::json(200, info::health()),
        "/palettes" => Response::json(200, info::palettes()),
        _ => pixelate::handle(&request, &query, raw_body),
    }
}

fn route_list() -> String {
    ROUTES
        .iter()
        .map(|r| format!("{} {}", r.method, r.path))
        .collect::<Vec<_>>()
        .join(", ")
}

/// What the module accepts on stdin, for error messages about input it could not place.
fn accepted_inputs() -> String {
    format!(
        "the module accepts on stdin: nothing (answers GET /health); a JSON request envelope like \
         {{\"method\":\"POST\",\"path\":\"/pixelate\",\"query\":\"block=8&colors=16\",\
         \"content_type\":\"image/png\",\"body_base64\":\"…\"}} (routes: {}); a request line \
         like `POST /pixelate?block=8` and a line break followed by the raw body; raw PNG, JPEG, GIF \
         or BMP bytes (on OSC: POST them as hex text, the runner decodes it); or the \
         original service's {{\"action\":\"health\"}} and \
         {{\"image_base64\":\"…\",\"pixel_size\":8,\"color_levels\":4}}",
        route_list()
    )
}

fn handle_json(text: &[u8]) -> Response {
    let value = match Json::parse(text) {
        Ok(v) => v,
        Err(e) => {
            return Response::error(
                400,
                "invalid_json",
                &format!(
                    "stdin starts with `{{` but is not valid JSON ({e}); {}",
                    accepted_inputs()
                ),
            );
        }
    };
    let has = |name: &str| value.get(name).is_some();
    if has("method") || has("path") || has("envelope") {
        match Request::from_value(value) {
            Ok(request) => handle(request),
            Err(e) => Response::error(400, "bad_request", &e.to_string()),
        }
    } else if has("action") || has("image_base64") {
        legacy::handle(&value)
    } else {
        unrecognised_object(&value)
    }
}

fn unrecognised_object(value: &Json) -> Response {
    let keys: Vec<&str> = value
        .as_object()
        .unwrap_or_default()
        .iter()
        .map(|(k, _)| k.as_str())
        .collect();
    Response::error(
        400,
        "unrecognized_input",
        &format!(
            "a JSON object with fields [{}] is neither a request envelope (it needs `path`) nor \
             one of the original service's shapes; {}",
            keys.join(", "),
            accepted_inputs()
        ),
    )
}

/// Neither empty nor JSON: image bytes (what the runner hands over for a hex body), or a mistake.
/// The engine's own format check decides, so the module carries one copy of it.
fn handle_other(input: &[u8]) -> Response {
    // The header probe tells an image from anything else; the job then reads the file once
    // (counting an animation's frames walks every frame's header, which the job does anyway).
    match engine::probe(input) {
        Ok(_) => pixelate::answer(&pixelate::Job::with_image(input.to_vec()), false),
        // Nothing like an image: say what the module accepts (400 for text, 415 for binary).
        Err(engine::Error::UnsupportedFormat { detected: None }) if is_broken_hex(input) => {
            hex_not_decoded()
        }
        Err(err @ engine::Error::UnsupportedFormat { detected: None }) => {
            let mut reject = if std::str::from_utf8(input).is_ok() {
                Reject::bad("unrecognized_input", "stdin is text but not a request")
            } else {
                Reject::from(err)
            };
            reject.message = format!("{}; {}", reject.message, accepted_inputs());
            reject.into_response()
        }
        // An image, or something that starts like one: the engine says what is wrong.
        Err(err) => Reject::from(err).into_response(),
    }
}

/// Hex digits with line breaks or spaces among or after them (what `echo`, `xxd -p` or a
/// file saved by an editor send): the runner decodes a body from hex only when every character
/// is a hex digit, so this arrived as text.
fn is_broken_hex(input: &[u8]) -> bool {
    let digits = input.iter().filter(|b| b.is_ascii_hexdigit()).count();
    digits >= 2
        && digits < input.len()
        && input
            .iter()
            .all(|b| b.is_ascii_hexdigit() || b.is_ascii_whitespace())
}

fn hex_not_decoded() -> Response {
    Response::error(
        400,
        "hex_not_decoded",
        "stdin is hex digits with a line break (or space) among or after them: OSC's runner \
         decodes a body from hex only when every character is a hex digit, so it passed this on \
         as text. Send the hex without line breaks: `xxd -p image.png | tr -d '\\n' > image.hex` \
         then `curl -H 'content-type: text/plain' --data-binary @image.hex URL` (or `curl --data \
         @image.hex URL`, which drops line breaks; `printf %s` instead of `echo`). Or send the \
         raw image to a gateway (`pixelsmith gateway`), which needs no hex",
    )
}

/// `main` stops reading at `MAX_STDIN_BYTES + 1`, so the length seen may be less than the real one.
fn stdin_too_large(_seen: usize) -> Response {
    Response::error(
        413,
        "payload_too_large",
        &format!(
            "stdin holds more than {MAX_STDIN_BYTES} bytes, the most this module reads: send a \
             smaller image (OSC's runner itself refuses bodies over 1 MiB)"
        ),
    )
}

#[cfg(test)]
mod tests;
