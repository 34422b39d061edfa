//! Methodology files: a version's indicators (SQL plus metadata), shared views, scoring rules and
//! weights, read from TOML. The default file (`transforms/methodology/v1.toml`) is embedded in the
//! binary; another can be given at run time so a statistician can add or reweight an indicator
//! without recompiling.

use std::collections::HashSet;
use std::path::Path;

use serde::Deserialize;

use crate::aggregate::{SubDimension, SubWeights};
use crate::error::{Result, TransformError};
use crate::scoring::Scoring;

/// The methodology file compiled into the binary.
pub const DEFAULT_METHODOLOGY: &str = include_str!("../methodology/v1.toml");

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Methodology {
    pub version: String,
    #[serde(default)]
    pub description: String,
    pub sub_weights: DimensionWeights,
    #[serde(rename = "view", default)]
    pub views: Vec<View>,
    #[serde(rename = "indicator")]
    pub indicators: Vec<Indicator>,
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DimensionWeights {
    pub region: SubWeights,
    pub institution: SubWeights,
}

/// A named query computed once per run and visible to every indicator.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct View {
    pub name: String,
    #[serde(default)]
    pub description: String,
    pub sql: String,
}

/// The two evaluation dimensions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Dimension {
    Region,
    Institution,
}

/// Region levels an indicator is defined at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    County,
    Township,
    Village,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::County => "county",
            Level::Township => "township",
            Level::Village => "village",
        }
    }

    /// The unit of this level a village code belongs to.
    pub fn unit_of(self, village: &str) -> &str {
        match self {
            Level::County => &village[..6],
            Level::Township => &village[..9],
            Level::Village => village,
        }
    }
}

/// Where an indicator's denominator comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Denominator {
    /// The SQL returns a `denominator` column.
    Sql,
    /// A statistic of the unit (from `region_stats`, or the count of administrative villages).
    Households,
    FarmHouseholds,
    NewAgriEntities,
    AdminVillages,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Indicator {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub name_zh: String,
    pub dimension: Dimension,
    pub sub: SubDimension,
    pub weight: f64,
    #[serde(default)]
    pub levels: Vec<Level>,
    pub scoring: Scoring,
    /// The plan sets this target (its attainment is reported beside the score).
    #[serde(default)]
    pub plan_target: bool,
    #[serde(default = "sql_denominator")]
    pub denominator: Denominator,
    /// `value = numerator / denominator × scale`.
    #[serde(default = "unit_scale")]
    pub scale: f64,
    pub sql: String,
}

fn sql_denominator() -> Denominator {
    Denominator::Sql
}

fn unit_scale() -> f64 {
    1.0
}

impl Methodology {
    /// The methodology compiled into the binary.
    pub fn embedded() -> Methodology {
        Methodology::parse(DEFAULT_METHODOLOGY, "embedded v1.toml").expect("the embedded methodology is valid")
    }

    /// Reads and validates a methodology file.
    pub fn from_file(path: &Path) -> Result<Methodology> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| TransformError::Methodology(format!("cannot read {}: {e}", path.display())))?;
        Methodology::parse(&text, &path.display().to_string())
    }

    pub fn parse(text: &str, origin: &str) -> Result<Methodology> {
        let m: Methodology =
            toml::from_str(text).map_err(|e| TransformError::Methodology(format!("{origin}: {e}")))?;
        m.validate().map_err(|e| TransformError::Methodology(format!("{origin}: {e}")))?;
        Ok(m)
    }

    fn validate(&self) -> std::result::Result<(), String> {
        if self.version.trim().is_empty() {
            return Err("`version` is empty".into());
        }
        let mut names = HashSet::new();
        for v in &self.views {
            if !names.insert(v.name.as_str()) {
                return Err(format!("view `{}` is defined twice", v.name));
            }
        }
        let mut ids = HashSet::new();
        for i in &self.indicators {
            let at = |msg: &str| format!("indicator {}: {msg}", i.id);
            if !ids.insert(i.id.as_str()) {
                return Err(at("defined twice"));
            }
            if !(i.weight.is_finite() && i.weight > 0.0) {
                return Err(at("weight must be a positive number"));
            }
            if !(i.scale.is_finite() && i.scale > 0.0) {
                return Err(at("scale must be a positive number"));
            }
            i.scoring.validate().map_err(|e| at(&e))?;
            if i.plan_target && i.scoring.plan_target().is_none() {
                return Err(at("a plan target needs a target_up or target_down scoring rule"));
            }
            match i.dimension {
                Dimension::Region if i.levels.is_empty() => return Err(at("a region indicator needs `levels`")),
                Dimension::Institution if i.denominator != Denominator::Sql => {
                    return Err(at("an institution indicator's SQL returns its denominator"))
                }
                _ => {}
            }
        }
        for (dimension, w) in [("region", self.sub_weights.region), ("institution", self.sub_weights.institution)] {
            let sum = w.availability + w.usage + w.quality;
            if (sum - 1.0).abs() > 1e-9 {
                return Err(format!("sub_weights.{dimension} sum to {sum}, not 1"));
            }
        }
        Ok(())
    }

    pub fn indicators_of(&self, dimension: Dimension) -> impl Iterator<Item = &Indicator> {
        self.indicators.iter().filter(move |i| i.dimension == dimension)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_file_has_the_issue_indicators() {
        let m = Methodology::embedded();
        let ids: Vec<&str> = m.indicators.iter().map(|i| i.id.as_str()).collect();
        for id in ["R04", "R05", "R09", "R12", "R16", "R20", "R21", "R28", "R31", "R32", "I02", "I03", "I13", "I17"] {
            assert!(ids.contains(&id), "{id} missing");
        }
    }

    #[test]
    fn invalid_files_are_refused_with_the_indicator_named() {
        let text = DEFAULT_METHODOLOGY.replace("weight = 0.12", "weight = -1");
        let err = Methodology::parse(&text, "test").unwrap_err().to_string();
        assert!(err.contains("weight must be a positive number"), "{err}");
        let text = DEFAULT_METHODOLOGY.replace("availability = 0.40", "availability = 0.50");
        assert!(Methodology::parse(&text, "test").unwrap_err().to_string().contains("sum to"));
        assert!(Methodology::parse("version = 1", "test").is_err());
    }
}
