//! The `pixelate` tool: read the image (a file inside the allowed roots, base64 data, or an
//! http(s) URL), run the engine, write the PNG atomically inside the roots, and answer with the
//! report, a size-capped preview and a link to the full file.
//!
//! The preview is the same picture drawn smaller: pixel art at an integer scale of its grid is
//! exact, so a re-render with `scale` (or the bare grid) loses nothing but size.

use std::path::{Path, PathBuf};

use base64::Engine as _;
use rmcp::model::CallToolResult;
use schemars::JsonSchema;
use serde::Serialize;

use super::params::PixelateParams;
use super::{Shared, fetch, reply};
use crate::engine::animation::AnimationFormat;
use crate::engine::{self, Options, Output, Pixelated};
use crate::roots::write_atomic;
use tokio_util::sync::CancellationToken;

/// The longest side a preview may have.
pub const PREVIEW_MAX_SIDE: u32 = 512;
/// The most bytes a preview PNG may have (hosts reject large tool results).
pub const PREVIEW_MAX_BYTES: usize = 64 * 1024;
/// The most base64 text accepted in `data_base64`.
pub const MAX_BASE64_CHARS: usize = 48 * 1024 * 1024;

/// What `pixelate` answers.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct PixelateOutput {
    /// The full-size PNG written (absolute path).
    pub output_path: String,
    /// The same as a `file://` URI.
    pub output_uri: String,
    pub output_bytes: u64,
    /// Where the image came from: its path, its URL, or `base64 data`.
    pub source: String,
    pub source_bytes: u64,
    /// The options used, as a query string the deployed service would accept.
    pub query: String,
    pub preview: PreviewInfo,
    pub report: ReportView,
    /// What the caller may not expect of the result, e.g. a grid narrower than the `width` asked
    /// (a cell is at least a pixel). Absent when there is nothing to say.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// For an animated source: the animation written (its palette and grid are in `report`, the
    /// preview is frame 0). Absent for stills.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub animation: Option<AnimationView>,
}

/// The frames of an animation written by `pixelate`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct AnimationView {
    /// `gif` or `apng` (chosen by the output's extension).
    pub format: String,
    pub frame_count: u32,
    /// How long each frame is shown, in milliseconds, in order.
    pub delays_ms: Vec<u32>,
    /// How many times it plays in all: 0 forever, 1 once.
    pub plays: u32,
}

/// About the preview image in the result.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct PreviewInfo {
    /// Whether an image block is in the result.
    pub included: bool,
    pub width: u32,
    pub height: u32,
    pub bytes: u64,
    /// How it relates to the full file.
    pub note: String,
}

/// The engine's report: sizes, grid, palette and timings.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ReportView {
    /// Source format: png, jpeg, webp, gif or bmp.
    pub format: String,
    pub source_width: u32,
    pub source_height: u32,
    /// The grid: one cell per output "pixel".
    pub grid_width: u32,
    pub grid_height: u32,
    /// Block size in source pixels (for a grid width, the widest cell).
    pub block: u32,
    pub output_width: u32,
    pub output_height: u32,
    /// The colours used, `#rrggbb`, darkest first (at most 256); empty for a true-colour
    /// output with more than 256 colours (the count is in `colors_used`).
    pub palette: Vec<String>,
    /// How many distinct colours the output uses.
    pub colors_used: u64,
    /// Whether some cells are fully transparent.
    pub transparent: bool,
    /// JPEG only: the DCT scale the decoder used (1, 2, 4 or 8); 1 otherwise.
    pub decode_scale: u32,
    /// The source's embedded ICC profile, when it had one.
    pub color_profile: Option<ColorProfileView>,
    pub png_bytes: u64,
    pub timings: TimingsView,
}

/// What happened to the source's embedded ICC profile.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ColorProfileView {
    /// The profile's description, e.g. "Display P3".
    pub name: String,
    /// Whether colours were converted from it to sRGB.
    pub applied: bool,
    /// What was done, or why the profile was ignored.
    pub note: String,
}

/// Engine time in milliseconds.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct TimingsView {
    pub decode_ms: f64,
    pub palette_ms: f64,
    pub encode_ms: f64,
    pub total_ms: f64,
}

