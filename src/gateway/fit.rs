//! Fitting an image under the runner's 1 MiB request limit without changing the pixel art.
//!
//! A request envelope carries the image as base64, so images over about 780 KB would get 413
//! from the runner. Instead, the image is reduced natively by an integer factor `d` that divides
//! the block size — each `d × d` square becomes its mean (the engine itself does this: block `d`,
//! every colour kept, one pixel per cell) — and the module is asked for block `b / d`. Its cells
//! are then the means of the same `b × b` squares, so the grid (columns, rows, cell edges) is the
//! one the full image gives; the grid is checked with the engine before anything is sent. When
//! the picture was asked for at the source's size, the module is asked for the grid and the
//! gateway redraws it at the source's size (see `redraw`).
//!
//! What can differ from pixelating the full image: partial cells at the right and bottom edges
//! weigh their `d × d` means equally, mean colours pass through 8-bit sRGB once more, and alpha is
//! made binary per `d × d` square (so semi-transparent sources can lose or gain a few cells).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde_json::Value;
use wasm_service::engine::{self, Colors, Dither, Grid, Options, Output};
use wasm_service::envelope::Response as Answer;

use super::redraw::{self, Spans};

/// Query names the router reads that are not engine options.
const NON_OPTIONS: &[&str] = &["report", "image_base64"];
/// Names that set the grid, and names that set the output size (all replaced when fitting).
const GRID_NAMES: &[&str] = &["block", "block_size", "pixel_size", "width", "grid_width"];
const OUTPUT_NAMES: &[&str] = &["grid", "scale"];
/// Reductions tried before giving up (each is one native pixelation of the full image).
const MAX_TRIES: usize = 6;

/// A request that fits.
#[derive(Debug, Clone)]
pub struct Fitted {
    /// The reduced image (PNG) to send.
    pub image: Vec<u8>,
    /// The query to send with it.
    pub query: String,
    /// The reduction factor: each `factor × factor` square became one pixel.
    pub factor: u32,
    /// Source and reduced sizes.
    pub source: (u32, u32),
    pub sent: (u32, u32),
    /// The grid (columns, rows), the same for both.
    pub grid: (u32, u32),
    /// When the output must be redrawn at the source size: how.
    pub redraw: Option<Spans>,
    /// The block size asked for and the one sent (`None` for a grid given by width).
    pub block: Option<(u32, u32)>,
}

impl Fitted {
    /// A one-line description for the `x-pixelsmith-fitted` header.
    pub fn describe(&self, original_bytes: usize) -> String {
        let block = self
            .block
            .map(|(b, sent)| format!("; block={b}->{sent}"))
            .unwrap_or_default();
        format!(
            "reduced {}x{} -> {}x{} (factor {}){block}; grid {}x{} kept; image {} -> {} bytes{}",
            self.source.0,
            self.source.1,
            self.sent.0,
            self.sent.1,
            self.factor,
            self.grid.0,
            self.grid.1,
            original_bytes,
            self.image.len(),
            if self.redraw.is_some() {
                "; redrawn at source size"
            } else {
                ""
            }
        )
    }

    /// Makes the module's answer to the fitted request answer the original one: the picture
    /// redrawn at the source size when that was asked, and a JSON report describing the source
    /// as sent by the client (size, block) with a `fitted` field saying what was done.
    pub fn restore(&self, mut answer: Answer) -> Result<Answer, String> {
        if !answer.is_success() {
            return Ok(answer);
        }
        let redraw = |png: &[u8]| match &self.redraw {
            Some(spans) => redraw::redraw(png, spans),
            None => Ok(png.to_vec()),
        };
        if answer.content_type.starts_with("image/png") {
            let png = answer.decode_body().map_err(|e| e.to_string())?;
            answer.body_base64 = Some(BASE64.encode(redraw(&png)?));
            return Ok(answer);
        }
        let Some(body) = answer.body.take() else {
            return Ok(answer);
        };
        let mut report = Value::from(body);
        if let Value::Object(fields) = &mut report {
            if let Some(Value::String(b64)) = fields.get("png_base64") {
                let png = BASE64
                    .decode(b64)
                    .map_err(|e| format!("the report's png_base64 is not base64: {e}"))?;
                let png = redraw(&png)?;
                if let Ok(info) = engine::probe(&png) {
                    fields.insert("output_width".into(), info.width.into());
                    fields.insert("output_height".into(), info.height.into());
                }
                fields.insert("png_bytes".into(), png.len().into());
                fields.insert("png_base64".into(), BASE64.encode(&png).into());
            }
            fields.insert("source_width".into(), self.source.0.into());
            fields.insert("source_height".into(), self.source.1.into());
            if let Some((block, _)) = self.block {
                fields.insert("block".into(), block.into());
            }
            fields.insert(
                "fitted".into(),
                serde_json::json!({
                    "factor": self.factor,
                    "sent_width": self.sent.0,
                    "sent_height": self.sent.1,
                    "sent_block": self.block.map(|(_, sent)| sent),
                    "sent_bytes": self.image.len(),
                    "redrawn": self.redraw.is_some(),
                }),
            );
        }
        answer.body = Some(report.into());
        Ok(answer)
    }
}

