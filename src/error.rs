//! The one error type of the SDK. Every variant has a stable `code` that the JavaScript wrapper
//! puts on its `Error` objects, so applications can branch on it.

/// What went wrong, with a message that says what to do about it.
#[derive(Debug, thiserror::Error, Clone, PartialEq)]
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
    NoFace { found: usize },
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
}

impl Error {
    /// The stable, machine-readable code (the `code` property of JS errors).
    pub fn code(&self) -> &'static str {
        match self {
            Error::InvalidInput(_) => "INVALID_INPUT",
            Error::ModelLoad(_) => "MODEL_LOAD",
            Error::ModelVersion(_) => "MODEL_VERSION",
            Error::BackendUnavailable(_) => "BACKEND_UNAVAILABLE",
            Error::Inference(_) => "INFERENCE",
            Error::NoFace { .. } => "NO_FACE",
            Error::ModelMismatch(_) => "MODEL_MISMATCH",
            Error::FormatVersion(_) => "FORMAT_VERSION",
            Error::CorruptData(_) => "CORRUPT_DATA",
            Error::Aborted(_) => "ABORTED",
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