impl From<&engine::Report> for ReportView {
    fn from(r: &engine::Report) -> Self {
        ReportView {
            format: r.format.to_string(),
            source_width: r.source_width,
            source_height: r.source_height,
            grid_width: r.grid_width,
            grid_height: r.grid_height,
            block: r.block,
            output_width: r.output_width,
            output_height: r.output_height,
            palette: r.palette.clone(),
            colors_used: r.colors_used as u64,
            transparent: r.transparent,
            decode_scale: r.decode_scale,
            color_profile: r.color_profile.as_ref().map(|p| ColorProfileView {
                name: p.name.clone(),
                applied: p.applied,
                note: p.note.clone(),
            }),
            png_bytes: r.png_bytes as u64,
            timings: TimingsView {
                decode_ms: r.timings.decode_ms,
                palette_ms: r.timings.palette_ms,
                encode_ms: r.timings.encode_ms,
                total_ms: r.timings.total_ms,
            },
        }
    }
}

/// An animated source (more than one frame): pixelated as one animation with one palette, written
/// as an animated GIF or APNG by the output's extension (`<name>.pixel.gif` by default).
struct Animation {
    frames: u32,
    output: PathBuf,
    label: String,
    query: String,
}

/// How often a long `pixelate` says it is still working, when the request has a progress token.
const HEARTBEAT: std::time::Duration = std::time::Duration::from_secs(3);

/// Runs `work`, sending a progress notification every [`HEARTBEAT`] while it lasts when the
/// request has a progress token: hosts that time calls out (Claude Code, Codex) restart the clock
/// on progress, and a 64 MP image, a slow URL or diffusion at 256 colours can outlast them.
pub async fn with_heartbeat<T>(
    progress: Option<rmcp::model::ProgressToken>,
    peer: &rmcp::Peer<rmcp::RoleServer>,
    work: impl Future<Output = T>,
) -> T {
    let Some(token) = progress else {
        return work.await;
    };
    let started = std::time::Instant::now();
    tokio::pin!(work);
    let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + HEARTBEAT, HEARTBEAT);
    let mut step = 0u32;
    loop {
        tokio::select! {
            done = &mut work => return done,
            _ = tick.tick() => {
                step += 1;
                let note = rmcp::model::ProgressNotificationParam::new(token.clone(), f64::from(step))
                    .with_message(format!("working: {} s", started.elapsed().as_secs()));
                if let Err(e) = peer.notify_progress(note).await {
                    tracing::debug!("progress notification not sent: {e}");
                }
            }
        }
    }
}

/// The answer to a call the client cancelled: nothing is written after the cancellation.
const CANCELLED: &str = "cancelled before the output was written: nothing was written";

/// Waits for `work` unless the call is cancelled first (the engine's thread then finishes on its
/// own and its result is dropped, so a cancelled call never replaces a file).
async fn unless_cancelled<T>(
    cancel: &CancellationToken,
    work: impl Future<Output = T>,
) -> Result<T, String> {
    tokio::select! {
        done = work => Ok(done),
        () = cancel.cancelled() => Err(CANCELLED.into()),
    }
}

impl Animation {
    async fn run(
        self,
        shared: &Shared,
        bytes: Vec<u8>,
        options: Options,
        cancel: &CancellationToken,
    ) -> Result<CallToolResult, String> {
        let format = match crate::pixelate::output_extension(&self.output).as_deref() {
            Some("gif") => AnimationFormat::Gif,
            Some("apng") => AnimationFormat::Apng,
            _ => {
                return Err(format!(
                    "{} is an animation of {} frames: give an `output` ending in .gif (animated \
                     GIF) or .apng (animated PNG), or `frame` (0..={}) for one frame as a still PNG",
                    self.label,
                    self.frames,
                    self.frames - 1
                ));
            }
        };
        let label = self.label.clone();
        let grid = options.grid;
        let done = unless_cancelled(
            cancel,
            shared.run_engine(move || {
                let animated = engine::animation::pixelate_animation(&bytes, &options, format)?;
                // The preview is frame 0 in the animation's own palette.
                let mut still_options = options.clone();
                let hex = animated.report.palette.join(",");
                if !hex.is_empty() {
                    still_options.colors =
                        engine::Colors::Palette(engine::palettes::resolve(&hex)?);
                }
                let first = engine::animation::pixelate_frame(&bytes, 0, &still_options)?;
                let preview = preview(&bytes, &still_options, &first, Some(0));
                Ok::<_, engine::Error>((animated, first, preview, bytes.len()))
            }),
        )
        .await?;
        let (animated, first, (preview_png, preview_info), source_bytes) =
            done.map_err(|e| format!("{label}: {e}"))?;
        let written = animated.bytes.len() as u64;
        let out = self.output.clone();
        if cancel.is_cancelled() {
            return Err(CANCELLED.into());
        }
        tokio::task::spawn_blocking(move || write_atomic(&out, &animated.bytes))
            .await
            .map_err(|e| format!("internal: {e}"))?
            .map_err(|e| format!("cannot write {}: {e}", self.output.display()))?;
        let r = &animated.report;
        let mut report = ReportView::from(&first.report);
        report.palette = r.palette.clone();
        report.colors_used = r.colors_used as u64;
        report.output_width = r.output_width;
        report.output_height = r.output_height;
        report.png_bytes = written;
        let answer = PixelateOutput {
            output_path: self.output.display().to_string(),
            output_uri: reply::file_uri(&self.output),
            output_bytes: written,
            source: self.label,
            source_bytes: source_bytes as u64,
            query: self.query,
            preview: PreviewInfo {
                note: format!(
                    "frame 0 of the {} frames as a still PNG ({}); the file written is the \
                     animation",
                    r.frame_count,
                    preview_info
                        .note
                        .replace("the full output itself", "full size")
                ),
                ..preview_info
            },
            notes: crate::pixelate::width_note(grid, &first.report)
                .into_iter()
                .collect(),
            report,
            animation: Some(AnimationView {
                format: match format {
                    AnimationFormat::Gif => "gif",
                    AnimationFormat::Apng => "apng",
                }
                .to_string(),
                frame_count: r.frame_count as u32,
                delays_ms: r.frames.iter().map(|f| f.delay_ms).collect(),
                plays: r.plays,
            }),
        };
        let mime = match format {
            AnimationFormat::Gif => "image/gif",
            AnimationFormat::Apng => "image/apng",
        };
        reply::with_image_as(&answer, preview_png.as_deref(), &self.output, written, mime)
    }
}

