//! How verb outcomes become MCP tool results: errors become `isError: true` results whose text
//! names the fix (never protocol errors), images become a size-capped PNG preview plus a link to
//! the full file, and structured output carries a JSON copy in a text block for older clients.

use std::fmt::Write as _;
use std::path::Path;

use base64::Engine as _;
use rmcp::model::{CallToolResult, ContentBlock, Resource};
use serde::Serialize;

/// The text of a failed tool call: the error and its causes, one sentence each.
pub fn failure(err: &(dyn std::error::Error + 'static)) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        // thiserror messages often already quote their source.
        if !text.contains(&cause_text) {
            let _ = write!(text, ": {cause_text}");
        }
        source = cause.source();
    }
    text
}

/// A `file://` URI for an absolute path (percent-encoding what a URI cannot hold).
pub fn file_uri(path: &Path) -> String {
    let mut uri = String::from("file://");
    for byte in path.as_os_str().as_encoded_bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'/' | b'-' | b'_' | b'.' | b'~' => {
                uri.push(*byte as char)
            }
            _ => {
                let _ = write!(uri, "%{byte:02X}");
            }
        }
    }
    uri
}

/// A successful result with `value` as structured content (and its JSON text), then an optional
/// PNG preview and a link to the full file.
pub fn with_image<T: Serialize>(
    value: &T,
    preview_png: Option<&[u8]>,
    full: &Path,
    full_bytes: u64,
) -> Result<CallToolResult, String> {
    with_image_as(value, preview_png, full, full_bytes, "image/png")
}

/// [`with_image`] for a full file of another type (`image/gif`, `image/apng`).
pub fn with_image_as<T: Serialize>(
    value: &T,
    preview_png: Option<&[u8]>,
    full: &Path,
    full_bytes: u64,
    full_mime: &str,
) -> Result<CallToolResult, String> {
    let structured =
        serde_json::to_value(value).map_err(|e| format!("internal: cannot serialise: {e}"))?;
    let mut content = vec![ContentBlock::text(structured.to_string())];
    if let Some(png) = preview_png {
        content.push(ContentBlock::image(
            base64::engine::general_purpose::STANDARD.encode(png),
            "image/png",
        ));
    }
    let name = full
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "output.png".to_string());
    content.push(ContentBlock::resource_link(
        Resource::new(file_uri(full), name)
            .with_title("Full-size pixel art")
            .with_mime_type(full_mime)
            .with_size(full_bytes),
    ));
    let mut result = CallToolResult::success(content);
    result.structured_content = Some(structured);
    Ok(result)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("outer failed")]
    struct Outer(#[source] std::io::Error);

    #[test]
    fn failure_text_includes_causes_once() {
        let err = Outer(std::io::Error::other("disk full"));
        assert_eq!(failure(&err), "outer failed: disk full");
    }

    #[test]
    fn file_uris_escape_spaces() {
        assert_eq!(file_uri(Path::new("/a b/c.png")), "file:///a%20b/c.png");
    }

    #[test]
    fn image_results_carry_structure_preview_and_link() {
        let r = with_image(
            &serde_json::json!({"a": 1}),
            Some(b"png"),
            Path::new("/x/y.png"),
            3,
        )
        .unwrap();
        assert_eq!(r.structured_content, Some(serde_json::json!({"a": 1})));
        assert_eq!(r.content.len(), 3);
        assert!(r.content[1].as_image().is_some());
        let link = r.content[2].as_resource_link().unwrap();
        assert_eq!(link.uri, "file:///x/y.png");
        assert_eq!(r.is_error, Some(false));
    }
}
