//! Errors of the reality check. Every variant names the file and, where it applies, the byte
//! offset, line or field that was wrong, so a user can open the file and see the problem.

use std::path::PathBuf;

/// Everything that can go wrong while reading, profiling, comparing or reporting.
#[derive(Debug, thiserror::Error)]
pub enum RealityError {
    #[error("{path}: cannot read: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: byte offset {offset}: {what}")]
    Corrupt {
        path: PathBuf,
        offset: u64,
        what: String,
    },
    #[error("{path}: line {line}: {what}")]
    Parse {
        path: PathBuf,
        line: usize,
        what: String,
    },
    #[error("{path}: field `{field}`: {what}")]
    Field {
        path: PathBuf,
        field: String,
        what: String,
    },
    #[error("{path}: not a readable image: {what}")]
    Image { path: PathBuf, what: String },
    #[error("{path}: {what}")]
    Dataset { path: PathBuf, what: String },
    #[error("{path}: policy: {what}")]
    Policy { path: PathBuf, what: String },
    #[error("{path}: profile: {what}")]
    Profile { path: PathBuf, what: String },
    #[error("invalid argument: {0}")]
    Usage(String),
}

impl RealityError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io {
            path: path.into(),
            source,
        }
    }
    pub(crate) fn corrupt(path: impl Into<PathBuf>, offset: u64, what: impl Into<String>) -> Self {
        Self::Corrupt {
            path: path.into(),
            offset,
            what: what.into(),
        }
    }
    pub(crate) fn parse(path: impl Into<PathBuf>, line: usize, what: impl Into<String>) -> Self {
        Self::Parse {
            path: path.into(),
            line,
            what: what.into(),
        }
    }
}

pub type Result<T> = std::result::Result<T, RealityError>;