/// Where the image bytes came from.
struct Source {
    bytes: Vec<u8>,
    label: String,
    /// The default output path.
    default_output: PathBuf,
    /// The input file's real path, so it is never overwritten.
    input_path: Option<PathBuf>,
}

/// Runs the tool.
pub async fn run(
    shared: &Shared,
    params: PixelateParams,
    cancel: &CancellationToken,
) -> Result<CallToolResult, String> {
    let mut engine_options = params.engine_options();
    engine_options.max_pixels = params.max_pixels;
    let options = engine_options.to_options()?;
    // Percent-encoded, so `#` in a palette or a space survives being pasted into a URL.
    let query = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(engine_options.pairs()?)
        .finish();

    let source = read_source(shared, &params, options.limits.max_input_bytes).await?;
    let output = match &params.output {
        Some(path) => shared.roots.resolve_new(path),
        None => shared.roots.resolve_new(&source.default_output),
    }
    .map_err(|e| reply::failure(&e))?;
    if source.input_path.as_deref() == Some(output.as_path()) {
        return Err(format!(
            "the output {} would replace the input image: pass another `output` path",
            output.display()
        ));
    }

    let bytes = source.bytes;
    let frames = {
        let (bytes, options) = (bytes.clone(), options.clone());
        shared
            .run_engine(move || engine::animation::frame_count(&bytes, &options))
            .await
            .map_err(|e| format!("{}: {e}", source.label))?
    };
    let frame = params.frame.map(|f| f as usize);
    crate::pixelate::check_output_name(&output).map_err(|e| e.to_string())?;
    let names_animation = matches!(
        crate::pixelate::output_extension(&output).as_deref(),
        Some("gif" | "apng")
    );
    if names_animation && frame.is_some() {
        return Err(format!(
            "`frame` makes one frame as a still PNG, but `output` {} names an animation: \
             leave out `frame` for the whole animation, or give an output ending in .png",
            output.display()
        ));
    }
    if names_animation && frames.is_none_or(|n| n <= 1) {
        return Err(format!(
            "{} is a still image, and a still is written as PNG, but `output` {} names an \
             animation format: give an output ending in .png",
            source.label,
            output.display()
        ));
    }
    if frames.is_none() && frame.is_some_and(|index| index > 0) {
        return Err(format!(
            "{} is a still, not an animation: it has only frame 0",
            source.label
        ));
    }
    if let Some(frames) = frames.filter(|&n| n > 1 && frame.is_none()) {
        let output = match &params.output {
            Some(_) => output,
            None => output.with_extension("gif"),
        };
        let animation = Animation {
            frames,
            output,
            label: source.label,
            query,
        };
        return animation.run(shared, bytes, options, cancel).await;
    }
    let work = shared.run_engine({
        let options = options.clone();
        move || {
            let pixelated = match frame {
                Some(index) => engine::animation::pixelate_frame(&bytes, index, &options)?,
                None => engine::pixelate(&bytes, &options)?,
            };
            let preview = preview(&bytes, &options, &pixelated, frame);
            Ok::<_, engine::Error>((pixelated, preview, bytes.len()))
        }
    });
    let result = unless_cancelled(cancel, work).await?;
    let (pixelated, preview, source_bytes) =
        result.map_err(|e| format!("{}: {e}", source.label))?;

    let png = pixelated.png;
    let out = output.clone();
    let png_len = png.len() as u64;
    if cancel.is_cancelled() {
        return Err(CANCELLED.into());
    }
    tokio::task::spawn_blocking(move || write_atomic(&out, &png))
        .await
        .map_err(|e| format!("internal: {e}"))?
        .map_err(|e| format!("cannot write {}: {e}", output.display()))?;

    let (preview_png, preview_info) = preview;
    let answer = PixelateOutput {
        output_path: output.display().to_string(),
        output_uri: reply::file_uri(&output),
        output_bytes: png_len,
        source: source.label,
        source_bytes: source_bytes as u64,
        query,
        preview: preview_info,
        report: ReportView::from(&pixelated.report),
        notes: crate::pixelate::width_note(options.grid, &pixelated.report)
            .into_iter()
            .collect(),
        animation: None,
    };
    reply::with_image(&answer, preview_png.as_deref(), &output, png_len)
}

