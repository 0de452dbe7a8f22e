//! The router's one error type, and the one mapping from `engine::Error` to an HTTP status.
//!
//! Every refusal (bad envelope, unknown route, bad option, bad image) is a [`Reject`] with a status,
//! a stable snake_case code and an actionable sentence; it becomes a response in exactly one place
//! (the error envelope, or the flat legacy shape).

use crate::engine;
use crate::envelope::Response;

/// A refused request: HTTP status, stable code, message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Reject {
    pub(crate) status: u16,
    pub(crate) code: &'static str,
    pub(crate) message: String,
}

impl Reject {
    pub(crate) fn new(status: u16, code: &'static str, message: impl Into<String>) -> Self {
        Reject {
            status,
            code,
            message: message.into(),
        }
    }

    /// 400 with this code.
    pub(crate) fn bad(code: &'static str, message: impl Into<String>) -> Self {
        Reject::new(400, code, message)
    }

    /// The error envelope `{"error":{"code","message"}}`.
    pub(crate) fn into_response(self) -> Response {
        Response::error(self.status, self.code, &self.message)
    }
}

impl From<&engine::Error> for Reject {
    fn from(err: &engine::Error) -> Self {
        Reject::new(status_for(err), err.code(), err.to_string())
    }
}

impl From<engine::Error> for Reject {
    fn from(err: engine::Error) -> Self {
        Reject::from(&err)
    }
}

/// The HTTP status for an engine error: what the client got wrong, or 500 if the engine did.
pub fn status_for(err: &engine::Error) -> u16 {
    use engine::Error as E;
    match err {
        E::Empty | E::InvalidOption { .. } | E::UnknownOption { .. } => 400,
        E::InputTooLarge { .. }
        | E::TooManyPixels { .. }
        | E::OutputTooLarge { .. }
        | E::OverMemoryBudget { .. }
        | E::OutOfMemory { .. } => 413,
        E::UnsupportedFormat { .. } | E::NotInThisBuild { .. } | E::UnsupportedFeature { .. } => {
            415
        }
        E::TooManyFramePixels { .. } | E::SideTooLong { .. } => 413,
        E::ZeroSize { .. } | E::Truncated { .. } | E::Malformed { .. } => 422,
        E::Encode(_) => 500,
    }
}

/// The error response for an engine error: its status, stable code and sentence.
pub fn engine_error(err: &engine::Error) -> Response {
    Reject::from(err).into_response()
}
