//! Validation of one decoded record against its table's contract ([`TableSpec`]): types, enums,
//! required fields, codes present in the reference tables, ID check digits, money and time.
//! A valid record becomes typed [`Cell`]s (identities already keyed-hashed); an invalid one a
//! [`Rejection`] naming the reason and the field.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use puhui_warehouse::contract::{
    region_code_fits, FieldKind, FieldSpec, Rule, RegionLevel, TableSpec, MONEY_PRECISION, MONEY_SCALE, RATE_SCALE,
};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::identity::{canonical_identity, IdentityHasher};
use crate::parse::{fold_code, parse_bool, parse_date, parse_decimal, parse_instant};

/// A typed, validated value, in the order of the table's fields.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Null,
    Str(String),
    /// UTC microseconds.
    Micros(i64),
    /// Days since 1970-01-01.
    Date(i32),
    /// Unscaled decimal at the field's scale.
    Decimal(i128),
    Int(i64),
    Bool(bool),
    List(Vec<String>),
}

/// Why a record was rejected.
#[derive(Debug, Clone, PartialEq)]
pub struct Rejection {
    /// A reason code of DATA_CONTRACT.md (`missing_field`, `invalid_enum`, …).
    pub reason: &'static str,
    pub field: Option<String>,
    pub message: String,
}

impl Rejection {
    fn new(reason: &'static str, field: &str, message: impl Into<String>) -> Self {
        Rejection { reason, field: Some(field.to_string()), message: message.into() }
    }
}

/// The reference data a record's codes are checked against.
#[derive(Debug, Default, Clone)]
pub struct References {
    /// Region code → its level (`None` for province and city codes).
    pub regions: HashMap<String, Option<RegionLevel>>,
    pub institutions: HashSet<String>,
    pub products: HashSet<String>,
}

/// A record that passed validation.
#[derive(Debug, Clone)]
pub struct ValidRecord {
    pub cells: Vec<Cell>,
    /// `event_time` of stream records.
    pub event_time: Option<DateTime<Utc>>,
    /// Hash of the canonical content (decides duplicate vs conflicting duplicate).
    pub record_hash: String,
    /// Fields present in the input that the contract does not know.
    pub unknown_fields: usize,
}

/// Validates records of one table.
pub struct Validator<'a> {
    pub spec: &'static TableSpec,
    pub refs: &'a References,
    pub hasher: &'a IdentityHasher,
    /// Instants after this are in the future (`invalid_time`).
    pub latest: DateTime<Utc>,
}

impl<'a> Validator<'a> {
    /// A validator that takes instants up to a day from now.
    pub fn new(spec: &'static TableSpec, refs: &'a References, hasher: &'a IdentityHasher) -> Self {
        Validator { spec, refs, hasher, latest: Utc::now() + chrono::Duration::days(1) }
    }
}

/// A field's raw value as text, or `code_not_string` if a code arrived as a JSON number.
fn text_of(value: &Value, field: &FieldSpec) -> Result<String, Rejection> {
    let is_code = matches!(
        field.kind,
        FieldKind::EventId
            | FieldKind::Code
            | FieldKind::RegionCode(_)
            | FieldKind::InstitutionRef
            | FieldKind::ProductRef
            | FieldKind::Identity
            | FieldKind::Account
    );
    match value {
        Value::String(s) if is_code && s.chars().any(char::is_control) => Err(Rejection::new(
            "invalid_code",
            field.name,
            format!("`{}` contains control characters", field.name),
        )),
        Value::String(s) => Ok(s.clone()),
        Value::Number(_) | Value::Bool(_) if is_code => Err(Rejection::new(
            "code_not_string",
            field.name,
            format!("`{}` must be a string, got {value} (quote codes so leading zeros survive)", field.name),
        )),
        Value::Number(n) => Ok(n.to_string()),
        Value::Bool(b) => Ok(b.to_string()),
        other => Err(Rejection::new(
            "invalid_type",
            field.name,
            format!("`{}` must be a string or number, got {other}", field.name),
        )),
    }
}

