//! The engine's one error type: every way an image or an option can be refused.

use std::fmt;

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
    /// The input is larger than the byte limit.
    InputTooLarge { bytes: usize, limit: usize },
    /// The header declares more pixels than the pixel limit (checked before decoding).
    TooManyPixels { width: u32, height: u32, limit: u64 },
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
            Error::ZeroSize { .. } => "zero_size",
            Error::Truncated { .. } => "truncated",
            Error::Malformed { .. } => "malformed",
            Error::InvalidOption { .. } => "invalid_option",
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
            Error::InputTooLarge { bytes, limit } => write!(
                f,
                "the input is {bytes} bytes, over the limit of {limit} bytes: send a smaller file"
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
            Error::Encode(detail) => write!(f, "writing the PNG failed: {detail}"),
        }
    }
}

impl std::error::Error for Error {}
