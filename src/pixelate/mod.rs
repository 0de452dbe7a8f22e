//! The `pixelate` verb around the engine: reading the source (a file or stdin) within the byte
//! limit, running the engine, and writing the PNG atomically. Roots and URLs are the MCP layer's
//! business; this module takes paths it is given.

pub mod animate;
pub(crate) mod batch;
pub mod cli;
pub mod palette_file;

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use crate::engine::{self, Options, Pixelated};

/// Why a pixelation could not be done.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// `-o` names something that is not a regular file (a device, FIFO, socket or folder).
    #[error(
        "refusing to write {path}: it is {kind}, not a regular file; give the path of a PNG \
         file to create or replace"
    )]
    NotRegular { path: PathBuf, kind: &'static str },
    /// `-o` names a file in a folder that does not exist (a typo would otherwise create folders).
    #[error(
        "refusing to write {path}: the folder {folder} does not exist; create it first or give \
         another output path"
    )]
    NoFolder { path: PathBuf, folder: PathBuf },
    /// `-o` names the input itself.
    #[error(
        "refusing to write {path}: it is the input image; give another output path (the default \
         is <name>.pixel.png)"
    )]
    SameAsInput { path: PathBuf },
    /// `-o` names another image format (`out.jpg`): the bytes would be PNG under a wrong name.
    #[error(
        "refusing to write {path}: Pixelsmith writes PNG (GIF or APNG for animations), not \
         {extension}; name the output .png and convert it afterwards if you need {extension}"
    )]
    NotPngName { path: PathBuf, extension: String },
    #[error("{path}: {source}")]
    Engine {
        path: PathBuf,
        #[source]
        source: engine::Error,
    },
}

/// Reads at most `limit` bytes from `path` (`-` is stdin); a larger input is refused without
/// reading it all.
pub fn read_input(path: &Path, limit: usize) -> Result<Vec<u8>, Error> {
    let read_err = |source| Error::Read {
        path: path.to_path_buf(),
        source,
    };
    let reader: Box<dyn Read> = if path == Path::new("-") {
        Box::new(std::io::stdin().lock())
    } else {
        let file = std::fs::File::open(path).map_err(read_err)?;
        if file.metadata().map_err(read_err)?.is_dir() {
            return Err(read_err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "it is a directory, not an image file",
            )));
        }
        Box::new(file)
    };
    let mut bytes = Vec::new();
    // One byte over the limit is enough to know it is too large.
    reader
        .take(limit as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(read_err)?;
    Ok(bytes)
}

/// Pixelates the file at `input` with `options`.
pub fn pixelate_file(input: &Path, options: &Options) -> Result<Pixelated, Error> {
    let bytes = read_input(input, options.limits.max_input_bytes)?;
    engine::pixelate(&bytes, options).map_err(|source| Error::Engine {
        path: input.to_path_buf(),
        source,
    })
}

/// Writes `bytes` to `path` through a temporary file in the same folder and a rename, so a reader
/// never sees half a PNG and a failure leaves any earlier file intact. `-` is stdout. The folder
/// must exist ([`Error::NoFolder`]): batches create theirs first.
pub fn write_output(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    let write_err = |source| Error::Write {
        path: path.to_path_buf(),
        source,
    };
    if path == Path::new("-") {
        let mut out = std::io::stdout().lock();
        return out
            .write_all(bytes)
            .and_then(|()| out.flush())
            .map_err(write_err);
    }
    // Only regular files are written: an existing symlink is written through (the file it points
    // to is replaced, the link stays); devices, FIFOs, sockets and folders are refused.
    let target = match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_symlink() => {
            let real = std::fs::canonicalize(path).map_err(write_err)?;
            let meta = std::fs::metadata(&real).map_err(write_err)?;
            if !meta.is_file() {
                return Err(Error::NotRegular {
                    path: path.to_path_buf(),
                    kind: kind_of(&meta.file_type()),
                });
            }
            real
        }
        Ok(meta) if !meta.is_file() => {
            return Err(Error::NotRegular {
                path: path.to_path_buf(),
                kind: kind_of(&meta.file_type()),
            });
        }
        _ => path.to_path_buf(),
    };
    let path = target.as_path();
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    if !dir.is_dir() {
        return Err(Error::NoFolder {
            path: path.to_path_buf(),
            folder: dir,
        });
    }
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    std::fs::write(&tmp, bytes)
        .and_then(|()| std::fs::rename(&tmp, path))
        .map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            write_err(e)
        })
}

