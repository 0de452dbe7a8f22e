//! Line framing in front of rmcp's stdio transport, so a line over the message limit gets an
//! answer instead of silence.
//!
//! rmcp drops a stdin line longer than its maximum without a word, and the client then waits
//! forever for the answer to that request. Here stdin is read first: lines within
//! [`MAX_MESSAGE_BYTES`] pass to rmcp unchanged; a longer line is drained (only its first and
//! last 64 KiB kept, to find its `"id"`) and answered with a JSON-RPC "invalid request" error
//! naming the limit and the `path` alternative, the same answer the HTTP transport gives. A line
//! that is not JSON gets a "parse error", and a JSON array (a batch, which MCP dropped in
//! 2025-06-18) an "invalid request": rmcp would drop the first silently and answer the second
//! without an id. The parse error carries the request's id when it can be found in the text, so
//! the client is not left waiting; the batch's answer has a null id. Both rmcp's lines and these
//! errors reach stdout whole, one line at a time, so they never interleave.

use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader, DuplexStream};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::limits::{MAX_MESSAGE_BYTES, Oversized};

/// Pipe capacity between this layer and rmcp.
const PIPE_BYTES: usize = 256 * 1024;

/// The two ends rmcp's transport uses, and the tasks behind them (await `done` after the
/// session so every answer is written before the process exits).
pub struct Framed {
    /// What rmcp reads: stdin without oversized lines.
    pub input: DuplexStream,
    /// What rmcp writes: copied to stdout line by line.
    pub output: DuplexStream,
    /// Ends when stdout has everything rmcp and this layer wrote.
    pub done: JoinHandle<()>,
}

/// Puts the framing between `stdin`/`stdout` and rmcp.
pub fn frame<R, W>(stdin: R, stdout: W) -> Framed
where
    R: AsyncRead + Unpin + Send + 'static,
    W: AsyncWrite + Unpin + Send + 'static,
{
    let (input, rmcp_reads) = tokio::io::duplex(PIPE_BYTES);
    let (rmcp_writes, output) = tokio::io::duplex(PIPE_BYTES);
    let (errors, error_lines) = mpsc::channel::<String>(16);
    tokio::spawn(filter_lines(stdin, input, errors, MAX_MESSAGE_BYTES));
    let done = tokio::spawn(merge_output(output, error_lines, stdout));
    Framed {
        input: rmcp_reads,
        output: rmcp_writes,
        done,
    }
}

/// Copies `stdin` to `to_rmcp` line by line; a line over `limit` bytes is replaced by an error
/// answer sent on `errors`.
async fn filter_lines<R, W>(stdin: R, mut to_rmcp: W, errors: mpsc::Sender<String>, limit: usize)
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let mut reader = BufReader::with_capacity(64 * 1024, stdin);
    let mut line: Vec<u8> = Vec::new();
    let mut oversized: Option<Oversized> = None;
    loop {
        let chunk = match reader.fill_buf().await {
            Ok([]) | Err(_) => break,
            Ok(chunk) => chunk,
        };
        let (piece, ends_line) = match chunk.iter().position(|&b| b == b'\n') {
            Some(at) => (&chunk[..=at], true),
            None => (chunk, false),
        };
        let used = piece.len();
        match &mut oversized {
            Some(big) => big.add(piece),
            None if line.len() + piece.len() > limit + 1 => {
                let mut big = Oversized::default();
                big.add(&line);
                big.add(piece);
                line = Vec::new();
                oversized = Some(big);
            }
            None => line.extend_from_slice(piece),
        }
        reader.consume(used);
        if ends_line {
            if let Some(big) = oversized.take() {
                let mut answer = big.answer(Some(big.bytes())).to_string();
                answer.push('\n');
                let _ = errors.send(answer).await;
            } else if let Some(answer) = refusal(&line) {
                let _ = errors.send(answer).await;
            } else if to_rmcp.write_all(&line).await.is_err() {
                break;
            }
            line.clear();
        }
    }
    // A last line without a newline still goes to rmcp (it decides what it is).
    if !line.is_empty() {
        let _ = to_rmcp.write_all(&line).await;
    }
    let _ = to_rmcp.shutdown().await;
}

