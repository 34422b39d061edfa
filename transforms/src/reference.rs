//! The reference data the index needs in memory: the region hierarchy with names and kinds, the
//! denominators of every unit per year, and institution names.

use puhui_warehouse::store::strings;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, Int64Array, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Int64Type, Schema};
use puhui_warehouse::contract::region_code_fits;
use puhui_warehouse::Warehouse;

use crate::error::Result;
use crate::methodology::{Denominator, Level};

/// A region of the hierarchy.
#[derive(Debug, Clone)]
pub struct Region {
    pub code: String,
    pub name: String,
    pub level: Level,
    pub administrative_village: bool,
}

/// Denominators of one unit in one year.
#[derive(Debug, Clone, Copy, Default)]
pub struct Stats {
    pub households: i64,
    pub farm_households: i64,
    pub new_agri_entities: i64,
    pub admin_villages: i64,
}

impl Stats {
    pub fn get(&self, d: Denominator) -> Option<i64> {
        match d {
            Denominator::Households => Some(self.households),
            Denominator::FarmHouseholds => Some(self.farm_households),
            Denominator::NewAgriEntities => Some(self.new_agri_entities),
            Denominator::AdminVillages => Some(self.admin_villages),
            Denominator::Sql => None,
        }
    }

    fn add(&mut self, o: &Stats) {
        self.households += o.households;
        self.farm_households += o.farm_households;
        self.new_agri_entities += o.new_agri_entities;
        self.admin_villages += o.admin_villages;
    }
}

#[derive(Debug, Default)]
pub struct ReferenceData {
    /// Counties, townships and villages by code.
    pub regions: BTreeMap<String, Region>,
    /// (unit code, year) → denominators, for every unit of every level.
    pub stats: HashMap<(String, i32), Stats>,
    /// Years present in `region_stats`.
    pub stat_years: BTreeSet<i32>,
    pub institution_names: HashMap<String, String>,
}

fn text(batch: &RecordBatch, i: usize) -> StringArray {
    strings(batch.column(i))
}

impl ReferenceData {
    pub async fn load(warehouse: &Warehouse, tables: &BTreeSet<String>) -> Result<ReferenceData> {
        let mut data = ReferenceData::default();
        if tables.contains("regions") {
            for b in warehouse.query("SELECT code, name, level, kind FROM regions").await? {
                let (code, name, level, kind) = (text(&b, 0), text(&b, 1), text(&b, 2), text(&b, 3));
                for i in 0..b.num_rows() {
                    let level = match level.value(i) {
                        "county" => Level::County,
                        "township" => Level::Township,
                        "village" => Level::Village,
                        _ => continue,
                    };
                    // Ingest checks code shapes; a row that does not fit the hierarchy is skipped.
                    if !region_code_fits(code.value(i), level.as_str()) {
                        continue;
                    }
                    data.regions.insert(
                        code.value(i).to_string(),
                        Region {
                            code: code.value(i).to_string(),
                            name: name.value(i).to_string(),
                            level,
                            administrative_village: level == Level::Village
                                && !kind.is_null(i)
                                && kind.value(i) == "villagers_committee",
                        },
                    );
                }
            }
        }
        let mut own: HashMap<(String, i32), Stats> = HashMap::new();
        if tables.contains("region_stats") {
            let sql = "SELECT region_code, CAST(year AS BIGINT), households, farm_households, \
                       coalesce(new_agri_entities, 0) FROM region_stats";
            for b in warehouse.query(sql).await? {
                let code = text(&b, 0);
                let ints = |i: usize| b.column(i).as_primitive::<Int64Type>().clone();
                let (year, hh, farm, entities) = (ints(1), ints(2), ints(3), ints(4));
                for i in 0..b.num_rows() {
                    let y = year.value(i) as i32;
                    data.stat_years.insert(y);
                    own.insert(
                        (code.value(i).to_string(), y),
                        Stats {
                            households: hh.value(i),
                            farm_households: farm.value(i),
                            new_agri_entities: entities.value(i),
                            admin_villages: 0,
                        },
                    );
                }
            }
        }
        // Villages: their own figures; townships and counties: their own figures where given,
        // else the sum of their villages. Administrative villages are counted from `regions`.
        for &year in &data.stat_years {
            let mut sums: HashMap<String, Stats> = HashMap::new();
            for village in data.regions.values().filter(|r| r.level == Level::Village) {
                let mut s = own.get(&(village.code.clone(), year)).copied().unwrap_or_default();
                s.admin_villages = i64::from(village.administrative_village);
                for level in [Level::Township, Level::County] {
                    sums.entry(level.unit_of(&village.code).to_string()).or_default().add(&s);
                }
                data.stats.insert((village.code.clone(), year), s);
            }
            for (code, summed) in sums {
                let stats = match own.get(&(code.clone(), year)) {
                    Some(given) => Stats { admin_villages: summed.admin_villages, ..*given },
                    None => summed,
                };
                data.stats.insert((code, year), stats);
            }
        }
        if tables.contains("institutions") {
            for b in warehouse.query("SELECT institution_id, name_zh FROM institutions").await? {
                let (id, name) = (text(&b, 0), text(&b, 1));
                for i in 0..b.num_rows() {
                    data.institution_names.insert(id.value(i).to_string(), name.value(i).to_string());
                }
            }
        }
        Ok(data)
    }