/// Why an image could not be fitted.
#[derive(Debug)]
pub enum FitError {
    /// The image or an option is refused by the engine (the same answer the module would give).
    Engine(engine::Error),
    /// No reduction that keeps the grid brings it under the limit.
    TooLarge(String),
}

/// Finds the smallest reduction whose request fits: `envelope_size(image, query)` is the size of
/// the envelope that would carry them, which must not pass `limit`.
pub fn fit(
    image: &[u8],
    query: &str,
    envelope_size: impl Fn(&[u8], &str) -> usize,
    limit: usize,
) -> Result<Fitted, FitError> {
    let pairs: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let mut options = Options::default();
    for (name, value) in &pairs {
        if !NON_OPTIONS.contains(&name.as_str()) {
            options.set(name, value).map_err(FitError::Engine)?;
        }
    }
    // Sizes as displayed: a quarter-turn EXIF orientation swaps the stored width and height.
    let engine::Decoded { grid, source } =
        engine::decode_only(image, &options).map_err(FitError::Engine)?;
    let redraw = (options.output == Output::Original).then(|| output_spans(&options, source, grid));

    let candidates = factors(options.grid, source);
    let mut tried = Vec::new();
    let mut last: Option<(u32, usize)> = None;
    let mut from = 2u32;
    while tried.len() < MAX_TRIES {
        let Some(factor) = next_factor(&candidates, from) else {
            break;
        };
        let (sent_grid, block) = match options.grid {
            Grid::Block(b) => (Grid::Block(b / factor), Some((b, b / factor))),
            Grid::Width(w) => (Grid::Width(w), None),
        };
        let reduced = reduce(image, factor, &options)?;
        let sent_query = rewrite_query(&pairs, sent_grid, redraw.is_some());
        let mut sent_options = options.clone();
        sent_options.grid = sent_grid;
        let same_grid =
            engine::decode_only(&reduced.png, &sent_options).is_ok_and(|sent| sent.grid == grid);
        let size = envelope_size(&reduced.png, &sent_query);
        tried.push(format!(
            "{factor} ({size} bytes{})",
            if same_grid { "" } else { ", grid moved" }
        ));
        if same_grid && size <= limit {
            return Ok(Fitted {
                sent: (reduced.report.output_width, reduced.report.output_height),
                image: reduced.png,
                query: sent_query,
                factor,
                source,
                grid,
                redraw,
                block,
            });
        }
        last = Some((factor, size));
        // PNG size falls roughly with the pixel count: jump to a factor that may fit (the
        // search then takes the smallest valid factor at or past it, or the largest one left).
        let needed = (size as f64 / limit.max(1) as f64).sqrt() * f64::from(factor);
        from = (factor + 1).max(needed.floor() as u32);
        if next_factor(&candidates, from).is_none() {
            from = factor + 1;
            if let Some(&largest) = candidates.last().filter(|&&d| d > factor) {
                from = largest;
            }
        }
    }
    // The grid itself must travel: suggest a narrower one only once its request is known to fit.
    let narrower = match last {
        Some((_, size)) if size > limit && grid.0 > 1 => {
            let sent = |width: u32, factor: u32| -> Option<usize> {
                let reduced = reduce(image, factor, &options).ok()?;
                let query = rewrite_query(&pairs, Grid::Width(width), redraw.is_some());
                Some(envelope_size(&reduced.png, &query))
            };
            width_that_fits(grid.0, size, source.0, limit, sent)
        }
        _ => None,
    };
    Err(FitError::TooLarge(too_large_reason(
        options.grid,
        grid,
        &tried,
        narrower,
    )))
}

