//! The generated world: the real counties, villages and institutions of the reference data, with
//! drawn household figures (`region_stats`), products, service areas (包村), stations and each
//! county's inclusive-credit coverage; and the reference tables written from it.

use std::path::Path;

use chrono::{Days, NaiveDate};
use csv::StringRecord;
use rand::Rng;

use super::output::{self, Secs, MONTHS};
use super::random::{self, chance, uniform, Gen};
use super::GeneratedFile;
use crate::{reference, Result};

/// Institution types that lend and take deposits, and so get products.
const BANK_TYPES: &[&str] = &[
    "rural_commercial_bank",
    "village_bank",
    "state_bank",
    "postal_bank",
];

/// Every bank's three credit products: id suffix, name, inclusive_credit, online.
const PRODUCT_KINDS: [(&str, &str, bool, bool); 3] = [
    ("hnd_online", "惠农贷(线上)", true, true),
    ("hnd_branch", "惠农贷(网点)", true, false),
    ("biz", "经营贷", false, false),
];

/// Share of farm households with an active inclusive credit line at the end of 2021, by county.
const COVERAGE_TARGETS: &[(&str, f64)] = &[
    ("410106", 0.36),
    ("410122", 0.53),
    ("410181", 0.49),
    ("410182", 0.56),
    ("410183", 0.41),
    ("410184", 0.61),
    ("410185", 0.45),
    ("410225", 0.68),
];

pub struct Institution {
    pub id: String,
    pub kind: String,
    counties: Vec<String>,
    /// A bank's products, in the order of [`PRODUCT_KINDS`]: id and launch date.
    products: Option<[(String, NaiveDate); 3]>,
}

impl Institution {
    /// The id of a bank's product.
    pub fn product(&self, kind: ProductKind) -> &str {
        &self.products.as_ref().expect("only banks lend")[kind as usize].0
    }
}

#[derive(Clone, Copy)]
pub enum ProductKind {
    InclusiveOnline = 0,
    InclusiveBranch = 1,
    Business = 2,
}

pub struct County {
    pub code: String,
    /// The county's rural commercial bank.
    pub rcb: usize,
    pub village_bank: Option<usize>,
    coverage_target: f64,
}

/// `region_stats` of one village and year.
#[derive(Clone, Copy)]
pub struct Stats {
    pub households: u32,
    pub farm_households: u32,
    pub population: u32,
    pub new_agri_entities: u32,
    pub small_micro_enterprises: u32,
}

pub struct Village {
    pub code: String,
    pub county: usize,
    /// An administrative village (`villagers_committee`), not a community.
    pub admin: bool,
    /// 2020 and 2021.
    pub stats: [Stats; 2],
    /// The institution responsible for the village (包村); the county's rcb for communities.
    pub responsible: usize,
    pub has_station: bool,
    /// Farm households to hold an active inclusive credit line at the end of 2021.
    pub covered: u32,
}

impl Village {
    /// The figures the generated parties follow (2021).
    pub fn current(&self) -> &Stats {
        &self.stats[1]
    }
}

pub struct World {
    pub institutions: Vec<Institution>,
    pub counties: Vec<County>,
    pub villages: Vec<Village>,
    pub psbc: usize,
    pub abc: usize,
    pub month_starts: [Secs; MONTHS + 1],
}

/// A reference CSV with access to columns by name.
struct Table {
    header: StringRecord,
    rows: Vec<StringRecord>,
}

impl Table {
    fn parse(text: &str) -> Table {
        let mut reader = csv::Reader::from_reader(text.as_bytes());
        let header = reader
            .headers()
            .expect("reference CSV has a header")
            .clone();
        let rows = reader
            .records()
            .collect::<Result<_, _>>()
            .expect("reference CSV is valid");
        Table { header, rows }
    }

    fn get<'r>(&self, row: &'r StringRecord, column: &str) -> &'r str {
        let i = self
            .header
            .iter()
            .position(|h| h == column)
            .unwrap_or_else(|| panic!("reference column {column}"));
        &row[i]
    }
}

