//! The data contract (`docs/DATA_CONTRACT.md`) as code: every table puhui ingests, its fields,
//! their kinds and requirements, and the Arrow schema it is stored with.
//!
//! Ingest validates records generically from these specs; nothing else in puhui restates them.

use std::sync::{Arc, OnceLock};

use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};

/// Precision and scale of money (yuan, 2 decimals).
pub const MONEY_PRECISION: u8 = 18;
pub const MONEY_SCALE: i8 = 2;
/// Precision and scale of rates in percent a year.
pub const RATE_PRECISION: u8 = 7;
pub const RATE_SCALE: i8 = 4;

/// The Arrow type of stored instants: UTC microseconds.
pub fn timestamp_type() -> DataType {
    DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
}

/// Levels of the statistical division hierarchy, as in `regions.level`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegionLevel {
    County,
    Township,
    Village,
}

impl RegionLevel {
    pub fn as_str(self) -> &'static str {
        match self {
            RegionLevel::County => "county",
            RegionLevel::Township => "township",
            RegionLevel::Village => "village",
        }
    }
}

/// Whether `code` is shaped as a code of this `regions.level`: digits, 12 for a village, 9 for a
/// township, 6 for a county, city or province.
pub fn region_code_fits(code: &str, level: &str) -> bool {
    let length = match level {
        "village" => 12,
        "township" => 9,
        _ => 6,
    };
    code.len() == length && code.bytes().all(|b| b.is_ascii_digit())
}

/// What a field holds, which decides how it is parsed, validated and stored.
#[derive(Debug, Clone, Copy)]
pub enum FieldKind {
    /// `event_id`: 1–128 characters of `[A-Za-z0-9._:-]`.
    EventId,
    /// An instant (RFC 3339, local Asia/Shanghai time, or the CSV/XLSX forms); stored UTC µs.
    Timestamp,
    /// A calendar date (`YYYY-MM-DD` and the other date forms); stored as Date32.
    Date,
    /// One of the listed lowercase values.
    Enum(&'static [&'static str]),
    /// A subset of the listed values (JSON array, or `;`-separated in CSV).
    EnumList(&'static [&'static str]),
    /// A free code: trimmed, full-width folded, must be a string.
    Code,
    /// A region code that exists in `regions`, at one of the listed levels.
    RegionCode(&'static [RegionLevel]),
    /// An `institution_id` that exists in `institutions`.
    InstitutionRef,
    /// A `product_id` that exists in `products`.
    ProductRef,
    /// Free text (names).
    Text,
    /// Yuan, at most 2 decimals, Decimal128(18,2).
    Money,
    /// Percent a year, 0–36, Decimal128(7,4).
    Rate,
    /// An integer within bounds.
    Int { min: i64, max: i64 },
    /// `true`/`false` (CSV also `1`/`0`, `yes`/`no`).
    Bool,
    /// A resident ID or unified social credit code; stored as `<name without _id>_key` (HMAC).
    Identity,
    /// An account number: keyed-hashed like an identity, without a check-digit test.
    Account,
}

/// When a field must be present.
#[derive(Debug, Clone, Copy)]
pub enum Required {
    Always,
    Optional,
    /// Required when `event_type` is one of these.
    ForEvents(&'static [&'static str]),
    /// Required unless `event_type` is one of these.
    ExceptEvents(&'static [&'static str]),
}

#[derive(Debug, Clone, Copy)]
pub struct FieldSpec {
    /// The field name in input records.
    pub name: &'static str,
    pub kind: FieldKind,
    pub required: Required,
}

impl FieldSpec {
    /// The column the field is stored in: identities and accounts become `*_key`.
    pub fn column(&self) -> String {
        match self.kind {
            FieldKind::Identity | FieldKind::Account => {
                format!("{}_key", self.name.strip_suffix("_id").unwrap_or(self.name))
            }
            _ => self.name.to_string(),
        }
    }

    /// Whether this field is required for a record with this `event_type` (if any).
    pub fn is_required(&self, event_type: Option<&str>) -> bool {
        match self.required {
            Required::Always => true,
            Required::Optional => false,
            Required::ForEvents(list) => event_type.is_some_and(|t| list.contains(&t)),
            Required::ExceptEvents(list) => event_type.is_some_and(|t| !list.contains(&t)),
        }
    }