/// A grid width narrower than `cols` whose smallest request fits `limit`: estimated from the size
/// `size` of a `cols`-wide request (a PNG's size falls about with its pixel count), then checked
/// with `sent(width, factor)`, the size of the request that sends the image reduced by `factor`
/// (about a pixel a cell) for a grid `width` cells wide. A few tries, each narrower; `None` when
/// none fits (or the image is too narrow to reduce).
fn width_that_fits(
    cols: u32,
    size: usize,
    source_width: u32,
    limit: usize,
    sent: impl Fn(u32, u32) -> Option<usize>,
) -> Option<u32> {
    let (mut width, mut size) = (cols, size);
    for _ in 0..3 {
        let shrink = (limit as f64 / size as f64).sqrt() * 0.9;
        width = ((f64::from(width) * shrink).floor() as u32).clamp(1, width - 1);
        let factor = source_width / width;
        if factor < 2 {
            return None;
        }
        size = sent(width, factor)?;
        if size <= limit {
            return Some(width);
        }
        if width == 1 {
            return None;
        }
    }
    None
}

/// Every reduction factor ≥ 2 that can keep the grid, smallest first: the divisors of the block
/// size, or (for a grid given by width) every factor that leaves at least that many columns and
/// one row. Whether the grid really stays is checked for each one tried.
fn factors(grid: Grid, (width, height): (u32, u32)) -> Vec<u32> {
    match grid {
        Grid::Block(b) => (2..=b).filter(|d| b % d == 0).collect(),
        Grid::Width(cols) => (2..=(width / cols.max(1)).min(height)).collect(),
    }
}

/// The smallest candidate factor ≥ `from`.
fn next_factor(candidates: &[u32], from: u32) -> Option<u32> {
    candidates.iter().copied().find(|&d| d >= from)
}

/// Every `factor × factor` square to its mean, nothing else: the colour work the client asked for
/// (palette, dithering, any later option) is left to the module, so it is done once, on the grid.
fn reduce(image: &[u8], factor: u32, asked: &Options) -> Result<engine::Pixelated, FitError> {
    let options = Options {
        optimize: true,
        ..squares(factor, asked)
    };
    engine::pixelate(image, &options).map_err(FitError::Engine)
}

/// Options that draw every `factor × factor` square of the source as its mean (linear light,
/// colour-managed, upright) and nothing else: full colour, no dithering, one pixel per square.
/// `asked`'s alpha threshold and limits are kept. Factor 1 is the source's own pixels in sRGB.
pub(super) fn squares(factor: u32, asked: &Options) -> Options {
    Options {
        grid: Grid::Block(factor),
        colors: Colors::Full,
        dither: Dither::None,
        alpha_threshold: asked.alpha_threshold,
        output: Output::Grid,
        limits: asked.limits,
        ..Options::default()
    }
}

/// The query to send: the grid option replaced, and `grid=true` (no `scale`) when the gateway
/// redraws at the source size. Everything else is kept in order.
fn rewrite_query(pairs: &[(String, String)], grid: Grid, want_grid_output: bool) -> String {
    let mut out = form_urlencoded::Serializer::new(String::new());
    for (name, value) in pairs {
        let replaced = GRID_NAMES.contains(&name.as_str())
            || (want_grid_output && OUTPUT_NAMES.contains(&name.as_str()));
        if !replaced {
            out.append_pair(name, value);
        }
    }
    match grid {
        Grid::Block(b) => out.append_pair("block", &b.to_string()),
        Grid::Width(w) => out.append_pair("width", &w.to_string()),
    };
    if want_grid_output {
        out.append_pair("grid", "true");
    }
    out.finish()
}

