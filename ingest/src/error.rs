//! The ingest error type. Per-record problems are not errors: they become quarantine rows.
//! These are the failures of a whole request, file or run.

use puhui_warehouse::{ErrorKind, WarehouseError};
use thiserror::Error;

#[derive(Debug, Error)]
pub enum IngestError {
    #[error("unknown stream `{0}`; expected one of: {1}")]
    UnknownStream(String, String),
    #[error("cannot read `{path}`: {source}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot write `{path}`: {source}")]
    Write {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("invalid option: {0}")]
    InvalidOption(String),
    #[error("the input is not UTF-8 (NDJSON and CSV must be UTF-8): {0}")]
    UnreadableBody(String),
    #[error(transparent)]
    Warehouse(#[from] WarehouseError),
}

impl IngestError {
    pub fn kind(&self) -> ErrorKind {
        match self {
            IngestError::UnknownStream(..) => ErrorKind::NotFound,
            IngestError::Read { .. } => ErrorKind::NotFound,
            IngestError::Write { .. } => ErrorKind::Storage,
            IngestError::InvalidOption(_) | IngestError::UnreadableBody(_) => ErrorKind::InvalidInput,
            IngestError::Warehouse(e) => e.kind(),
        }
    }
}

pub type Result<T, E = IngestError> = std::result::Result<T, E>;