    fn data_type(&self) -> DataType {
        match self.kind {
            FieldKind::Timestamp => timestamp_type(),
            FieldKind::Date => DataType::Date32,
            FieldKind::Money => DataType::Decimal128(MONEY_PRECISION, MONEY_SCALE),
            FieldKind::Rate => DataType::Decimal128(RATE_PRECISION, RATE_SCALE),
            FieldKind::Int { .. } => DataType::Int64,
            FieldKind::Bool => DataType::Boolean,
            FieldKind::EnumList(_) => {
                DataType::List(Arc::new(Field::new("item", DataType::Utf8, true)))
            }
            _ => DataType::Utf8,
        }
    }
}

/// How a table is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TableKind {
    /// An event stream: append-only, one row per `event_id`, partitioned by `event_month`.
    Stream,
    /// A reference table: rows upserted by key.
    Reference,
}

/// A rule between fields of one record.
#[derive(Debug, Clone, Copy)]
pub enum Rule {
    /// When both are present, `field` is not before `other` (dates) or not below it (numbers).
    NotBelow { field: &'static str, other: &'static str },
    /// `code` is digits of the length its `level` has: 6 (province, city, county), 9, 12.
    RegionCodeShape { code: &'static str, level: &'static str },
}

/// One ingestible table of the contract.
#[derive(Debug)]
pub struct TableSpec {
    pub name: &'static str,
    pub kind: TableKind,
    pub fields: &'static [FieldSpec],
    /// The key of a reference table (stream tables are keyed by `event_id`).
    pub key: &'static [&'static str],
    /// Rules between the fields of a record.
    pub rules: &'static [Rule],
}

/// Columns added to every stream row beside the contract's fields.
pub const RECORD_HASH: &str = "record_hash";
pub const INGESTED_AT: &str = "ingested_at";
pub const BATCH_ID: &str = "batch_id";
pub const EVENT_MONTH: &str = "event_month";

impl TableSpec {
    pub fn field(&self, name: &str) -> Option<&FieldSpec> {
        self.fields.iter().find(|f| f.name == name)
    }

    /// The Arrow schema the table is stored with.
    pub fn schema(&self) -> SchemaRef {
        let mut fields: Vec<Field> = self
            .fields
            .iter()
            .map(|f| Field::new(f.column(), f.data_type(), !matches!(f.required, Required::Always)))
            .collect();
        if self.kind == TableKind::Stream {
            fields.push(Field::new(RECORD_HASH, DataType::Utf8, false));
        }
        fields.push(Field::new(INGESTED_AT, timestamp_type(), false));
        fields.push(Field::new(BATCH_ID, DataType::Utf8, false));
        if self.kind == TableKind::Stream {
            fields.push(Field::new(EVENT_MONTH, DataType::Utf8, false));
        }
        Arc::new(Schema::new(fields))
    }