/// How many output pixels each column and row of cells spans, as the engine draws them for a
/// source of `(width, height)` pixels as displayed (after EXIF orientation): one per
/// cell for `grid`, `k` for `scale=k`, and for the source size the partial last blocks cropped to
/// the source (a grid given by width drawn evenly at the whole factor closest to the source
/// width). Mirrors the engine's private `encode::Spans`; the gateway tests compare the two.
pub(crate) fn output_spans(
    options: &Options,
    (width, height): (u32, u32),
    (cols, rows): (u32, u32),
) -> Spans {
    let uniform = |k: u32| Spans {
        widths: vec![k; cols as usize],
        heights: vec![k; rows as usize],
    };
    match (options.output, options.grid) {
        (Output::Grid, _) => uniform(1),
        (Output::Scale(k), _) => uniform(k),
        (Output::Original, Grid::Block(b)) => Spans {
            widths: (0..cols).map(|c| b.min(width - c * b)).collect(),
            heights: (0..rows).map(|r| b.min(height - r * b)).collect(),
        },
        (Output::Original, Grid::Width(_)) => uniform(((width + cols / 2) / cols).max(1)),
    }
}

fn too_large_reason(
    asked: Grid,
    (cols, rows): (u32, u32),
    tried: &[String],
    narrower: Option<u32>,
) -> String {
    let hint = match asked {
        Grid::Block(1) => "block 1 keeps every pixel, so nothing can be reduced".to_string(),
        Grid::Block(b) => format!(
            "only factors dividing the block size {b} keep the grid; a block size with more small \
             factors (8, 12, 16, 24, 32) allows stronger reductions"
        ),
        Grid::Width(w) => format!("a grid {w} cells wide leaves little to reduce"),
    };
    let tried = if tried.is_empty() {
        "no reduction possible".to_string()
    } else {
        format!("tried factors {}", tried.join(", "))
    };
    let suggestion = match narrower {
        Some(width) => format!(
            "; the {cols}x{rows} grid itself is too large to send, and a grid {width} cells wide \
             fits (checked: width={width}, or a larger block)"
        ),
        None => String::new(),
    };
    format!(
        "the image does not fit the runner's 1 MiB request limit even reduced ({tried}); \
         {hint}{suggestion}; or send a smaller image"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(query: &str) -> Options {
        let mut options = Options::default();
        for (name, value) in form_urlencoded::parse(query.as_bytes()) {
            if !NON_OPTIONS.contains(&name.as_ref()) {
                options.set(&name, &value).unwrap();
            }
        }
        options
    }

    #[test]
    fn output_spans_agree_with_the_engine() {
        let image = crate::call::sample_png();
        let source = engine::decode_only(&image, &Options::default())
            .unwrap()
            .source;
        for query in [
            "block=7",
            "width=10",
            "width=13",
            "block=5&scale=3",
            "block=8&grid=true",
        ] {
            let options = options(query);
            let done = engine::pixelate(&image, &options).unwrap().report;
            let spans = output_spans(&options, source, (done.grid_width, done.grid_height));
            let size = (
                spans.widths.iter().sum::<u32>(),
                spans.heights.iter().sum::<u32>(),
            );
            assert_eq!(size, (done.output_width, done.output_height), "{query}");
        }
    }

    #[test]
    fn a_fitted_request_answered_by_the_engine_restores_to_the_native_geometry() {
        let image = crate::call::sample_png();
        let query = "block=8&colors=6&report=false";
        // A limit the full image misses and some reduction meets (how much smaller a reduction is
        // depends on the PNG encoder, so the limit is just under the full image).
        let limit = image.len() + query.len() - 1;
        let fitted = fit(&image, query, |img, q| img.len() + q.len(), limit).unwrap();
        assert!(fitted.factor >= 2, "{fitted:?}");
        assert!(
            fitted
                .query
                .contains(&format!("block={}", 8 / fitted.factor)),
            "{}",
            fitted.query
        );
        assert!(fitted.query.contains("grid=true") && fitted.query.contains("report=false"));

        // Play the module: pixelate what would be sent, with the query that would be sent.
        let sent = engine::pixelate(&fitted.image, &options(&fitted.query)).unwrap();
        let answer = fitted.restore(Answer::png(&sent.png)).unwrap();
        let png = answer.decode_body().unwrap();
        let native = engine::pixelate(&image, &options(query)).unwrap();
        let got = engine::probe(&png).unwrap();
        assert_eq!(
            (got.width, got.height),
            (native.report.output_width, native.report.output_height)
        );
        assert_eq!(
            (sent.report.grid_width, sent.report.grid_height),
            fitted.grid
        );
    }

    #[test]
    fn an_image_that_cannot_shrink_enough_is_refused_with_the_reason() {
        let image = crate::call::sample_png();
        match fit(&image, "block=1", |img, q| img.len() + q.len(), 10) {
            Err(FitError::TooLarge(reason)) => assert!(reason.contains("block 1"), "{reason}"),
            other => panic!("expected TooLarge, got {other:?}"),
        }
        match fit(&image, "block=0", |img, q| img.len() + q.len(), 10) {
            Err(FitError::Engine(err)) => assert_eq!(err.code(), "invalid_option"),
            other => panic!("expected an engine error, got {other:?}"),
        }
    }

    #[test]
    fn factors_divide_the_block() {
        assert_eq!(factors(Grid::Block(12), (100, 100)), [2, 3, 4, 6, 12]);
        assert_eq!(
            next_factor(&factors(Grid::Block(12), (100, 100)), 5),
            Some(6)
        );
        assert_eq!(factors(Grid::Block(7), (100, 100)), [7]);
        assert!(factors(Grid::Block(1), (100, 100)).is_empty());
        assert_eq!(factors(Grid::Width(40), (100, 100)), [2]);
        assert_eq!(next_factor(&factors(Grid::Width(40), (100, 100)), 3), None);
    }

    #[test]
    fn the_search_reaches_the_largest_factor_when_a_jump_overshoots() {
        // A source whose envelope only fits at the strongest reduction (factor 8 for block 8),
        // with sizes that make the jump after factor 2 overshoot past 8: the search must still
        // try 8 (it used to stop after 2).
        let image = crate::call::sample_png();
        let info = engine::probe(&image).unwrap();
        let full = u64::from(info.width) * u64::from(info.height);
        let limit = 1000;
        let size = |img: &[u8], _: &str| {
            let sent = engine::probe(img).unwrap();
            let pixels = u64::from(sent.width) * u64::from(sent.height);
            if pixels * 64 > full {
                limit * 1000
            } else {
                limit
            }
        };
        let fitted = fit(&image, "block=8", size, limit).unwrap();
        assert_eq!(fitted.factor, 8);
        assert!(fitted.query.contains("block=1"), "{}", fitted.query);

        // When even the grid is too large, the error names every factor tried, and no grid
        // width when none was found to fit.
        let never = |_: &[u8], _: &str| limit * 4;
        match fit(&image, "block=8", never, limit) {
            Err(FitError::TooLarge(reason)) => {
                assert!(
                    reason.contains("tried factors 2") && reason.contains(", 8 ("),
                    "{reason}"
                );
                assert!(!reason.contains("width="), "{reason}");
            }
            other => panic!("expected TooLarge, got {other:?}"),
        }
        // A width is suggested only once a request for it was measured to fit; a size that
        // falls faster than the pixel count makes the first estimate too wide.
        let cells = |img: &[u8]| {
            let sent = engine::probe(img).unwrap();
            u64::from(sent.width) * u64::from(sent.height)
        };
        let steep = |img: &[u8], query: &str| {
            let pixels = cells(img) as usize;
            let width_grid = query.contains("width=");
            if width_grid && pixels * 256 <= full as usize {
                limit
            } else {
                limit * 2
            }
        };
        match fit(&image, "block=8", steep, limit) {
            Err(FitError::TooLarge(reason)) => {
                let width: u32 = reason
                    .split("width=")
                    .nth(1)
                    .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next())
                    .and_then(|n| n.parse().ok())
                    .unwrap_or_else(|| panic!("a width: {reason}"));
                let factor = info.width / width;
                let reduced = reduce(&image, factor, &options("")).unwrap();
                assert_eq!(steep(&reduced.png, "width=1"), limit, "{reason}");
            }
            other => panic!("expected TooLarge, got {other:?}"),
        }
    }

    #[test]
    fn the_query_keeps_other_names_and_replaces_grid_and_output() {
        let pairs: Vec<(String, String)> = form_urlencoded::parse(
            b"pixel_size=8&palette=%231a1c2c%2C%23ffffff&scale=3&report=true",
        )
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
        assert_eq!(
            rewrite_query(&pairs, Grid::Block(2), true),
            "palette=%231a1c2c%2C%23ffffff&report=true&block=2&grid=true"
        );
        assert_eq!(
            rewrite_query(&pairs, Grid::Block(4), false),
            "palette=%231a1c2c%2C%23ffffff&scale=3&report=true&block=4"
        );
    }
}
