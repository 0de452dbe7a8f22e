//! The gateway end to end: HTTP client → gateway → runner emulation → the real module, and back.
//! Raw images in, raw PNG out, the module's statuses and content types, large images fitted, and
//! clear 502/504 answers when the runner misbehaves. Also `call_service` against the same
//! runners.

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use axum::http::StatusCode;
use axum::response::IntoResponse;
use pixelsmith::call::{CallRequest, PixelateCall, call_service};
use pixelsmith::engine::{self, Options};
use pixelsmith::gateway::local::{LocalOptions, LocalServices, start_local};
use pixelsmith::gateway::{self, CONVERTED_HEADER, FITTED_HEADER, GatewayConfig};
use pixelsmith::runner::{self, Runner, RunnerConfig, Served};
use serde_json::Value;

use crate::support::{module, wat_modules};

fn any_port() -> SocketAddr {
    SocketAddr::from((Ipv4Addr::LOCALHOST, 0))
}

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!("{}/fixtures/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(120))
        .build()
        .unwrap()
}

async fn local() -> LocalServices {
    start_local(LocalOptions::new(module::module_path()))
        .await
        .expect("run_local starts")
}

fn rgba(png: &[u8]) -> image::RgbaImage {
    image::load_from_memory(png).expect("a PNG").to_rgba8()
}

/// A photo over the runner's limit however it is compressed: the astronaut tiled 2×2 with a
/// little noise (±4 levels), which no deflate can take out, as in a real camera's PNG.
fn over_the_limit_png() -> Vec<u8> {
    let tile = rgba(&fixture("astronaut.png"));
    let (w, h) = tile.dimensions();
    let mut seed = 0x2545_f491_u32;
    let photo = image::RgbImage::from_fn(w * 2, h * 2, |x, y| {
        let p = tile.get_pixel(x % w, y % h);
        image::Rgb([0, 1, 2].map(|c| {
            seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            (i32::from(p[c]) + (seed >> 24) as i32 % 9 - 4).clamp(0, 255) as u8
        }))
    });
    let mut png = Vec::new();
    photo
        .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .unwrap();
    assert!(png.len() > runner::BODY_LIMIT, "{} bytes", png.len());
    png
}

fn native(image: &[u8], query: &[(&str, &str)]) -> Vec<u8> {
    let mut options = Options::default();
    for (name, value) in query {
        options.set(name, value).unwrap();
    }
    engine::pixelate(image, &options).unwrap().png
}

#[tokio::test]
async fn a_raw_png_comes_back_as_a_raw_png_equal_to_the_native_engine() {
    let services = local().await;
    let image = fixture("horse.png");
    let response = client()
        .post(format!(
            "{}/pixelate?block=6&colors=8&dither=bayer4",
            services.gateway_url()
        ))
        .header("content-type", "image/png")
        .body(image.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "image/png");
    assert!(
        response.headers().get(FITTED_HEADER).is_none(),
        "a small image is not fitted"
    );
    assert!(
        response.headers()["server-timing"]
            .to_str()
            .unwrap()
            .starts_with("runner;dur=")
    );
    let png = response.bytes().await.unwrap();
    let expected = native(
        &image,
        &[("block", "6"), ("colors", "8"), ("dither", "bayer4")],
    );
    assert_eq!(
        png.as_ref(),
        expected.as_slice(),
        "same bytes as the native engine"
    );
    services.shutdown().await;
}

/// POSTs `image` to the gateway's `/pixelate` in the service's JSON shape: `image_base64` beside
/// the `options` object's fields.
async fn post_json_shape(
    services: &LocalServices,
    image: &[u8],
    options: Value,
) -> reqwest::Response {
    let Value::Object(mut json) = options else {
        panic!("options must be an object")
    };
    json.insert(
        "image_base64".into(),
        base64::Engine::encode(&base64::engine::general_purpose::STANDARD, image).into(),
    );
    client()
        .post(format!("{}/pixelate", services.gateway_url()))
        .json(&json)
        .send()
        .await
        .unwrap()
}

/// `image` as a lossless WebP (RGBA) carrying an EXIF Orientation tag.
fn webp_with_orientation(image: &image::RgbaImage, orientation: u16) -> Vec<u8> {
    // A little-endian TIFF stream with one IFD entry: Orientation (0x0112), SHORT, 1 value.
    let mut exif = b"II*\0\x08\0\0\0\x01\0\x12\x01\x03\0\x01\0\0\0".to_vec();
    exif.extend_from_slice(&orientation.to_le_bytes());
    exif.extend_from_slice(&[0, 0, 0, 0, 0, 0]);
    let mut out = Vec::new();
    let mut encoder = image_webp::WebPEncoder::new(&mut out);
    encoder.set_exif_metadata(exif);
    encoder
        .encode(
            image.as_raw(),
            image.width(),
            image.height(),
            image_webp::ColorType::Rgba8,
        )
        .unwrap();
    out
}