async fn read_source(
    shared: &Shared,
    params: &PixelateParams,
    limit: usize,
) -> Result<Source, String> {
    let given = [
        params.path.is_some(),
        params.data_base64.is_some(),
        params.url.is_some(),
    ];
    if given.iter().filter(|g| **g).count() != 1 {
        return Err(format!(
            "give exactly one image source: `path` (a file inside the allowed roots: {}), \
             `data_base64`, or `url`",
            shared.roots_text()
        ));
    }
    if let Some(path) = &params.path {
        let real = shared
            .roots
            .resolve_existing(path)
            .map_err(|e| reply::failure(&e))?;
        let read_path = real.clone();
        let bytes =
            tokio::task::spawn_blocking(move || crate::pixelate::read_input(&read_path, limit))
                .await
                .map_err(|e| format!("internal: {e}"))?
                .map_err(|e| reply::failure(&e))?;
        let dir = real.parent().unwrap_or(shared.roots.first()).to_path_buf();
        return Ok(Source {
            bytes,
            label: real.display().to_string(),
            default_output: crate::pixelate::default_output(&real, &dir),
            input_path: Some(real),
        });
    }
    if let Some(data) = &params.data_base64 {
        let bytes = decode_base64(data)?;
        let name = format!("image-{}", &crate::check::sha256_hex(&bytes)[..8]);
        return Ok(Source {
            label: format!("base64 data ({} bytes)", bytes.len()),
            bytes,
            default_output: shared.roots.first().join(format!("{name}.pixel.png")),
            input_path: None,
        });
    }
    let url = params.url.as_deref().unwrap_or_default();
    let bytes = fetch::download(
        shared.http(),
        url,
        limit.min(fetch::MAX_DOWNLOAD_BYTES),
        !shared.allow_private_urls,
    )
    .await
    .map_err(|e| e.to_string())?;
    Ok(Source {
        bytes,
        label: url.to_string(),
        default_output: shared
            .roots
            .first()
            .join(format!("{}.pixel.png", url_stem(url))),
        input_path: None,
    })
}

/// Decodes base64 leniently: a `data:` prefix, whitespace, missing padding and the URL-safe
/// alphabet are all accepted.
fn decode_base64(data: &str) -> Result<Vec<u8>, String> {
    if data.len() > MAX_BASE64_CHARS {
        return Err(format!(
            "data_base64 is {} characters, over the limit of {MAX_BASE64_CHARS}: write the \
             image to a file inside the allowed roots and pass `path`",
            data.len()
        ));
    }
    let data = match data.find(";base64,") {
        Some(at) if data.starts_with("data:") => &data[at + ";base64,".len()..],
        _ => data,
    };
    let compact: String = data.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    let trimmed = compact.trim_end_matches('=');
    use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE_NO_PAD};
    STANDARD_NO_PAD
        .decode(trimmed)
        .or_else(|_| URL_SAFE_NO_PAD.decode(trimmed))
        .map_err(|e| format!("data_base64 is not valid base64: {e}"))
}

/// A file-name stem from the URL's last path segment, percent-decoded (`a%20cat.jpg` → `a-cat`:
/// characters other than letters, digits, `-`, `_` and `.` become `-`), else `image`.
fn url_stem(url: &str) -> String {
    let last = reqwest::Url::parse(url)
        .ok()
        .and_then(|u| {
            u.path_segments()
                .and_then(|mut s| s.next_back().map(str::to_string))
        })
        .unwrap_or_default();
    let last = percent_encoding::percent_decode_str(&last).decode_utf8_lossy();
    let stem = Path::new(last.as_ref())
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let clean: String = stem
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '-'
            }
        })
        .take(64)
        .collect();
    if clean.is_empty() || clean.starts_with('.') {
        "image".to_string()
    } else {
        clean
    }
}

