//! The HTTP push source: `POST /v1/ingest/{stream}` with an NDJSON or CSV body.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};

use crate::decode::Format;
use crate::error::IngestError;
use crate::pipeline::Ingestor;

/// The route of the push endpoint.
pub const INGEST_PATH: &str = "/v1/ingest/{stream}";
/// Largest accepted request body.
const MAX_BODY_BYTES: usize = 256 * 1024 * 1024;

/// The router of the ingest push endpoint.
pub fn router(ingestor: Arc<Ingestor>) -> Router {
    Router::new()
        .route(INGEST_PATH, post(push))
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(ingestor)
}

async fn push(
    State(ingestor): State<Arc<Ingestor>>,
    Path(stream): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, IngestError> {
    let content_type = headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("");
    let format = Format::from_name(content_type)
        .unwrap_or_else(|| Format::sniff(&String::from_utf8_lossy(&body[..body.len().min(1024)])));
    let source = headers
        .get("x-puhui-source")
        .and_then(|v| v.to_str().ok())
        .map_or_else(|| "http".to_string(), |s| format!("http:{s}"));
    let report = ingestor.ingest_bytes(&stream, &source, &body, format).await?;
    Ok((StatusCode::OK, Json(report)).into_response())
}

impl IntoResponse for IngestError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.kind().http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = serde_json::json!({ "error": self.kind().code(), "message": self.to_string() });
        (status, Json(body)).into_response()
    }
}
