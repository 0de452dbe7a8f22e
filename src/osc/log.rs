//! The one line format of the deploy subcommands on stderr: progress reports and log lines (the
//! client's retries, rmcp, git) are all `tracing` events, written as
//!
//! ```text
//! [   1.2 s] INFO  publish: pushing main.wasm to branch osc-deploy of https://github.com/o/r
//! [   3.4 s] INFO  client: transient failure, retrying op=list My Apps pause=500ms
//! ```
//!
//! (seconds since the command started, level, the deploy step or the module that logged, the
//! message, then any other fields). Every line is scrubbed of tokens before it is written
//! ([`ScrubbedStderr`], which the MCP server's log uses too), so not even a dependency's trace
//! output (rmcp quoting a server's `WWW-Authenticate` challenge, say) can show one. `--quiet`
//! keeps only errors; otherwise `RUST_LOG` picks the level (default info, which includes
//! progress).

use std::fmt::Write as _;
use std::io::Write as _;
use std::time::Instant;

use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields, MakeWriter};
use tracing_subscriber::registry::LookupSpan;

use super::progress::Progress;
use super::secret::scrub;

/// The target progress reports are logged under.
const PROGRESS_TARGET: &str = "pixelsmith::osc::progress";

/// Sets up the stderr log for a deploy subcommand (once per process; later calls do nothing).
pub fn init(quiet: bool) {
    let filter = if quiet {
        // rmcp logs a failed MCP transport as an ERROR of its own (a 502 that our client then
        // retries): whatever it means for the command is our error, reported once.
        tracing_subscriber::EnvFilter::new("error,rmcp=off")
    } else {
        // rmcp's own INFO lines (session set up, task cancelled, session deleted) are its
        // bookkeeping for the MCP client that restarts My Apps, not steps of the deploy.
        tracing_subscriber::EnvFilter::try_from_default_env()
            .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,rmcp=warn"))
    };
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(ScrubbedStderr)
        .with_ansi(false)
        .event_format(Line {
            started: Instant::now(),
        })
        .try_init();
}

/// Logs a deploy progress report as an INFO line labelled with its step.
pub fn progress(p: &Progress) {
    tracing::info!(target: PROGRESS_TARGET, step = p.step.label(), "{}", p.message);
}

/// The formatter behind [`init`].
struct Line {
    started: Instant,
}

impl<S, N> FormatEvent<S, N> for Line
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        _ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> std::fmt::Result {
        let mut fields = Fields::default();
        event.record(&mut fields);
        let meta = event.metadata();
        writeln!(
            writer,
            "{}",
            render(
                self.started.elapsed().as_secs_f64(),
                &meta.level().to_string(),
                meta.target(),
                fields
            )
        )
    }
}

/// A `tracing` writer to stderr that scrubs every token this process knows (see
/// [`scrub`]) from each event before writing it.
#[derive(Debug, Clone, Copy, Default)]
pub struct ScrubbedStderr;

impl<'a> MakeWriter<'a> for ScrubbedStderr {
    type Writer = ScrubbedEvent;

    fn make_writer(&'a self) -> Self::Writer {
        ScrubbedEvent(Vec::new())
    }
}

/// One event's text, written to stderr scrubbed when it is dropped (the formatter writes a whole
/// event to one writer, so a token is never split between two).
#[derive(Debug)]
pub struct ScrubbedEvent(Vec<u8>);

impl std::io::Write for ScrubbedEvent {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for ScrubbedEvent {
    fn drop(&mut self) {
        if !self.0.is_empty() {
            let text = scrub(&String::from_utf8_lossy(&self.0));
            let _ = std::io::stderr().lock().write_all(text.as_bytes());
        }
    }
}

/// One line: `[elapsed] LEVEL label: message k=v ...`.
fn render(elapsed_s: f64, level: &str, target: &str, fields: Fields) -> String {
    let label = fields
        .step
        .or(fields.log_target)
        .unwrap_or_else(|| label_of(target));
    let mut line = format!(
        "[{elapsed_s:>6.1} s] {level:<5} {label}: {}",
        fields.message
    );
    for (key, value) in fields.rest {
        let _ = write!(line, " {key}={value}");
    }
    line
}

/// `pixelsmith::osc::client` → `client`; other crates keep their full target.
fn label_of(target: &str) -> String {
    match target.strip_prefix("pixelsmith::") {
        Some(rest) => rest.rsplit("::").next().unwrap_or(rest).to_owned(),
        None => target.to_owned(),
    }
}

/// An event's message, its `step` (progress reports), the target of a `log` crate record (such
/// records arrive with target "log"), and its other fields in order.
#[derive(Default)]
struct Fields {
    message: String,
    step: Option<String>,
    log_target: Option<String>,
    rest: Vec<(&'static str, String)>,
}

impl Fields {
    fn put(&mut self, name: &'static str, value: String) {
        match name {
            "message" => self.message = value,
            "step" => self.step = Some(value),
            "log.target" => self.log_target = Some(value),
            // Where a `log` record was written: noise on a user's terminal.
            "log.module_path" | "log.file" | "log.line" => {}
            name => self.rest.push((name, value)),
        }
    }
}

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.put(field.name(), value.to_owned());
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.put(field.name(), format!("{value:?}"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_and_log_lines_share_one_shape() {
        let progress = Fields {
            message: "pushing main.wasm".into(),
            step: Some("publish".into()),
            ..Fields::default()
        };
        assert_eq!(
            render(1.24, "INFO", PROGRESS_TARGET, progress),
            "[   1.2 s] INFO  publish: pushing main.wasm"
        );
        let log = Fields {
            message: "transient failure, retrying".into(),
            rest: vec![("op", "list My Apps".into()), ("pause", "500ms".into())],
            ..Fields::default()
        };
        assert_eq!(
            render(12.0, "WARN", "pixelsmith::osc::client", log),
            "[  12.0 s] WARN  client: transient failure, retrying op=list My Apps pause=500ms"
        );
        assert_eq!(label_of("rmcp::service"), "rmcp::service");
        let mut bridged = Fields::default();
        bridged.put("message", "starting new connection".into());
        bridged.put("log.target", "reqwest::connect".into());
        bridged.put("log.file", "/x/connect.rs".into());
        assert_eq!(
            render(0.0, "DEBUG", "log", bridged),
            "[   0.0 s] DEBUG reqwest::connect: starting new connection"
        );
    }
}
