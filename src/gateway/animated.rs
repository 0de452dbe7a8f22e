//! Animated uploads, and what of them the deployed module can take.
//!
//! The module turns an animated GIF into an animated GIF, and `frame=N` picks one frame of it as
//! a still. It decodes no APNG frames and no WebP, and the runner takes 1 MiB a request, so an
//! animation reaches it whole only as a GIF that fits. The gateway therefore:
//! - passes an animated GIF that fits straight through (the module does the whole job);
//! - for `frame=N` of any other animation, or of a GIF too large to send, composites that frame
//!   natively (as a viewer shows it) and sends it as a PNG still, fitted like any still;
//! - refuses the rest with what to do instead (413 for a GIF too large to send whole, 415 for an
//!   APNG or animated WebP without `frame`).

use wasm_service::engine::{self, Format, Options};

/// An upload with more than one frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Animation {
    pub format: Format,
    pub frames: u32,
}

/// The upload's animation, `None` for a still or anything that is not an image the engine
/// reads (those go to the module as they are, which answers for them).
pub fn detect(upload: &[u8]) -> Option<Animation> {
    let info = engine::probe(upload).ok()?;
    let frames = engine::animation::frame_count(upload, &Options::default())
        .ok()
        .flatten()?;
    (frames > 1).then_some(Animation {
        format: info.format,
        frames,
    })
}

/// The `frame` the query asks for: `Ok(None)` when absent, `Err` (a message for a 400) when it is
/// not a frame number.
pub fn requested_frame(query: &str) -> Result<Option<usize>, String> {
    let Some((_, value)) = form_urlencoded::parse(query.as_bytes()).find(|(k, _)| k == "frame")
    else {
        return Ok(None);
    };
    value.trim().parse().map(Some).map_err(|_| {
        format!(
            "invalid option `frame`: `{}` is not a frame number (0 is the first)",
            engine::quote(&value)
        )
    })
}

/// `query` without its `frame` pairs (the frame was taken out before sending).
pub fn without_frame(query: &str) -> String {
    let mut out = form_urlencoded::Serializer::new(String::new());
    for (name, value) in form_urlencoded::parse(query.as_bytes()) {
        if name != "frame" {
            out.append_pair(&name, &value);
        }
    }
    out.finish()
}

/// Frame `index` of `upload`, composited, as an RGBA PNG for the module.
///
/// # Errors
/// The engine's error for the upload or the frame number (a 4xx answer for the client).
pub fn frame_png(upload: &[u8], index: usize) -> Result<Vec<u8>, engine::Error> {
    let canvas = engine::animation::composited_frame(upload, index, &Options::default())?;
    let encode = |e: png::EncodingError| engine::Error::Encode(e.to_string());
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, canvas.width, canvas.height);
    encoder.set_color(png::ColorType::Rgba);
    encoder.set_depth(png::BitDepth::Eight);
    encoder.set_compression(png::Compression::Balanced);
    let mut writer = encoder.write_header().map_err(encode)?;
    writer.write_image_data(&canvas.rgba).map_err(encode)?;
    writer.finish().map_err(encode)?;
    Ok(out)
}

/// Why an animation cannot go to the module whole: (HTTP status, code, message).
/// `too_large` is `(envelope bytes, runner limit)` for a GIF over the runner's limit.
pub fn refusal(
    animation: Animation,
    too_large: Option<(usize, usize)>,
) -> (u16, &'static str, String) {
    let name = animation_name(animation.format);
    let last = animation.frames - 1;
    let native = "or pixelate it natively: `pixelsmith pixelate IN -o OUT.gif`";
    match too_large {
        Some((size, limit)) => (
            413,
            "payload_too_large",
            format!(
                "this {name} of {} frames needs a {size} byte request, over the runner's {limit} \
                 byte limit, and an animation cannot be reduced to fit as a still can: send \
                 fewer or smaller frames, pick one frame as a still with `frame=N` (0..={last}), \
                 {native}",
                animation.frames
            ),
        ),
        None => (
            415,
            "unsupported_feature",
            format!(
                "this {name} of {} frames cannot be animated by the module, which animates GIF \
                 only: send it as a GIF, pick one frame as a still with `frame=N` (0..={last}), \
                 {native}",
                animation.frames
            ),
        ),
    }
}

/// A short name for an animation in `format`.
pub fn animation_name(format: Format) -> &'static str {
    match format {
        Format::Png => "animated PNG (APNG)",
        Format::Webp => "animated WebP",
        _ => "animated GIF",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_is_read_and_removed_from_the_query() {
        assert_eq!(requested_frame("block=8&frame=3"), Ok(Some(3)));
        assert_eq!(requested_frame("block=8"), Ok(None));
        assert!(
            requested_frame("frame=last")
                .unwrap_err()
                .contains("frame number")
        );
        assert_eq!(
            without_frame("block=8&frame=3&colors=4"),
            "block=8&colors=4"
        );
    }

    #[test]
    fn refusals_name_the_way_out() {
        let a = Animation {
            format: Format::Png,
            frames: 12,
        };
        let (status, code, message) = refusal(a, None);
        assert_eq!((status, code), (415, "unsupported_feature"));
        assert!(
            message.contains("APNG") && message.contains("0..=11"),
            "{message}"
        );
        let (status, _, message) = refusal(a, Some((2_000_000, 1 << 20)));
        assert_eq!(status, 413);
        assert!(message.contains("2000000 byte request"), "{message}");
    }
}
