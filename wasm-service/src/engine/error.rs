//! The engine's one error type: every way an image or an option can be refused.

use std::fmt;

/// The most characters of caller input quoted back in a message: enough to recognise it, never
/// enough to turn an error into an echo of a multi-megabyte path, option or body.
pub const QUOTE_LIMIT: usize = 60;

/// `text` as quoted in a message: whole when at most [`QUOTE_LIMIT`] characters, else its first
/// [`QUOTE_LIMIT`] characters, `…` and its full length in bytes.
pub fn quote(text: &str) -> String {
    match text.char_indices().nth(QUOTE_LIMIT) {
        Some((at, _)) => format!("{}… ({} bytes)", &text[..at], text.len()),
        None => text.to_string(),
    }
}

/// Why the engine refused an input or an option. Each variant's message says what to do about it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// The input was empty (zero bytes).
    Empty,
    /// The input's first bytes match no supported image format.
    UnsupportedFormat {
        /// What the first bytes look like, when that is known (e.g. "TIFF").
        detected: Option<&'static str>,
    },
    /// A format this build leaves out (the deployed module has no WebP decoder).
    NotInThisBuild { format: &'static str },
    /// The input is larger than the byte limit. Readers stop one byte past the limit, so the
    /// input's real size is not known, only that it is over.
    InputTooLarge { limit: usize },
    /// The image declares more pixels than the pixel limit (every decoder checks the sizes its
    /// headers declare before it decodes a pixel).
    TooManyPixels { width: u32, height: u32, limit: u64 },
    /// A side is longer than [`MAX_SIDE`](crate::engine::probe::MAX_SIDE) pixels (a 1-pixel-wide
    /// image 64 million rows tall is within the pixel limit but costs per row).
    SideTooLong { width: u32, height: u32, limit: u32 },
    /// An animation's frames together (frame count × canvas) are more pixels than the pixel
    /// limit; checked from the headers before any frame is decoded.
    TooManyFramePixels {
        frames: u32,
        width: u32,
        height: u32,
        limit: u64,
    },
    /// The picture asked for would be more pixels than the output limit (a few cells drawn at a
    /// large scale are an output bomb).
    OutputTooLarge { width: u32, height: u32, limit: u64 },
    /// The job would need more memory than the engine's budget (checked before any pixel work).
    OverMemoryBudget { needed: u64, budget: u64 },
    /// The system (or the wasm runtime) refused memory the job needed, although it was within
    /// the budget.
    OutOfMemory { bytes: u64 },
    /// A valid file that uses a feature no decoder here supports (arithmetic-coded or 12-bit
    /// JPEG, for example). `advice` says what to do instead.
    UnsupportedFeature {
        format: &'static str,
        feature: &'static str,
        advice: &'static str,
    },
    /// The header declares a zero width or height.
    ZeroSize { width: u32, height: u32 },
    /// The data ends before the image does.
    Truncated { format: &'static str },
    /// The decoder found the data malformed.
    Malformed {
        format: &'static str,
        detail: String,
    },
    /// An option has a value the engine does not accept.
    InvalidOption { name: &'static str, detail: String },
    /// No option has this name; `known` lists the names there are.
    UnknownOption { name: String, known: String },
    /// Writing the PNG failed (should not happen for valid grids).
    Encode(String),
}

impl Error {
    /// A stable machine-readable code for this kind of error (used by the router and MCP results).
    pub fn code(&self) -> &'static str {
        match self {
            Error::Empty => "empty_input",
            Error::UnsupportedFormat { .. } | Error::NotInThisBuild { .. } => "unsupported_format",
            Error::InputTooLarge { .. } => "input_too_large",
            Error::TooManyPixels { .. } => "too_many_pixels",
            Error::TooManyFramePixels { .. } | Error::SideTooLong { .. } => "too_many_pixels",
            Error::OutputTooLarge { .. } => "output_too_large",
            Error::OverMemoryBudget { .. } => "over_memory_budget",
            Error::OutOfMemory { .. } => "out_of_memory",
            Error::UnsupportedFeature { .. } => "unsupported_feature",
            Error::ZeroSize { .. } => "zero_size",
            Error::Truncated { .. } => "truncated",
            Error::Malformed { .. } => "malformed",
            Error::InvalidOption { .. } | Error::UnknownOption { .. } => "invalid_option",
            Error::Encode(_) => "encode_failed",
        }
    }

    pub(crate) fn option(name: &'static str, detail: impl Into<String>) -> Self {
        Error::InvalidOption {
            name,
            detail: detail.into(),
        }
    }

    pub(crate) fn malformed(format: &'static str, detail: impl fmt::Display) -> Self {
        Error::Malformed {
            format,
            detail: detail.to_string(),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Empty => write!(
                f,
                "the input is empty: send the bytes of a PNG, JPEG, WebP, GIF or BMP image"
            ),
            Error::UnsupportedFormat {
                detected: Some(kind),
            } => write!(
                f,
                "{kind} images are not supported: convert it to PNG, JPEG, WebP, GIF or BMP first"
            ),
            Error::UnsupportedFormat { detected: None } => write!(
                f,
                "the input is not a PNG, JPEG, WebP, GIF or BMP image (its first bytes match none of them)"
            ),
            Error::NotInThisBuild { format } => write!(
                f,
                "this build leaves out {format} decoding to keep the deployed module small: send PNG, JPEG, \
                 GIF or BMP, or send it through `pixelsmith gateway`, which converts {format} to PNG first"
            ),
            Error::InputTooLarge { limit } => write!(
                f,
                "the input is larger than {} ({limit} bytes), the most accepted: send a smaller file",
                human_bytes(*limit as u64)
            ),
            Error::TooManyPixels {
                width,
                height,
                limit,
            } => write!(
                f,
                "the image declares {width}x{height} = {} pixels, over the limit of {limit} pixels; \
                 it was refused before decoding (scale it down first)",
                u64::from(*width) * u64::from(*height)
            ),
            Error::SideTooLong {
                width,
                height,
                limit,
            } => write!(
                f,
                "the image declares {width}x{height} pixels, and a side longer than {limit} pixels \
                 is refused before decoding (every row or column costs time without showing more \
                 in pixel art): crop it or scale it down first"
            ),
            Error::TooManyFramePixels {
                frames,
                width,
                height,
                limit,
            } => write!(
                f,
                "the animation has {frames} frames of {width}x{height}, {} pixels in all, over the \
                 limit of {limit} pixels; it was refused before decoding: pixelate one frame \
                 (the `frame` option, `--frame N` on the CLI), or send fewer or smaller frames \
                 (the CLI's `--max-pixels` raises the limit)",
                u64::from(*frames) * u64::from(*width) * u64::from(*height)
            ),
            Error::OutputTooLarge {
                width,
                height,
                limit,
            } => write!(
                f,
                "the output would be {width}x{height} = {} pixels, over the limit of {limit} pixels: \
                 ask for the grid itself (`grid`, one pixel per cell) or a smaller `scale`",
                u64::from(*width) * u64::from(*height)
            ),
            Error::OverMemoryBudget { needed, budget } => write!(
                f,
                "this job needs about {} of memory, over the budget of {}: use a larger block size \
                 (`block`) or a smaller `width`, or scale the image down first",
                human_bytes_up(*needed),
                human_bytes(*budget)
            ),
            Error::OutOfMemory { bytes } => write!(
                f,
                "could not get {} of memory for this job: use a larger block size (`block`) or a \
                 smaller `width`, or scale the image down first",
                human_bytes(*bytes)
            ),
            Error::UnsupportedFeature {
                format,
                feature,
                advice,
            } => write!(f, "{feature} {format} is not supported: {advice}"),
            Error::ZeroSize { width, height } => {
                write!(
                    f,
                    "the image declares a size of {width}x{height}: it has no pixels"
                )
            }
            Error::Truncated { format } => {
                write!(
                    f,
                    "the {format} data ends too early: the file is truncated or incomplete"
                )
            }
            Error::Malformed { format, detail } => {
                write!(f, "the {format} data is malformed: {detail}")
            }
            Error::InvalidOption { name, detail } => write!(f, "invalid option `{name}`: {detail}"),
            Error::UnknownOption { name, known } => {
                write!(f, "unknown option `{name}`; known options: {known}")
            }
            Error::Encode(detail) => write!(f, "writing the PNG failed: {detail}"),
        }
    }
}

impl std::error::Error for Error {}

/// A zeroed buffer of `n` items, or [`Error::OutOfMemory`] when the allocator refuses: large
/// buffers go through here so a wasm module whose `memory.grow` fails answers with an error
/// instead of trapping (an allocation failure aborts, and OSC answers an abort with an empty 200).
pub(crate) fn zeroed<T: Clone + Default>(n: usize) -> Result<Vec<T>, Error> {
    // Reserving first turns a refused allocation into an error; the vector itself then comes
    // from `vec!`, which asks the allocator for zeroed memory (calloc: fresh pages are not
    // touched, so a store that is filled late, or replaced, costs no resident memory until
    // then). The reservation is freed first, so the allocator reuses what it just obtained.
    let mut probe: Vec<T> = Vec::new();
    probe.try_reserve_exact(n).map_err(|_| Error::OutOfMemory {
        bytes: (n as u64).saturating_mul(std::mem::size_of::<T>() as u64),
    })?;
    drop(probe);
    Ok(vec![T::default(); n])
}

/// `64 MiB`, `1.5 GiB`: sizes in binary units, as limits are set, to one decimal. Integer
/// arithmetic only: float formatting would cost the module kilobytes.
fn human_bytes(n: u64) -> String {
    format_bytes(n, false)
}

/// Like [`human_bytes`], rounded up, so a need just over a budget never reads as equal to it.
fn human_bytes_up(n: u64) -> String {
    format_bytes(n, true)
}

fn format_bytes(n: u64, round_up: bool) -> String {
    const UNITS: [&str; 3] = ["KiB", "MiB", "GiB"];
    let Some(unit) = (0..3).rev().find(|&u| n >= 1u64 << (10 * (u + 1))) else {
        return format!("{n} bytes");
    };
    let shift = 10 * (unit + 1);
    let scale = 1u64 << shift;
    let bias = if round_up { scale - 1 } else { scale / 2 };
    // Widened so ten times any u64 fits; a shift, not a division (a u128 division would bring
    // 1 KB of compiler-builtins into the module).
    let tenths = ((u128::from(n) * 10 + u128::from(bias)) >> shift) as u64;
    let (whole, frac) = (tenths / 10, tenths % 10);
    if frac == 0 {
        format!("{whole} {}", UNITS[unit])
    } else {
        format!("{whole}.{frac} {}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_as_people_set_limits() {
        assert_eq!(human_bytes(64 * 1024 * 1024), "64 MiB");
        assert_eq!(human_bytes(1536 * 1024 * 1024), "1.5 GiB");
        assert_eq!(human_bytes(512), "512 bytes");
        assert_eq!(human_bytes((1 << 30) + (1 << 24)), "1 GiB");
        assert_eq!(human_bytes_up((1 << 30) + (1 << 24)), "1.1 GiB");
        let e = Error::InputTooLarge {
            limit: 64 * 1024 * 1024,
        };
        assert_eq!(
            e.to_string(),
            "the input is larger than 64 MiB (67108864 bytes), the most accepted: send a smaller file"
        );
    }
}
