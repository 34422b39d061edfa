//! Every route of the query API, in one place.

/// `POST`: one read-only SQL query; the body is the SQL text or `{"sql": "…"}`.
pub const SQL: &str = "/v1/sql";
/// `GET`: region scorecards of one level and period.
pub const REGION_SCORECARDS: &str = "/v1/scorecards/region";
/// `GET`: institution scorecards (overall, or per county) of one period.
pub const INSTITUTION_SCORECARDS: &str = "/v1/scorecards/institution";
/// `GET`: liveness and the version of every table.
pub const HEALTH: &str = "/healthz";
