//! Parsers for the contract's value forms: codes, money, rates, integers, booleans, instants and
//! dates. Each returns `None` (or an error message) for input that breaks the contract.

use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, Utc};
use puhui_warehouse::time::shanghai_to_utc;

/// Trims surrounding spaces and folds full-width characters (U+FF01–U+FF5E, U+3000) to ASCII.
pub fn fold_code(raw: &str) -> String {
    raw.chars()
        .map(|c| match c {
            '\u{ff01}'..='\u{ff5e}' => char::from_u32(c as u32 - 0xfee0).unwrap_or(c),
            '\u{3000}' => ' ',
            _ => c,
        })
        .collect::<String>()
        .trim()
        .to_string()
}

/// Parses a decimal with at most `scale` fractional digits into its unscaled integer.
/// Accepts an optional leading `-`/`+` and, when `separators` is set, `,` thousands separators.
pub fn parse_decimal(raw: &str, scale: u32, separators: bool) -> Result<i128, String> {
    let text = raw.trim();
    let cleaned: String = if separators { text.replace(',', "") } else { text.to_string() };
    let (negative, digits) = match cleaned.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, cleaned.strip_prefix('+').unwrap_or(&cleaned)),
    };
    let (int_part, frac_part) = digits.split_once('.').unwrap_or((digits, ""));
    let well_formed = !int_part.is_empty()
        && int_part.bytes().all(|b| b.is_ascii_digit())
        && frac_part.bytes().all(|b| b.is_ascii_digit())
        && !(digits.contains('.') && frac_part.is_empty());
    if !well_formed {
        return Err(format!("`{raw}` is not a decimal number"));
    }
    if frac_part.len() > scale as usize {
        return Err(format!("`{raw}` has more than {scale} decimal places"));
    }
    if int_part.len() > 30 {
        return Err(format!("`{raw}` is out of range"));
    }
    let mut value: i128 = int_part.parse().map_err(|_| format!("`{raw}` is out of range"))?;
    for _ in 0..scale {
        value *= 10;
    }
    let frac: i128 = if frac_part.is_empty() { 0 } else { frac_part.parse().unwrap_or(0) };
    value += frac * 10i128.pow(scale - frac_part.len() as u32);
    Ok(if negative { -value } else { value })
}

/// Parses a boolean: JSON booleans, or `true/false/1/0/yes/no` (any case).
pub fn parse_bool(raw: &str) -> Option<bool> {
    match raw.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "y" => Some(true),
        "false" | "0" | "no" | "n" => Some(false),
        _ => None,
    }
}

/// Parses an instant: RFC 3339 with an offset, or a local time (Asia/Shanghai) in the forms the
/// contract lists; `excel_serials` also admits Excel date serials (CSV/XLSX input).
pub fn parse_instant(raw: &str, excel_serials: bool) -> Option<DateTime<Utc>> {
    let text = raw.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Some(t.with_timezone(&Utc));
    }
    parse_local(text, excel_serials).map(shanghai_to_utc)
}

/// Parses a calendar date in the same forms (an instant's local date part is not accepted).
pub fn parse_date(raw: &str, excel_serials: bool) -> Option<NaiveDate> {
    let text = raw.trim();
    let local = parse_local(text, excel_serials)?;
    (local.time() == NaiveTime::MIN).then(|| local.date())
}

fn parse_local(text: &str, excel_serials: bool) -> Option<NaiveDateTime> {
    const DATETIME_FORMATS: &[&str] = &[
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M",
        "%Y/%m/%d %H:%M:%S",
        "%Y/%m/%d %H:%M",
    ];
    const DATE_FORMATS: &[&str] = &["%Y-%m-%d", "%Y/%m/%d", "%Y年%m月%d日", "%Y%m%d"];
    for f in DATETIME_FORMATS {
        if let Ok(t) = NaiveDateTime::parse_from_str(text, f) {
            return Some(t);
        }
    }
    for f in DATE_FORMATS {
        if let Ok(d) = NaiveDate::parse_from_str(text, f) {
            if *f == "%Y%m%d" && text.len() != 8 {
                continue;
            }
            return d.and_hms_opt(0, 0, 0);
        }
    }
    if excel_serials {
        return excel_serial(text);
    }
    None
}

/// An Excel (1900 date system) serial: days since 1899-12-30, fraction = time of day.
/// Only serials of 1950–2100 are admitted so that plain numbers are not misread as dates.
fn excel_serial(text: &str) -> Option<NaiveDateTime> {
    let serial: f64 = text.parse().ok()?;
    if !(18_264.0..=73_051.0).contains(&serial) {
        return None;
    }
    let epoch = NaiveDate::from_ymd_opt(1899, 12, 30)?.and_hms_opt(0, 0, 0)?;
    let micros = (serial * 86_400_000_000.0).round() as i64;
    Some(epoch + chrono::Duration::microseconds(micros))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_trimmed_and_folded() {
        assert_eq!(fold_code(" ４１０１８１ "), "410181");
        assert_eq!(fold_code("\u{3000}007"), "007");
    }

    #[test]
    fn decimals_are_exact() {
        assert_eq!(parse_decimal("30000.5", 2, false), Ok(3_000_050));
        assert_eq!(parse_decimal("30,000.50", 2, true), Ok(3_000_050));
        assert!(parse_decimal("30,000.50", 2, false).is_err());
        assert!(parse_decimal("1.234", 2, false).is_err());
        assert!(parse_decimal("NaN", 2, false).is_err());
        assert!(parse_decimal("1e5", 2, false).is_err());
        assert!(parse_decimal("5.", 2, false).is_err());
        assert_eq!(parse_decimal("6.75", 4, false), Ok(67_500));
        assert_eq!(parse_decimal("-2", 2, false), Ok(-200));
    }

    #[test]
    fn instants_in_every_contract_form() {
        let utc = |s: &str| s.parse::<DateTime<Utc>>().unwrap();
        assert_eq!(parse_instant("2020-12-31T16:30:00Z", false), Some(utc("2020-12-31T16:30:00Z")));
        assert_eq!(parse_instant("2021-01-01T00:30:00+08:00", false), Some(utc("2020-12-31T16:30:00Z")));
        assert_eq!(parse_instant("2021-01-01 00:30:00", false), Some(utc("2020-12-31T16:30:00Z")));
        assert_eq!(parse_instant("2020/1/16", false), Some(utc("2020-01-15T16:00:00Z")));
        assert_eq!(parse_instant("2020年1月16日", false), Some(utc("2020-01-15T16:00:00Z")));
        assert_eq!(parse_instant("20200116", false), Some(utc("2020-01-15T16:00:00Z")));
        assert_eq!(parse_instant("43846", true), Some(utc("2020-01-15T16:00:00Z")));
        assert_eq!(parse_instant("43846", false), None);
        assert_eq!(parse_instant("2020-13-01", false), None);
        assert_eq!(parse_instant("yesterday", true), None);
    }

    #[test]
    fn dates() {
        assert_eq!(parse_date("2019-01-01", false), NaiveDate::from_ymd_opt(2019, 1, 1));
        assert_eq!(parse_date("2019-01-01 08:00:00", false), None);
    }
}