fn is_absent(value: Option<&Value>) -> bool {
    match value {
        None | Some(Value::Null) => true,
        Some(Value::String(s)) => s.trim().is_empty(),
        Some(Value::Array(a)) => a.is_empty(),
        _ => false,
    }
}

impl Validator<'_> {
    pub fn validate(&self, record: &Map<String, Value>, from_csv: bool) -> Result<ValidRecord, Rejection> {
        let event_type = match self.spec.field("event_type") {
            Some(field) if !is_absent(record.get("event_type")) => {
                match self.cell(field, &record["event_type"], from_csv)? {
                    Cell::Str(s) => Some(s),
                    _ => None,
                }
            }
            _ => None,
        };
        let mut cells = Vec::with_capacity(self.spec.fields.len());
        let mut event_time = None;
        for field in self.spec.fields {
            let value = record.get(field.name);
            if is_absent(value) {
                if field.is_required(event_type.as_deref()) || field.name == "event_type" {
                    let when = match (&event_type, field.required) {
                        (Some(t), puhui_warehouse::contract::Required::ForEvents(_)) => format!(" for `{t}`"),
                        _ => String::new(),
                    };
                    return Err(Rejection::new(
                        "missing_field",
                        field.name,
                        format!("`{}` is required{when}", field.name),
                    ));
                }
                cells.push(Cell::Null);
                continue;
            }
            let cell = self.cell(field, value.expect("present"), from_csv)?;
            if field.name == "event_time" {
                if let Cell::Micros(us) = cell {
                    event_time = Some(puhui_warehouse::time::from_micros(us));
                }
            }
            cells.push(cell);
        }
        self.check_rules(&cells)?;
        let unknown_fields = record.keys().filter(|k| self.spec.field(k).is_none()).count();
        let record_hash = content_hash(&cells);
        Ok(ValidRecord { cells, event_time, record_hash, unknown_fields })
    }

    fn check_rules(&self, cells: &[Cell]) -> Result<(), Rejection> {
        let cell = |name: &str| {
            let i = self.spec.fields.iter().position(|f| f.name == name).expect("rules name contract fields");
            &cells[i]
        };
        for rule in self.spec.rules {
            match *rule {
                Rule::NotBelow { field, other } => {
                    let below = match (cell(field), cell(other)) {
                        (Cell::Date(a), Cell::Date(b)) => a < b,
                        (Cell::Int(a), Cell::Int(b)) => a < b,
                        _ => false,
                    };
                    if below {
                        return Err(Rejection::new(
                            "inconsistent",
                            field,
                            format!("`{field}` must not be below `{other}`"),
                        ));
                    }
                }
                Rule::RegionCodeShape { code, level } => {
                    let (Cell::Str(code_value), Cell::Str(level_value)) = (cell(code), cell(level)) else { continue };
                    if !region_code_fits(code_value, level_value) {
                        return Err(Rejection::new(
                            "invalid_code",
                            code,
                            format!("`{code_value}` is not shaped as a {level_value} code (6, 9 or 12 digits)"),
                        ));
                    }
                }
            }
        }
        Ok(())
    }

    fn cell(&self, field: &FieldSpec, value: &Value, from_csv: bool) -> Result<Cell, Rejection> {
        let name = field.name;
        if let FieldKind::EnumList(allowed) = field.kind {
            return enum_list(field, value, allowed, from_csv);
        }
        let text = text_of(value, field)?;
        Ok(match field.kind {
            FieldKind::EventId => {
                let id = fold_code(&text);
                let valid = (1..=128).contains(&id.len())
                    && id.bytes().all(|b| b.is_ascii_alphanumeric() || b"._:-".contains(&b));
                if !valid {
                    return Err(Rejection::new(
                        "invalid_event_id",
                        name,
                        format!("`{text}` is not 1–128 characters of [A-Za-z0-9._:-]"),
                    ));
                }
                Cell::Str(id)
            }
            FieldKind::Timestamp => {
                let t = parse_instant(&text, from_csv).ok_or_else(|| {
                    Rejection::new("invalid_time", name, format!("`{text}` is not a time (use RFC 3339, e.g. 2020-01-16T08:30:00+08:00)"))
                })?;
                if t.timestamp() < 0 || t > self.latest {
                    return Err(Rejection::new(
                        "invalid_time",
                        name,
                        format!("`{text}` is before 1970 or in the future"),
                    ));
                }
                Cell::Micros(t.timestamp_micros())
            }
            FieldKind::Date => {
                let d = parse_date(&text, from_csv).ok_or_else(|| {
                    Rejection::new("invalid_time", name, format!("`{text}` is not a date (use YYYY-MM-DD)"))
                })?;
                Cell::Date((d - chrono::NaiveDate::from_ymd_opt(1970, 1, 1).expect("epoch")).num_days() as i32)
            }
            FieldKind::Enum(allowed) => {
                let v = text.trim();
                if !allowed.contains(&v) {
                    return Err(Rejection::new(
                        "invalid_enum",
                        name,
                        format!("`{v}` is not one of {}", allowed.join(", ")),
                    ));
                }
                Cell::Str(v.to_string())
            }
            FieldKind::EnumList(_) => unreachable!("handled above"),
            FieldKind::Code => Cell::Str(fold_code(&text)),
            FieldKind::Text => Cell::Str(text.trim().to_string()),
            FieldKind::RegionCode(levels) => {
                let code = fold_code(&text);
                match self.refs.regions.get(&code) {
                    None => {
                        return Err(Rejection::new("unknown_region", name, format!("region `{code}` is not in `regions`")))
                    }
                    Some(level) if !level.is_some_and(|l| levels.contains(&l)) => {
                        let wanted: Vec<&str> = levels.iter().map(|l| l.as_str()).collect();
                        let got = level.map_or("province/city", |l| l.as_str());
                        return Err(Rejection::new(
                            "wrong_region_level",
                            name,
                            format!("region `{code}` is a {got}; `{name}` must be a {}", wanted.join(" or ")),
                        ));
                    }
                    Some(_) => Cell::Str(code),
                }
            }
            FieldKind::InstitutionRef => {
                let id = fold_code(&text);
                if !self.refs.institutions.contains(&id) {
                    return Err(Rejection::new(
                        "unknown_institution",
                        name,
                        format!("institution `{id}` is not in `institutions`"),
                    ));
                }
                Cell::Str(id)
            }
            FieldKind::ProductRef => {
                let id = fold_code(&text);
                if !self.refs.products.contains(&id) {
                    return Err(Rejection::new("unknown_product", name, format!("product `{id}` is not in `products`")));
                }
                Cell::Str(id)
            }
            FieldKind::Money => {
                let v = parse_decimal(&text, MONEY_SCALE as u32, from_csv)
                    .map_err(|m| Rejection::new("invalid_amount", name, m))?;
                if !(0..10i128.pow(MONEY_PRECISION as u32)).contains(&v) {
                    return Err(Rejection::new(
                        "invalid_amount",
                        name,
                        format!("`{text}` is out of range (0 to 9,999,999,999,999,999.99 yuan)"),
                    ));
                }
                Cell::Decimal(v)
            }
            FieldKind::Rate => {
                let v = parse_decimal(&text, RATE_SCALE as u32, false)
                    .map_err(|m| Rejection::new("invalid_rate", name, m))?;
                if !(0..=36 * 10i128.pow(RATE_SCALE as u32)).contains(&v) {
                    return Err(Rejection::new("invalid_rate", name, format!("`{text}` is outside 0–36 percent a year")));
                }
                Cell::Decimal(v)
            }
            FieldKind::Int { min, max } => {
                let v: i64 = text.trim().parse().map_err(|_| {
                    Rejection::new("invalid_number", name, format!("`{text}` is not a whole number"))
                })?;
                if !(min..=max).contains(&v) {
                    return Err(Rejection::new("invalid_number", name, format!("`{v}` is outside {min}–{max}")));
                }
                Cell::Int(v)
            }
            FieldKind::Bool => {
                let b = parse_bool(&text).ok_or_else(|| {
                    Rejection::new("invalid_bool", name, format!("`{text}` is not true or false"))
                })?;
                Cell::Bool(b)
            }
            FieldKind::Identity => {
                let id = canonical_identity(&text).ok_or_else(|| {
                    Rejection::new(
                        "invalid_id",
                        name,
                        "not an 18-character resident ID number or unified social credit code with a valid check character",
                    )
                })?;
                Cell::Str(self.hasher.key(&id))
            }
            FieldKind::Account => {
                let account = fold_code(&text);
                Cell::Str(self.hasher.key(&account))
            }
        })
    }
}

