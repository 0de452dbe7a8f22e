//! The `pixelate_batch` tool: many files and folders inside the allowed roots into one output
//! folder, optionally with one palette shared by all (a sprite set that matches). The planning
//! (folders, output names, clashes, inputs never overwritten) is the CLI's batch planner; every
//! input and output is also held to the roots. One progress notification per file when the
//! request has a progress token; cancelling the request stops the batch between files. The
//! answer is compact: a line per file and the shared palette, within the result size cap.

use std::path::PathBuf;
use std::time::Instant;

use rmcp::model::{ProgressNotificationParam, ProgressToken};
use rmcp::{Peer, RoleServer};
use schemars::JsonSchema;
use serde::Serialize;
use tokio_util::sync::CancellationToken;

use super::params::BatchParams;
use super::{Shared, reply};
use crate::engine::{self, Colors, Options};
use crate::pixelate::batch::{self, Job};

/// The most files one call may pixelate (more: split the call, or use the CLI).
pub const MAX_BATCH_FILES: usize = 200;

/// What `pixelate_batch` answers.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct BatchOutput {
    /// The folder the PNGs were written to (absolute).
    pub output_dir: String,
    /// Files pixelated and written.
    pub done: u32,
    /// Files that failed (each with its error in `files`).
    pub failed: u32,
    /// Files in the folders given whose header is not an image the engine reads (left alone).
    pub skipped: u32,
    /// Whether the request was cancelled before every file was done (files not reached are not
    /// listed).
    pub cancelled: bool,
    /// The palette every output uses when there is one (`shared_palette`, or a fixed `palette`),
    /// as `#rrggbb`; empty when each file got its own.
    pub palette: Vec<String>,
    /// One entry per file, in order.
    pub files: Vec<BatchFile>,
    pub elapsed_ms: f64,
}

/// One file of a batch.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct BatchFile {
    pub input: String,
    /// The file written: a PNG, or `<name>.gif` for an animated input (absent when it failed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output: Option<String>,
    pub ok: bool,
    /// Why it failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub grid_width: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub grid_height: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub colors_used: Option<u64>,
    /// For an animated input, written as an animated GIF: its frame count.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub frames: Option<u32>,
}

impl BatchFile {
    fn failed(job: &Job, error: String) -> Self {
        BatchFile {
            input: job.input.display().to_string(),
            output: None,
            ok: false,
            error: Some(error),
            grid_width: None,
            grid_height: None,
            colors_used: None,
            frames: None,
        }
    }
}

