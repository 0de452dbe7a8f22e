//! `POST /pixelate`: find the image and the options in a request, run the engine, shape the answer.
//!
//! Options come from JSON body fields first, then the query string (so the query wins), and every
//! one goes through `engine::Options::set`, the parser all front ends share; this file only decides
//! where the text comes from.

use super::reject::Reject;
use crate::engine::animation::{self, Animated, AnimationFormat};
use crate::engine::{self, Options, Pixelated, quote};
use crate::envelope::{Json, Request, Response, base64};

/// Fields of a JSON body that are not engine options.
const IMAGE_FIELD: &str = "image_base64";
const REPORT_FIELD: &str = "report";
const FRAME_FIELD: &str = "frame";

/// A pixelation the router has gathered: the image bytes, the options, whether a report was
/// asked for (`None`: not said), and the one frame of an animation wanted as a still.
pub(super) struct Job {
    pub(super) image: Vec<u8>,
    pub(super) options: Options,
    pub(super) report: Option<bool>,
    pub(super) frame: Option<usize>,
    /// The options came in a JSON body (its missing image is named as a JSON field).
    pub(super) json_body: bool,
}

/// What `/pixelate` made: a PNG still, or an animated GIF of an animated source.
pub(super) enum Done {
    Still(Box<Pixelated>),
    Animation(Animated),
}

impl Job {
    pub(super) fn new() -> Self {
        Job {
            image: Vec::new(),
            options: Options::default(),
            report: None,
            frame: None,
            json_body: false,
        }
    }

    /// A job for `image` with default options.
    pub(super) fn with_image(image: Vec<u8>) -> Self {
        Job {
            image,
            ..Job::new()
        }
    }

    /// Applies one named field from a JSON body or query string.
    pub(super) fn set(&mut self, name: &str, value: &str) -> Result<(), Reject> {
        if name == REPORT_FIELD {
            self.report = Some(parse_flag(REPORT_FIELD, value)?);
            Ok(())
        } else if name == FRAME_FIELD {
            self.frame = Some(value.trim().parse().map_err(|_| {
                Reject::bad(
                    "invalid_option",
                    format!(
                        "invalid option `frame`: `{}` is not a frame number (0 is the first)",
                        quote(value)
                    ),
                )
            })?);
            Ok(())
        } else if name == IMAGE_FIELD {
            self.image = base64::decode(value).map_err(|e| {
                Reject::bad(
                    "invalid_base64",
                    format!("`{IMAGE_FIELD}` is not base64: {e}"),
                )
            })?;
            Ok(())
        } else {
            self.options.set(name, value).map_err(|err| match err {
                engine::Error::UnknownOption { .. } if names_an_image(name) => Reject::bad(
                    "invalid_option",
                    format!(
                        "unknown option `{}`: the image goes in `{IMAGE_FIELD}` (base64 text), \
                         e.g. {{\"{IMAGE_FIELD}\":\"iVBORw0...\",\"block\":8}}",
                        quote(name)
                    ),
                ),
                err => Reject::from(err),
            })
        }
    }

    /// Applies every field of a JSON object except those in `skip`.
    pub(super) fn set_fields(
        &mut self,
        fields: &[(String, Json)],
        skip: &[&str],
    ) -> Result<(), Reject> {
        for (name, value) in fields {
            if skip.contains(&name.as_str()) {
                continue;
            }
            if let Some(text) = field_text(name, value)? {
                self.set(name, &text)?;
            }
        }
        Ok(())
    }

    /// Applies a query string.
    pub(super) fn set_query(&mut self, query: &str) -> Result<(), Reject> {
        let pairs = super::query::parse(query)
            .map_err(|e| Reject::bad("bad_request", format!("query string: {e}")))?;
        for (name, value) in pairs {
            self.set(&name, &value)?;
        }
        Ok(())
    }

    /// A still: frame `frame` of an animation, else the image (an animation's first frame).
    pub(super) fn run_still(&self) -> Result<Pixelated, Reject> {
        self.has_image()?;
        match self.frame {
            Some(index) => animation::pixelate_frame(&self.image, index, &self.options),
            None => engine::pixelate(&self.image, &self.options),
        }
        .map_err(Reject::from)
    }

    /// What `/pixelate` answers: an animated GIF for a source of more than one frame (unless
    /// `frame` asks for one of them), else a PNG still.
    pub(super) fn run(&self) -> Result<Done, Reject> {
        self.has_image()?;
        if self.frame.is_none()
            && animation::frame_count(&self.image, &self.options)?.is_some_and(|n| n > 1)
        {
            return animation::pixelate_animation(&self.image, &self.options, AnimationFormat::Gif)
                .map(Done::Animation)
                .map_err(Reject::from);
        }
        self.run_still().map(|still| Done::Still(Box::new(still)))
    }