fn enum_list(field: &FieldSpec, value: &Value, allowed: &[&str], from_csv: bool) -> Result<Cell, Rejection> {
    let items: Vec<String> = match value {
        Value::Array(items) => items
            .iter()
            .map(|v| match v {
                Value::String(s) => Ok(s.trim().to_string()),
                other => Err(Rejection::new("invalid_enum", field.name, format!("list item {other} is not a string"))),
            })
            .collect::<Result<_, _>>()?,
        Value::String(s) if from_csv => s.split(';').map(|p| p.trim().to_string()).filter(|p| !p.is_empty()).collect(),
        _ => {
            return Err(Rejection::new(
                "invalid_enum",
                field.name,
                format!("`{}` must be a list (a JSON array; `;`-separated in CSV)", field.name),
            ))
        }
    };
    if let Some(bad) = items.iter().find(|i| !allowed.contains(&i.as_str())) {
        return Err(Rejection::new("invalid_enum", field.name, format!("`{bad}` is not one of {}", allowed.join(", "))));
    }
    // Canonical form: the contract's order, each value once.
    let list = allowed.iter().filter(|a| items.iter().any(|i| i == *a)).map(|a| a.to_string()).collect();
    Ok(Cell::List(list))
}

/// The hash of a record's canonical content: equal for the same content whatever its encoding.
fn content_hash(cells: &[Cell]) -> String {
    let mut hasher = Sha256::new();
    for cell in cells {
        let text = match cell {
            Cell::Null => String::from("\u{0}"),
            Cell::Str(s) => format!("s{s}"),
            Cell::Micros(v) => format!("t{v}"),
            Cell::Date(v) => format!("d{v}"),
            Cell::Decimal(v) => format!("n{v}"),
            Cell::Int(v) => format!("i{v}"),
            Cell::Bool(v) => format!("b{v}"),
            Cell::List(v) => format!("l{}", v.join(";")),
        };
        hasher.update(text.as_bytes());
        hasher.update([0x1f]);
    }
    hex::encode(&hasher.finalize()[..16])
}

