//! # puhui-ingest
//!
//! Everything that brings records into the warehouse: decoding (NDJSON, CSV), validation against
//! the data contract, identity hashing, deduplication by `event_id`, the quarantine, batching and
//! commits, the HTTP push endpoint, and the deterministic data generator for the real regions.
//!
//! May depend on: `puhui-warehouse`. Never computes indicators.

pub mod batch;
pub mod decode;
pub mod error;
pub mod generate;
pub mod http;
pub mod identity;
pub mod parse;
pub mod pipeline;
pub mod reference;
pub mod validate;

pub use decode::Format;
pub use error::{IngestError, Result};
pub use identity::{IdentityHasher, DEMO_SECRET};
pub use pipeline::{IngestReport, Ingestor};
