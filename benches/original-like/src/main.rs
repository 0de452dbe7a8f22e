//! An "original-like" module for the interpreter benchmark: what the original pixel-art service
//! did per request, as far as its contract says (`wasm-service/README.md`, "The original
//! service's shapes"): read one JSON object from stdin, `{"action":"health"}` answers
//! `{"status":"ok"}`; `{"image_base64":…,"pixel_size":8,"color_levels":4}` is decoded with the
//! `image` crate, averaged per `pixel_size` block, posterised to `color_levels` per channel,
//! encoded as PNG and answered as `{"status":"ok","image_base64":…,"width":…,"height":…}`.

use std::io::{Read, Write};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};

fn main() {
    let mut input = String::new();
    let _ = std::io::stdin().read_to_string(&mut input);
    let answer = match serde_json::from_str::<Value>(&input) {
        Ok(request) => handle(&request),
        Err(err) => json!({"status": "error", "error": format!("invalid JSON: {err}")}),
    };
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{answer}");
}

fn handle(request: &Value) -> Value {
    if request.get("action").and_then(Value::as_str) == Some("health") {
        return json!({"status": "ok", "service": "pixel-art"});
    }
    let Some(encoded) = request.get("image_base64").and_then(Value::as_str) else {
        return json!({"status": "error", "error": "missing image_base64"});
    };
    let pixel_size = request
        .get("pixel_size")
        .and_then(Value::as_u64)
        .unwrap_or(8)
        .max(1) as u32;
    let levels = request
        .get("color_levels")
        .and_then(Value::as_u64)
        .unwrap_or(4)
        .clamp(2, 256) as u32;
    let bytes = match STANDARD.decode(encoded) {
        Ok(bytes) => bytes,
        Err(err) => return json!({"status": "error", "error": format!("base64: {err}")}),
    };
    let image = match image::load_from_memory(&bytes) {
        Ok(image) => image.to_rgba8(),
        Err(err) => return json!({"status": "error", "error": format!("decode: {err}")}),
    };
    let (width, height) = image.dimensions();
    let mut out = image::RgbaImage::new(width, height);
    let step = 255.0 / (levels - 1) as f32;
    for by in (0..height).step_by(pixel_size as usize) {
        for bx in (0..width).step_by(pixel_size as usize) {
            let (w, h) = (pixel_size.min(width - bx), pixel_size.min(height - by));
            let mut sum = [0u64; 4];
            for y in by..by + h {
                for x in bx..bx + w {
                    let p = image.get_pixel(x, y).0;
                    for c in 0..4 {
                        sum[c] += u64::from(p[c]);
                    }
                }
            }
            let n = u64::from(w * h);
            let mut colour = [0u8; 4];
            for c in 0..4 {
                let mean = (sum[c] / n) as f32;
                colour[c] = if c == 3 {
                    mean as u8
                } else {
                    ((mean / step).round() * step) as u8
                };
            }
            for y in by..by + h {
                for x in bx..bx + w {
                    out.put_pixel(x, y, image::Rgba(colour));
                }
            }
        }
    }
    let mut png = Vec::new();
    if let Err(err) = out.write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png) {
        return json!({"status": "error", "error": format!("encode: {err}")});
    }
    json!({
        "status": "ok",
        "image_base64": STANDARD.encode(&png),
        "width": width,
        "height": height,
        "pixel_size": pixel_size,
        "color_levels": levels,
    })
}