#[cfg(test)]
mod tests {
    use super::*;
    use puhui_warehouse::contract::{LOAN_EVENTS, STATION_EVENTS};
    use serde_json::json;

    fn refs() -> References {
        let mut r = References::default();
        r.regions.insert("410181".into(), Some(RegionLevel::County));
        r.regions.insert("410181001001".into(), Some(RegionLevel::Village));
        r.regions.insert("410100".into(), None);
        r.institutions.insert("gongyi_rcb".into());
        r.products.insert("gongyi_rcb_hnd".into());
        r
    }

    fn loan() -> Map<String, Value> {
        json!({
            "event_id": "L-1", "event_time": "2021-03-01T10:00:00+08:00", "event_type": "loan_disbursed",
            "institution_id": "gongyi_rcb", "product_id": "gongyi_rcb_hnd", "borrower_id": "11010519491231002X",
            "borrower_type": "farm_household", "region_code": "410181001001", "loan_id": "LN1",
            "amount": "30000.00", "annual_rate_pct": 6.5, "term_months": 12, "purpose": "agriculture"
        })
        .as_object()
        .unwrap()
        .clone()
    }

    fn check(record: Map<String, Value>) -> Result<ValidRecord, Rejection> {
        let refs = refs();
        let hasher = IdentityHasher::new(b"k");
        Validator::new(&LOAN_EVENTS, &refs, &hasher).validate(&record, false)
    }

    fn rejected(patch: Value) -> (String, Option<String>) {
        let mut r = loan();
        for (k, v) in patch.as_object().unwrap() {
            if v.is_null() {
                r.remove(k);
            } else {
                r.insert(k.clone(), v.clone());
            }
        }
        let e = check(r).unwrap_err();
        (e.reason.to_string(), e.field)
    }

