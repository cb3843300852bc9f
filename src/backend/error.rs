//! The error every backend returns: variants a user can act on, with the cause kept as `source`.

use crate::model::ObjectKind;

/// Boxed cause of a backend error.
pub type Cause = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Why a backend request failed.
#[derive(Debug, thiserror::Error)]
pub enum BackendError {
    /// No object matches the reference.
    #[error("no such {kind}: {reference}")]
    NotFound {
        /// Kind of object looked for.
        kind: ObjectKind,
        /// The name, id or prefix given.
        reference: String,
    },
    /// A reference matches more than one object.
    #[error(
        "{reference} matches more than one {kind} ({candidates}); give more characters of the id or the full name"
    )]
    Ambiguous {
        /// Kind of object looked for.
        kind: ObjectKind,
        /// The prefix given.
        reference: String,
        /// Short ids of the matches, comma separated.
        candidates: String,
    },
    /// The request clashes with the current state (name in use, object in use, already running, …).
    #[error("{message}")]
    Conflict {
        /// What clashed and how to resolve it.
        message: String,
    },
    /// The request itself is malformed.
    #[error("invalid input: {message}")]
    InvalidInput {
        /// What was wrong and what is accepted.
        message: String,
    },
    /// The caller lacks a permission.
    #[error("permission denied: {message}")]
    PermissionDenied {
        /// What was refused and how to get access.
        message: String,
        /// The underlying error.
        #[source]
        source: Option<Cause>,
    },
    /// The endpoint cannot be reached.
    #[error("{endpoint} is unavailable: {message}")]
    Unavailable {
        /// The socket, URL or root that was tried.
        endpoint: String,
        /// What to check.
        message: String,
        /// The underlying error.
        #[source]
        source: Option<Cause>,
    },
    /// The backend does not offer this operation (for example an API too old for it).
    #[error("{operation} is not offered by {backend}: {hint}")]
    Unsupported {
        /// The operation asked for.
        operation: String,
        /// The backend and version that refused.
        backend: String,
        /// What to use instead.
        hint: String,
    },
    /// The container's command cannot run: 127 when it is not found, 126 when it cannot be
    /// executed (the exit status docker gives).
    #[error("{message}")]
    CannotRun {
        /// 126 or 127.
        code: i32,
        /// What failed.
        message: String,
    },
    /// Anything else: an I/O error, a daemon error, a corrupt record.
    #[error("{message}")]
    Internal {
        /// What failed, with the path, id or call.
        message: String,
        /// The underlying error.
        #[source]
        source: Option<Cause>,
    },
}

impl BackendError {
    /// Shorthand for [`BackendError::NotFound`].
    pub fn not_found(kind: ObjectKind, reference: impl Into<String>) -> Self {
        BackendError::NotFound {
            kind,
            reference: reference.into(),
        }
    }

    /// Shorthand for [`BackendError::Conflict`].
    pub fn conflict(message: impl Into<String>) -> Self {
        BackendError::Conflict {
            message: message.into(),
        }
    }

    /// Shorthand for [`BackendError::InvalidInput`].
    pub fn invalid(message: impl Into<String>) -> Self {
        BackendError::InvalidInput {
            message: message.into(),
        }
    }

    /// [`BackendError::Unsupported`] for what only the embedded engine does (`system check`,
    /// `system boot`), asked of `backend`.
    pub fn engine_only(operation: &str, backend: &str) -> Self {
        BackendError::Unsupported {
            operation: operation.to_string(),
            backend: backend.to_string(),
            hint: format!(
                "{operation} works on the embedded engine's data root; run it without -H (and without --demo)"
            ),
        }
    }

    /// Whether the endpoint itself is unreachable (as opposed to one request failing).
    pub fn is_unavailable(&self) -> bool {
        matches!(self, BackendError::Unavailable { .. })
    }
}

/// Result of a backend request.
pub type Result<T, E = BackendError> = std::result::Result<T, E>;

impl From<crate::model::Invalid> for BackendError {
    fn from(e: crate::model::Invalid) -> Self {
        BackendError::invalid(e.0)
    }
}

impl From<crate::model::ReferenceError> for BackendError {
    fn from(e: crate::model::ReferenceError) -> Self {
        BackendError::invalid(e.to_string())
    }
}

impl From<crate::model::Refusal> for BackendError {
    fn from(e: crate::model::Refusal) -> Self {
        BackendError::conflict(e.to_string())
    }
}
