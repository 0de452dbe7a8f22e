//! The two checks `call_service` makes, each one runner round trip judged against what the
//! local engine says the answer must look like.

use std::collections::HashSet;
use std::io::Cursor;

use wasm_service::engine::{self, Colors};
use wasm_service::envelope::{Json, Request, Response};

use super::{HealthCheck, PixelateCheck, Plan};
use crate::gateway::Upstream;
use crate::gateway::fit::output_spans;

/// `GET /health` must answer 200 with `"status":"ok"`.
pub(super) async fn health(upstream: &Upstream) -> HealthCheck {
    let mut check = HealthCheck {
        ok: false,
        latency_ms: None,
        status: None,
        service: None,
        version: None,
        problem: None,
    };
    let exchange = match upstream.send(&Request::get("/health")).await {
        Ok(exchange) => exchange,
        Err(err) => {
            check.problem = Some(err.to_string());
            return check;
        }
    };
    check.latency_ms = Some(millis(exchange.latency));
    let answer = exchange.response;
    check.status = Some(answer.status);
    let body = answer.json_body();
    let field = |name: &str| {
        body.and_then(|b| b.get(name))
            .and_then(Json::as_str)
            .map(str::to_string)
    };
    check.service = field("service");
    check.version = field("version");
    check.problem = if answer.status != 200 {
        Some(format!(
            "answered {}: {}",
            answer.status,
            describe_error(&answer)
        ))
    } else if field("status").as_deref() != Some("ok") {
        Some(format!(
            "answered 200 but without \"status\":\"ok\" (body: {})",
            body.map(Json::to_string)
                .unwrap_or_else(|| "not JSON".into())
        ))
    } else {
        None
    };
    check.ok = check.problem.is_none();
    check
}

/// `POST /pixelate` must answer 200 `image/png` (`image/gif` for an animated GIF sent whole, whose
/// first frame is checked) of the expected size with flat cells and no more colours than asked for.
pub(super) async fn pixelate(upstream: &Upstream, plan: Plan) -> PixelateCheck {
    let spans = output_spans(&plan.options, plan.source, plan.grid);
    let expected = (
        spans.widths.iter().sum::<u32>(),
        spans.heights.iter().sum::<u32>(),
    );
    let mut check = PixelateCheck {
        ok: false,
        image: plan.label.clone(),
        query: plan.envelope.query.clone(),
        latency_ms: None,
        status: None,
        request_bytes: None,
        response_bytes: None,
        fitted: plan
            .fitted
            .as_ref()
            .map(|f| f.describe(plan.original_bytes)),
        grid_width: plan.grid.0,
        grid_height: plan.grid.1,
        expected_width: expected.0,
        expected_height: expected.1,
        width: None,
        height: None,
        png_bytes: None,
        colors: None,
        cells_uniform: None,
        matches_local_engine: None,
        problem: None,
    };
    let exchange = match upstream.send(&plan.envelope).await {
        Ok(exchange) => exchange,
        Err(err) => {
            check.problem = Some(err.to_string());
            return check;
        }
    };
    check.latency_ms = Some(millis(exchange.latency));
    check.request_bytes = Some(exchange.request_bytes);
    check.response_bytes = Some(exchange.response_bytes);
    let answer = match &plan.fitted {
        Some(fitted) => match fitted.restore(exchange.response) {
            Ok(answer) => answer,
            Err(problem) => {
                check.problem = Some(problem);
                return check;
            }
        },
        None => exchange.response,
    };
    check.status = Some(answer.status);
    let wanted = if plan.animated {
        "image/gif"
    } else {
        "image/png"
    };
    if answer.status != 200 || !answer.content_type.starts_with(wanted) {
        check.problem = Some(format!(
            "answered {} {}: {}",
            answer.status,
            answer.content_type,
            describe_error(&answer)
        ));
        return check;
    }
    let png = match answer.decode_body() {
        Ok(png) => png,
        Err(err) => {
            check.problem = Some(format!("the PNG body does not decode: {err}"));
            return check;
        }
    };
    check.png_bytes = Some(png.len());
    check.matches_local_engine = plan.local_png.as_ref().map(|local| *local == png);
    let picture = match if plan.animated {
        first_frame(&png)
    } else {
        decode_rgba(&png)
    } {
        Ok(picture) => picture,
        Err(problem) => {
            check.problem = Some(problem);
            return check;
        }
    };
    check.width = Some(picture.width);
    check.height = Some(picture.height);
    check.colors = Some(picture.distinct_colors());
    let mut problems = Vec::new();
    if (picture.width, picture.height) == expected {
        let uniform = picture.cells_uniform(&spans.widths, &spans.heights);
        check.cells_uniform = Some(uniform);
        if !uniform {
            problems.push("some cells are not one flat colour".to_string());
        }
    } else {
        problems.push(format!(
            "the PNG is {}x{}, expected {}x{} for a {}x{} grid",
            picture.width, picture.height, expected.0, expected.1, plan.grid.0, plan.grid.1
        ));
    }
    if let Some(most) = max_colors(&plan.options.colors)
        && picture.distinct_colors() > most
    {
        problems.push(format!(
            "the PNG has {} colours, more than the {most} asked for",
            picture.distinct_colors()
        ));
    }
    check.problem = (!problems.is_empty()).then(|| problems.join("; "));
    check.ok = check.problem.is_none();
    check
}