    #[test]
    fn good_loan_is_typed_and_hashed() {
        let v = check(loan()).unwrap();
        let borrower = LOAN_EVENTS.fields.iter().position(|f| f.name == "borrower_id").unwrap();
        assert!(matches!(&v.cells[borrower], Cell::Str(k) if k.len() == 32 && !k.contains("110105")));
        let amount = LOAN_EVENTS.fields.iter().position(|f| f.name == "amount").unwrap();
        assert_eq!(v.cells[amount], Cell::Decimal(3_000_000));
        assert_eq!(v.unknown_fields, 0);
    }

    #[test]
    fn each_rule_names_reason_and_field() {
        let cases = [
            (json!({"event_type": "loan_given"}), "invalid_enum", "event_type"),
            (json!({"amount": null}), "missing_field", "amount"),
            (json!({"annual_rate_pct": null}), "missing_field", "annual_rate_pct"),
            (json!({"region_code": 410181001001u64}), "code_not_string", "region_code"),
            (json!({"loan_id": true}), "code_not_string", "loan_id"),
            (json!({"loan_id": "LN\n1"}), "invalid_code", "loan_id"),
            (json!({"region_code": "410181999999"}), "unknown_region", "region_code"),
            (json!({"region_code": "410181"}), "wrong_region_level", "region_code"),
            (json!({"institution_id": "nobank"}), "unknown_institution", "institution_id"),
            (json!({"product_id": "noproduct"}), "unknown_product", "product_id"),
            (json!({"borrower_id": "110105194912310021"}), "invalid_id", "borrower_id"),
            (json!({"amount": "100.001"}), "invalid_amount", "amount"),
            (json!({"amount": "NaN"}), "invalid_amount", "amount"),
            (json!({"amount": "-5"}), "invalid_amount", "amount"),
            (json!({"annual_rate_pct": "40"}), "invalid_rate", "annual_rate_pct"),
            (json!({"term_months": 0}), "invalid_number", "term_months"),
            (json!({"event_time": "2021-02-30"}), "invalid_time", "event_time"),
            (json!({"event_id": "bad id!"}), "invalid_event_id", "event_id"),
            (json!({"event_time": "9999-12-31T23:59:59+08:00"}), "invalid_time", "event_time"),
        ];
        for (patch, reason, field) in cases {
            assert_eq!(rejected(patch.clone()), (reason.to_string(), Some(field.to_string())), "{patch}");
        }
    }

    #[test]
    fn same_content_same_hash_in_any_encoding() {
        let a = check(loan()).unwrap();
        let mut r = loan();
        r.insert("amount".into(), json!(30000));
        r.insert("region_code".into(), json!(" ４１０１８１００１００１"));
        r.insert("extra".into(), json!(1));
        let b = check(r).unwrap();
        assert_eq!(a.record_hash, b.record_hash);
        assert_eq!(b.unknown_fields, 1);
        let mut r = loan();
        r.insert("amount".into(), json!("30000.01"));
        assert_ne!(check(r).unwrap().record_hash, a.record_hash);
    }

    #[test]
    fn station_functions_from_json_or_csv() {
        let refs = refs();
        let hasher = IdentityHasher::new(b"k");
        let v = Validator::new(&STATION_EVENTS, &refs, &hasher);
        let mut r = json!({"event_id": "S1", "event_time": "2020-01-02", "event_type": "station_opened",
            "station_id": "ST1", "region_code": "410181001001", "institution_id": "gongyi_rcb",
            "functions": ["risk_prevention", "financial_service"]})
        .as_object()
        .unwrap()
        .clone();
        let json_cells = v.validate(&r, false).unwrap().cells;
        r.insert("functions".into(), json!("financial_service;risk_prevention"));
        assert_eq!(v.validate(&r, true).unwrap().cells, json_cells);
        r.insert("functions".into(), json!(["atm"]));
        assert_eq!(v.validate(&r, false).unwrap_err().reason, "invalid_enum");
    }
}