/// What a non-regular file is, for messages.
fn kind_of(kind: &std::fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    if kind.is_dir() {
        "a folder"
    } else if kind.is_fifo() {
        "a FIFO (named pipe)"
    } else if kind.is_char_device() || kind.is_block_device() {
        "a device"
    } else if kind.is_socket() {
        "a socket"
    } else {
        "a special file"
    }
}

/// Refuses an `output` that is the `input` file itself (through any path or link).
pub fn check_not_input(input: &Path, output: &Path) -> Result<(), Error> {
    use std::os::unix::fs::MetadataExt;
    if input == Path::new("-") || output == Path::new("-") {
        return Ok(());
    }
    if let (Ok(a), Ok(b)) = (std::fs::metadata(input), std::fs::metadata(output))
        && a.dev() == b.dev()
        && a.ino() == b.ino()
    {
        return Err(Error::SameAsInput {
            path: output.to_path_buf(),
        });
    }
    Ok(())
}

/// A path's extension, lowercased (`OUT.GIF` → `gif`): what picks an output's format.
pub fn output_extension(path: &Path) -> Option<String> {
    path.extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
}

/// Image formats Pixelsmith reads or users ask for but does not write.
const NOT_WRITTEN: [&str; 15] = [
    "jpg", "jpeg", "jpe", "jfif", "webp", "bmp", "dib", "tif", "tiff", "avif", "heic", "heif",
    "ico", "jxl", "qoi",
];

/// Refuses an output named as an image format Pixelsmith does not write (`out.jpg`), before
/// any work: the file would be PNG bytes under that name. Other names (`.png`, `.gif`, `.apng`,
/// none, `-`) pass.
pub fn check_output_name(output: &Path) -> Result<(), Error> {
    let extension = output_extension(output).unwrap_or_default();
    if NOT_WRITTEN.contains(&extension.as_str()) {
        return Err(Error::NotPngName {
            path: output.to_path_buf(),
            extension: extension.to_ascii_uppercase(),
        });
    }
    Ok(())
}

/// When the grid `grid` was asked by width (`width`, `--width`) and the image is narrower than that, the
/// grid has one column per source pixel instead: a note saying so (`None` otherwise), for the CLI's
/// stderr and the MCP result's `notes`.
pub fn width_note(grid: engine::Grid, report: &engine::Report) -> Option<String> {
    match grid {
        engine::Grid::Width(asked) if report.grid_width < asked => Some(format!(
            "the image is {} px wide, so the grid has {} column{}, not {asked}: a cell is at \
             least one pixel (scale enlarges the output)",
            report.source_width,
            report.grid_width,
            if report.grid_width == 1 { "" } else { "s" }
        )),
        _ => None,
    }
}

/// The default output path for an input: `<stem>.pixel.png` in `dir`.
pub fn default_output(input: &Path, dir: &Path) -> PathBuf {
    let stem = input
        .file_stem()
        .filter(|s| *s != "-")
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "stdin".to_string());
    dir.join(format!("{stem}.pixel.png"))
}

/// Prints a command's summary line: on stderr when the picture itself went to stdout (`-o -`),
/// else on stdout.
pub(crate) fn print_summary(output: &Path, line: &str) {
    if output.as_os_str() == "-" {
        eprintln!("{line}");
    } else {
        println!("{line}");
    }
}
