//! The axum router of the query API: SQL, scorecards and health.

use std::future::Future;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use datafusion::arrow::array::RecordBatch;
use datafusion::execution::SendableRecordBatchStream;
use futures::stream::{self, Stream, StreamExt, TryStreamExt};
use puhui_warehouse::Warehouse;
use serde::Deserialize;
use tokio::time::Instant;
use tracing::Instrument;

use crate::encode::Format;
use crate::error::{QueryError, Result};
use crate::{paths, scorecards, sql};

/// How long one request may plan, run and stream its query.
pub const QUERY_TIMEOUT: Duration = Duration::from_secs(60);

/// The query API. Every handler reads the warehouse through a fresh session.
pub fn router(warehouse: Warehouse) -> Router {
    Router::new()
        .route(paths::SQL, post(run_sql))
        .route(paths::REGION_SCORECARDS, get(scorecards::region))
        .route(paths::INSTITUTION_SCORECARDS, get(scorecards::institution))
        .route(paths::HEALTH, get(health))
        .with_state(warehouse)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SqlParams {
    #[serde(default)]
    format: Format,
    #[serde(default)]
    bom: bool,
}

/// `POST /v1/sql`: the body is the SQL text, or `{"sql": "…"}` with `Content-Type: application/json`.
async fn run_sql(
    State(warehouse): State<Warehouse>,
    params: Result<Query<SqlParams>, QueryRejection>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response> {
    let SqlParams { format, bom } = query_params(params)?;
    let sql = sql_text(&headers, &body)?;
    let deadline = Instant::now() + QUERY_TIMEOUT;
    async {
        let batches = within(deadline, async {
            let frame = sql::read_only_query(&warehouse, &sql).await?;
            frame.execute_stream().await.map_err(QueryError::Execution)
        })
        .await?;
        streamed(batches, format, bom, deadline).await
    }
    .instrument(tracing::info_span!("query", sql = %sql))
    .await
}

fn sql_text(headers: &HeaderMap, body: &[u8]) -> Result<String> {
    let is_json = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.trim_start()
                .to_ascii_lowercase()
                .starts_with("application/json")
        });
    if is_json {
        #[derive(Deserialize)]
        struct SqlBody {
            sql: String,
        }
        serde_json::from_slice::<SqlBody>(body)
            .map(|b| b.sql)
            .map_err(|e| {
                QueryError::BadBody(format!(
                    r#"expected {{"sql": "<one SELECT statement>"}}: {e}"#
                ))
            })
    } else {
        String::from_utf8(body.to_vec())
            .map_err(|_| QueryError::BadBody("the SQL text is not valid UTF-8".into()))
    }
}

/// Streams a result batch by batch. The first batch is awaited before the status line is sent,
/// so that most failures still get their own status code; a later failure or the deadline ends
/// the body early (the client sees a truncated response).
async fn streamed(
    batches: SendableRecordBatchStream,
    format: Format,
    bom: bool,
    deadline: Instant,
) -> Result<Response> {
    let mut encoder = format.encoder(bom);
    let mut head = encoder.begin(&batches.schema())?;
    let mut batches = batches.fuse();
    if let Some(batch) = next_batch(&mut batches, deadline).await? {
        head.extend(encoder.batch(&batch)?);
    }
    let rest = stream::try_unfold(Some((batches, encoder)), move |state| async move {
        let Some((mut batches, mut encoder)) = state else {
            return Ok(None);
        };
        let chunk = match next_batch(&mut batches, deadline).await? {
            Some(batch) => (encoder.batch(&batch)?, Some((batches, encoder))),
            None => (encoder.finish(), None),
        };
        Ok::<_, QueryError>(Some(chunk))
    });
    let body = stream::once(async { Ok(head) })
        .chain(rest)
        .inspect_err(|e: &QueryError| tracing::warn!(error = %e, "result stream ended early"));
    Ok((
        [(CONTENT_TYPE, format.content_type())],
        Body::from_stream(body),
    )
        .into_response())
}

async fn next_batch(
    batches: &mut (impl Stream<Item = datafusion::error::Result<RecordBatch>> + Unpin),
    deadline: Instant,
) -> Result<Option<RecordBatch>> {
    within(deadline, async {
        batches
            .next()
            .await
            .transpose()
            .map_err(QueryError::Execution)
    })
    .await
}

/// Runs `work` until `deadline`, then gives up with [`QueryError::Timeout`] (also when the
/// deadline has passed already: a result that streams fast must still stop).
pub(crate) async fn within<T>(
    deadline: Instant,
    work: impl Future<Output = Result<T>>,
) -> Result<T> {
    if Instant::now() >= deadline {
        return Err(QueryError::Timeout(QUERY_TIMEOUT));
    }
    tokio::time::timeout_at(deadline, work)
        .await
        .unwrap_or(Err(QueryError::Timeout(QUERY_TIMEOUT)))
}

/// The parsed query string, or a [`QueryError::BadParameter`] naming what is wrong with it.
pub(crate) fn query_params<T>(params: Result<Query<T>, QueryRejection>) -> Result<T> {
    params
        .map(|Query(p)| p)
        .map_err(|e| QueryError::BadParameter(e.body_text()))
}

/// `GET /healthz`: `{"status":"ok","tables":{"<name>":<version>,…}}`.
async fn health(State(warehouse): State<Warehouse>) -> Result<Json<serde_json::Value>> {
    let tables = warehouse.table_versions().await?;
    Ok(Json(
        serde_json::json!({ "status": "ok", "tables": tables }),
    ))
}

#[cfg(test)]
mod tests {
    use puhui_warehouse::ErrorKind;

    use super::*;

    #[tokio::test]
    async fn work_past_the_deadline_times_out() {
        let late = within(Instant::now(), std::future::pending::<Result<()>>())
            .await
            .unwrap_err();
        assert!(matches!(late, QueryError::Timeout(_)), "{late}");
        assert_eq!(late.kind(), ErrorKind::Timeout);
        assert!(late.to_string().contains("60 s"), "{late}");
    }
}
