//! The one error type of the SDK. Every variant has a stable `code` that the JavaScript wrapper
//! puts on its `Error` objects, so applications can branch on it.

/// What went wrong, with a message that says what to do about it.
#[derive(Debug, thiserror::Error, Clone, PartialEq)]
#[non_exhaustive]
pub enum Error {
    /// The caller passed an image or embedding the SDK cannot use.
    #[error("invalid input: {0}")]
    InvalidInput(String),
    /// The weights file is truncated, corrupt, or not a webverify weights file.
    #[error("cannot load the model: {0}")]
    ModelLoad(String),
    /// The weights belong to another model or to a newer file format.
    #[error("unsupported model: {0}")]
    ModelVersion(String),
    /// The requested compute backend is missing in this build or on this machine.
    #[error("backend unavailable: {0}")]
    BackendUnavailable(String),
    /// No face was found where one was required.
    #[error("no face found in the image ({found} detected); use a photo with a visible, frontal face or pass face: 'none' for ready crops")]
    NoFace {
        /// Faces detected (0 unless a policy rejected the ones found).
        found: usize,
    },
    /// The backend failed while running the model (device lost, out of memory, ...).
    #[error("inference failed: {0}")]
    Inference(String),
    /// Templates or a gallery made by another model: their similarities would be meaningless.
    #[error("model mismatch: {0}")]
    ModelMismatch(String),
    /// Template data written by a newer version of the format.
    #[error("unsupported format: {0}")]
    FormatVersion(String),
    /// Template or gallery bytes that are truncated, modified or not template data at all.
    #[error("corrupt data: {0}")]
    CorruptData(String),
    /// The caller cancelled a long operation (fine-tuning); nothing was changed.
    #[error("aborted: {0}")]
    Aborted(String),
    /// Sealed bytes whose authentication tag does not check under the given key: the wrong
    /// key, or bytes modified by someone without the key.
    #[error("wrong key: {0}")]
    WrongKey(String),
    /// The data changed while an asynchronous operation used it (a gallery enrolled into during
    /// a search on the GPU): nothing is wrong with the request; retry it.
    #[error("conflict: {0}")]
    Conflict(String),
}

/// The stable, machine-readable kind of an [`Error`]: the `code` property of the JavaScript
/// package's errors (`ErrorCode` in `pkg/index.d.ts` and `ERROR_CODES` in `pkg/constants.js`,
/// which add the JS-only `DISPOSED` and `INTERNAL`; `tests/shared_constants.rs` checks both).
///
/// ```
/// use webverify::{ErrorCode, Image, PixelFormat};
/// let err = Image::from_pixels(&[], 0, 0, PixelFormat::Rgb, None).unwrap_err();
/// assert_eq!(err.kind(), ErrorCode::InvalidInput);
/// assert_eq!(err.code(), "INVALID_INPUT");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorCode {
    /// `INVALID_INPUT`: see [`Error::InvalidInput`].
    InvalidInput,
    /// `MODEL_LOAD`: see [`Error::ModelLoad`].
    ModelLoad,
    /// `MODEL_VERSION`: see [`Error::ModelVersion`].
    ModelVersion,
    /// `BACKEND_UNAVAILABLE`: see [`Error::BackendUnavailable`].
    BackendUnavailable,
    /// `INFERENCE`: see [`Error::Inference`].
    Inference,
    /// `NO_FACE`: see [`Error::NoFace`].
    NoFace,
    /// `MODEL_MISMATCH`: see [`Error::ModelMismatch`].
    ModelMismatch,
    /// `FORMAT_VERSION`: see [`Error::FormatVersion`].
    FormatVersion,
    /// `CORRUPT_DATA`: see [`Error::CorruptData`].
    CorruptData,
    /// `ABORTED`: see [`Error::Aborted`].
    Aborted,
    /// `WRONG_KEY`: see [`Error::WrongKey`].
    WrongKey,
    /// `CONFLICT`: see [`Error::Conflict`].
    Conflict,
}

impl ErrorCode {
    /// Every code, in declaration order.
    pub const ALL: [ErrorCode; 12] = [
        ErrorCode::InvalidInput,
        ErrorCode::ModelLoad,
        ErrorCode::ModelVersion,
        ErrorCode::BackendUnavailable,
        ErrorCode::Inference,
        ErrorCode::NoFace,
        ErrorCode::ModelMismatch,
        ErrorCode::FormatVersion,
        ErrorCode::CorruptData,
        ErrorCode::Aborted,
        ErrorCode::WrongKey,
        ErrorCode::Conflict,
    ];

    /// The code as the JavaScript package spells it (`INVALID_INPUT`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidInput => "INVALID_INPUT",
            ErrorCode::ModelLoad => "MODEL_LOAD",
            ErrorCode::ModelVersion => "MODEL_VERSION",
            ErrorCode::BackendUnavailable => "BACKEND_UNAVAILABLE",
            ErrorCode::Inference => "INFERENCE",
            ErrorCode::NoFace => "NO_FACE",
            ErrorCode::ModelMismatch => "MODEL_MISMATCH",
            ErrorCode::FormatVersion => "FORMAT_VERSION",
            ErrorCode::CorruptData => "CORRUPT_DATA",
            ErrorCode::Aborted => "ABORTED",
            ErrorCode::WrongKey => "WRONG_KEY",
            ErrorCode::Conflict => "CONFLICT",
        }
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Error {
    /// The kind of error, to branch on.
    pub fn kind(&self) -> ErrorCode {
        match self {
            Error::InvalidInput(_) => ErrorCode::InvalidInput,
            Error::ModelLoad(_) => ErrorCode::ModelLoad,
            Error::ModelVersion(_) => ErrorCode::ModelVersion,
            Error::BackendUnavailable(_) => ErrorCode::BackendUnavailable,
            Error::Inference(_) => ErrorCode::Inference,
            Error::NoFace { .. } => ErrorCode::NoFace,
            Error::ModelMismatch(_) => ErrorCode::ModelMismatch,
            Error::FormatVersion(_) => ErrorCode::FormatVersion,
            Error::CorruptData(_) => ErrorCode::CorruptData,
            Error::Aborted(_) => ErrorCode::Aborted,
            Error::WrongKey(_) => ErrorCode::WrongKey,
            Error::Conflict(_) => ErrorCode::Conflict,
        }
    }

    /// The stable, machine-readable code (the `code` property of JS errors).
    pub fn code(&self) -> &'static str {
        self.kind().as_str()
    }
}

/// The SDK's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