    fn has_image(&self) -> Result<(), Reject> {
        if self.image.is_empty() && self.json_body {
            return Err(Reject::bad(
                "missing_image",
                format!(
                    "no image: a JSON body carries it base64-encoded in `{IMAGE_FIELD}`, e.g. \
                     {{\"{IMAGE_FIELD}\":\"iVBORw0...\",\"block\":8}}"
                ),
            ));
        }
        if self.image.is_empty() {
            return Err(Reject::bad(
                "missing_image",
                "no image: send the image bytes as the body (`body_base64` in an envelope, or raw \
                 bytes on stdin), or a JSON body with `image_base64`",
            ));
        }
        Ok(())
    }
}

/// Field names people give the image under, instead of `image_base64`.
fn names_an_image(name: &str) -> bool {
    const NAMES: [&str; 10] = [
        "image",
        "img",
        "data",
        "file",
        "base64",
        "imagebase64",
        "image_data",
        "imagedata",
        "picture",
        "photo",
    ];
    NAMES.contains(&name.to_ascii_lowercase().as_str())
}

/// `POST /pixelate`; `query` already joins the path's query and `query`; `raw_body`, when given,
/// is the body (from a request line) and the envelope carries none.
pub(super) fn handle(request: &Request, query: &str, raw_body: Option<&[u8]>) -> Response {
    let job = match gather(request, query, raw_body) {
        Ok(job) => job,
        Err(reject) => return reject.into_response(),
    };
    answer(&job, wants_report(&job, request))
}

/// Runs `job` and shapes the answer: the image (PNG still or animated GIF), or its JSON report.
pub(super) fn answer(job: &Job, report_wanted: bool) -> Response {
    match job.run() {
        Ok(Done::Still(done)) if report_wanted => Response::json(200, report(&done)),
        Ok(Done::Still(done)) => Response::png(&done.png),
        Ok(Done::Animation(done)) if report_wanted => Response::json(200, animation_report(&done)),
        Ok(Done::Animation(done)) => Response::binary(200, "image/gif", &done.bytes),
        Err(reject) => reject.into_response(),
    }
}

fn gather(request: &Request, query: &str, raw_body: Option<&[u8]>) -> Result<Job, Reject> {
    let mut job = Job::new();
    if let Some(bytes) = raw_body {
        job_from_bytes(&mut job, request, bytes)?;
    }
    match (&request.body, &request.body_base64) {
        (Some(_), Some(_)) => {
            return Err(Reject::bad(
                "bad_request",
                "give the body once: either `body` or `body_base64`, not both",
            ));
        }
        (Some(Json::Object(fields)), None) => {
            job.json_body = true;
            job.set_fields(fields, &[])?;
        }
        (Some(Json::String(text)), None) => job_from_bytes(&mut job, request, text.as_bytes())?,
        (Some(other), None) => {
            return Err(Reject::bad(
                "bad_request",
                format!(
                    "a JSON body for /pixelate must be an object like \
                     {{\"image_base64\":\"…\",\"block\":8}}, not `{}`",
                    quote(&other.to_string())
                ),
            ));
        }
        (None, Some(b64)) => {
            let bytes = base64::decode(b64).map_err(|e| {
                Reject::bad(
                    "invalid_base64",
                    format!("`body_base64` is not base64: {e}"),
                )
            })?;
            job_from_bytes(&mut job, request, &bytes)?;
        }
        (None, None) => {}
    }
    job.set_query(query)?;
    Ok(job)
}

/// A body given as bytes is a JSON object of fields when its content type says JSON or it starts
/// with `{` (no image format does), else the image itself.
fn job_from_bytes(job: &mut Job, request: &Request, bytes: &[u8]) -> Result<(), Reject> {
    let says_json = request
        .content_type
        .as_deref()
        .is_some_and(|t| t.to_ascii_lowercase().contains("json"));
    let first = bytes.iter().find(|b| !b.is_ascii_whitespace());
    if says_json || first == Some(&b'{') {
        job.json_body = true;
        match Json::parse(bytes) {
            Ok(Json::Object(fields)) => job.set_fields(&fields, &[]),
            Ok(_) => Err(Reject::bad(
                "bad_request",
                "a JSON body for /pixelate must be an object like {\"image_base64\":\"…\",\"block\":8}",
            )),
            Err(e) => Err(Reject::bad(
                "invalid_json",
                format!("the body is not valid JSON: {e}"),
            )),
        }
    } else {
        job.image = bytes.to_vec();
        Ok(())
    }
}

