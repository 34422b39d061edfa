//! # puhui-transforms
//!
//! Computes the inclusive-finance evaluation index of METHODOLOGY.md from the warehouse tables.
//! It owns the indicator definitions (the methodology files under `transforms/methodology/`: SQL
//! plus metadata, never Rust code), period bucketing ([`periods`]), scoring ([`scoring`]),
//! weighting and aggregation ([`aggregate`]), the index job ([`index`]) and the derived tables it
//! writes ([`outputs`]).
//!
//! May depend on: `puhui-warehouse`. Knows nothing of HTTP or of data sources.

pub mod aggregate;
pub mod error;
pub mod index;
pub mod methodology;
pub mod outputs;
pub mod periods;
pub mod reference;
pub mod scoring;

pub use error::{Result, TransformError};
pub use index::{compute_index, IndexSummary};
pub use methodology::Methodology;