    /// Partition columns of the stored table.
    pub fn partition_columns(&self) -> &'static [&'static str] {
        match self.kind {
            TableKind::Stream => &[EVENT_MONTH],
            TableKind::Reference => &[],
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Enums

pub const PARTY_TYPES: &[&str] = &[
    "farm_household",
    "new_agri_entity",
    "small_micro_enterprise",
    "individual_business",
    "other_enterprise",
    "other_individual",
];
pub const LOAN_EVENT_TYPES: &[&str] = &[
    "credit_granted",
    "credit_changed",
    "credit_revoked",
    "loan_disbursed",
    "loan_repaid",
    "loan_classified",
    "loan_written_off",
    "balance_snapshot",
];
pub const CLASSIFICATIONS: &[&str] = &["normal", "special_mention", "substandard", "doubtful", "loss"];
pub const PURPOSES: &[&str] = &["agriculture", "business", "consumption", "housing", "other"];
pub const LOAN_CHANNELS: &[&str] = &["online", "branch", "station"];
pub const GUARANTEES: &[&str] = &["pure_credit", "guaranteed", "collateral", "pledge"];
pub const DEPOSIT_EVENT_TYPES: &[&str] =
    &["account_opened", "account_closed", "deposit", "withdrawal", "balance_snapshot"];
pub const DEPOSIT_CHANNELS: &[&str] = &["branch", "station", "online", "atm"];
pub const DEPOSIT_TERMS: &[&str] = &["demand", "time"];
pub const STATION_EVENT_TYPES: &[&str] = &[
    "station_opened",
    "station_closed",
    "functions_changed",
    "cash_withdrawal",
    "cash_deposit",
    "transfer",
    "bill_payment",
    "credit_info_collected",
    "loan_referral",
    "complaint_received",
    "complaint_resolved",
    "literacy_session",
    "fraud_alert",
];
/// Station events that are financial transactions (R16).
pub const STATION_TRANSACTIONS: &[&str] = &["cash_withdrawal", "cash_deposit", "transfer", "bill_payment"];
pub const STATION_FUNCTIONS: &[&str] =
    &["financial_service", "credit_service", "risk_prevention", "consumer_protection"];
pub const INSTITUTION_TYPES: &[&str] = &[
    "rural_commercial_bank",
    "village_bank",
    "state_bank",
    "postal_bank",
    "policy_bank",
    "joint_stock_bank",
    "insurer",
    "guarantor",
    "microcredit",
];
pub const PRODUCT_CATEGORIES: &[&str] = &["credit", "insurance", "securities", "wealth"];
pub const REGION_LEVELS: &[&str] = &["province", "city", "county", "township", "village"];
pub const OUTLET_KINDS: &[&str] = &["branch", "atm", "agent"];

// ---------------------------------------------------------------------------------------------
// Tables

const fn f(name: &'static str, kind: FieldKind, required: Required) -> FieldSpec {
    FieldSpec { name, kind, required }
}

use FieldKind as K;
use Required as R;

const VILLAGE: &[RegionLevel] = &[RegionLevel::Village];

pub const LOAN_EVENTS: TableSpec = TableSpec {
    name: "loan_events",
    kind: TableKind::Stream,
    key: &["event_id"],
    rules: &[],
    fields: &[
        f("event_id", K::EventId, R::Always),
        f("event_time", K::Timestamp, R::Always),
        f("event_type", K::Enum(LOAN_EVENT_TYPES), R::Always),
        f("institution_id", K::InstitutionRef, R::Always),
        f("product_id", K::ProductRef, R::ForEvents(&["credit_granted", "loan_disbursed", "balance_snapshot"])),
        f("borrower_id", K::Identity, R::Always),
        f("borrower_type", K::Enum(PARTY_TYPES), R::Always),
        f("region_code", K::RegionCode(VILLAGE), R::Always),
        f("credit_line_id", K::Code, R::ForEvents(&["credit_granted", "credit_changed", "credit_revoked"])),
        f(
            "loan_id",
            K::Code,
            R::ForEvents(&[
                "loan_disbursed",
                "loan_repaid",
                "loan_classified",
                "loan_written_off",
                "balance_snapshot",
            ]),
        ),
        f("amount", K::Money, R::ExceptEvents(&["credit_revoked", "loan_classified"])),
        f("annual_rate_pct", K::Rate, R::ForEvents(&["loan_disbursed"])),
        f("reference_rate_pct", K::Rate, R::Optional),
        f("term_months", K::Int { min: 1, max: 360 }, R::ForEvents(&["loan_disbursed"])),
        f("applied_at", K::Timestamp, R::Optional),
        f("classification", K::Enum(CLASSIFICATIONS), R::ForEvents(&["loan_classified"])),
        f("first_credit", K::Bool, R::Optional),
        f("purpose", K::Enum(PURPOSES), R::ForEvents(&["loan_disbursed", "balance_snapshot"])),
        f("channel", K::Enum(LOAN_CHANNELS), R::Optional),
        f("guarantee", K::Enum(GUARANTEES), R::Optional),
        f("risk_fund_covered", K::Bool, R::Optional),
        f("credit_info_checked", K::Bool, R::Optional),
    ],
};

pub const DEPOSIT_EVENTS: TableSpec = TableSpec {
    name: "deposit_events",
    kind: TableKind::Stream,
    key: &["event_id"],
    rules: &[],
    fields: &[
        f("event_id", K::EventId, R::Always),
        f("event_time", K::Timestamp, R::Always),
        f("event_type", K::Enum(DEPOSIT_EVENT_TYPES), R::Always),
        f("institution_id", K::InstitutionRef, R::Always),
        f("account_id", K::Account, R::Always),
        f("holder_id", K::Identity, R::Always),
        f("holder_type", K::Enum(PARTY_TYPES), R::Always),
        f("region_code", K::RegionCode(VILLAGE), R::Always),
        f("amount", K::Money, R::ForEvents(&["deposit", "withdrawal", "balance_snapshot"])),
        f("channel", K::Enum(DEPOSIT_CHANNELS), R::Optional),
        f("term", K::Enum(DEPOSIT_TERMS), R::Optional),
    ],
};

pub const STATION_EVENTS: TableSpec = TableSpec {
    name: "station_events",
    kind: TableKind::Stream,
    key: &["event_id"],
    rules: &[],
    fields: &[
        f("event_id", K::EventId, R::Always),
        f("event_time", K::Timestamp, R::Always),
        f("event_type", K::Enum(STATION_EVENT_TYPES), R::Always),
        f("station_id", K::Code, R::Always),
        f("region_code", K::RegionCode(VILLAGE), R::ForEvents(&["station_opened"])),
        f("institution_id", K::InstitutionRef, R::ForEvents(&["station_opened"])),
        f("functions", K::EnumList(STATION_FUNCTIONS), R::ForEvents(&["station_opened", "functions_changed"])),
        f(
            "amount",
            K::Money,
            R::ForEvents(&["cash_withdrawal", "cash_deposit", "transfer", "bill_payment"]),
        ),
        f("participants", K::Int { min: 0, max: 1_000_000 }, R::ForEvents(&["literacy_session"])),
        f("complaint_id", K::Code, R::ForEvents(&["complaint_received", "complaint_resolved"])),
        f("household_id", K::Identity, R::Optional),
    ],
};

pub const REGIONS: TableSpec = TableSpec {
    name: "regions",
    kind: TableKind::Reference,
    key: &["code"],
    rules: &[Rule::RegionCodeShape { code: "code", level: "level" }],
    fields: &[
        f("code", K::Code, R::Always),
        f("name", K::Text, R::Always),
        f("level", K::Enum(REGION_LEVELS), R::Always),
        f("parent_code", K::Code, R::Optional),
        f("kind", K::Code, R::Optional),
    ],
};

const STAT_COUNT: FieldKind = K::Int { min: 0, max: 1_000_000_000 };

pub const REGION_STATS: TableSpec = TableSpec {
    name: "region_stats",
    kind: TableKind::Reference,
    key: &["region_code", "year"],
    rules: &[Rule::NotBelow { field: "households", other: "farm_households" }],
    fields: &[
        f(
            "region_code",
            K::RegionCode(&[RegionLevel::County, RegionLevel::Township, RegionLevel::Village]),
            R::Always,
        ),
        f("year", K::Int { min: 1949, max: 2100 }, R::Always),
        f("households", STAT_COUNT, R::Always),
        f("farm_households", STAT_COUNT, R::Always),
        f("population", STAT_COUNT, R::Optional),
        f("new_agri_entities", STAT_COUNT, R::Optional),
        f("small_micro_enterprises", STAT_COUNT, R::Optional),
    ],
};

pub const INSTITUTIONS: TableSpec = TableSpec {
    name: "institutions",
    kind: TableKind::Reference,
    key: &["institution_id"],
    rules: &[],
    fields: &[
        f("institution_id", K::Code, R::Always),
        f("name_zh", K::Text, R::Always),
        f("name_en", K::Text, R::Optional),
        f("type", K::Enum(INSTITUTION_TYPES), R::Always),
        f("counties", K::Text, R::Optional),
        f("local_legal_person", K::Bool, R::Always),
    ],
};

pub const PRODUCTS: TableSpec = TableSpec {
    name: "products",
    kind: TableKind::Reference,
    key: &["product_id"],
    rules: &[],
    fields: &[
        f("product_id", K::Code, R::Always),
        f("institution_id", K::InstitutionRef, R::Always),
        f("name", K::Text, R::Always),
        f("category", K::Enum(PRODUCT_CATEGORIES), R::Always),
        f("inclusive_credit", K::Bool, R::Always),
        f("online", K::Bool, R::Always),
        f("launched_on", K::Date, R::Optional),
    ],
};

pub const SERVICE_AREAS: TableSpec = TableSpec {
    name: "service_areas",
    kind: TableKind::Reference,
    key: &["region_code", "institution_id", "valid_from"],
    rules: &[Rule::NotBelow { field: "valid_to", other: "valid_from" }],
    fields: &[
        f("region_code", K::RegionCode(VILLAGE), R::Always),
        f("institution_id", K::InstitutionRef, R::Always),
        f("valid_from", K::Date, R::Always),
        f("valid_to", K::Date, R::Optional),
    ],
};

pub const OUTLETS: TableSpec = TableSpec {
    name: "outlets",
    kind: TableKind::Reference,
    key: &["outlet_id"],
    rules: &[Rule::NotBelow { field: "closed_on", other: "opened_on" }],
    fields: &[
        f("outlet_id", K::Code, R::Always),
        f("institution_id", K::InstitutionRef, R::Always),
        f("region_code", K::RegionCode(&[RegionLevel::Township, RegionLevel::Village]), R::Always),
        f("kind", K::Enum(OUTLET_KINDS), R::Always),
        f("opened_on", K::Date, R::Optional),
        f("closed_on", K::Date, R::Optional),
    ],
};

/// Every ingestible table, reference tables first (the order in which the demo loads them).
pub const TABLES: &[&TableSpec] = &[
    &REGIONS,
    &INSTITUTIONS,
    &REGION_STATS,
    &PRODUCTS,
    &SERVICE_AREAS,
    &OUTLETS,
    &LOAN_EVENTS,
    &DEPOSIT_EVENTS,
    &STATION_EVENTS,
];

/// The table spec for a stream or reference table name.
pub fn table_spec(name: &str) -> Option<&'static TableSpec> {
    TABLES.iter().copied().find(|t| t.name == name)
}

/// The quarantine table: every rejected record with its reason.
pub const QUARANTINE: &str = "quarantine";

/// The stored schema of [`QUARANTINE`].
pub fn quarantine_schema() -> SchemaRef {
    static SCHEMA: OnceLock<SchemaRef> = OnceLock::new();
    SCHEMA
        .get_or_init(|| {
            Arc::new(Schema::new(vec![
                Field::new("stream", DataType::Utf8, false),
                Field::new("received_at", timestamp_type(), false),
                Field::new("source", DataType::Utf8, false),
                Field::new("line", DataType::Int64, false),
                Field::new("event_id", DataType::Utf8, true),
                Field::new("reason", DataType::Utf8, false),
                Field::new("field", DataType::Utf8, true),
                Field::new("message", DataType::Utf8, false),
                Field::new("raw", DataType::Utf8, false),
                Field::new(BATCH_ID, DataType::Utf8, false),
            ]))
        })
        .clone()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identities_are_stored_as_keys_and_never_as_raw_ids() {
        for table in TABLES {
            let schema = table.schema();
            for field in table.fields {
                if matches!(field.kind, FieldKind::Identity | FieldKind::Account) {
                    assert!(schema.field_with_name(field.name).is_err(), "{}.{}", table.name, field.name);
                    assert!(schema.field_with_name(&field.column()).is_ok());
                }
            }
        }
        assert_eq!(LOAN_EVENTS.field("borrower_id").unwrap().column(), "borrower_key");
        assert_eq!(DEPOSIT_EVENTS.field("account_id").unwrap().column(), "account_key");
    }

    #[test]
    fn requirement_follows_event_type() {
        let amount = LOAN_EVENTS.field("amount").unwrap();
        assert!(amount.is_required(Some("loan_disbursed")));
        assert!(!amount.is_required(Some("credit_revoked")));
        let rate = LOAN_EVENTS.field("annual_rate_pct").unwrap();
        assert!(rate.is_required(Some("loan_disbursed")));
        assert!(!rate.is_required(Some("loan_repaid")));
    }

    #[test]
    fn streams_are_partitioned_by_month() {
        let schema = STATION_EVENTS.schema();
        assert!(schema.field_with_name(EVENT_MONTH).is_ok());
        assert_eq!(STATION_EVENTS.partition_columns(), &[EVENT_MONTH]);
        assert!(REGIONS.partition_columns().is_empty());
    }
}
