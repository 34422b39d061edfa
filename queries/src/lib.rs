//! # puhui-queries
//!
//! The read side of puhui over HTTP. It owns:
//! - **read-only SQL** ([`read_only_query`]): exactly one query statement per request; DDL, DML,
//!   `COPY`, `CREATE EXTERNAL TABLE`, `SET` and multi-statement smuggling are refused before
//!   anything runs ([`sql`]);
//! - **result encoding** ([`encode`]): JSON with exact decimals and offset timestamps, CSV (with an
//!   optional BOM for Excel) and text tables, JSON and CSV written batch by batch so responses stream;
//! - the **routes** ([`router`], paths in [`paths`]): `POST /v1/sql`, the region and institution
//!   scorecards, `/healthz`; every query runs under a timeout ([`QUERY_TIMEOUT`]);
//! - its error type [`QueryError`], mapped to HTTP statuses through
//!   [`puhui_warehouse::ErrorKind`] and rendered as `{"error": "<code>", "message": "<sentence>"}`.
//!
//! May depend on: `puhui-warehouse` (the store and its DataFusion session) and `puhui-transforms`
//! (read-only: the names and schemas of its output tables). It never writes to the warehouse.

pub mod encode;
pub mod error;
mod http;
pub mod paths;
mod scorecards;
pub mod sql;

pub use error::{QueryError, Result};
pub use http::{router, QUERY_TIMEOUT};
pub use sql::read_only_query;

#[cfg(test)]
mod tests;
