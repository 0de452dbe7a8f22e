//! Unit tests for the envelope types: the wire form, the serde form, and that they agree.

use super::*;

fn obj(text: &str) -> Json {
    Json::parse(text.as_bytes()).unwrap()
}

#[test]
fn request_round_trips_through_json_text() {
    let req = Request::pixelate(b"\x89PNG\r\n\x1a\nrest", "?block=4&colors=8")
        .with_accept("application/json");
    let text = req.to_json();
    assert!(!text.contains('\n'), "{text}");
    let back = Request::from_json(text.as_bytes()).unwrap();
    assert_eq!(back, req);
    assert_eq!(back.method, "POST");
    assert_eq!(back.path, "/pixelate");
    assert_eq!(back.query, "block=4&colors=8");
    assert_eq!(back.content_type.as_deref(), Some("image/png"));
    assert_eq!(
        back.body_bytes().unwrap().unwrap(),
        b"\x89PNG\r\n\x1a\nrest"
    );
}

#[test]
fn request_fields_default_and_unknown_fields_are_refused() {
    let req = Request::from_json(b"{}").unwrap();
    assert_eq!((req.method.as_str(), req.path.as_str()), ("GET", "/"));
    assert_eq!(req.body_bytes().unwrap(), None);

    let err = Request::from_json(br#"{"path":"/x","body_b64":"AA=="}"#).unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("unknown field `body_b64`") && msg.contains("body_base64"),
        "{msg}"
    );

    let err = Request::from_json(br#"{"path":7}"#).unwrap_err();
    assert!(err.to_string().contains("`path` must be a string"), "{err}");

    let err = Request::from_json(br#"{"envelope":"pixelsmith/9"}"#).unwrap_err();
    assert_eq!(err, EnvelopeError::Version("pixelsmith/9".into()));

    let req = Request::from_json(br#"{"path":"/health","query":null,"body":null}"#).unwrap();
    assert_eq!((req.query.as_str(), req.body.as_ref()), ("", None));
}

#[test]
fn request_bodies_decode_by_kind() {
    let text = Request::post("/x").with_text("héllo");
    assert_eq!(text.body_bytes().unwrap().unwrap(), "héllo".as_bytes());
    let json = Request::post("/x").with_json(obj(r#"{"a":1}"#));
    assert_eq!(json.body_bytes().unwrap().unwrap(), br#"{"a":1}"#);
    let mut both = Request::post("/x").with_text("a");
    both.body_base64 = Some("AA==".into());
    assert_eq!(both.body_bytes().unwrap_err(), EnvelopeError::TwoBodies);
    let mut bad = Request::post("/x");
    bad.body_base64 = Some("@@@".into());
    assert!(matches!(bad.body_bytes(), Err(EnvelopeError::Base64(_))));
}

#[test]
fn response_line_is_one_tagged_json_object() {
    let line = Response::png(&[0, 159, 146, 150]).to_line();
    assert_eq!(
        line,
        r#"{"envelope":"pixelsmith/1","status":200,"content_type":"image/png","body_base64":"AJ+Slg=="}"#
    );
    let back = Response::from_output(&line).unwrap();
    assert_eq!(back.decode_body().unwrap(), vec![0, 159, 146, 150]);
    assert!(back.is_success() && !back.is_legacy());
    assert_eq!(back, Response::png(&[0, 159, 146, 150]));
}

#[test]
fn error_response_exposes_code_message_and_headers() {
    let r = Response::error(405, "method_not_allowed", "use GET").with_header("Allow", "GET");
    let line = r.to_line();
    let back = Response::from_output(&line).unwrap();
    assert_eq!(back, r);
    assert_eq!(back.status, 405);
    assert_eq!(back.error_code(), Some("method_not_allowed"));
    assert_eq!(back.error_message(), Some("use GET"));
    assert_eq!(back.header("allow"), Some("GET"));
    assert_eq!(
        back.json_body().unwrap().get("error").unwrap().get("code"),
        Some(&Json::from("method_not_allowed"))
    );
}

#[test]
fn legacy_responses_are_flat_and_read_back_with_their_status() {
    let r = Response::legacy(
        422,
        Json::object([("status", "error".into()), ("http_status", 422u16.into())]),
    );
    let line = r.to_line();
    assert_eq!(line, r#"{"status":"error","http_status":422}"#);
    let back = Response::from_output(&line).unwrap();
    assert!(back.is_legacy());
    assert_eq!(back.status, 422);
    let ok = Response::from_output(r#"{"status":"ok"}"#).unwrap();
    assert_eq!(ok.status, 200);
}

#[test]
fn from_output_refuses_non_json_and_incomplete_envelopes() {
    assert!(matches!(
        Response::from_output("hello"),
        Err(EnvelopeError::Json(_))
    ));
    assert!(matches!(
        Response::from_output("[1]"),
        Err(EnvelopeError::Json(_))
    ));
    assert!(matches!(
        Response::from_output(""),
        Err(EnvelopeError::Json(_))
    ));
    assert!(matches!(
        Response::from_output(r#"{"envelope":"other/2","status":200}"#),
        Err(EnvelopeError::Version(_))
    ));
    let err = Response::from_output(r#"{"envelope":"pixelsmith/1","content_type":"x"}"#);
    assert!(err.unwrap_err().to_string().contains("`status` is missing"));
}

#[test]
fn text_responses_decode_to_their_utf8_bytes() {
    let r = Response::text(200, "ok ✓");
    assert_eq!(r.decode_body().unwrap(), "ok ✓".as_bytes());
    assert!(r.json_body().is_none());
}

#[test]
fn pixelate_request_sniffs_the_content_type() {
    assert_eq!(
        Request::pixelate(&[0xFF, 0xD8, 0xFF], "")
            .content_type
            .as_deref(),
        Some("image/jpeg")
    );
    assert_eq!(
        Request::pixelate(b"xyz", "").content_type.as_deref(),
        Some("application/octet-stream")
    );
}

/// The serde derives (for native callers) and the hand-written wire form must be one format.
#[test]
fn serde_form_and_wire_form_are_the_same_json() {
    let requests = [
        Request::get("/health"),
        Request::pixelate(b"GIF89a..", "block=3").with_accept("application/json"),
        Request::post("/pixelate").with_json(obj(r#"{"colors":4,"image_base64":"AA=="}"#)),
        Request::post("/x").with_text("t"),
        Request::from_json(br#"{"path":"/"}"#).unwrap(),
    ];
    for req in requests {
        let wire: serde_json::Value = serde_json::from_str(&req.to_json()).unwrap();
        assert_eq!(serde_json::to_value(&req).unwrap(), wire, "{req:?}");
        let via_serde: Request = serde_json::from_value(wire).unwrap();
        assert_eq!(via_serde, req);
    }
    let responses = [
        Response::png(b"png"),
        Response::error(405, "method_not_allowed", "m").with_header("allow", "POST"),
        Response::text(200, "hi"),
        Response::json(200, obj(r#"{"a":[1,2.5,null]}"#)),
    ];
    for resp in responses {
        let wire: serde_json::Value = serde_json::from_str(&resp.to_line()).unwrap();
        assert_eq!(serde_json::to_value(&resp).unwrap(), wire, "{resp:?}");
        let via_serde: Response = serde_json::from_value(wire).unwrap();
        assert_eq!(via_serde, resp);
    }
}