/// The error answer (one line) for a line rmcp cannot take: not JSON, or a batch array. `None`
/// for a JSON object and for blank lines (passed on).
fn refusal(line: &[u8]) -> Option<String> {
    let text = line.trim_ascii();
    if text.is_empty() {
        return None;
    }
    let (code, message) = match serde_json::from_slice::<serde::de::IgnoredAny>(text) {
        Err(e) => (
            -32700,
            format!(
                "Parse error: the line is not valid JSON ({e}); send one JSON-RPC message per \
                 line, ending in a newline"
            ),
        ),
        Ok(_) if text.starts_with(b"[") => (
            -32600,
            "Invalid request: batches (JSON arrays) are not part of MCP since 2025-06-18; send \
             each request as its own line"
                .to_string(),
        ),
        Ok(_) => return None,
    };
    // A batch holds several ids: its answer has none (null), as JSON-RPC asks.
    let id = if code == -32600 {
        serde_json::Value::Null
    } else {
        super::limits::find_id(text, &[])
    };
    let answer = serde_json::json!({
        "jsonrpc": "2.0",
        "id": id,
        "error": {"code": code, "message": message},
    });
    Some(format!("{answer}\n"))
}

/// Writes rmcp's lines and the error lines to `stdout`, each whole, until rmcp's side closes.
async fn merge_output<R, W>(from_rmcp: R, mut errors: mpsc::Receiver<String>, mut stdout: W)
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let mut lines = BufReader::with_capacity(64 * 1024, from_rmcp);
    let mut line = Vec::new();
    let mut errors_open = true;
    loop {
        tokio::select! {
            read = lines.read_until(b'\n', &mut line) => {
                match read {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {
                        if stdout.write_all(&line).await.is_err() {
                            return;
                        }
                        line.clear();
                    }
                }
            }
            error = errors.recv(), if errors_open => match error {
                Some(error) => {
                    if stdout.write_all(error.as_bytes()).await.is_err() {
                        return;
                    }
                }
                None => errors_open = false,
            },
        }
        let _ = stdout.flush().await;
    }
    if !line.is_empty() {
        let _ = stdout.write_all(&line).await;
    }
    let _ = stdout.flush().await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncReadExt;

    #[tokio::test]
    async fn oversized_lines_are_answered_and_the_rest_pass_whole() {
        let big = format!(
            "{{\"jsonrpc\":\"2.0\",\"id\":9,\"method\":\"tools/call\",\"params\":{{\"x\":\"{}\"}}}}\n",
            "A".repeat(300_000)
        );
        let input = format!("{{\"id\":1}}\n{big}{{\"id\":2}}\n");
        let (mut to_rmcp, mut rmcp_reads) = tokio::io::duplex(1 << 20);
        let (errors, mut answers) = mpsc::channel(4);
        let filter = filter_lines(input.as_bytes(), &mut to_rmcp, errors, 100_000);
        filter.await;
        drop(to_rmcp);
        let mut passed = String::new();
        rmcp_reads.read_to_string(&mut passed).await.unwrap();
        assert_eq!(passed, "{\"id\":1}\n{\"id\":2}\n");
        let answer: serde_json::Value =
            serde_json::from_str(answers.recv().await.unwrap().trim_end()).unwrap();
        assert_eq!(answer["id"], 9);
        assert_eq!(answer["error"]["code"], -32600);
        let message = answer["error"]["message"].as_str().unwrap();
        assert!(message.contains(&big.len().to_string()), "{message}");
    }

    #[tokio::test]
    async fn broken_json_and_batches_are_answered_not_dropped() {
        let input = concat!(
            "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"ping\"\n",
            "[{\"jsonrpc\":\"2.0\",\"id\":6,\"method\":\"ping\"}]\n",
            "\n",
            "{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"ping\"}\n",
        );
        let (mut to_rmcp, mut rmcp_reads) = tokio::io::duplex(1 << 16);
        let (errors, mut answers) = mpsc::channel(4);
        filter_lines(input.as_bytes(), &mut to_rmcp, errors, 100_000).await;
        drop(to_rmcp);
        let mut passed = String::new();
        rmcp_reads.read_to_string(&mut passed).await.unwrap();
        assert_eq!(
            passed,
            "\n{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"ping\"}\n"
        );
        let mut next = async || -> serde_json::Value {
            serde_json::from_str(answers.recv().await.unwrap().trim_end()).unwrap()
        };
        let broken = next().await;
        assert_eq!(
            (broken["id"].clone(), broken["error"]["code"].clone()),
            (7.into(), (-32700).into())
        );
        let batch = next().await;
        assert_eq!(batch["error"]["code"], -32600);
        assert!(batch["id"].is_null() && batch.as_object().unwrap().contains_key("id"));
        assert!(
            batch["error"]["message"]
                .as_str()
                .unwrap()
                .contains("batch")
        );
    }
}
