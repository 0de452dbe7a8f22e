//! Line framing in front of rmcp's stdio transport, so a line over the message limit gets an
//! answer instead of silence.
//!
//! rmcp drops a stdin line longer than its maximum without a word, and the client then waits
//! forever for the answer to that request. Here stdin is read first: lines within
//! [`MAX_MESSAGE_BYTES`] pass to rmcp unchanged; a longer line is drained (only its first and
//! last 64 KiB kept, to find its `"id"`) and answered with a JSON-RPC "invalid request" error
//! naming the limit and the `path` alternative, the same answer the HTTP transport gives. Both
//! rmcp's lines and these errors reach stdout whole, one line at a time, so they never interleave.

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
}