#[tokio::test]
async fn webp_the_module_cannot_decode_is_converted_and_answered_as_natively() {
    let services = local().await;
    // Semi-transparent edges and an EXIF rotation: both must survive the conversion.
    let source = rgba(&fixture("horse-transparent.png"));
    let webp = webp_with_orientation(&source, 6);
    let response = client()
        .post(format!(
            "{}/pixelate?block=5&colors=8&dither=atkinson",
            services.gateway_url()
        ))
        .header("content-type", "image/webp")
        .body(webp.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let converted = response.headers()[CONVERTED_HEADER].to_str().unwrap();
    assert!(converted.starts_with("webp -> png"), "{converted}");
    let png = response.bytes().await.unwrap();
    let expected = native(
        &webp,
        &[("block", "5"), ("colors", "8"), ("dither", "atkinson")],
    );
    assert_eq!(
        png.as_ref(),
        expected.as_slice(),
        "the native engine's bytes"
    );
    let out = rgba(&png);
    assert_eq!(
        (out.width(), out.height()),
        (source.height(), source.width()),
        "rotated by the EXIF orientation"
    );

    // The same WebP in the JSON shape's `image_base64`, options beside it: converted too.
    let response = post_json_shape(
        &services,
        &webp,
        serde_json::json!({"block": 5, "colors": 8, "dither": "atkinson"}),
    )
    .await;
    assert_eq!(response.status(), 200);
    let converted = response.headers()[CONVERTED_HEADER].to_str().unwrap();
    assert!(converted.starts_with("webp -> png"), "{converted}");
    assert_eq!(
        response.bytes().await.unwrap().as_ref(),
        expected.as_slice(),
        "JSON shape: the native engine's bytes"
    );

    // A broken WebP gets the engine's own answer for it, not "unsupported in this build".
    let response = client()
        .post(format!("{}/pixelate", services.gateway_url()))
        .body(webp[..webp.len() / 2].to_vec())
        .send()
        .await
        .unwrap();
    let (status, code, message) = error_of(response).await;
    assert!(
        matches!(code.as_str(), "truncated" | "malformed"),
        "{status} {code}: {message}"
    );
    services.shutdown().await;
}

#[tokio::test]
async fn health_palettes_index_and_report_are_real_json() {
    let services = local().await;
    let url = services.gateway_url();
    for path in ["/health", "/palettes", "/"] {
        let response = client().get(format!("{url}{path}")).send().await.unwrap();
        assert_eq!(response.status(), 200, "{path}");
        assert!(
            response.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("application/json"),
            "{path}"
        );
        let body: Value = response.json().await.unwrap();
        if path == "/health" {
            assert_eq!(body["status"], "ok");
        }
    }
    let response = client()
        .post(format!("{url}/pixelate?report=true&block=8"))
        .body(fixture("horse.png"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let report: Value = response.json().await.unwrap();
    assert_eq!(report["block"], 8);
    assert!(report["png_base64"].is_string(), "{report}");
    services.shutdown().await;
}

#[tokio::test]
async fn the_modules_statuses_come_through_unknown_route_404_and_bad_input() {
    let services = local().await;
    let url = services.gateway_url();
    let response = client().get(format!("{url}/nope")).send().await.unwrap();
    assert_eq!(response.status(), 404);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "not_found", "{body}");

    let response = client()
        .get(format!("{url}/pixelate"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 405);
    assert_eq!(response.headers()["allow"], "POST");

    let response = client()
        .post(format!("{url}/pixelate?block=8"))
        .body(b"definitely not an image".to_vec())
        .header("content-type", "application/octet-stream")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 415);

    // A browser's preflight is answered by the gateway itself (the module has no OPTIONS routes).
    let response = client()
        .request(reqwest::Method::OPTIONS, format!("{url}/pixelate"))
        .header("origin", "https://example.com")
        .header("access-control-request-method", "POST")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
    assert_eq!(response.headers()["access-control-allow-origin"], "*");
    services.shutdown().await;
}

#[tokio::test]
async fn an_image_over_the_runner_limit_is_fitted_and_keeps_the_grid() {
    let services = local().await;
    let image = over_the_limit_png();
    let envelope_len = wasm_service::envelope::Request::pixelate(&image, "block=8")
        .to_json()
        .len();
    assert!(
        envelope_len > runner::BODY_LIMIT,
        "fixture must be over the limit ({envelope_len})"
    );

    // Source size output: redrawn at the source size.
    let response = client()
        .post(format!(
            "{}/pixelate?block=8&colors=16",
            services.gateway_url()
        ))
        .body(image.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let fitted = response.headers()[FITTED_HEADER]
        .to_str()
        .unwrap()
        .to_string();
    assert!(fitted.contains("block=8->"), "{fitted}");
    let got = rgba(&response.bytes().await.unwrap());
    let want = rgba(&native(&image, &[("block", "8"), ("colors", "16")]));
    assert_eq!(
        got.dimensions(),
        want.dimensions(),
        "output at the source size"
    );
    // Every 8×8 block is flat, and on the same grid as the native result.
    let (w, h) = got.dimensions();
    let mut differing_cells = 0;
    let mut cells = 0;
    for by in (0..h).step_by(8) {
        for bx in (0..w).step_by(8) {
            let first = got.get_pixel(bx, by);
            for y in by..(by + 8).min(h) {
                for x in bx..(bx + 8).min(w) {
                    assert_eq!(got.get_pixel(x, y), first, "cell ({bx},{by}) is not flat");
                }
            }
            cells += 1;
            let other = want.get_pixel(bx, by);
            let distance: i32 = (0..3)
                .map(|i| (first[i] as i32 - other[i] as i32).abs())
                .sum();
            if distance > 48 {
                differing_cells += 1;
            }
        }
    }
    assert!(
        differing_cells * 20 < cells,
        "{differing_cells} of {cells} cells differ clearly from the native result"
    );

    // Grid output: exactly the native grid size; a report says what was done.
    let response = client()
        .post(format!(
            "{}/pixelate?block=8&grid=true&report=true",
            services.gateway_url()
        ))
        .body(image.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let report: Value = response.json().await.unwrap();
    let native_report = {
        let mut options = Options::default();
        options.set("block", "8").unwrap();
        options.set("grid", "true").unwrap();
        engine::pixelate(&image, &options).unwrap().report
    };
    assert_eq!(report["grid_width"], native_report.grid_width);
    assert_eq!(report["grid_height"], native_report.grid_height);
    assert_eq!(report["output_width"], native_report.output_width);
    assert_eq!(report["block"], 8);
    assert_eq!(report["source_width"], native_report.source_width);
    assert!(
        report["fitted"]["factor"].as_u64().unwrap() >= 2,
        "{}",
        report["fitted"]
    );

    // The same image in the JSON shape is fitted as the raw upload is (it was refused with 413).
    let response = post_json_shape(
        &services,
        &image,
        serde_json::json!({"block": 8, "grid": true, "report": true}),
    )
    .await;
    assert_eq!(response.status(), 200);
    let from_json: Value = response.json().await.unwrap();
    assert_eq!(from_json["grid_width"], native_report.grid_width);
    assert_eq!(from_json["fitted"], report["fitted"]);
    services.shutdown().await;
}

/// A photo over the runner's limit that an EXIF orientation turns a quarter (phones' portrait
/// shots): the fitting works on the displayed size, as the engine does, and the result stands
/// upright at that size. The stored width and height once made the gateway's arithmetic overflow
/// (a 500 for every portrait photo too large to send as it is).
#[tokio::test]
async fn a_quarter_turned_photo_over_the_runner_limit_is_fitted_upright() {
    let services = local().await;
    let (stored_w, stored_h) = (720u32, 480u32);
    // Noise (an LCG's high bits), which PNG cannot compress.
    let mut state = 1u64;
    let noise: Vec<u8> = (0..stored_w * stored_h * 3)
        .map(|_| {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (state >> 56) as u8
        })
        .collect();
    // A little-endian TIFF stream with one IFD entry: Orientation (0x0112) = 6, a quarter turn.
    let exif = b"II*\0\x08\0\0\0\x01\0\x12\x01\x03\0\x01\0\0\0\x06\0\0\0\0\0\0\0".to_vec();
    let mut info = png::Info::with_size(stored_w, stored_h);
    info.color_type = png::ColorType::Rgb;
    info.bit_depth = png::BitDepth::Eight;
    info.exif_metadata = Some(exif.into());
    let mut image = Vec::new();
    let mut writer = png::Encoder::with_info(&mut image, info)
        .unwrap()
        .write_header()
        .unwrap();
    writer.write_image_data(&noise).unwrap();
    writer.finish().unwrap();
    assert!(
        image.len() * 2 > runner::BODY_LIMIT,
        "over the runner's limit"
    );

    let asks: [(&str, &[(&str, &str)]); 2] = [
        ("block=8&colors=8", &[("block", "8"), ("colors", "8")]),
        ("width=30&grid=true", &[("width", "30"), ("grid", "true")]),
    ];
    for (query, pairs) in asks {
        let response = client()
            .post(format!("{}/pixelate?{query}", services.gateway_url()))
            .body(image.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{query}");
        assert!(response.headers().contains_key(FITTED_HEADER), "{query}");
        let got = rgba(&response.bytes().await.unwrap());
        let want = rgba(&native(&image, pairs));
        assert_eq!(got.dimensions(), want.dimensions(), "{query}: upright");
    }
    services.shutdown().await;
}

/// A small picture in a large upload (a phone's motion photo: a video after the JPEG; a PNG with
/// megabytes of text) reaches the module without those bytes, not reduced: the native engine's
/// answer byte for byte, block 1 included.
#[tokio::test]
async fn metadata_the_picture_does_not_use_is_dropped_instead_of_reducing_it() {
    let services = local().await;
    let mut motion_photo = fixture("rocket.jpg");
    motion_photo.extend((0..3_000_000u32).map(|i| (i * 7 % 251) as u8));
    let source = rgba(&fixture("horse.png"));
    let mut info = png::Info::with_size(source.width(), source.height());
    info.color_type = png::ColorType::Rgba;
    info.bit_depth = png::BitDepth::Eight;
    info.uncompressed_latin1_text
        .push(png::text_metadata::TEXtChunk::new(
            "Comment",
            "a long description ".repeat(200_000),
        ));
    let mut texty_png = Vec::new();
    let mut writer = png::Encoder::with_info(&mut texty_png, info)
        .unwrap()
        .write_header()
        .unwrap();
    writer.write_image_data(source.as_raw()).unwrap();
    writer.finish().unwrap();
    type Pairs<'a> = &'a [(&'a str, &'a str)];
    let uploads: [(&[u8], Pairs, &str); 2] = [
        (&motion_photo, &[("block", "8")], "block=8"),
        (
            &texty_png,
            &[("block", "1"), ("colors", "8")],
            "block=1&colors=8",
        ),
    ];
    for (upload, pairs, query) in uploads {
        assert!(upload.len() > runner::BODY_LIMIT, "{query}: over the limit");
        let response = client()
            .post(format!("{}/pixelate?{query}", services.gateway_url()))
            .body(upload.to_vec())
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{query}");
        assert!(
            !response.headers().contains_key(FITTED_HEADER),
            "{query}: not reduced"
        );
        let note = response.headers()[CONVERTED_HEADER]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(note.starts_with("metadata dropped"), "{note}");
        let png = response.bytes().await.unwrap();
        assert_eq!(
            png.as_ref(),
            native(upload, pairs).as_slice(),
            "{query}: the CLI's bytes"
        );
    }
    services.shutdown().await;
}

/// A PNG stored barely compressed (the bundled astronaut: 791 KB, over the runner's limit as
/// base64) is deflated again and sent whole: the CLI's answer, byte for byte, not a reduction.
#[tokio::test]
async fn a_barely_compressed_png_is_compressed_again_instead_of_reduced() {
    let services = local().await;
    let upload = fixture("astronaut.png");
    assert!(
        upload.len() * 4 / 3 > runner::BODY_LIMIT,
        "over the limit as base64"
    );
    let pairs: &[(&str, &str)] = &[("block", "8"), ("colors", "16")];
    let response = client()
        .post(format!(
            "{}/pixelate?block=8&colors=16",
            services.gateway_url()
        ))
        .body(upload.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(
        !response.headers().contains_key(FITTED_HEADER),
        "not reduced"
    );
    let note = response.headers()[CONVERTED_HEADER]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(note.starts_with("image data compressed again"), "{note}");
    let png = response.bytes().await.unwrap();
    assert_eq!(
        png.as_ref(),
        native(&upload, pairs).as_slice(),
        "the CLI's bytes"
    );
    services.shutdown().await;
}

/// Clients' habits: an HTML form or `curl -F` (multipart, the form's text fields as options), a
/// gzip body, and the mistakes that damage an upload (`curl --data`, hex text) said in words.
#[tokio::test]
async fn forms_gzip_and_damaging_upload_habits_are_taken_or_explained() {
    use std::io::Write as _;
    let services = local().await;
    let url = format!("{}/pixelate", services.gateway_url());
    let image = fixture("horse.png");
    let want = native(&image, &[("block", "4"), ("colors", "8")]);

    // As a browser sends a form: a blank text input, an empty file input, a submit button, and a
    // photo of several megabytes (here a PNG with 3 MB after its end).
    let mut photo = image.clone();
    photo.extend((0..3_000_000u32).map(|i| (i % 251) as u8));
    let boundary = "----pixelsmith-test-7f3a";
    let mut form = Vec::new();
    for (name, value) in [("block", "4"), ("colors", "8"), ("palette", "")] {
        write!(
            form,
            "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
        )
        .unwrap();
    }
    write!(
        form,
        "--{boundary}\r\nContent-Disposition: form-data; name=\"other\"; filename=\"\"\r\n\
         Content-Type: application/octet-stream\r\n\r\n\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"image\"; filename=\"horse.png\"\r\n\
         Content-Type: image/png\r\n\r\n"
    )
    .unwrap();
    form.extend_from_slice(&photo);
    write!(
        form,
        "\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"submit\"\r\n\r\n\
         Pixelate\r\n--{boundary}--\r\n"
    )
    .unwrap();
    let response = client()
        .post(&url)
        .header(
            "content-type",
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(form)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.bytes().await.unwrap().as_ref(),
        want.as_slice(),
        "the form's file and options"
    );

    // A gzip body; "deflate" as raw deflate (some clients send it so); two codings listed in the
    // order they were applied.
    let encoded = |encoding: &'static str, body: Vec<u8>| {
        let url = format!("{url}?block=4&colors=8");
        async move {
            let response = client()
                .post(url)
                .header("content-encoding", encoding)
                .body(body)
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 200, "{encoding}");
            response.bytes().await.unwrap()
        }
    };
    let mut gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gzip.write_all(&image).unwrap();
    let got = encoded("gzip", gzip.finish().unwrap()).await;
    assert_eq!(got.as_ref(), want.as_slice(), "a gzip body");
    let mut raw = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
    raw.write_all(&image).unwrap();
    let mut twice = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    twice.write_all(&raw.finish().unwrap()).unwrap();
    let got = encoded("deflate, gzip", twice.finish().unwrap()).await;
    assert_eq!(got.as_ref(), want.as_slice(), "raw deflate, then gzip");

    // Base64 text of the image, bare or as a data: URL, is explained, not "not an image".
    let encoded = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, &image);
    for body in [encoded.clone(), format!("data:image/png;base64,{encoded}")] {
        let response = client().post(&url).body(body).send().await.unwrap();
        let (status, _, message) = error_of(response).await;
        assert!(
            status >= 400
                && message.contains("base64 text of a PNG")
                && message.contains("image_base64"),
            "{status}: {message}"
        );
    }

    // `curl --data @horse.png` drops CR and LF and says it is a form.
    let stripped: Vec<u8> = image
        .iter()
        .copied()
        .filter(|b| !matches!(b, b'\r' | b'\n'))
        .collect();
    let response = client()
        .post(&url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(stripped)
        .send()
        .await
        .unwrap();
    let (status, _, message) = error_of(response).await;
    assert!(
        status >= 400 && message.contains("--data-binary"),
        "{status}: {message}"
    );
    // curl --data-binary labels uploads as a form too: a file that is simply no image is not
    // blamed on --data.
    let response = client()
        .post(&url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("II*\0 a TIFF, say, intact")
        .send()
        .await
        .unwrap();
    let (status, _, message) = error_of(response).await;
    assert!(
        status >= 400 && !message.contains("drops line breaks"),
        "{status}: {message}"
    );
    let hex: String = image[..64].iter().map(|b| format!("{b:02x}")).collect();
    let (status, _, message) = error_of(client().post(&url).body(hex).send().await.unwrap()).await;
    assert!(
        status >= 400 && message.contains("hex text"),
        "{status}: {message}"
    );

    let empty_form = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"block\"\r\n\r\n4\r\n--{boundary}--\r\n"
    );
    let response = client()
        .post(&url)
        .header(
            "content-type",
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(empty_form)
        .send()
        .await
        .unwrap();
    let (status, code, message) = error_of(response).await;
    assert_eq!((status, code.as_str()), (400, "missing_image"), "{message}");
    assert!(message.contains("-F image=@"), "{message}");
    // No body at all: said in HTTP terms, not the module's envelope and stdin.
    let response = client().post(&url).send().await.unwrap();
    let (status, code, message) = error_of(response).await;
    assert_eq!((status, code.as_str()), (400, "missing_image"), "{message}");
    assert!(
        message.contains("--data-binary @cat.png") && !message.contains("stdin"),
        "{message}"
    );
    services.shutdown().await;
}

#[tokio::test]
async fn an_image_that_cannot_be_fitted_gets_a_clear_413() {
    let services = local().await;
    let response = client()
        .post(format!("{}/pixelate?block=1", services.gateway_url()))
        .body(over_the_limit_png())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 413);
    let body: Value = response.json().await.unwrap();
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.contains("block 1 keeps every pixel"), "{message}");
    services.shutdown().await;
}

/// A stand-in for what sits in front of OSC apps when something is wrong: fixed answers.
async fn stub(
    status: StatusCode,
    content_type: &'static str,
    body: &'static str,
    delay: Duration,
) -> Served {
    let app = axum::Router::new().fallback(move || async move {
        tokio::time::sleep(delay).await;
        (status, [("content-type", content_type)], body).into_response()
    });
    runner::serve(app, any_port()).await.unwrap()
}

async fn gateway_to(runner_url: &str, timeout: Duration) -> Served {
    let mut config = GatewayConfig::new(runner_url);
    config.timeout = timeout;
    gateway::start(&config, any_port()).await.unwrap()
}

async fn error_of(response: reqwest::Response) -> (u16, String, String) {
    let status = response.status().as_u16();
    let body: Value = response.json().await.unwrap();
    (
        status,
        body["error"]["code"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
        body["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
    )
}

#[tokio::test]
async fn a_runner_answering_html_gives_a_clear_502() {
    let html = stub(
        StatusCode::BAD_GATEWAY,
        "text/html",
        "<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>",
        Duration::ZERO,
    )
    .await;
    let gateway = gateway_to(&html.url(), Duration::from_secs(10)).await;
    let response = client()
        .get(format!("{}/health", gateway.url()))
        .send()
        .await
        .unwrap();
    let (status, code, message) = error_of(response).await;
    assert_eq!((status, code.as_str()), (502, "runner_status"));
    assert!(
        message.contains("HTML page") && message.contains("502"),
        "{message}"
    );
    gateway.shutdown().await;
    html.shutdown().await;
}

#[tokio::test]
async fn a_proxy_timeout_or_unavailable_runner_keeps_its_status() {
    // OSC's proxy answers 504 when the runner is too slow, 503 while an app starts: a client
    // must see those (retry later), not a 502 that reads as "the module is broken".
    for (status, page) in [
        (
            StatusCode::GATEWAY_TIMEOUT,
            "<html>504 Gateway Time-out</html>",
        ),
        (
            StatusCode::SERVICE_UNAVAILABLE,
            "<html>503 Service Unavailable</html>",
        ),
    ] {
        let proxy = stub(status, "text/html", page, Duration::ZERO).await;
        let gateway = gateway_to(&proxy.url(), Duration::from_secs(10)).await;
        let response = client()
            .post(format!("{}/pixelate", gateway.url()))
            .body(fixture("rocket.jpg"))
            .send()
            .await
            .unwrap();
        let (got, code, message) = error_of(response).await;
        assert_eq!((got, code.as_str()), (status.as_u16(), "runner_status"));
        assert!(message.contains(&status.as_u16().to_string()), "{message}");
        gateway.shutdown().await;
        proxy.shutdown().await;
    }
}

#[tokio::test]
async fn a_runner_that_is_slow_unreachable_or_not_a_pixelsmith_module_is_explained() {
    let slow = stub(StatusCode::OK, "text/plain", "late", Duration::from_secs(5)).await;
    let gateway = gateway_to(&slow.url(), Duration::from_secs(1)).await;
    let response = client()
        .get(format!("{}/health", gateway.url()))
        .send()
        .await
        .unwrap();
    let (status, code, message) = error_of(response).await;
    assert_eq!(
        (status, code.as_str()),
        (504, "runner_timeout"),
        "{message}"
    );
    gateway.shutdown().await;
    slow.shutdown().await;

    // A port nobody listens on (bound, then released).
    let closed = tokio::net::TcpListener::bind(any_port())
        .await
        .unwrap()
        .local_addr()
        .unwrap();
    let gateway = gateway_to(&format!("http://{closed}"), Duration::from_secs(5)).await;
    let response = client()
        .get(format!("{}/health", gateway.url()))
        .send()
        .await
        .unwrap();
    let (status, code, _) = error_of(response).await;
    assert_eq!((status, code.as_str()), (502, "runner_unreachable"));
    gateway.shutdown().await;

    // A module that echoes its stdin answers 200 but with a request, not a response envelope.
    let echo = Runner::from_bytes(&wat_modules::echo(), RunnerConfig::default()).unwrap();
    let echo = runner::start(echo, any_port()).await.unwrap();
    let gateway = gateway_to(&echo.url(), Duration::from_secs(10)).await;
    let response = client()
        .get(format!("{}/health", gateway.url()))
        .send()
        .await
        .unwrap();
    let (status, code, message) = error_of(response).await;
    assert_eq!(
        (status, code.as_str()),
        (502, "not_an_envelope"),
        "{message}"
    );
    gateway.shutdown().await;
    echo.shutdown().await;
}

#[tokio::test]
async fn call_service_passes_against_the_real_module_and_fails_clearly_otherwise() {
    let services = local().await;
    let report = call_service(&CallRequest::smoke(services.runner_url()))
        .await
        .unwrap();
    assert!(report.ok, "{report:#?}");
    let health = report.health.as_ref().unwrap();
    assert_eq!(health.service.as_deref(), Some("pixelsmith"));
    let pixelate = report.pixelate.as_ref().unwrap();
    assert_eq!((pixelate.grid_width, pixelate.grid_height), (12, 8));
    assert_eq!((pixelate.width, pixelate.height), (Some(96), Some(64)));
    assert_eq!(pixelate.cells_uniform, Some(true));
    assert_eq!(pixelate.matches_local_engine, Some(true));
    assert!(pixelate.latency_ms.unwrap() > 0.0);

    // A large photo with a palette: fitted, still checked.
    let request = CallRequest {
        pixelate: Some(PixelateCall {
            image: fixture("astronaut.png"),
            label: "astronaut.png".into(),
            options: vec![
                ("block".into(), "16".into()),
                ("palette".into(), "pico-8".into()),
            ],
        }),
        ..CallRequest::smoke(services.runner_url())
    };
    let report = call_service(&request).await.unwrap();
    assert!(report.ok, "{report:#?}");
    let pixelate = report.pixelate.unwrap();
    assert!(pixelate.fitted.is_some());
    assert!(pixelate.colors.unwrap() <= 17, "{pixelate:?}");

    // An animated GIF: the answer is an animated GIF, the engine's bytes, its first frame flat.
    let request = CallRequest {
        pixelate: Some(PixelateCall {
            image: crate::animation::moving_square_gif(&[10, 20, 10]),
            label: "square.gif".into(),
            options: vec![("block".into(), "8".into())],
        }),
        ..CallRequest::smoke(services.runner_url())
    };
    let report = call_service(&request).await.unwrap();
    assert!(report.ok, "{report:#?}");
    let pixelate = report.pixelate.unwrap();
    assert_eq!(pixelate.matches_local_engine, Some(true));
    assert_eq!(pixelate.cells_uniform, Some(true));
    services.shutdown().await;

    let html = stub(
        StatusCode::SERVICE_UNAVAILABLE,
        "text/html",
        "<html>503</html>",
        Duration::ZERO,
    )
    .await;
    let report = call_service(&CallRequest::smoke(html.url())).await.unwrap();
    assert!(!report.ok);
    assert_eq!(report.problems.len(), 2, "{:?}", report.problems);
    assert!(
        report.problems[0].contains("HTML page"),
        "{:?}",
        report.problems
    );
    html.shutdown().await;

    let err = call_service(&CallRequest::smoke("ftp://nowhere"))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("http"), "{err}");
}

#[tokio::test]
async fn browsers_get_pixelsmith_studio_at_the_root_even_with_the_runner_down() {
    // A runner that is not there: the page must still paint (it is the gateway's own).
    let gone = stub(StatusCode::OK, "text/plain", "", Duration::ZERO).await;
    let gone_url = gone.url();
    gone.shutdown().await;
    let gateway = gateway_to(&gone_url, Duration::from_secs(5)).await;
    let browser = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";
    let response = client()
        .get(format!("{}/", gateway.url()))
        .header("accept", browser)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let headers = response.headers().clone();
    assert_eq!(headers["content-type"], "text/html; charset=utf-8");
    assert_eq!(headers["vary"], "accept");
    assert!(
        headers["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("connect-src 'self'")
    );
    let page = response.text().await.unwrap();
    assert_eq!(page, pixelsmith::studio::HTML);
    // API clients still reach the module's index through the (here absent) runner.
    let (status, _, _) = error_of(
        client()
            .get(format!("{}/", gateway.url()))
            .header("accept", "application/json")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 502, "the JSON index comes from the runner");
    gateway.shutdown().await;
}

#[tokio::test]
async fn curl_and_json_clients_keep_the_index_and_head_gets_the_page_headers() {
    let services = local().await;
    let url = services.gateway_url();
    for accept in [None, Some("*/*"), Some("application/json")] {
        let mut request = client().get(format!("{url}/"));
        if let Some(accept) = accept {
            request = request.header("accept", accept);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 200, "{accept:?}");
        assert_eq!(response.headers()["vary"], "accept");
        let index: Value = response.json().await.unwrap();
        assert!(index["pixelate_options"].is_array(), "{accept:?}: {index}");
    }
    let head = client()
        .head(format!("{url}/"))
        .header("accept", "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(head.status(), 200);
    assert!(
        head.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    // Other routes are the module's, whatever the Accept header says.
    let health = client()
        .get(format!("{url}/health"))
        .header("accept", "text/html")
        .send()
        .await
        .unwrap();
    assert!(
        health.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    services.shutdown().await;
}

/// A 256×256 animated GIF of `frames` frames of noise (about 66 KB each: LZW cannot shrink it).
fn noise_gif(frames: usize) -> Vec<u8> {
    let palette: Vec<u8> = (0..=255u8)
        .flat_map(|i| [i, i.wrapping_mul(7), 255 - i])
        .collect();
    let mut out = Vec::new();
    {
        let mut enc = gif::Encoder::new(&mut out, 256, 256, &palette).unwrap();
        enc.set_repeat(gif::Repeat::Infinite).unwrap();
        let mut state = 0x2545_f491_u32;
        for _ in 0..frames {
            let buffer: Vec<u8> = (0..256 * 256)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 17;
                    state ^= state << 5;
                    state as u8
                })
                .collect();
            enc.write_frame(&gif::Frame {
                delay: 5,
                width: 256,
                height: 256,
                buffer: buffer.into(),
                ..gif::Frame::default()
            })
            .unwrap();
        }
    }
    out
}

fn options(query: &[(&str, &str)]) -> Options {
    let mut options = Options::default();
    for (name, value) in query {
        options.set(name, value).unwrap();
    }
    options
}

#[tokio::test]
async fn animations_come_back_animated_or_as_the_frame_asked_for_or_say_what_to_do() {
    use engine::animation::{AnimationFormat, pixelate_animation, pixelate_frame};
    let services = local().await;
    let post = |query: &str, body: Vec<u8>| {
        client()
            .post(format!("{}/pixelate?{query}", services.gateway_url()))
            .body(body)
            .send()
    };

    // An animated GIF that fits goes to the module whole and comes back animated, as natively.
    let gif = crate::animation::moving_square_gif(&[10, 10, 20, 10]);
    let response = post("block=8&colors=6", gif.clone()).await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "image/gif");
    let expected = pixelate_animation(
        &gif,
        &options(&[("block", "8"), ("colors", "6")]),
        AnimationFormat::Gif,
    )
    .unwrap();
    assert_eq!(
        response.bytes().await.unwrap().as_ref(),
        expected.bytes.as_slice()
    );

    // An APNG: the module animates GIF only, so the gateway says how to get a result...
    let apng = crate::animation::blend_apng();
    let (status, code, message) = error_of(post("block=4", apng.clone()).await.unwrap()).await;
    assert_eq!((status, code.as_str()), (415, "unsupported_feature"));
    assert!(
        message.contains("APNG") && message.contains("frame=N") && message.contains("0..=2"),
        "{message}"
    );
    // ...and composites the frame asked for natively, which the module pixelates as a still.
    let response = post("block=4&frame=1", apng.clone()).await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "image/png");
    let note = response.headers()[CONVERTED_HEADER]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        note.starts_with("frame 1 of a 3-frame animated PNG (APNG) -> png"),
        "{note}"
    );
    let expected = pixelate_frame(&apng, 1, &options(&[("block", "4")])).unwrap();
    assert_eq!(
        response.bytes().await.unwrap().as_ref(),
        expected.png.as_slice()
    );
    let (status, _, message) = error_of(post("frame=9", apng).await.unwrap()).await;
    assert_eq!(status, 400);
    assert!(message.contains("3 frames"), "{message}");

    // A GIF over the runner's 1 MiB cannot be sent whole: 413 naming `frame`; one frame can.
    let big = noise_gif(18);
    assert!(big.len() > 1 << 20);
    let (status, code, message) = error_of(post("block=8", big.clone()).await.unwrap()).await;
    assert_eq!((status, code.as_str()), (413, "payload_too_large"));
    assert!(
        message.contains("18 frames") && message.contains("frame=N"),
        "{message}"
    );
    let response = post("block=8&frame=17", big.clone()).await.unwrap();
    assert_eq!(response.status(), 200);
    let expected = pixelate_frame(&big, 17, &options(&[("block", "8")])).unwrap();
    assert_eq!(
        response.bytes().await.unwrap().as_ref(),
        expected.png.as_slice()
    );
    services.shutdown().await;
}
