//! `pixelsmith pixelate a.png b.png sprites/ -o out/`: many files at once. Plans the jobs (files,
//! folders, output names, refusing clashes and inputs overwritten before any work), runs them on
//! rayon's pool, reports progress (a bar on a terminal, plain lines otherwise, JSON lines with
//! `--json`) and sums up. A file that fails is reported once and the rest still finish. The
//! pixel work itself is the engine's; with `--shared-palette` the engine also builds the palette.

use std::collections::HashMap;
use std::io::{IsTerminal, Read};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use rayon::prelude::*;

use super::cli::{Args, FormatArg};
use super::{Error, palette_file};
use crate::engine::animation::{self, AnimationFormat, AnimationReport};
use crate::engine::{self, Colors, Options, Palette};

/// One file to pixelate and where its PNG goes.
#[derive(Debug, Clone)]
pub(crate) struct Job {
    pub(crate) input: PathBuf,
    pub(crate) output: PathBuf,
}

/// What a batch makes of an animated input (GIF, APNG, WebP of more than one frame).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Animations {
    /// Only this frame of every input, as a still PNG (frame 0 of a still is the still).
    pub(crate) frame: Option<usize>,
    /// The animated format: GIF (`<name>.gif`, the default) or APNG (`<name>.png`).
    pub(crate) format: Option<AnimationFormat>,
    /// `--format png`: stills only, an animation without `frame` is refused.
    pub(crate) stills_only: bool,
}

impl Animations {
    /// Whether `input` would be written as `<name>.gif`: an animation (more than one frame) with
    /// neither a frame picked nor another format asked. Reads the file's headers; a file that
    /// cannot be read counts as a still (it then fails on its own).
    fn writes_gif(self, input: &Path) -> bool {
        if self.frame.is_some() || self.stills_only || self.format == Some(AnimationFormat::Apng) {
            return false;
        }
        let options = Options::default();
        super::read_input(input, options.limits.max_input_bytes)
            .ok()
            .and_then(|bytes| animation::frame_count(&bytes, &options).ok().flatten())
            .is_some_and(|frames| frames > 1)
    }

    /// From `--frame` and `--format`.
    fn from_args(args: &Args) -> Self {
        Animations {
            frame: args.frame.map(|f| f as usize),
            format: match args.format {
                Some(FormatArg::Apng) => Some(AnimationFormat::Apng),
                Some(FormatArg::Gif) => Some(AnimationFormat::Gif),
                _ => None,
            },
            stills_only: matches!(args.format, Some(FormatArg::Png)),
        }
    }
}

/// What one job wrote: a still PNG or an animation, and where.
#[derive(Debug, Clone)]
pub(crate) enum Written {
    Still {
        output: PathBuf,
        report: engine::Report,
    },
    Animation {
        output: PathBuf,
        report: AnimationReport,
    },
}

impl Written {
    pub(crate) fn output(&self) -> &Path {
        match self {
            Written::Still { output, .. } | Written::Animation { output, .. } => output,
        }
    }

    /// (grid width, grid height, colours, engine milliseconds, frames for an animation).
    pub(crate) fn summary(&self) -> (u32, u32, usize, f64, Option<usize>) {
        match self {
            Written::Still { report: r, .. } => (
                r.grid_width,
                r.grid_height,
                r.colors_used,
                r.timings.total_ms,
                None,
            ),
            Written::Animation { report: r, .. } => (
                r.grid_width,
                r.grid_height,
                r.colors_used,
                r.timings.total_ms,
                Some(r.frame_count),
            ),
        }
    }

    fn to_json(&self) -> serde_json::Value {
        match self {
            Written::Still { report, .. } => serde_json::to_value(report),
            Written::Animation { report, .. } => serde_json::to_value(report),
        }
        .unwrap_or_default()
    }
}