/// The most distinct RGBA values a palette option allows (a transparent entry comes on top).
fn max_colors(colors: &Colors) -> Option<usize> {
    match colors {
        Colors::Count(n) => Some(usize::from(*n) + 1),
        Colors::Palette(palette) => Some(palette.colors.len() + 1),
        Colors::Levels(levels) => Some(usize::from(*levels).pow(3) + 1),
        Colors::Full => None,
    }
}

fn describe_error(answer: &Response) -> String {
    match (answer.error_code(), answer.error_message()) {
        (Some(code), Some(message)) => format!("{code}: {message}"),
        _ => answer
            .decode_body()
            .map(|b| String::from_utf8_lossy(&b[..b.len().min(200)]).into_owned())
            .unwrap_or_default(),
    }
}

fn millis(duration: std::time::Duration) -> f64 {
    (duration.as_secs_f64() * 1e5).round() / 100.0
}

/// The first frame of an animated GIF answer, by the engine's own GIF decoder.
fn first_frame(gif: &[u8]) -> Result<Rgba, String> {
    let canvas = engine::animation::composited_frame(gif, 0, &engine::Options::default())
        .map_err(|e| format!("the answer is not a valid animated GIF: {e}"))?;
    Ok(Rgba {
        width: canvas.width,
        height: canvas.height,
        pixels: canvas
            .rgba
            .chunks_exact(4)
            .map(|p| [p[0], p[1], p[2], p[3]])
            .collect(),
    })
}

/// A decoded picture, 8-bit RGBA.
struct Rgba {
    width: u32,
    height: u32,
    pixels: Vec<[u8; 4]>,
}

impl Rgba {
    fn distinct_colors(&self) -> usize {
        self.pixels.iter().collect::<HashSet<_>>().len()
    }

    fn cells_uniform(&self, widths: &[u32], heights: &[u32]) -> bool {
        let mut y0 = 0usize;
        for &h in heights {
            let mut x0 = 0usize;
            for &w in widths {
                let first = self.pixels[y0 * self.width as usize + x0];
                let flat = (y0..y0 + h as usize).all(|y| {
                    let row = y * self.width as usize;
                    self.pixels[row + x0..row + x0 + w as usize]
                        .iter()
                        .all(|p| *p == first)
                });
                if !flat {
                    return false;
                }
                x0 += w as usize;
            }
            y0 += h as usize;
        }
        true
    }
}

fn decode_rgba(png_bytes: &[u8]) -> Result<Rgba, String> {
    let problem = |e: png::DecodingError| format!("the answer is not a valid PNG: {e}");
    let mut decoder = png::Decoder::new(Cursor::new(png_bytes));
    decoder.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
    let mut reader = decoder.read_info().map_err(problem)?;
    let size = reader
        .output_buffer_size()
        .ok_or("the PNG is too large to check")?;
    let mut buf = vec![0; size];
    let frame = reader.next_frame(&mut buf).map_err(problem)?;
    let samples = frame.color_type.samples();
    let pixels = buf[..frame.buffer_size()]
        .chunks_exact(samples)
        .map(|p| match *p {
            [g] => [g, g, g, 255],
            [g, a] => [g, g, g, a],
            [r, g, b] => [r, g, b, 255],
            [r, g, b, a] => [r, g, b, a],
            _ => [0, 0, 0, 0],
        })
        .collect();
    Ok(Rgba {
        width: frame.width,
        height: frame.height,
        pixels,
    })
}