/// The preview: the output itself when small enough, else the grid redrawn at the largest
/// integer scale that fits [`PREVIEW_MAX_SIDE`], else the bare grid; none if even that is too big.
fn preview(
    source: &[u8],
    options: &Options,
    full: &Pixelated,
    frame: Option<usize>,
) -> (Option<Vec<u8>>, PreviewInfo) {
    let r = &full.report;
    let fits =
        |w: u32, h: u32, bytes: usize| w.max(h) <= PREVIEW_MAX_SIDE && bytes <= PREVIEW_MAX_BYTES;
    let info = |w, h, bytes: usize, note: String| PreviewInfo {
        included: true,
        width: w,
        height: h,
        bytes: bytes as u64,
        note,
    };
    if fits(r.output_width, r.output_height, full.png.len()) {
        let note = "the full output itself".to_string();
        return (
            Some(full.png.clone()),
            info(r.output_width, r.output_height, full.png.len(), note),
        );
    }
    let grid_side = r.grid_width.max(r.grid_height).max(1);
    let scale = PREVIEW_MAX_SIDE / grid_side;
    let mut tries = Vec::new();
    if scale >= 2 {
        tries.push(Output::Scale(scale.min(64)));
    }
    tries.push(Output::Grid);
    for output in tries {
        let mut small = options.clone();
        small.output = output;
        small.optimize = true;
        let smaller = match frame {
            Some(index) => engine::animation::pixelate_frame(source, index, &small),
            None => engine::pixelate(source, &small),
        };
        if let Ok(p) = smaller
            && fits(p.report.output_width, p.report.output_height, p.png.len())
        {
            let note = match output {
                Output::Scale(k) => format!(
                    "the same picture with each cell drawn {k}×{k} (the full file is {}×{})",
                    r.output_width, r.output_height
                ),
                _ => format!(
                    "the bare grid, one pixel per cell (the full file is {}×{})",
                    r.output_width, r.output_height
                ),
            };
            let (w, h, n) = (p.report.output_width, p.report.output_height, p.png.len());
            return (Some(p.png), info(w, h, n, note));
        }
    }
    (
        None,
        PreviewInfo {
            included: false,
            width: 0,
            height: 0,
            bytes: 0,
            note: format!(
                "no preview: even the bare {}×{} grid is {}; open the linked file",
                r.grid_width,
                r.grid_height,
                if grid_side > PREVIEW_MAX_SIDE {
                    format!("over {PREVIEW_MAX_SIDE} px on a side")
                } else {
                    format!("over {PREVIEW_MAX_BYTES} bytes as a PNG")
                }
            ),
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_is_decoded_leniently() {
        let want = b"hello world!".to_vec();
        for text in [
            "aGVsbG8gd29ybGQh",
            "data:image/png;base64,aGVsbG8g\nd29ybGQh",
            "aGVsbG8gd29ybGQh==",
        ] {
            assert_eq!(decode_base64(text).unwrap(), want, "{text}");
        }
        assert!(decode_base64("not base64 !!").is_err());
    }

    #[test]
    fn url_stems_are_safe_file_names() {
        assert_eq!(url_stem("https://x.test/a/cat.photo.jpg?x=1"), "cat.photo");
        assert_eq!(url_stem("https://x.test/"), "image");
        // Decoded, a traversal is only its last name: no separator survives.
        assert_eq!(url_stem("https://x.test/..%2F..%2Fetc"), "etc");
        assert_eq!(url_stem("https://x.test/a%20cat%C3%A9.jpg"), "a-caté");
    }

    #[test]
    fn a_big_output_gets_a_smaller_exact_preview() {
        let bmp = crate::check::gradient_bmp(1200, 800);
        let mut options = Options::default();
        options.set("block", "10").unwrap();
        let full = engine::pixelate(&bmp, &options).unwrap();
        let (png, info) = preview(&bmp, &options, &full, None);
        let png = png.unwrap();
        assert!(info.included);
        assert!(info.width.max(info.height) <= PREVIEW_MAX_SIDE, "{info:?}");
        assert!(png.len() <= PREVIEW_MAX_BYTES);
        // 120x80 grid → scale 4 → 480x320.
        assert_eq!((info.width, info.height), (480, 320));
    }
}