impl World {
    pub fn build(scale: f64, seed: u64) -> World {
        let mut rng = random::rng(seed, "world");
        let institutions = read_institutions(&mut rng);
        let position = |id: &str| {
            institutions
                .iter()
                .position(|i| i.id == id)
                .expect("reference institution")
        };
        let (psbc, abc) = (position("psbc"), position("abc"));

        let serving = |code: &str, kind: &str| {
            institutions
                .iter()
                .position(|i| i.kind == kind && i.counties.iter().any(|c| c == code))
        };
        let counties_csv = Table::parse(reference::COUNTIES_CSV);
        let mut counties = Vec::new();
        let mut county_households = Vec::new();
        for row in &counties_csv.rows {
            let code = counties_csv.get(row, "code").to_string();
            let estimated: f64 = counties_csv
                .get(row, "households_estimated")
                .parse()
                .expect("households");
            let coverage_target = COVERAGE_TARGETS
                .iter()
                .find(|(c, _)| *c == code)
                .map_or_else(
                    || 0.32 + (code.parse::<u64>().unwrap_or(0) % 31) as f64 / 100.0,
                    |t| t.1,
                );
            counties.push(County {
                rcb: serving(&code, "rural_commercial_bank")
                    .expect("every county has a rural commercial bank"),
                village_bank: serving(&code, "village_bank"),
                code,
                coverage_target,
            });
            county_households.push(estimated * scale);
        }

        let villages = draw_villages(&counties, &county_households, psbc, &mut rng);
        let mut world = World {
            institutions,
            counties,
            villages,
            psbc,
            abc,
            month_starts: output::month_starts(),
        };
        world.assign_coverage(&mut rng);
        world
    }

    /// Spreads each county's coverage target over its villages (varying by village), rounding
    /// with a carried remainder so that the county total hits the target.
    fn assign_coverage(&mut self, rng: &mut Gen) {
        for (c, county) in self.counties.iter().enumerate() {
            let members: Vec<&mut Village> =
                self.villages.iter_mut().filter(|v| v.county == c).collect();
            let factors: Vec<f64> = members.iter().map(|_| uniform(rng, 0.75, 1.25)).collect();
            let farm = |v: &Village| f64::from(v.current().farm_households);
            let total: f64 = members.iter().map(|v| farm(v)).sum();
            let weighted: f64 = members.iter().zip(&factors).map(|(v, f)| farm(v) * f).sum();
            let norm = if weighted > 0.0 {
                total / weighted
            } else {
                1.0
            };
            let (mut carried, mut assigned) = (0.0, 0u32);
            for (village, factor) in members.into_iter().zip(factors) {
                carried += farm(village) * (county.coverage_target * factor * norm).min(0.95);
                let quota = (carried.round() as u32)
                    .saturating_sub(assigned)
                    .min(village.current().farm_households);
                village.covered = quota;
                assigned += quota;
            }
        }
    }

    /// Writes `regions`, `institutions`, `region_stats`, `products` and `service_areas`.
    pub fn write_reference(&self, dir: &Path) -> Result<Vec<GeneratedFile>> {
        let stats_rows = self.villages.iter().flat_map(|v| {
            [2020, 2021].into_iter().zip(v.stats).map(|(year, s)| {
                [
                    v.code.clone(),
                    year.to_string(),
                    s.households.to_string(),
                    s.farm_households.to_string(),
                    s.population.to_string(),
                    s.new_agri_entities.to_string(),
                    s.small_micro_enterprises.to_string(),
                ]
            })
        });
        let product_rows = self.institutions.iter().flat_map(|inst| {
            let products = inst.products.iter().flatten().zip(PRODUCT_KINDS);
            products.map(|((id, launched), (_, name, inclusive, online))| {
                [
                    id.clone(),
                    inst.id.clone(),
                    name.to_string(),
                    "credit".to_string(),
                    inclusive.to_string(),
                    online.to_string(),
                    launched.to_string(),
                ]
            })
        });
        let service_rows = self.villages.iter().filter(|v| v.admin).map(|v| {
            [
                v.code.as_str(),
                self.institutions[v.responsible].id.as_str(),
                "2019-01-01",
                "",
            ]
        });
        Ok(vec![
            output::write_verbatim(dir, "regions", reference::REGIONS_CSV)?,
            output::write_verbatim(dir, "institutions", reference::INSTITUTIONS_CSV)?,
            output::write_reference(
                dir,
                "region_stats",
                &[
                    "region_code",
                    "year",
                    "households",
                    "farm_households",
                    "population",
                    "new_agri_entities",
                    "small_micro_enterprises",
                ],
                stats_rows,
            )?,
            output::write_reference(
                dir,
                "products",
                &[
                    "product_id",
                    "institution_id",
                    "name",
                    "category",
                    "inclusive_credit",
                    "online",
                    "launched_on",
                ],
                product_rows,
            )?,
            output::write_reference(
                dir,
                "service_areas",
                &["region_code", "institution_id", "valid_from", "valid_to"],
                service_rows,
            )?,
        ])
    }
}

