//! The transforms error type.

use puhui_warehouse::{ErrorKind, WarehouseError};
use thiserror::Error;

#[derive(Debug, Error)]
pub enum TransformError {
    #[error("invalid methodology: {0}")]
    Methodology(String),
    #[error("indicator {indicator}: {message}")]
    Indicator { indicator: String, message: String },
    #[error("no events in the warehouse: ingest a stream before computing the index")]
    NoPeriods,
    #[error(transparent)]
    Warehouse(#[from] WarehouseError),
}

impl TransformError {
    pub fn kind(&self) -> ErrorKind {
        match self {
            TransformError::Methodology(_) => ErrorKind::Config,
            TransformError::Indicator { .. } => ErrorKind::Config,
            TransformError::NoPeriods => ErrorKind::NotFound,
            TransformError::Warehouse(e) => e.kind(),
        }
    }
}

pub type Result<T, E = TransformError> = std::result::Result<T, E>;
