//! One bound on every tool result's text, whatever the input: agents' clients refuse or cut
//! results over about 25,000 tokens (Claude Code's default `MAX_MCP_OUTPUT_TOKENS`), so a result
//! whose text (its text blocks and structured content) passes [`MAX_RESULT_CHARS`] is shortened
//! here, for every tool, before it is sent.
//!
//! Shortening keeps the result's shape, so it still matches the tool's output schema: long
//! strings in the structured content are cut (with `… (cut: N characters)`), then long lists
//! keep their first items, at limits that halve until the result fits; its JSON text copy is
//! written again from the shortened value, and a last text block says what was cut and how to
//! get all of it. Images are not text and are bounded where they are made (the preview cap).

use rmcp::model::{CallToolResult, ContentBlock};
use serde_json::Value;

/// The most characters of text a tool result carries: about 25,000 tokens at ~4 characters a
/// token, the budget the issue tracker and Claude Code agree on.
pub const MAX_RESULT_CHARS: usize = 100_000;

/// The note's room, kept free when fitting.
const NOTE_ROOM: usize = 400;

/// `result`, shortened when its text passes [`MAX_RESULT_CHARS`].
pub fn cap(mut result: CallToolResult) -> CallToolResult {
    let total = text_chars(&result);
    if total <= MAX_RESULT_CHARS {
        return result;
    }
    let budget = MAX_RESULT_CHARS - NOTE_ROOM;
    let note = match result.structured_content.take() {
        Some(structured) => {
            let copy = structured.to_string();
            // The structured content is sent twice (itself and its JSON copy in a text block);
            // other text blocks share at most half the budget.
            let is_copy = |t: &&rmcp::model::TextContent| t.text == copy;
            let texts = || result.content.iter().filter_map(ContentBlock::as_text);
            let copies = 1 + texts().filter(is_copy).count();
            let other_blocks = texts().filter(|t| !is_copy(t)).count().max(1);
            let others: usize = texts()
                .filter(|t| !is_copy(t))
                .map(|t| t.text.chars().count())
                .sum();
            let others_room = others.min(budget / 2);
            let (short, limits) = shrink(&structured, (budget - others_room) / copies);
            let short_text = short.to_string();
            for block in &mut result.content {
                if let ContentBlock::Text(text) = block {
                    if text.text == copy {
                        text.text = short_text.clone();
                    } else {
                        text.text = cut(&text.text, budget / 2 / other_blocks);
                    }
                }
            }
            result.structured_content = Some(short);
            format!(
                "this result was {total} characters, over the {MAX_RESULT_CHARS}-character limit \
                 for tool results; it was shortened (strings cut at {} characters, lists at their \
                 first {} items). Ask for less (fewer log lines, one deployment, a file `path`) \
                 to see all of it.",
                limits.0, limits.1
            )
        }
        None => {
            let blocks = result
                .content
                .iter()
                .filter(|b| b.as_text().is_some())
                .count()
                .max(1);
            for block in &mut result.content {
                if let ContentBlock::Text(text) = block {
                    text.text = cut(&text.text, budget / blocks);
                }
            }
            format!(
                "this result was {total} characters, over the {MAX_RESULT_CHARS}-character limit \
                 for tool results, and was cut; ask for less to see all of it."
            )
        }
    };
    result.content.push(ContentBlock::text(note));
    result
}

/// Every text character a result sends: text blocks and the structured content's JSON.
pub fn text_chars(result: &CallToolResult) -> usize {
    let blocks: usize = result
        .content
        .iter()
        .filter_map(ContentBlock::as_text)
        .map(|t| t.text.chars().count())
        .sum();
    blocks
        + result
            .structured_content
            .as_ref()
            .map_or(0, |v| v.to_string().chars().count())
}

/// `value` with strings and lists cut at the largest limits (halving from 4,096 characters and
/// 1,024 items) at which its JSON fits `budget` characters; returns the limits used.
fn shrink(value: &Value, budget: usize) -> (Value, (usize, usize)) {
    let (mut chars, mut items) = (4096usize, 1024usize);
    loop {
        let short = shrink_with(value, chars, items);
        if short.to_string().chars().count() <= budget || (chars <= 16 && items <= 1) {
            return (short, (chars, items));
        }
        chars = (chars / 2).max(16);
        items = (items / 2).max(1);
    }
}

fn shrink_with(value: &Value, chars: usize, items: usize) -> Value {
    match value {
        Value::String(text) => Value::String(cut(text, chars)),
        Value::Array(list) => Value::Array(
            list.iter()
                .take(items)
                .map(|v| shrink_with(v, chars, items))
                .collect(),
        ),
        Value::Object(fields) => Value::Object(
            fields
                .iter()
                .map(|(k, v)| (k.clone(), shrink_with(v, chars, items)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// `text` cut to at most `limit` characters (plus the note saying so).
fn cut(text: &str, limit: usize) -> String {
    match text.char_indices().nth(limit) {
        Some((at, _)) => format!(
            "{}… (cut: {} characters)",
            &text[..at],
            text.chars().count()
        ),
        None => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn structured(value: Value) -> CallToolResult {
        let mut result = CallToolResult::success(vec![ContentBlock::text(value.to_string())]);
        result.structured_content = Some(value);
        result
    }

    #[test]
    fn small_results_are_untouched() {
        let value = json!({"name": "app", "lines": ["a", "b"], "truncated_lines": 0});
        let result = cap(structured(value.clone()));
        assert_eq!(result.structured_content, Some(value));
        assert_eq!(result.content.len(), 1);
    }

    #[test]
    fn huge_structured_results_keep_their_shape_and_say_what_was_cut() {
        // 5,000 log lines of 300 characters and one 2 MB line: 3.5 MB of text.
        let mut lines: Vec<Value> = (0..5000)
            .map(|i| Value::String(format!("{i:05} {}", "x".repeat(294))))
            .collect();
        lines.insert(0, Value::String("y".repeat(2_000_000)));
        let value = json!({"name": "app", "lines": lines, "truncated_lines": 0, "ok": true});
        let result = cap(structured(value));
        assert!(
            text_chars(&result) <= MAX_RESULT_CHARS,
            "{}",
            text_chars(&result)
        );
        let short = result.structured_content.as_ref().unwrap();
        // Same keys and kinds: still valid against the tool's output schema.
        assert_eq!(short["name"], "app");
        assert_eq!(short["ok"], true);
        assert_eq!(short["truncated_lines"], 0);
        assert!(short["lines"].as_array().unwrap().len() > 10);
        assert!(
            short["lines"][0]
                .as_str()
                .unwrap()
                .contains("(cut: 2000000")
        );
        // The JSON copy is the shortened value, and the last block explains.
        let texts: Vec<&str> = result
            .content
            .iter()
            .filter_map(|b| b.as_text().map(|t| t.text.as_str()))
            .collect();
        assert_eq!(texts[0], short.to_string());
        assert!(texts.last().unwrap().contains("shortened"), "{texts:?}");
    }

    #[test]
    fn huge_text_only_results_are_cut() {
        let result = cap(CallToolResult::error(vec![ContentBlock::text(
            "e".repeat(1_000_000),
        )]));
        assert!(text_chars(&result) <= MAX_RESULT_CHARS);
        assert_eq!(result.is_error, Some(true));
    }
}