/// The jobs a command line (or the MCP `pixelate_batch` tool) asks for.
#[derive(Debug, Default)]
pub(crate) struct Plan {
    pub(crate) jobs: Vec<Job>,
    /// Files in the folders given whose header is no image the engine reads.
    pub(crate) skipped: usize,
}

/// How many header bytes decide whether a file in a folder is an image: the probe needs the
/// signature and, for JPEG, the frame header, which follows EXIF and ICC segments.
const HEADER_BYTES: u64 = 64 * 1024;

/// Runs a batch: `args.inputs` (files and folders) into the folder `args.output`.
pub(super) fn run(args: &Args, mut options: Options) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    let out_dir = out_dir(args)?;
    if args.palette_out.is_some()
        && !args.shared_palette
        && !matches!(options.colors, Colors::Palette(_))
    {
        anyhow::bail!(
            "--palette-out with several inputs writes the palette they share: add \
             --shared-palette (or give --palette)"
        );
    }
    let plan = plan(
        &args.inputs,
        &out_dir,
        args.recursive,
        Animations::from_args(args),
    )?;
    if let Some(path) = &args.palette_out {
        for job in &plan.jobs {
            super::check_not_input(&job.input, path)?;
        }
    }
    std::fs::create_dir_all(&out_dir).map_err(|source| Error::Write {
        path: out_dir.clone(),
        source,
    })?;
    let progress = Progress::new(args.json, plan.jobs.len());
    let mut failed: Vec<bool> = vec![false; plan.jobs.len()];

    let mut palette_note = String::new();
    if args.shared_palette {
        progress.phase("palette", 0);
        let samples: Vec<Result<engine::PaletteSample, Error>> = plan
            .jobs
            .par_iter()
            .map(|job| {
                let sample = sample(&job.input, &options);
                progress.step();
                sample
            })
            .collect();
        let mut ok = Vec::with_capacity(samples.len());
        for (i, sample) in samples.into_iter().enumerate() {
            match sample {
                Ok(s) => ok.push(s),
                Err(err) => {
                    failed[i] = true;
                    progress.failed(&plan.jobs[i], &err);
                }
            }
        }
        let palette = engine::shared_palette_from(&ok, &options)?;
        options.colors = Colors::Palette(palette);
        progress.phase("pixelate", failed.iter().filter(|&&f| f).count());
    }
    if let (Some(path), Colors::Palette(palette)) = (&args.palette_out, &options.colors) {
        let palette = Palette {
            name: palette.name.clone(),
            colors: palette.colors.clone(),
        };
        palette_file::write(&palette, path)?;
        palette_note = format!(
            "; palette of {} colours in {}",
            palette.colors.len(),
            path.display()
        );
    }

    let failures = AtomicUsize::new(failed.iter().filter(|&&f| f).count());
    let animations = Animations::from_args(args);
    plan.jobs
        .par_iter()
        .zip(&failed)
        .filter(|&(_, &f)| !f)
        .for_each(|(job, _)| match one(job, &options, animations) {
            Ok(written) => progress.done(job, &written),
            Err(err) => {
                failures.fetch_add(1, Ordering::Relaxed);
                progress.failed(job, &err);
            }
        });
    progress.finish();

    let failures = failures.into_inner();
    let total = plan.jobs.len();
    if !args.json {
        let skipped = match plan.skipped {
            0 => String::new(),
            n => format!(", {n} skipped (not images)"),
        };
        println!(
            "{} done, {failures} failed{skipped} of {total} files into {} in {:.2} s{palette_note}",
            total - failures,
            out_dir.display(),
            started.elapsed().as_secs_f64()
        );
    }
    Ok(if failures > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// The output folder: `-o`, which must not be stdout or an existing non-folder.
fn out_dir(args: &Args) -> anyhow::Result<PathBuf> {
    let Some(dir) = args.output.clone() else {
        if let [only] = args.inputs.as_slice() {
            anyhow::bail!(
                "{} is a directory: to pixelate the images in it, give -o DIR, a folder for \
                 the outputs (and --recursive for its subfolders)",
                only.display()
            );
        }
        anyhow::bail!(
            "several inputs need -o DIR, a folder for the outputs (each written as <name>.png)"
        );
    };
    if dir == Path::new("-") {
        anyhow::bail!("several inputs cannot all go to stdout: give -o DIR, a folder");
    }
    if dir.exists() && !dir.is_dir() {
        anyhow::bail!(
            "-o {} is not a folder: with several inputs or a folder, -o names the folder the \
             outputs go to",
            dir.display()
        );
    }
    Ok(dir)
}

/// Expands folders, names every output and refuses, before any work, an output that two inputs
/// would share or that is an input itself.
pub(crate) fn plan(
    inputs: &[PathBuf],
    out_dir: &Path,
    recursive: bool,
    animations: Animations,
) -> anyhow::Result<Plan> {
    let mut found: Vec<(PathBuf, PathBuf)> = Vec::new(); // (input, sub-folder of the output)
    let mut skipped = 0;
    for input in inputs {
        if input == Path::new("-") {
            anyhow::bail!("`-` (stdin) can only be pixelated alone");
        }
        if input.is_dir() {
            walk(input, Path::new(""), recursive, &mut found, &mut skipped)?;
        } else {
            // Named files are taken as they are; a missing or broken one fails on its own.
            found.push((input.clone(), PathBuf::new()));
        }
    }
    let mut seen_inputs = Vec::new();
    let mut by_output: HashMap<PathBuf, PathBuf> = HashMap::new();
    let mut jobs = Vec::new();
    // Every clash at once: fixing them one run at a time is tedious.
    let mut clashes = Vec::new();
    for (input, sub) in found {
        let real = std::fs::canonicalize(&input).unwrap_or_else(|_| input.clone());
        if seen_inputs.contains(&real) {
            continue; // the same file named twice (`sprites/ sprites/a.png`)
        }
        seen_inputs.push(real);
        let stem = input
            .file_stem()
            .map_or("image".into(), |s| s.to_string_lossy().into_owned());
        let output = out_dir.join(sub).join(format!("{stem}.png"));
        // Keyed by the stem: an animation takes `<stem>.gif` instead, known only once read. Two
        // inputs sharing a stem (`walk.gif`, `walk.png`) are read to see whether one of them
        // becomes `<stem>.gif`.
        if let Some(other) = by_output.get(&output).cloned() {
            let gif = output.with_extension("gif");
            let (mine, theirs) = (animations.writes_gif(&input), animations.writes_gif(&other));
            if mine != theirs {
                let (gif_input, png_input) = if mine {
                    (input.clone(), other)
                } else {
                    (other, input.clone())
                };
                by_output.insert(output.clone(), png_input);
                if let Some(third) = by_output.insert(gif.clone(), gif_input) {
                    clashes.push(format!(
                        "{} and {} would both be written as {}",
                        third.display(),
                        input.display(),
                        gif.display()
                    ));
                    continue;
                }
                jobs.push(Job { input, output });
                continue;
            }
        }
        if let Some(other) = by_output.insert(output.clone(), input.clone()) {
            clashes.push(format!(
                "{} and {} would both be written as {} (or as {} for an animation)",
                other.display(),
                input.display(),
                output.display(),
                output.with_extension("gif").display()
            ));
            continue;
        }
        jobs.push(Job { input, output });
    }
    if !clashes.is_empty() {
        anyhow::bail!(
            "{}: rename one of each pair, or pixelate them in separate runs",
            clashes.join("; ")
        );
    }
    for job in &jobs {
        if let Ok(real) = std::fs::canonicalize(&job.output)
            && seen_inputs.contains(&real)
        {
            anyhow::bail!(
                "refusing to write {}: it is one of the inputs; give another output folder \
                 (`output_dir`, or -o on the command line)",
                job.output.display()
            );
        }
    }
    Ok(Plan { jobs, skipped })
}

/// The image files of `dir` (by name order), descending into subfolders when `recursive`.
/// Symlinked folders are not descended into, so a link loop cannot make the walk endless.
fn walk(
    dir: &Path,
    sub: &Path,
    recursive: bool,
    found: &mut Vec<(PathBuf, PathBuf)>,
    skipped: &mut usize,
) -> anyhow::Result<()> {
    let read_err = |source| Error::Read {
        path: dir.to_path_buf(),
        source,
    };
    let mut entries: Vec<std::fs::DirEntry> = std::fs::read_dir(dir)
        .map_err(read_err)?
        .collect::<Result<_, _>>()
        .map_err(read_err)?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let path = entry.path();
        let is_link = entry.file_type().is_ok_and(|t| t.is_symlink());
        if path.is_dir() {
            if recursive && !is_link {
                walk(&path, &sub.join(entry.file_name()), true, found, skipped)?;
            }
        } else if path.is_file() {
            if looks_like_image(&path) {
                found.push((path, sub.to_path_buf()));
            } else {
                *skipped += 1;
            }
        }
    }
    Ok(())
}

