//! Container swaps for image formats the deployed module cannot decode.
//!
//! The module leaves WebP out to stay within its size budget (see `wasm-service/README.md`), so
//! the gateway rewrites a WebP upload as a PNG before it goes to the runner: the same RGB(A)
//! samples, the same ICC profile (PNG `iCCP`) and the same EXIF metadata, orientation included
//! (PNG `eXIf`). The module then does the very work the native engine does on the WebP itself,
//! so the answer is the same bytes `pixelsmith pixelate` gives for the WebP.
//!
//! It also leaves out colour management through lookup tables (CMYK print profiles, A2B-only RGB
//! profiles): a JPEG carrying such a profile is sent as the native engine's own sRGB pixels, so
//! its colours too are the ones `pixelsmith pixelate` gives.

use std::io::Cursor;

use wasm_service::engine::{self, Format, Limits, Options};

/// A rewritten upload.
#[derive(Debug, Clone)]
pub struct Transcoded {
    /// The PNG to send in place of the upload.
    pub png: Vec<u8>,
    /// The upload's format, for the `x-pixelsmith-converted` header.
    pub from: Format,
    /// What the PNG keeps of the upload, for the same header.
    pub kept: &'static str,
}

impl Transcoded {
    /// A one-line description: `webp -> png (N -> M bytes; pixels, ICC profile and EXIF
    /// orientation kept)`.
    pub fn describe(&self, original_bytes: usize) -> String {
        format!(
            "{} -> png ({original_bytes} -> {} bytes; {})",
            self.from.name().to_ascii_lowercase(),
            self.png.len(),
            self.kept
        )
    }
}

/// Whether the module must get `upload` rewritten to answer as the native engine does: a format
/// it leaves out (WebP), or a JPEG whose colour profile only native colour management converts.
pub fn needs_rewrite(upload: &[u8]) -> bool {
    engine::probe(upload).is_ok_and(|info| {
        !module_decodes(info.format) || engine::needs_native_color_management(upload)
    })
}

/// Whether the deployed module decodes `format` itself (every format but WebP).
pub fn module_decodes(format: Format) -> bool {
    format != Format::Webp
}

/// The upload as a PNG the module can decode, or `None` when it needs no rewriting (not an image
/// header the engine knows, or a format the module decodes).
///
/// # Errors
/// The engine's own error for the image (pixel limit, truncated or malformed data), so the
/// client gets the answer the engine would give for the original file.
pub fn for_module(upload: &[u8]) -> Result<Option<Transcoded>, engine::Error> {
    let Ok(info) = engine::probe(upload) else {
        return Ok(None);
    };
    if engine::needs_native_color_management(upload) {
        return color_managed(upload, info.format).map(Some);
    }
    if module_decodes(info.format) {
        return Ok(None);
    }
    // Only WebP reaches here. The file is decoded once; the engine's own answer for it (its
    // limits, checked on the header before any pixel, or its error for a bad file) is asked for
    // only when the header is over the limits or the conversion fails.
    let limits = Limits::default();
    let engine_error = |detail: String| match engine::decode_only(upload, &Options::default()) {
        Err(err) => err,
        Ok(_) => engine::Error::Malformed {
            format: "WebP",
            detail: format!("re-encoding as PNG for the module: {detail}"),
        },
    };
    let pixels = u64::from(info.width) * u64::from(info.height);
    if pixels > limits.max_pixels || upload.len() > limits.max_input_bytes {
        return Err(engine_error("over the engine's limits".into()));
    }
    let png = webp_to_png(upload, &limits).map_err(engine_error)?;
    Ok(Some(Transcoded {
        png,
        from: info.format,
        kept: "pixels, ICC profile and EXIF orientation kept",
    }))
}

/// `upload` as an sRGB PNG with one pixel per source pixel, upright: the native engine's own
/// colour-managed decode (a 1-pixel grid in full colour), so the module sums the very sRGB
/// samples the native engine sums. Exact for opaque images (JPEGs, most PNGs and WebPs with
/// such profiles); partial transparency is made binary at the default threshold on the way, so
/// a semi-transparent one can differ from the CLI at its soft edges.
fn color_managed(upload: &[u8], from: Format) -> Result<Transcoded, engine::Error> {
    let converted = engine::pixelate(upload, &super::fit::squares(1, &Options::default()))?;
    Ok(Transcoded {
        png: converted.png,
        from,
        kept: "colours converted to sRGB by its embedded profile, which the module cannot apply; \
               EXIF orientation applied",
    })
}

fn webp_to_png(webp: &[u8], limits: &Limits) -> Result<Vec<u8>, String> {
    let mut decoder = image_webp::WebPDecoder::new(Cursor::new(webp)).map_err(|e| e.to_string())?;
    // The engine's decoders' allowance: the largest RGBA image the pixel limit lets through.
    let allowance = usize::try_from(limits.max_pixels.saturating_mul(4)).unwrap_or(usize::MAX);
    decoder.set_memory_limit(allowance.saturating_add(16 << 20));
    let (width, height) = decoder.dimensions();
    let color = if decoder.has_alpha() {
        png::ColorType::Rgba
    } else {
        png::ColorType::Rgb
    };
    let icc = decoder.icc_profile().ok().flatten();
    let exif = decoder.exif_metadata().ok().flatten().map(tiff_only);
    let size = decoder
        .output_buffer_size()
        .ok_or("the image is too large")?;
    let mut samples = vec![0; size];
    decoder
        .read_image(&mut samples)
        .map_err(|e| e.to_string())?;

    let mut info = png::Info::with_size(width, height);
    info.color_type = color;
    info.bit_depth = png::BitDepth::Eight;
    info.icc_profile = icc.map(Into::into);
    info.exif_metadata = exif.map(Into::into);
    let mut out = Vec::new();
    let mut encoder = png::Encoder::with_info(&mut out, info).map_err(|e| e.to_string())?;
    encoder.set_compression(png::Compression::Balanced);
    let mut writer = encoder.write_header().map_err(|e| e.to_string())?;
    writer
        .write_image_data(&samples)
        .map_err(|e| e.to_string())?;
    writer.finish().map_err(|e| e.to_string())?;
    Ok(out)
}

/// WebP's `EXIF` chunk holds a TIFF stream, but some writers put JPEG's `Exif\0\0` prefix before
/// it; PNG's `eXIf` takes the TIFF stream alone.
fn tiff_only(mut exif: Vec<u8>) -> Vec<u8> {
    if exif.starts_with(b"Exif\0\0") {
        exif.drain(..6);
    }
    exif
}
