//! Pixelsmith Studio: one self-contained web page (`studio.html`: inline CSS and JS, no network
//! besides the API it talks to) that serves two hosts.
//!
//! - The gateway serves it at `GET /` to browsers ([`wants_html`] decides from `Accept`; curl's
//!   `*/*` and `application/json` still get the module's JSON index). There it calls `/pixelate`,
//!   `/health`, `/palettes` and the index with `fetch`.
//! - The MCP server offers it as the MCP Apps resource [`RESOURCE_URI`] ([`MCP_APP_MIME`]), linked
//!   from the `pixelate` tool's `_meta.ui.resourceUri`. Agent hosts render it in a sandboxed
//!   iframe without network access, so [`for_mcp_app`] writes what the page would otherwise
//!   fetch (the option names and the built-in palettes) into its boot data; the page then speaks
//!   the extension's postMessage JSON-RPC to the host.

use serde_json::json;

use crate::engine::{self, palettes};

/// The page as written (empty boot data).
pub const HTML: &str = include_str!("studio.html");

/// The page's size budget in bytes, uncompressed (the issue's limit; a test holds it).
pub const SIZE_BUDGET: usize = 60 * 1024;

/// The MCP Apps resource URI of the page.
pub const RESOURCE_URI: &str = "ui://pixelsmith/studio";

/// The MIME type MCP Apps hosts render (extension `io.modelcontextprotocol/ui`, SEP-1865).
pub const MCP_APP_MIME: &str = "text/html;profile=mcp-app";

/// The extension's identifier in capability maps.
pub const MCP_APPS_EXTENSION: &str = "io.modelcontextprotocol/ui";

/// The placeholder the boot data replaces: the page parses this element's text as JSON.
const BOOT_TAG: &str = r#"<script id="boot" type="application/json">{}</script>"#;

/// The Content-Security-Policy the gateway sends with the page: its own inline code, images from
/// itself, `data:` and `blob:`, requests only to itself.
pub const GATEWAY_CSP: &str = "default-src 'none'; script-src 'unsafe-inline'; \
    style-src 'unsafe-inline'; img-src 'self' data: blob:; connect-src 'self'; base-uri 'none'; \
    form-action 'none'";

/// Whether a request with this `Accept` header should get the page rather than the JSON index:
/// only when `text/html` is named and not ranked below `application/json`. A missing header,
/// `*/*` (curl's default) and `application/json` keep the index.
pub fn wants_html(accept: Option<&str>) -> bool {
    let Some(accept) = accept else { return false };
    let mut html: Option<f32> = None;
    let mut json: Option<f32> = None;
    for item in accept.split(',') {
        let mut parts = item.split(';');
        let media = parts.next().unwrap_or("").trim().to_ascii_lowercase();
        let q = parts
            .filter_map(|p| p.trim().strip_prefix("q="))
            .find_map(|v| v.trim().parse::<f32>().ok())
            .unwrap_or(1.0);
        match media.as_str() {
            "text/html" | "application/xhtml+xml" => html = Some(html.unwrap_or(0.0).max(q)),
            "application/json" => json = Some(q),
            _ => {}
        }
    }
    match (html, json) {
        (Some(h), Some(j)) => h > 0.0 && h >= j,
        (Some(h), None) => h > 0.0,
        _ => false,
    }
}

/// The page with its boot data filled in for an MCP Apps host: the engine's option names and
/// `frame` (the `pixelate` tool takes each), the description of `detail` when the engine has it, the built-in
/// palettes and this version.
pub fn for_mcp_app() -> String {
    let options: Vec<&str> = engine::OPTION_NAMES
        .iter()
        .map(|(name, _)| *name)
        .chain(["frame"])
        .collect();
    let detail = engine::OPTION_NAMES
        .iter()
        .find(|(name, _)| *name == "detail")
        .map(|(_, about)| *about);
    let palettes: Vec<_> = palettes::BUILT_IN
        .iter()
        .map(|p| {
            let colors: Vec<String> = p.hex.iter().map(|v| format!("#{v:06x}")).collect();
            json!({ "name": p.name, "colors": colors })
        })
        .collect();
    let boot = json!({
        "options": options,
        "detail_about": detail,
        "palettes": palettes,
        "version": env!("CARGO_PKG_VERSION"),
    });
    // `<` never appears raw inside the script element, so no `</script>` can end it early.
    let text = boot.to_string().replace('<', "\\u003c");
    HTML.replacen(
        BOOT_TAG,
        &format!(r#"<script id="boot" type="application/json">{text}</script>"#),
        1,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_fits_its_size_budget() {
        assert!(
            HTML.len() <= SIZE_BUDGET,
            "studio.html is {} bytes, over the {SIZE_BUDGET} byte budget",
            HTML.len()
        );
        // Self-contained: no external scripts, styles or fonts.
        for needle in [
            "<script src",
            "stylesheet",
            "@import",
            "url(",
            "http://",
            "https://",
        ] {
            assert!(!HTML.contains(needle), "studio.html contains {needle:?}");
        }
    }

    #[test]
    fn browsers_get_the_page_and_api_clients_the_index() {
        let chrome = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,\
                      image/webp,*/*;q=0.8";
        assert!(wants_html(Some(chrome)));
        assert!(wants_html(Some("text/html")));
        for accept in [
            None,
            Some("*/*"),
            Some("application/json"),
            Some("application/json, text/html;q=0.5"),
            Some("text/html;q=0"),
            Some("text/*"),
        ] {
            assert!(!wants_html(accept), "{accept:?}");
        }
    }

    #[test]
    fn the_mcp_app_carries_options_and_palettes_in_its_boot_data() {
        let page = for_mcp_app();
        assert!(!page.contains(BOOT_TAG), "the boot data was not filled in");
        let start = page
            .find(r#"<script id="boot" type="application/json">"#)
            .unwrap();
        let rest = &page[start..];
        let json_text = &rest[rest.find('>').unwrap() + 1..rest.find("</script>").unwrap()];
        let boot: serde_json::Value = serde_json::from_str(json_text).unwrap();
        let options = boot["options"].as_array().unwrap();
        assert_eq!(options.len(), engine::OPTION_NAMES.len() + 1);
        assert!(options.contains(&json!("frame")));
        assert!(options.contains(&json!("palette")));
        let pico = boot["palettes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == "pico-8")
            .unwrap();
        assert_eq!(pico["colors"][0], "#000000");
        assert_eq!(pico["colors"].as_array().unwrap().len(), 16);
    }
}