/// Whether the engine's probe recognises the file's header. A file that cannot be read is taken,
/// so its error is reported rather than hidden.
fn looks_like_image(path: &Path) -> bool {
    let mut head = Vec::new();
    let read = std::fs::File::open(path).and_then(|f| f.take(HEADER_BYTES).read_to_end(&mut head));
    if read.is_err() {
        return true;
    }
    !matches!(
        engine::probe(&head),
        Err(engine::Error::Empty
            | engine::Error::UnsupportedFormat { .. }
            | engine::Error::NotInThisBuild { .. })
    )
}

/// One input's palette points for the shared palette.
pub(crate) fn sample(input: &Path, options: &Options) -> Result<engine::PaletteSample, Error> {
    let bytes = super::read_input(input, options.limits.max_input_bytes)?;
    engine::palette_sample(&bytes, options).map_err(|source| Error::Engine {
        path: input.to_path_buf(),
        source,
    })
}

/// Pixelates one job and writes its output: a PNG, or for an animated input an animation
/// (`<name>.gif`, or the job's `<name>.png` as APNG) unless `animations.frame` picks one frame.
pub(crate) fn one(job: &Job, options: &Options, animations: Animations) -> Result<Written, Error> {
    let bytes = super::read_input(&job.input, options.limits.max_input_bytes)?;
    let engine_err = |source| Error::Engine {
        path: job.input.clone(),
        source,
    };
    let frames = match animations.frame {
        Some(_) => None,
        None => animation::frame_count(&bytes, options).map_err(engine_err)?,
    };
    let written = match frames {
        Some(n) if n > 1 => {
            if animations.stills_only {
                return Err(engine_err(engine::Error::InvalidOption {
                    name: "format",
                    detail: format!(
                        "the file is an animation of {n} frames and --format png makes stills: \
                         drop --format png to write it as an animated GIF, or pick one frame \
                         with --frame N (0..={})",
                        n - 1
                    ),
                }));
            }
            let format = animations.format.unwrap_or(AnimationFormat::Gif);
            let output = job.output.with_extension(format.extension());
            super::check_not_input(&job.input, &output)?;
            let done =
                animation::pixelate_animation(&bytes, options, format).map_err(engine_err)?;
            write_job(&output, &done.bytes)?;
            Written::Animation {
                output,
                report: done.report,
            }
        }
        _ => {
            super::check_not_input(&job.input, &job.output)?;
            let done = match animations.frame {
                Some(index) => animation::pixelate_frame(&bytes, index, options),
                None => engine::pixelate(&bytes, options),
            }
            .map_err(engine_err)?;
            write_job(&job.output, &done.png)?;
            Written::Still {
                output: job.output.clone(),
                report: done.report,
            }
        }
    };
    Ok(written)
}