/// The institutions of the reference data, with three products (launched 2018–2019) for banks.
fn read_institutions(rng: &mut Gen) -> Vec<Institution> {
    let table = Table::parse(reference::INSTITUTIONS_CSV);
    let first_launch = NaiveDate::from_ymd_opt(2018, 1, 1).expect("valid date");
    table
        .rows
        .iter()
        .map(|row| {
            let id = table.get(row, "institution_id").to_string();
            let kind = table.get(row, "type").to_string();
            let counties = table
                .get(row, "counties")
                .split(';')
                .map(str::to_string)
                .collect();
            let products = BANK_TYPES.contains(&kind.as_str()).then(|| {
                PRODUCT_KINDS.map(|(suffix, ..)| {
                    let launched = first_launch + Days::new(rng.random_range(0..730));
                    (format!("{id}_{suffix}"), launched)
                })
            });
            Institution {
                id,
                kind,
                counties,
                products,
            }
        })
        .collect()
}

/// The villages and communities of the reference regions, with their drawn figures.
fn draw_villages(
    counties: &[County],
    county_households: &[f64],
    psbc: usize,
    rng: &mut Gen,
) -> Vec<Village> {
    let regions = Table::parse(reference::REGIONS_CSV);
    let mut villages: Vec<(String, usize, bool, f64)> = Vec::new();
    for row in regions
        .rows
        .iter()
        .filter(|r| regions.get(r, "level") == "village")
    {
        let code = regions.get(row, "code");
        let Some(county) = counties.iter().position(|c| code.starts_with(&c.code)) else {
            continue;
        };
        let admin = regions.get(row, "kind") == "villagers_committee";
        // Urban communities are larger than villages.
        let weight = if admin {
            uniform(rng, 0.5, 1.5)
        } else {
            uniform(rng, 1.5, 4.0)
        };
        villages.push((code.to_string(), county, admin, weight));
    }
    let mut weight_sums = vec![0.0; counties.len()];
    for (_, county, _, weight) in &villages {
        weight_sums[*county] += weight;
    }
    villages
        .into_iter()
        .map(|(code, c, admin, weight)| {
            let households = (county_households[c] * weight / weight_sums[c])
                .round()
                .max(1.0);
            let growth = uniform(rng, -0.02, 0.02);
            let farm_share = if admin {
                uniform(rng, 0.70, 0.90)
            } else {
                uniform(rng, 0.0, 0.10)
            };
            let persons = uniform(rng, 2.6, 3.1);
            let agri_share = uniform(rng, 0.01, 0.03);
            let firm_share = if admin {
                uniform(rng, 0.005, 0.02)
            } else {
                uniform(rng, 0.01, 0.04)
            };
            let stats = |h: f64| {
                let farm = (h * farm_share).round();
                Stats {
                    households: h as u32,
                    farm_households: farm as u32,
                    population: (h * persons).round() as u32,
                    new_agri_entities: (farm * agri_share).round() as u32,
                    small_micro_enterprises: (h * firm_share).round() as u32,
                }
            };
            let county = &counties[c];
            let responsible = if !admin || chance(rng, 0.85) {
                county.rcb
            } else {
                county.village_bank.unwrap_or(psbc)
            };
            Village {
                stats: [
                    stats(households),
                    stats((households * (1.0 + growth)).round().max(1.0)),
                ],
                responsible,
                has_station: admin && chance(rng, 0.92),
                covered: 0,
                code,
                county: c,
                admin,
            }
        })
        .collect()
}