/// `report` decides when given; otherwise an `accept` naming JSON and no image type asks for one.
fn wants_report(job: &Job, request: &Request) -> bool {
    job.report.unwrap_or_else(|| {
        request.accept.as_deref().is_some_and(|accept| {
            let accept = accept.to_ascii_lowercase();
            accept.contains("application/json") && !accept.contains("image/")
        })
    })
}

/// The JSON report: the engine's `Report` field for field (written here rather than through serde
/// to keep `serde_json` out of the module; a test holds them equal), then the PNG as `png_base64`,
/// so one runner round trip gives both the facts and the picture.
pub(super) fn report(done: &Pixelated) -> Json {
    let r = &done.report;
    Json::object([
        ("format", r.format.into()),
        ("source_width", r.source_width.into()),
        ("source_height", r.source_height.into()),
        ("grid_width", r.grid_width.into()),
        ("grid_height", r.grid_height.into()),
        ("block", r.block.into()),
        ("output_width", r.output_width.into()),
        ("output_height", r.output_height.into()),
        ("palette", palette(&r.palette)),
        ("colors_used", r.colors_used.into()),
        ("transparent", r.transparent.into()),
        ("decode_scale", r.decode_scale.into()),
        (
            "color_profile",
            match &r.color_profile {
                Some(p) => Json::object([
                    ("name", p.name.as_str().into()),
                    ("applied", p.applied.into()),
                    ("note", p.note.as_str().into()),
                ]),
                None => Json::Null,
            },
        ),
        ("png_bytes", r.png_bytes.into()),
        ("timings", timings(&r.timings)),
        ("content_type", "image/png".into()),
        ("png_base64", base64::encode(&done.png).into()),
    ])
}

/// The JSON report of an animation: the engine's `AnimationReport` field for field (a test holds
/// them equal), then the GIF as `gif_base64`.
pub(super) fn animation_report(done: &Animated) -> Json {
    let r = &done.report;
    let frames = r
        .frames
        .iter()
        .map(|f| Json::object([("index", f.index.into()), ("delay_ms", f.delay_ms.into())]))
        .collect();
    Json::object([
        ("format", r.format.into()),
        ("output_format", r.output_format.name().into()),
        ("source_width", r.source_width.into()),
        ("source_height", r.source_height.into()),
        ("grid_width", r.grid_width.into()),
        ("grid_height", r.grid_height.into()),
        ("block", r.block.into()),
        ("output_width", r.output_width.into()),
        ("output_height", r.output_height.into()),
        ("palette", palette(&r.palette)),
        ("colors_used", r.colors_used.into()),
        ("transparent", r.transparent.into()),
        ("frame_count", r.frame_count.into()),
        ("frames", Json::Array(frames)),
        ("plays", r.plays.into()),
        ("bytes", r.bytes.into()),
        ("timings", timings(&r.timings)),
        ("content_type", "image/gif".into()),
        ("gif_base64", base64::encode(&done.bytes).into()),
    ])
}

/// A report's palette: `#rrggbb` strings.
fn palette(colors: &[String]) -> Json {
    Json::Array(colors.iter().map(|c| Json::from(c.as_str())).collect())
}

/// A report's engine timings in milliseconds.
fn timings(t: &engine::Timings) -> Json {
    Json::object([
        ("decode_ms", Json::millis(t.decode_ms)),
        ("palette_ms", Json::millis(t.palette_ms)),
        ("encode_ms", Json::millis(t.encode_ms)),
        ("total_ms", Json::millis(t.total_ms)),
    ])
}

/// The text form of a JSON field value, as `Options::set` takes it; `None` for `null` (unset).
/// Arrays join with commas (`"palette": ["#000000", "#ffffff"]`).
pub(super) fn field_text(name: &str, value: &Json) -> Result<Option<String>, Reject> {
    let scalar = |v: &Json| match v {
        Json::String(s) | Json::Number(s) => Some(s.clone()),
        Json::Bool(b) => Some(b.to_string()),
        _ => None,
    };
    let text = match value {
        Json::Null => return Ok(None),
        Json::Array(items) => items
            .iter()
            .map(scalar)
            .collect::<Option<Vec<_>>>()
            .map(|v| v.join(",")),
        other => scalar(other),
    };
    text.map(Some).ok_or_else(|| {
        Reject::bad("invalid_option",
            format!(
                "field `{name}` has a value of the wrong kind (`{}`): give a string, number, boolean \
                 or a list of those",
                quote(&value.to_string())
            ),
        )
    })
}

fn parse_flag(name: &str, value: &str) -> Result<bool, Reject> {
    match value.trim().to_ascii_lowercase().as_str() {
        "" | "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" => Ok(false),
        _ => Err(Reject::bad(
            "invalid_option",
            format!(
                "invalid option `{}`: `{}` is not true or false",
                quote(name),
                quote(value)
            ),
        )),
    }
}