/// Writes one output, creating its folder (a subfolder of a recursive batch) first.
fn write_job(output: &Path, bytes: &[u8]) -> Result<(), Error> {
    if let Some(parent) = output.parent() {
        std::fs::create_dir_all(parent).map_err(|source| Error::Write {
            path: output.to_path_buf(),
            source,
        })?;
    }
    super::write_output(output, bytes)
}

/// Where progress goes: a bar on a terminal, one line per file on a pipe, JSON lines (and errors
/// alone on stderr) with `--json`. Shared by rayon's threads: the bar is thread-safe and each
/// line is written with one locked call, so lines never interleave.
enum Progress {
    Bar(ProgressBar),
    Lines { total: usize, done: AtomicUsize },
    Json,
}

impl Progress {
    fn new(json: bool, total: usize) -> Self {
        if json {
            return Progress::Json;
        }
        if std::io::stderr().is_terminal() {
            let bar =
                ProgressBar::with_draw_target(Some(total as u64), ProgressDrawTarget::stderr());
            bar.set_style(
                ProgressStyle::with_template(
                    "{spinner} {prefix:>9} [{bar:32}] {pos}/{len} {elapsed} {wide_msg}",
                )
                .expect("the template is valid")
                .progress_chars("=> "),
            );
            bar.set_prefix("pixelate");
            bar.tick();
            return Progress::Bar(bar);
        }
        Progress::Lines {
            total,
            done: AtomicUsize::new(0),
        }
    }