    /// The `region_stats` year used for a period of this calendar year: the same year, else the
    /// latest earlier one, else the earliest available.
    pub fn stats_year(&self, year: i32) -> i32 {
        self.stat_years
            .range(..=year)
            .next_back()
            .or_else(|| self.stat_years.iter().next())
            .copied()
            .unwrap_or(year)
    }

    pub fn stats(&self, code: &str, year: i32) -> Stats {
        self.stats.get(&(code.to_string(), year)).copied().unwrap_or_default()
    }

    pub fn units(&self, level: Level) -> impl Iterator<Item = &Region> {
        self.regions.values().filter(move |r| r.level == level)
    }

    /// `village_stats(year, region_code, households, farm_households, new_agri_entities,
    /// admin_villages)` and `admin_villages(region_code)` for the indicator SQL.
    pub fn sql_tables(&self) -> (RecordBatch, RecordBatch) {
        let mut years = Vec::new();
        let mut codes = Vec::new();
        let mut cols: [Vec<i64>; 4] = Default::default();
        for &year in &self.stat_years {
            for v in self.units(Level::Village) {
                let s = self.stats(&v.code, year);
                years.push(year as i64);
                codes.push(v.code.clone());
                for (c, x) in cols.iter_mut().zip([s.households, s.farm_households, s.new_agri_entities, s.admin_villages]) {
                    c.push(x);
                }
            }
        }
        let int = |name: &str| Field::new(name, DataType::Int64, false);
        let schema = Arc::new(Schema::new(vec![
            int("year"),
            Field::new("region_code", DataType::Utf8, false),
            int("households"),
            int("farm_households"),
            int("new_agri_entities"),
            int("admin_villages"),
        ]));
        let [hh, farm, entities, admin] = cols;
        let columns: Vec<ArrayRef> = vec![
            Arc::new(Int64Array::from(years)),
            Arc::new(StringArray::from(codes)),
            Arc::new(Int64Array::from(hh)),
            Arc::new(Int64Array::from(farm)),
            Arc::new(Int64Array::from(entities)),
            Arc::new(Int64Array::from(admin)),
        ];
        let village_stats = RecordBatch::try_new(schema, columns).expect("village_stats schema");
        let admin: Vec<&str> =
            self.units(Level::Village).filter(|v| v.administrative_village).map(|v| v.code.as_str()).collect();
        let admin_schema = Arc::new(Schema::new(vec![Field::new("region_code", DataType::Utf8, false)]));
        let admin_villages =
            RecordBatch::try_new(admin_schema, vec![Arc::new(StringArray::from(admin))]).expect("admin schema");
        (village_stats, admin_villages)
    }
}
