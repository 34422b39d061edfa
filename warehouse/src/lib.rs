//! # puhui-warehouse
//!
//! The bottom layer of puhui. It owns:
//! - the **data contract** as code: every stream and reference table, its fields, their kinds,
//!   enums and requirements ([`contract`]), and the Arrow schema each table is stored with;
//! - **time bucketing** rules shared by everyone: UTC storage, Asia/Shanghai calendar ([`time`]);
//! - the **store**: Delta Lake tables under one root (a local directory by default), created on
//!   first use, appended to or replaced atomically, registered read-only into a DataFusion
//!   session, each with a version ([`store`]);
//! - the [`ErrorKind`] taxonomy and its single mapping to HTTP status codes and exit codes
//!   ([`error`]), which every crate above reuses for its own error type.
//!
//! It depends on no other puhui crate. Ingest, transforms and queries depend on it.

pub mod contract;
pub mod error;
pub mod store;
pub mod time;

pub use error::{ErrorKind, Result, WarehouseError};
pub use store::Warehouse;

/// Re-exported so that every crate uses the one DataFusion / Arrow version of the workspace.
pub use datafusion;