    /// A new pass over the files (`palette`, then `pixelate`): the bar starts again, at the files
    /// already failed.
    fn phase(&self, name: &'static str, start: usize) {
        if let Progress::Bar(bar) = self {
            bar.set_prefix(name);
            bar.set_position(start as u64);
        }
    }

    /// One file passed a phase that prints nothing per file (the palette pass).
    fn step(&self) {
        if let Progress::Bar(bar) = self {
            bar.inc(1);
        }
    }

    fn done(&self, job: &Job, written: &Written) {
        match self {
            Progress::Bar(bar) => {
                bar.set_message(job.input.display().to_string());
                bar.inc(1);
            }
            Progress::Lines { total, done } => {
                let n = done.fetch_add(1, Ordering::Relaxed) + 1;
                let (cols, rows, colours, ms, frames) = written.summary();
                let frames = frames.map_or(String::new(), |f| format!("{f} frames, "));
                eprintln!(
                    "[{n}/{total}] {} → {} ({frames}grid {cols}x{rows}, {colours} colours, {ms:.1} ms)",
                    job.input.display(),
                    written.output().display(),
                );
            }
            Progress::Json => {
                let mut value = written.to_json();
                value["input"] = job.input.display().to_string().into();
                value["output"] = written.output().display().to_string().into();
                println!("{value}");
            }
        }
    }

    /// A file failed: said once, with its name and the engine's message.
    fn failed(&self, job: &Job, err: &Error) {
        match self {
            Progress::Bar(bar) => {
                bar.println(format!("error: {err}"));
                bar.inc(1);
            }
            Progress::Lines { total, done } => {
                let n = done.fetch_add(1, Ordering::Relaxed) + 1;
                eprintln!("[{n}/{total}] error: {err}");
            }
            Progress::Json => {
                eprintln!("error: {err}");
                let value = serde_json::json!({
                    "input": job.input.display().to_string(),
                    "error": err.to_string(),
                    "code": error_code(err),
                });
                println!("{value}");
            }
        }
    }

    fn finish(&self) {
        if let Progress::Bar(bar) = self {
            bar.finish_and_clear();
        }
    }
}

/// The `code` of a failed file in `--json` lines: the engine's code, else `read_failed` or
/// `write_failed`.
pub(super) fn error_code(err: &Error) -> &'static str {
    match err {
        Error::Engine { source, .. } => source.code(),
        Error::Read { .. } => "read_failed",
        _ => "write_failed",
    }
}
