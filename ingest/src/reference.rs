//! Reference data shipped in the binary (copied from the project's `reference/` folder): the real
//! statistical divisions of the seven areas and Lankao, the county figures and the institutions.

/// `code,name,level,parent_code,kind` — NBS division codes, 2023 edition.
pub const REGIONS_CSV: &str = include_str!("../../reference/regions.csv");
/// County population, area and estimated households (sizes the generated data).
pub const COUNTIES_CSV: &str = include_str!("../../reference/counties.csv");
/// Institutions serving each county, in the `institutions` table's format.
pub const INSTITUTIONS_CSV: &str = include_str!("../../reference/institutions.csv");
