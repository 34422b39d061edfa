//! The binary's error type: every crate's error, mapped to an exit code through
//! [`ErrorKind::exit_code`] (the one mapping, in `puhui-warehouse`).

use puhui_warehouse::ErrorKind;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum CliError {
    #[error("configuration: {0}")]
    Config(String),
    #[error("{0}")]
    Ingest(#[from] puhui_ingest::IngestError),
    #[error("{0}")]
    Transform(#[from] puhui_transforms::TransformError),
    #[error("{0}")]
    Query(#[from] puhui_queries::QueryError),
    #[error("{0}")]
    Warehouse(#[from] puhui_warehouse::WarehouseError),
    #[error("server: {0}")]
    Serve(std::io::Error),
    #[error("cannot write the output: {0}")]
    Output(std::io::Error),
}

impl CliError {
    pub fn kind(&self) -> ErrorKind {
        match self {
            CliError::Config(_) => ErrorKind::Config,
            CliError::Ingest(e) => e.kind(),
            CliError::Transform(e) => e.kind(),
            CliError::Query(e) => e.kind(),
            CliError::Warehouse(e) => e.kind(),
            CliError::Serve(_) | CliError::Output(_) => ErrorKind::Storage,
        }
    }
}

pub type Result<T, E = CliError> = std::result::Result<T, E>;
