//! The warehouse error type, and the [`ErrorKind`] taxonomy every puhui crate maps its errors to.
//!
//! [`ErrorKind::http_status`] and [`ErrorKind::exit_code`] are the one place where errors become
//! HTTP status codes and process exit codes.

use thiserror::Error;

/// Who has to act on an error; decides the HTTP status and the exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The caller sent something invalid (bad SQL, bad parameter, unknown stream). Fix the input.
    InvalidInput,
    /// The caller asked for something that is not there (no such table, period or unit).
    NotFound,
    /// The request is valid but not allowed (a write statement on the read-only endpoint).
    Forbidden,
    /// The request is too large; retry with less.
    TooLarge,
    /// The request took longer than its limit; retry with a narrower one.
    Timeout,
    /// The configuration is invalid; the operator must fix it.
    Config,
    /// The store could not be read or written; retry later or check the disk/network.
    Storage,
    /// A bug or an unexpected state inside puhui.
    Internal,
}

impl ErrorKind {
    /// The HTTP status code for this kind of error.
    pub fn http_status(self) -> u16 {
        match self {
            ErrorKind::InvalidInput => 400,
            ErrorKind::Forbidden => 403,
            ErrorKind::NotFound => 404,
            ErrorKind::TooLarge => 413,
            ErrorKind::Timeout => 408,
            ErrorKind::Config | ErrorKind::Internal => 500,
            ErrorKind::Storage => 503,
        }
    }

    /// A short machine-readable name, used in JSON error bodies.
    pub fn code(self) -> &'static str {
        match self {
            ErrorKind::InvalidInput => "invalid_input",
            ErrorKind::NotFound => "not_found",
            ErrorKind::Forbidden => "forbidden",
            ErrorKind::TooLarge => "too_large",
            ErrorKind::Timeout => "timeout",
            ErrorKind::Config => "config",
            ErrorKind::Storage => "storage",
            ErrorKind::Internal => "internal",
        }
    }

    /// The process exit code for this kind of error (sysexits.h where one fits).
    pub fn exit_code(self) -> i32 {
        match self {
            ErrorKind::InvalidInput | ErrorKind::Forbidden | ErrorKind::TooLarge => 65, // EX_DATAERR
            ErrorKind::NotFound => 66,                                                  // EX_NOINPUT
            ErrorKind::Config => 78,                                                    // EX_CONFIG
            ErrorKind::Storage => 74,                                                   // EX_IOERR
            ErrorKind::Timeout => 75,                                                   // EX_TEMPFAIL
            ErrorKind::Internal => 70,                                                  // EX_SOFTWARE
        }
    }
}

/// Errors of the warehouse layer.
#[derive(Debug, Error)]
pub enum WarehouseError {
    #[error("unknown table `{0}`")]
    UnknownTable(String),
    #[error("invalid data directory or store URL `{0}`: {1}")]
    BadLocation(String, String),
    #[error("delta table `{table}`: {source}")]
    Delta {
        table: String,
        #[source]
        source: deltalake::DeltaTableError,
    },
    #[error("cannot read delta table `{table}`: {source}")]
    Provider {
        table: String,
        #[source]
        source: datafusion::error::DataFusionError,
    },
    #[error("query failed: {0}")]
    Query(#[from] datafusion::error::DataFusionError),
    #[error("arrow: {0}")]
    Arrow(#[from] arrow::error::ArrowError),
}

impl WarehouseError {
    pub fn kind(&self) -> ErrorKind {
        match self {
            WarehouseError::UnknownTable(_) => ErrorKind::NotFound,
            WarehouseError::BadLocation(..) => ErrorKind::Config,
            WarehouseError::Delta { .. } | WarehouseError::Provider { .. } => ErrorKind::Storage,
            WarehouseError::Query(_) => ErrorKind::InvalidInput,
            WarehouseError::Arrow(_) => ErrorKind::Internal,
        }
    }
}

pub type Result<T, E = WarehouseError> = std::result::Result<T, E>;
