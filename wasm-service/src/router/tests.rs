//! Unit tests for the router: classification of stdin, routing, statuses, bodies, legacy shapes.
//! Images are made and read with the `png` crate, so the PNG checks do not trust our own encoder.

use super::*;
use crate::envelope::{Json, Request, Response, base64};

/// A PNG of `w`×`h` RGBA pixels from `pixel(x, y)`.
fn png(w: u32, h: u32, pixel: impl Fn(u32, u32) -> [u8; 4]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut enc = ::png::Encoder::new(&mut out, w, h);
    enc.set_color(::png::ColorType::Rgba);
    enc.set_depth(::png::BitDepth::Eight);
    let mut data = Vec::new();
    for y in 0..h {
        for x in 0..w {
            data.extend_from_slice(&pixel(x, y));
        }
    }
    enc.write_header().unwrap().write_image_data(&data).unwrap();
    out
}

/// Four 8×8 quadrants: red, green, blue, white (16×16).
fn quadrants() -> Vec<u8> {
    png(16, 16, |x, y| match (x < 8, y < 8) {
        (true, true) => [255, 0, 0, 255],
        (false, true) => [0, 255, 0, 255],
        (true, false) => [0, 0, 255, 255],
        (false, false) => [255, 255, 255, 255],
    })
}

/// Decodes a PNG to (width, height, RGBA pixels).
fn decode(bytes: &[u8]) -> (u32, u32, Vec<[u8; 4]>) {
    let mut dec = ::png::Decoder::new(std::io::Cursor::new(bytes));
    dec.set_transformations(::png::Transformations::normalize_to_color8());
    let mut reader = dec.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    let px = match info.color_type {
        ::png::ColorType::Rgba => buf
            .chunks_exact(4)
            .map(|c| [c[0], c[1], c[2], c[3]])
            .collect(),
        ::png::ColorType::Rgb => buf
            .chunks_exact(3)
            .map(|c| [c[0], c[1], c[2], 255])
            .collect(),
        other => panic!("unexpected colour type {other:?}"),
    };
    (info.width, info.height, px)
}

fn stdin(text: &str) -> Response {
    handle_stdin(text.as_bytes())
}

fn assert_error(r: &Response, status: u16, code: &str, mentions: &str) {
    assert_eq!(
        (r.status, r.error_code()),
        (status, Some(code)),
        "{}",
        r.to_line()
    );
    let message = r.error_message().unwrap();
    assert!(message.contains(mentions), "`{mentions}` not in: {message}");
    assert_eq!(r.content_type, "application/json");
}

fn body(r: &Response) -> &Json {
    r.json_body()
        .unwrap_or_else(|| panic!("no JSON body: {}", r.to_line()))
}

#[test]
fn empty_or_blank_stdin_answers_health() {
    for input in ["", "  \n\t"] {
        let r = stdin(input);
        assert_eq!(
            (r.status, r.content_type.as_str()),
            (200, "application/json")
        );
        let b = body(&r);
        assert_eq!(b.get("status"), Some(&Json::from("ok")));
        assert_eq!(
            b.get("version"),
            Some(&Json::from(env!("CARGO_PKG_VERSION")))
        );
        let limits = b.get("limits").unwrap();
        assert_eq!(
            limits.get("max_pixels").and_then(Json::as_u64),
            Some(64_000_000)
        );
        assert_eq!(
            limits.get("max_stdin_bytes").and_then(Json::as_u64),
            Some(MAX_STDIN_BYTES as u64)
        );
    }
    assert_eq!(stdin(""), handle(Request::get("/health")));
}