/// Runs a batch for the MCP server.
pub async fn run(
    shared: &Shared,
    params: BatchParams,
    progress: Option<ProgressToken>,
    peer: Peer<RoleServer>,
    cancel: CancellationToken,
) -> Result<BatchOutput, String> {
    let started = Instant::now();
    let mut options = params.engine_options().to_options()?;
    if params.paths.is_empty() {
        return Err("`paths` is empty: give the image files and folders to pixelate".into());
    }
    let inputs = params
        .paths
        .iter()
        .map(|p| shared.roots.resolve_existing(p))
        .collect::<Result<Vec<PathBuf>, _>>()
        .map_err(|e| reply::failure(&e))?;
    let out_dir = shared
        .roots
        .resolve_new(&params.output_dir)
        .map_err(|e| reply::failure(&e))?;
    if out_dir.exists() && !out_dir.is_dir() {
        return Err(format!(
            "`output_dir` {} is a file: name a folder (it is created when missing)",
            out_dir.display()
        ));
    }
    let recursive = params.recursive.unwrap_or(false);
    let plan = {
        let (inputs, out_dir) = (inputs.clone(), out_dir.clone());
        tokio::task::spawn_blocking(move || {
            batch::plan(&inputs, &out_dir, recursive, batch::Animations::default())
        })
        .await
        .map_err(|e| format!("internal: {e}"))?
        .map_err(|e| format!("{e:#}"))?
    };
    if plan.jobs.is_empty() {
        return Err(format!(
            "no images to pixelate in {}{}: give image files (PNG, JPEG, WebP, GIF, BMP) or \
             folders holding them (set `recursive` for subfolders)",
            params.paths.join(", "),
            match plan.skipped {
                0 => String::new(),
                n => format!(" ({n} files skipped: not images)"),
            }
        ));
    }
    if plan.jobs.len() > MAX_BATCH_FILES {
        return Err(format!(
            "{} files to pixelate, over the {MAX_BATCH_FILES} one call takes: split them over \
             several calls (name subfolders), or use the CLI (`pixelsmith pixelate DIR -o OUT`)",
            plan.jobs.len()
        ));
    }
    std::fs::create_dir_all(&out_dir)
        .map_err(|e| format!("cannot create {}: {e}", out_dir.display()))?;

    let total = plan.jobs.len()
        * if params.shared_palette == Some(true) {
            2
        } else {
            1
        };
    let notifier = Notifier {
        token: progress,
        peer,
        total: total as f64,
    };
    let mut files: Vec<Option<BatchFile>> = vec![None; plan.jobs.len()];
    // Inputs found in folders are held to the roots too (a symlinked file may point out).
    for (i, job) in plan.jobs.iter().enumerate() {
        let inside =
            std::fs::canonicalize(&job.input).is_ok_and(|real| shared.roots.contains(&real));
        if !inside {
            files[i] = Some(BatchFile::failed(
                job,
                format!("{} is outside the allowed roots", job.input.display()),
            ));
        }
    }

    let mut step = 0usize;
    let mut cancelled = false;
    if params.shared_palette == Some(true) {
        let mut samples = Vec::new();
        for (i, job) in plan.jobs.iter().enumerate() {
            if cancel.is_cancelled() {
                cancelled = true;
                break;
            }
            step += 1;
            if files[i].is_some() {
                continue;
            }
            let (input, sample_options) = (job.input.clone(), options.clone());
            match shared
                .run_engine(move || batch::sample(&input, &sample_options))
                .await
            {
                Ok(sample) => samples.push(sample),
                Err(err) => files[i] = Some(BatchFile::failed(job, reply::failure(&err))),
            }
            notifier
                .send(step, &format!("palette: {}", job.input.display()))
                .await;
        }
        if !cancelled {
            let palette =
                engine::shared_palette_from(&samples, &options).map_err(|e| e.to_string())?;
            options.colors = Colors::Palette(palette);
        }
    }

    if !cancelled {
        for (i, job) in plan.jobs.iter().enumerate() {
            if cancel.is_cancelled() {
                cancelled = true;
                break;
            }
            step += 1;
            if files[i].is_some() {
                continue;
            }
            files[i] = Some(one(shared, job, &options).await);
            let status = if files[i].as_ref().is_some_and(|f| f.ok) {
                "done"
            } else {
                "failed"
            };
            notifier
                .send(step, &format!("{status}: {}", job.input.display()))
                .await;
        }
    }

    let files: Vec<BatchFile> = files.into_iter().flatten().collect();
    let done = files.iter().filter(|f| f.ok).count() as u32;
    if done == 0 && !cancelled && !files.is_empty() {
        // Nothing was made: a failed call, whose text says why for each file.
        let reasons: Vec<String> = files
            .iter()
            .take(5)
            .map(|f| format!("{}: {}", f.input, f.error.as_deref().unwrap_or("failed")))
            .collect();
        return Err(format!(
            "every file failed ({}): {}{}",
            files.len(),
            reasons.join("; "),
            if files.len() > 5 { "; …" } else { "" }
        ));
    }
    let palette = match &options.colors {
        Colors::Palette(palette) => palette
            .colors
            .iter()
            .map(|[r, g, b]| format!("#{r:02x}{g:02x}{b:02x}"))
            .collect(),
        _ => Vec::new(),
    };
    Ok(BatchOutput {
        output_dir: out_dir.display().to_string(),
        done,
        failed: files.len() as u32 - done,
        skipped: plan.skipped as u32,
        cancelled,
        palette,
        files,
        elapsed_ms: started.elapsed().as_secs_f64() * 1000.0,
    })
}

/// Pixelates one file (its output held to the roots) and says how it went.
async fn one(shared: &Shared, job: &Job, options: &Options) -> BatchFile {
    if let Err(err) = shared.roots.resolve_new(&job.output) {
        // The output's folder may not exist yet (a subfolder of a recursive batch): its
        // containment is the output folder's, checked before; only a real refusal counts.
        if !matches!(err, crate::roots::Error::NoParent(_)) {
            return BatchFile::failed(job, reply::failure(&err));
        }
    }
    let (work, work_options) = (job.clone(), options.clone());
    match shared
        .run_engine(move || batch::one(&work, &work_options, batch::Animations::default()))
        .await
    {
        Ok(written) => {
            let (cols, rows, colours, _, frames) = written.summary();
            BatchFile {
                input: job.input.display().to_string(),
                output: Some(written.output().display().to_string()),
                ok: true,
                error: None,
                grid_width: Some(cols),
                grid_height: Some(rows),
                colors_used: Some(colours as u64),
                frames: frames.map(|f| f as u32),
            }
        }
        Err(err) => BatchFile::failed(job, reply::failure(&err)),
    }
}

/// Progress notifications, when the request asked for them.
struct Notifier {
    token: Option<ProgressToken>,
    peer: Peer<RoleServer>,
    total: f64,
}

impl Notifier {
    async fn send(&self, step: usize, message: &str) {
        let Some(token) = &self.token else { return };
        let note = ProgressNotificationParam::new(token.clone(), step as f64)
            .with_total(self.total)
            .with_message(message.to_string());
        if let Err(e) = self.peer.notify_progress(note).await {
            tracing::debug!("progress notification not sent: {e}");
        }
    }
}
