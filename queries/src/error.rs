//! [`QueryError`]: every way a request to the query API can fail, mapped to an [`ErrorKind`] and
//! rendered as `{"error": "<code>", "message": "<sentence>"}` with the kind's HTTP status.

use std::time::Duration;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use datafusion::arrow::error::ArrowError;
use datafusion::error::DataFusionError;
use puhui_warehouse::{ErrorKind, WarehouseError};
use thiserror::Error;

/// Errors of the query API.
#[derive(Debug, Error)]
pub enum QueryError {
    /// The SQL text is not exactly one read-only query; `what` says what was refused.
    #[error("refused {what}: only one read-only SELECT statement is allowed (SELECT, WITH … SELECT, VALUES, SHOW, DESCRIBE or EXPLAIN of these)")]
    Refused { what: String },
    /// The SQL could not be parsed or planned (syntax, unknown table or column, type mismatch).
    #[error("invalid SQL: {}", .0.strip_backtrace())]
    Sql(DataFusionError),
    /// The query was planned but failed while running.
    #[error("query failed: {}", .0.strip_backtrace())]
    Execution(DataFusionError),
    /// The query ran longer than the limit.
    #[error("the query took longer than {} s and was stopped; narrow it (fewer rows, periods or joins) and retry", .0.as_secs())]
    Timeout(Duration),
    /// A request parameter (query string) is invalid.
    #[error("invalid parameter: {0}")]
    BadParameter(String),
    /// The request body is not what the endpoint expects.
    #[error("invalid request body: {0}")]
    BadBody(String),
    /// Nothing matches the request (no such period, no rows, table not computed yet).
    #[error("{0}")]
    NotFound(String),
    /// The result could not be written in the requested format.
    #[error("cannot encode the result: {0}")]
    Encode(#[from] ArrowError),
    /// The warehouse could not be opened or read.
    #[error(transparent)]
    Warehouse(#[from] WarehouseError),
}

pub type Result<T, E = QueryError> = std::result::Result<T, E>;

impl QueryError {
    /// Who has to act on this error.
    pub fn kind(&self) -> ErrorKind {
        match self {
            QueryError::Refused { .. }
            | QueryError::BadParameter(_)
            | QueryError::BadBody(_)
            | QueryError::Encode(_) => ErrorKind::InvalidInput,
            QueryError::Sql(e) | QueryError::Execution(e) => datafusion_kind(e),
            QueryError::Timeout(_) => ErrorKind::Timeout,
            QueryError::NotFound(_) => ErrorKind::NotFound,
            QueryError::Warehouse(e) => e.kind(),
        }
    }

    /// The short machine-readable code in the JSON error body.
    pub fn code(&self) -> &'static str {
        match self {
            QueryError::Refused { .. } => "refused",
            QueryError::Sql(_) => "invalid_sql",
            QueryError::Execution(_) => "query_failed",
            QueryError::Timeout(_) => "timeout",
            QueryError::BadParameter(_) => "bad_parameter",
            QueryError::BadBody(_) => "bad_body",
            QueryError::NotFound(_) => "not_found",
            QueryError::Encode(_) => "encode_failed",
            QueryError::Warehouse(_) => "warehouse",
        }
    }
}

/// Classifies a DataFusion error by its root cause.
fn datafusion_kind(e: &DataFusionError) -> ErrorKind {
    match e.find_root() {
        DataFusionError::ResourcesExhausted(_) => ErrorKind::TooLarge,
        DataFusionError::ObjectStore(_)
        | DataFusionError::IoError(_)
        | DataFusionError::External(_) => ErrorKind::Storage,
        DataFusionError::Internal(_) | DataFusionError::ExecutionJoin(_) => ErrorKind::Internal,
        _ => ErrorKind::InvalidInput,
    }
}

impl IntoResponse for QueryError {
    fn into_response(self) -> Response {
        let kind = self.kind();
        if matches!(
            kind,
            ErrorKind::Internal | ErrorKind::Storage | ErrorKind::Config
        ) {
            tracing::error!(error = %self, "query request failed");
        }
        let status =
            StatusCode::from_u16(kind.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = serde_json::json!({ "error": self.code(), "message": self.to_string() });
        (status, Json(body)).into_response()
    }
}