#[test]
fn index_lists_every_route_and_option() {
    let r = handle(Request::get("/"));
    assert_eq!(r.status, 200);
    let routes: Vec<String> = body(&r)
        .get("routes")
        .unwrap()
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            format!(
                "{} {}",
                r.get("method").unwrap().as_str().unwrap(),
                r.get("path").unwrap().as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(
        routes,
        ["GET /", "GET /health", "GET /palettes", "POST /pixelate"]
    );
    let options = body(&r)
        .get("pixelate_options")
        .unwrap()
        .as_array()
        .unwrap();
    for name in ["block", "colors", "palette", "dither", "report"] {
        assert!(
            options
                .iter()
                .any(|o| o.get("name") == Some(&Json::from(name))),
            "{name}"
        );
    }
}

#[test]
fn palettes_route_lists_the_built_ins() {
    let r = handle(Request::get("/palettes"));
    assert_eq!(r.status, 200);
    let list = body(&r).get("palettes").unwrap().as_array().unwrap();
    assert_eq!(list.len(), crate::engine::palettes::BUILT_IN.len());
    assert!(
        list.iter()
            .any(|p| p.get("name") == Some(&Json::from("pico-8")))
    );
}

#[test]
fn errors_quote_long_input_briefly_whatever_carries_it() {
    // A 4 MB path, method, option value, palette, legacy action and query part: each error names
    // the input by its start and length, never echoes it whole.
    let huge = "a".repeat(4 << 20);
    let mut method = Request::get("/health");
    method.method = "X".repeat(4 << 20);
    let mut bad_utf8_query = Request::post("/pixelate");
    bad_utf8_query.query = format!("block=%ff{huge}");
    let cases = [
        handle(Request::get(&format!("/{huge}"))),
        handle(method),
        handle(Request::post("/pixelate").with_query(&format!("block={huge}"))),
        handle(Request::post("/pixelate").with_query(&format!("palette={huge}"))),
        handle(Request::post("/pixelate").with_query(&format!("{huge}=1"))),
        handle(bad_utf8_query),
        stdin(&format!(r#"{{"action":"{huge}"}}"#)),
    ];
    for (i, r) in cases.iter().enumerate() {
        let line = r.to_line();
        // The legacy shape (an `action` field) answers with a flat `error` string.
        let message = r
            .error_message()
            .or_else(|| body(r).get("error")?.as_str())
            .unwrap_or_else(|| {
                panic!(
                    "case {i} is not an error: {}",
                    line.get(..200).unwrap_or(&line)
                )
            });
        assert!(
            message.chars().count() <= crate::envelope::MAX_ERROR_MESSAGE + 60,
            "case {i}: {} characters: {}…",
            message.len(),
            &message[..200]
        );
        assert!(
            message.contains("aaa") || message.contains("XXX"),
            "case {i}: {message}"
        );
    }
    // The safety net holds for any message, not just the quoted ones.
    let r = Response::error(500, "internal", &"m".repeat(10_000));
    let message = r.error_message().unwrap();
    assert!(message.starts_with("mmm") && message.ends_with("of 10000 characters)"));
    assert!(message.len() < 2_100);
}

#[test]
fn unknown_paths_are_404_and_wrong_methods_405_with_allow() {
    let r = handle(Request::get("/nope"));
    assert_error(&r, 404, "not_found", "GET /nope");
    assert!(r.error_message().unwrap().contains("POST /pixelate"));

    let r = handle(Request::get("/pixelate"));
    assert_error(&r, 405, "method_not_allowed", "POST");
    assert_eq!(r.header("allow"), Some("POST"));

    let r = handle(Request::post("/health"));
    assert_error(&r, 405, "method_not_allowed", "GET");
    assert_eq!(r.header("allow"), Some("GET"));
}

#[test]
fn paths_tolerate_a_trailing_slash_and_methods_any_case() {
    let mut req = Request::get("/health/");
    req.method = "get".into();
    assert_eq!(handle(req).status, 200);
    assert_eq!(handle(Request::get("/palettes?x=1")).status, 200);
}

#[test]
fn pixelate_answers_png_of_the_original_size_by_default() {
    let r = handle(Request::pixelate(&quadrants(), ""));
    assert_eq!(
        (r.status, r.content_type.as_str()),
        (200, "image/png"),
        "{}",
        r.to_line()
    );
    let (w, h, px) = decode(&r.decode_body().unwrap());
    assert_eq!((w, h), (16, 16));
    assert_eq!(px[0], [255, 0, 0, 255]);
    assert_eq!(px[15], [0, 255, 0, 255]);
    assert_eq!(px[15 * 16], [0, 0, 255, 255]);
    assert_eq!(px[255], [255, 255, 255, 255]);
}

#[test]
fn query_options_reach_the_engine_from_query_and_path() {
    let r = handle(Request::pixelate(&quadrants(), "block=8&grid=true"));
    let (w, h, px) = decode(&r.decode_body().unwrap());
    assert_eq!((w, h), (2, 2));
    assert_eq!(
        px,
        [
            [255, 0, 0, 255],
            [0, 255, 0, 255],
            [0, 0, 255, 255],
            [255, 255, 255, 255]
        ]
    );

    let mut req = Request::pixelate(&quadrants(), "grid=true");
    req.path = "/pixelate?block=4".into();
    let (w, _, _) = decode(&handle(req).decode_body().unwrap());
    assert_eq!(w, 4);

    let r = handle(Request::pixelate(
        &quadrants(),
        "block=8&scale=3&palette=1-bit",
    ));
    let (w, h, px) = decode(&r.decode_body().unwrap());
    assert_eq!((w, h), (6, 6));
    assert!(
        px.iter()
            .all(|p| *p == [0, 0, 0, 255] || *p == [255, 255, 255, 255])
    );
}

#[test]
fn report_comes_from_the_query_flag_or_accept_and_carries_the_png() {
    let by_flag = handle(Request::pixelate(&quadrants(), "block=8&report=true"));
    let mut by_accept = Request::pixelate(&quadrants(), "block=8");
    by_accept.accept = Some("application/json".into());
    let by_accept = handle(by_accept);
    for r in [&by_flag, &by_accept] {
        assert_eq!(
            (r.status, r.content_type.as_str()),
            (200, "application/json")
        );
        let b = body(r);
        assert_eq!(b.get("grid_width").and_then(Json::as_u64), Some(2));
        assert_eq!(b.get("source_width").and_then(Json::as_u64), Some(16));
        assert_eq!(b.get("format"), Some(&Json::from("png")));
        let png = base64::decode(b.get("png_base64").unwrap().as_str().unwrap()).unwrap();
        assert_eq!(decode(&png).0, 16);
        assert_eq!(
            b.get("png_bytes").and_then(Json::as_u64),
            Some(png.len() as u64)
        );
    }
    let mut no = Request::pixelate(&quadrants(), "report=false");
    no.accept = Some("application/json".into());
    assert_eq!(handle(no).content_type, "image/png");
}

#[test]
fn report_json_matches_the_engines_serde_report() {
    let image = quadrants();
    let mut options = crate::engine::Options::default();
    options.set("block", "4").unwrap();
    let done = crate::engine::pixelate(&image, &options).unwrap();
    let ours = serde_json::Value::from(pixelate::report(&done));
    let mut theirs = serde_json::to_value(&done.report).unwrap();
    let (ours_map, theirs_map) = (ours.as_object().unwrap(), theirs.as_object_mut().unwrap());
    theirs_map.insert("content_type".into(), "image/png".into());
    theirs_map.insert("png_base64".into(), base64::encode(&done.png).into());
    let keys =
        |m: &serde_json::Map<String, serde_json::Value>| m.keys().cloned().collect::<Vec<_>>();
    assert_eq!(
        keys(ours_map),
        keys(theirs_map),
        "the report's fields changed: update report()"
    );
    for (k, v) in theirs_map.iter() {
        if k != "timings" {
            assert_eq!(&ours_map[k], v, "{k}");
        }
    }
    let timing_keys =
        |v: &serde_json::Value| v.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
    assert_eq!(
        timing_keys(&ours_map["timings"]),
        timing_keys(&theirs_map["timings"])
    );
}

#[test]
fn json_bodies_carry_the_image_and_options_and_the_query_wins() {
    let fields = Json::object([
        ("image_base64", base64::encode(&quadrants()).into()),
        ("block", 8u32.into()),
        ("grid", true.into()),
        (
            "palette",
            Json::Array(vec!["#000000".into(), "#ffffff".into()]),
        ),
        ("dither", Json::Null),
    ]);
    let r = handle(Request::post("/pixelate").with_json(fields.clone()));
    let (w, _, px) = decode(&r.decode_body().unwrap());
    assert_eq!(w, 2);
    assert!(
        px.iter()
            .all(|p| *p == [0, 0, 0, 255] || *p == [255, 255, 255, 255])
    );

    let r = handle(
        Request::post("/pixelate")
            .with_json(fields.clone())
            .with_query("block=4"),
    );
    assert_eq!(decode(&r.decode_body().unwrap()).0, 4);

    // The same JSON as bytes (what a gateway forwards) and as text.
    let text = fields.to_string();
    let as_bytes = Request::post("/pixelate").with_bytes(text.as_bytes(), "application/json");
    assert_eq!(decode(&handle(as_bytes).decode_body().unwrap()).0, 2);
    let as_text = Request::post("/pixelate").with_text(&text);
    assert_eq!(decode(&handle(as_text).decode_body().unwrap()).0, 2);
}

#[test]
fn bad_options_are_400_naming_the_option() {
    let image = quadrants();
    assert_error(
        &handle(Request::pixelate(&image, "block=0")),
        400,
        "invalid_option",
        "block",
    );
    assert_error(
        &handle(Request::pixelate(&image, "sharpen=1")),
        400,
        "invalid_option",
        "unknown option `sharpen`",
    );
    assert_error(
        &handle(Request::pixelate(&image, "report=maybe")),
        400,
        "invalid_option",
        "report",
    );
    // A JSON body without the image: named as the JSON field it goes in, not envelopes or stdin.
    let no_image = Json::object([("block", Json::from(8u32))]);
    assert_error(
        &handle(Request::post("/pixelate").with_json(no_image)),
        400,
        "missing_image",
        "a JSON body carries it base64-encoded in `image_base64`",
    );
    // The image under another name: the answer names the field it goes in.
    let misnamed = Json::object([("image", base64::encode(&image).into())]);
    assert_error(
        &handle(Request::post("/pixelate").with_json(misnamed)),
        400,
        "invalid_option",
        "unknown option `image`: the image goes in `image_base64`",
    );
    let fields = Json::object([
        ("image_base64", base64::encode(&image).into()),
        ("block", Json::object([])),
    ]);
    assert_error(
        &handle(Request::post("/pixelate").with_json(fields)),
        400,
        "invalid_option",
        "field `block`",
    );
    assert_error(
        &handle(Request::post("/pixelate").with_json(Json::from(vec![Json::Null]))),
        400,
        "bad_request",
        "must be an object",
    );
    let bad_query = Request::pixelate(&image, "palette=%FF");
    assert_error(&handle(bad_query), 400, "bad_request", "UTF-8");
}

#[test]
fn bad_images_map_to_400_413_415_422() {
    assert_error(
        &handle(Request::post("/pixelate")),
        400,
        "missing_image",
        "image_base64",
    );
    let garbage =
        Request::post("/pixelate").with_bytes(b"\x00\x01garbage", "application/octet-stream");
    assert_error(&handle(garbage), 415, "unsupported_format", "PNG");
    let mut truncated = quadrants();
    truncated.truncate(truncated.len() / 2);
    let r = handle(Request::pixelate(&truncated, ""));
    assert_eq!(r.status, 422, "{}", r.to_line());
    let bomb = bomb_png();
    assert_error(
        &handle(Request::pixelate(&bomb, "")),
        413,
        "too_many_pixels",
        "100000x100000",
    );
    let mut bad_b64 = Request::post("/pixelate");
    bad_b64.body_base64 = Some("!!".into());
    assert_error(&handle(bad_b64), 400, "invalid_base64", "body_base64");
}

/// A PNG header declaring 100000×100000 pixels, with no pixel data.
fn bomb_png() -> Vec<u8> {
    let mut b = quadrants();
    b[16..20].copy_from_slice(&100_000u32.to_be_bytes());
    b[20..24].copy_from_slice(&100_000u32.to_be_bytes());
    b
}

#[test]
fn every_engine_error_has_one_status() {
    use crate::engine::Error as E;
    let cases = [
        (E::Empty, 400),
        (E::UnsupportedFormat { detected: None }, 415),
        (E::NotInThisBuild { format: "WebP" }, 415),
        (E::InputTooLarge { limit: 1 }, 413),
        (
            E::TooManyPixels {
                width: 1,
                height: 1,
                limit: 0,
            },
            413,
        ),
        (
            E::OutputTooLarge {
                width: 1,
                height: 1,
                limit: 0,
            },
            413,
        ),
        (
            E::OverMemoryBudget {
                needed: 2,
                budget: 1,
            },
            413,
        ),
        (E::OutOfMemory { bytes: 1 }, 413),
        (
            E::UnsupportedFeature {
                format: "JPEG",
                feature: "arithmetic-coded",
                advice: "x",
            },
            415,
        ),
        (
            E::ZeroSize {
                width: 0,
                height: 1,
            },
            422,
        ),
        (E::Truncated { format: "PNG" }, 422),
        (
            E::Malformed {
                format: "PNG",
                detail: "x".into(),
            },
            422,
        ),
        (
            E::InvalidOption {
                name: "block",
                detail: "x".into(),
            },
            400,
        ),
        (E::Encode("x".into()), 500),
    ];
    for (err, status) in cases {
        let r = engine_error(&err);
        assert_eq!((r.status, r.error_code()), (status, Some(err.code())));
        assert_eq!(r.error_message(), Some(err.to_string().as_str()));
    }
}

#[test]
fn raw_image_bytes_on_stdin_are_pixelated_with_defaults() {
    let r = handle_stdin(&quadrants());
    assert_eq!(
        (r.status, r.content_type.as_str()),
        (200, "image/png"),
        "{}",
        r.to_line()
    );
    assert_eq!(decode(&r.decode_body().unwrap()).0, 16);
    assert_error(&handle_stdin(&bomb_png()), 413, "too_many_pixels", "pixels");
    assert_error(
        &handle_stdin(b"\x00\xff\xfe binary"),
        415,
        "unsupported_format",
        "accepts",
    );
    assert_error(
        &handle_stdin(b"<svg xmlns='x'/>"),
        415,
        "unsupported_format",
        "SVG",
    );
}

#[test]
fn envelopes_on_stdin_are_routed() {
    let r = stdin(&Request::pixelate(&quadrants(), "block=8&grid=true").to_json());
    assert_eq!(decode(&r.decode_body().unwrap()).0, 2);
    let r = stdin(r#"{"path":"/palettes"}"#);
    assert_eq!(r.status, 200);
    assert_error(&stdin(r#"{"path":"/x"}"#), 404, "not_found", "/x");
    assert_error(
        &stdin(r#"{"path":"/","extra":1}"#),
        400,
        "bad_request",
        "unknown field `extra`",
    );
    assert_error(
        &stdin(r#"{"envelope":"pixelsmith/2"}"#),
        400,
        "bad_request",
        "pixelsmith/1",
    );
}

#[test]
fn other_text_gets_400_listing_what_is_accepted() {
    assert_error(
        &stdin("hello"),
        400,
        "unrecognized_input",
        "request envelope",
    );
    assert_error(&stdin("{not json"), 400, "invalid_json", "at byte 1");
    assert_error(&stdin(r#"{"foo":1}"#), 400, "unrecognized_input", "[foo]");
    assert_error(&stdin("[1,2]"), 400, "unrecognized_input", "accepts");
}

#[test]
fn too_much_stdin_is_413() {
    let big = vec![b' '; MAX_STDIN_BYTES + 1];
    assert_error(&handle_stdin(&big), 413, "payload_too_large", "more than");
}

#[test]
fn legacy_health_is_flat() {
    let r = stdin(r#"{"action":"health"}"#);
    assert!(r.is_legacy());
    let v = Json::parse(r.to_line().as_bytes()).unwrap();
    assert_eq!(v.get("status"), Some(&Json::from("ok")));
    assert_eq!(v.get("service"), Some(&Json::from(SERVICE)));
    assert!(v.get("envelope").is_none());
    let r = stdin(r#"{"action":"dance"}"#);
    let v = Json::parse(r.to_line().as_bytes()).unwrap();
    assert_eq!(v.get("status"), Some(&Json::from("error")));
    assert_eq!(v.get("http_status").and_then(Json::as_u64), Some(400));
    assert!(
        v.get("error")
            .unwrap()
            .as_str()
            .unwrap()
            .contains("health, pixelate")
    );
}

#[test]
fn legacy_pixelate_is_flat_with_the_png_and_sizes() {
    let input = Json::object([
        ("image_base64", base64::encode(&quadrants()).into()),
        ("pixel_size", 8u32.into()),
        ("color_levels", 2u32.into()),
    ]);
    let r = stdin(&input.to_string());
    assert!(r.is_legacy() && r.status == 200, "{}", r.to_line());
    let v = Json::parse(r.to_line().as_bytes()).unwrap();
    assert_eq!(v.get("status"), Some(&Json::from("ok")));
    assert_eq!(v.get("pixel_size").and_then(Json::as_u64), Some(8));
    assert_eq!(v.get("width").and_then(Json::as_u64), Some(16));
    assert_eq!(v.get("grid_width").and_then(Json::as_u64), Some(2));
    let png = base64::decode(v.get("image_base64").unwrap().as_str().unwrap()).unwrap();
    let (w, h, px) = decode(&png);
    assert_eq!((w, h, px[0]), (16, 16, [255, 0, 0, 255]));

    // With "action":"pixelate" too; and a failure is flat with its status.
    let mut truncated = quadrants();
    truncated.truncate(40);
    let input = Json::object([
        ("action", "pixelate".into()),
        ("image_base64", base64::encode(&truncated).into()),
    ]);
    let r = stdin(&input.to_string());
    let v = Json::parse(r.to_line().as_bytes()).unwrap();
    assert_eq!(v.get("status"), Some(&Json::from("error")));
    assert_eq!(
        v.get("http_status").and_then(Json::as_u64),
        Some(u64::from(r.status))
    );
    assert_eq!(r.status, 422);
    let back = Response::from_output(&r.to_line()).unwrap();
    assert_eq!(back.status, 422);
}

#[test]
fn a_request_line_carries_options_in_front_of_raw_bytes() {
    let with_line = |line: &str, body: &[u8]| {
        let mut input = line.as_bytes().to_vec();
        input.extend_from_slice(body);
        handle_stdin(&input)
    };
    let r = with_line("POST /pixelate?block=8&grid=true\n", &quadrants());
    assert_eq!(decode(&r.decode_body().unwrap()).0, 2, "{}", r.to_line());
    let r = with_line(
        "POST /pixelate?block=4&report=true HTTP/1.1\r\n",
        &quadrants(),
    );
    assert_eq!(body(&r).get("grid_width").and_then(Json::as_u64), Some(4));
    let fields = Json::object([
        ("image_base64", base64::encode(&quadrants()).into()),
        ("block", 8u32.into()),
    ]);
    let r = with_line("POST /pixelate?grid=1\n", fields.to_string().as_bytes());
    assert_eq!(decode(&r.decode_body().unwrap()).0, 2);
    assert_eq!(with_line("GET /palettes\n", b"").status, 200);
    assert_error(&with_line("GET /nope\n", b""), 404, "not_found", "/nope");
    assert_error(
        &with_line("GET /pixelate\n", b""),
        405,
        "method_not_allowed",
        "POST",
    );
    assert_error(
        &with_line("POST /pixelate\n", b""),
        400,
        "missing_image",
        "image",
    );
    assert_error(
        &with_line("POST /pixelate?block=0\n", &quadrants()),
        400,
        "invalid_option",
        "block",
    );
    // Not a request line: falls through to the other checks.
    assert_error(
        &stdin("hello module\n"),
        400,
        "unrecognized_input",
        "request line",
    );
    assert_error(
        &stdin("POST pixelate\n"),
        400,
        "unrecognized_input",
        "accepts",
    );
}

#[test]
fn hex_with_a_line_break_says_the_hex_rule_was_broken_and_how_to_send_it() {
    let hex: String = quadrants().iter().map(|b| format!("{b:02x}")).collect();
    for sent in [
        format!("{hex}\n"),
        format!("{hex}\r\n"),
        format!("{}\n{}\n", &hex[..60], &hex[60..]),
    ] {
        let r = stdin(&sent);
        assert_error(&r, 400, "hex_not_decoded", "line break");
        assert_error(&r, 400, "hex_not_decoded", "--data-binary @image.hex");
        assert_error(&r, 400, "hex_not_decoded", "tr -d");
    }
    // Plain words and a lone digit with a newline are still just unrecognised text.
    assert_error(&stdin("hello\n"), 400, "unrecognized_input", "accepts");
    assert_error(&stdin("7\n"), 400, "unrecognized_input", "accepts");
}

/// A 16×16 animated GIF of three frames (red, green, blue left half over a white right half),
/// 100/200/300 ms, looping forever; with `frames` 1 it is a still GIF.
fn animated_gif(frames: usize) -> Vec<u8> {
    let palette = [255u8, 0, 0, 0, 255, 0, 0, 0, 255, 255, 255, 255];
    let mut out = Vec::new();
    {
        let mut enc = gif::Encoder::new(&mut out, 16, 16, &palette).unwrap();
        if frames > 1 {
            enc.set_repeat(gif::Repeat::Infinite).unwrap();
        }
        for f in 0..frames {
            let buffer: Vec<u8> = (0..256)
                .map(|i| if i % 16 < 8 { f as u8 } else { 3 })
                .collect();
            enc.write_frame(&gif::Frame {
                delay: 10 * (f as u16 + 1),
                width: 16,
                height: 16,
                buffer: buffer.into(),
                ..gif::Frame::default()
            })
            .unwrap();
        }
    }
    out
}

/// The frames of a GIF, decoded by the `image` crate: (RGBA pixels, delay in ms).
fn gif_frames(bytes: &[u8]) -> Vec<(Vec<u8>, u32)> {
    use image::AnimationDecoder;
    let decoder = image::codecs::gif::GifDecoder::new(std::io::Cursor::new(bytes)).unwrap();
    decoder
        .into_frames()
        .collect_frames()
        .unwrap()
        .into_iter()
        .map(|f| {
            let (num, den) = f.delay().numer_denom_ms();
            (f.into_buffer().into_raw(), num / den)
        })
        .collect()
}

#[test]
fn an_animated_gif_answers_an_animated_gif_with_the_engines_bytes() {
    let gif = animated_gif(3);
    let r = handle(Request::pixelate(&gif, "block=4"));
    assert_eq!(
        (r.status, r.content_type.as_str()),
        (200, "image/gif"),
        "{}",
        r.to_line()
    );
    let bytes = r.decode_body().unwrap();
    let mut options = crate::engine::Options::default();
    options.set("block", "4").unwrap();
    let engine = crate::engine::animation::pixelate_animation(
        &gif,
        &options,
        crate::engine::animation::AnimationFormat::Gif,
    )
    .unwrap();
    assert_eq!(bytes, engine.bytes, "the module answers the engine's bytes");
    let frames = gif_frames(&bytes);
    assert_eq!(
        frames.iter().map(|f| f.1).collect::<Vec<_>>(),
        [100, 200, 300]
    );
    let left = |f: &(Vec<u8>, u32)| f.0[..4].to_vec();
    assert_eq!(left(&frames[0]), [255, 0, 0, 255]);
    assert_eq!(left(&frames[1]), [0, 255, 0, 255]);
    assert_eq!(left(&frames[2]), [0, 0, 255, 255]);
    // Raw bytes on stdin take the same path.
    assert_eq!(handle_stdin(&gif).content_type, "image/gif");
}

#[test]
fn frame_picks_one_frame_as_a_png_and_a_still_gif_stays_a_png() {
    let r = handle(Request::pixelate(&animated_gif(3), "block=4&frame=1"));
    assert_eq!(
        (r.status, r.content_type.as_str()),
        (200, "image/png"),
        "{}",
        r.to_line()
    );
    let (w, _, px) = decode(&r.decode_body().unwrap());
    assert_eq!((w, px[0]), (16, [0, 255, 0, 255]));
    let still = handle(Request::pixelate(&animated_gif(1), "block=4"));
    assert_eq!(still.content_type, "image/png", "{}", still.to_line());
    assert_error(
        &handle(Request::pixelate(&animated_gif(3), "frame=7")),
        400,
        "invalid_option",
        "3 frames",
    );
    assert_error(
        &handle(Request::pixelate(&animated_gif(3), "frame=last")),
        400,
        "invalid_option",
        "frame number",
    );
    // The original service's clients get a still PNG of the first frame, as before.
    let legacy = crate::router::handle_stdin(
        format!(
            "{{\"image_base64\":\"{}\",\"pixel_size\":4}}",
            base64::encode(&animated_gif(3))
        )
        .as_bytes(),
    );
    let flat = legacy.json_body().unwrap();
    assert_eq!(flat.get("content_type"), Some(&Json::from("image/png")));
}

#[test]
fn an_animation_report_lists_frames_and_plays_and_matches_the_engines_serde_report() {
    let gif = animated_gif(3);
    let r = handle(Request::pixelate(&gif, "block=4&report=true"));
    assert_eq!(r.content_type, "application/json", "{}", r.to_line());
    let ours = serde_json::Value::from(body(&r).clone());
    let mut options = crate::engine::Options::default();
    options.set("block", "4").unwrap();
    let done = crate::engine::animation::pixelate_animation(
        &gif,
        &options,
        crate::engine::animation::AnimationFormat::Gif,
    )
    .unwrap();
    let mut theirs = serde_json::to_value(&done.report).unwrap();
    let theirs_map = theirs.as_object_mut().unwrap();
    theirs_map.insert("content_type".into(), "image/gif".into());
    theirs_map.insert("gif_base64".into(), base64::encode(&done.bytes).into());
    let ours_map = ours.as_object().unwrap();
    assert_eq!(
        ours_map.keys().collect::<Vec<_>>(),
        theirs_map.keys().collect::<Vec<_>>(),
        "the animation report's fields changed: update animation_report()"
    );
    for (k, v) in theirs_map.iter() {
        if k != "timings" {
            assert_eq!(&ours_map[k], v, "{k}");
        }
    }
    assert_eq!(ours_map["frame_count"], 3);
    assert_eq!(ours_map["plays"], 0);
    assert_eq!(ours_map["frames"][2]["delay_ms"], 300);
}
