//! Pixelsmith Studio as an MCP App (extension `io.modelcontextprotocol/ui`): the resource
//! `ui://pixelsmith/studio` that `resources/list` and `resources/read` serve, and the `_meta`
//! that links the `pixelate` tool to it. Hosts without the extension see one resource and one
//! `_meta` field, nothing else changes.

use rmcp::ErrorData;
use rmcp::model::{MetaObject, ReadResourceResult, Resource, ResourceContents};
use serde_json::json;

use crate::studio::{self, MCP_APP_MIME, RESOURCE_URI};

/// The `pixelate` tool's `_meta`: `{"ui": {"resourceUri": "ui://pixelsmith/studio"}}`.
pub fn tool_meta() -> MetaObject {
    let mut meta = MetaObject::new();
    meta.0
        .insert("ui".into(), json!({ "resourceUri": RESOURCE_URI }));
    meta
}

/// What `resources/list` answers: the Studio page.
pub fn resources() -> Vec<Resource> {
    vec![
        Resource::new(RESOURCE_URI, "pixelsmith-studio")
            .with_title("Pixelsmith Studio")
            .with_description(
                "Interactive view of a `pixelate` result: the pixel art, its report and \
                 palette, and controls that re-run `pixelate` with other options.",
            )
            .with_mime_type(MCP_APP_MIME),
    ]
}

/// What `resources/read` answers for `uri`; an unknown URI is the protocol's resource-not-found
/// error (-32002), naming the one resource there is.
pub fn read(uri: &str) -> Result<ReadResourceResult, ErrorData> {
    if uri != RESOURCE_URI {
        return Err(ErrorData::resource_not_found(
            format!("no resource {uri}: this server has only {RESOURCE_URI}"),
            Some(json!({ "uri": uri })),
        ));
    }
    let mut meta = MetaObject::new();
    // The page needs no network in a host: the restrictive default CSP is what it wants.
    meta.0.insert("ui".into(), json!({ "prefersBorder": true }));
    Ok(ReadResourceResult::new(vec![
        ResourceContents::text(studio::for_mcp_app(), RESOURCE_URI)
            .with_mime_type(MCP_APP_MIME)
            .with_meta(meta),
    ]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_resource_reads_as_the_filled_page_and_others_are_not_found() {
        let read = read(RESOURCE_URI).unwrap();
        let ResourceContents::TextResourceContents {
            mime_type, text, ..
        } = &read.contents[0]
        else {
            panic!("text contents expected")
        };
        assert_eq!(mime_type.as_deref(), Some(MCP_APP_MIME));
        assert!(text.starts_with("<!doctype html>"));
        let err = super::read("ui://pixelsmith/nope").unwrap_err();
        assert_eq!(err.code, rmcp::model::ErrorCode::RESOURCE_NOT_FOUND);
    }
}
