//! Time rules of the contract: instants are stored in UTC (microseconds); calendar periods (day,
//! month, quarter, year) are always those of Asia/Shanghai.

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Asia::Shanghai;

/// The calendar of every period in puhui.
pub const PERIOD_TZ: chrono_tz::Tz = Shanghai;

/// `YYYY-MM` of the Asia/Shanghai month an instant falls in (the stream tables' partition value).
pub fn event_month(utc: DateTime<Utc>) -> String {
    let local = utc.with_timezone(&PERIOD_TZ);
    format!("{:04}-{:02}", local.year(), local.month())
}

/// The UTC instant of a local Asia/Shanghai wall-clock time (Shanghai has had no DST since 1991,
/// so every local time maps to exactly one instant).
pub fn shanghai_to_utc(local: NaiveDateTime) -> DateTime<Utc> {
    PERIOD_TZ
        .from_local_datetime(&local)
        .earliest()
        .expect("Asia/Shanghai has no gaps after 1991")
        .with_timezone(&Utc)
}

/// The UTC instant at which an Asia/Shanghai calendar day starts.
pub fn day_start_utc(date: NaiveDate) -> DateTime<Utc> {
    shanghai_to_utc(date.and_hms_opt(0, 0, 0).expect("midnight exists"))
}

/// Microseconds since the Unix epoch, the stored representation of an instant.
pub fn to_micros(t: DateTime<Utc>) -> i64 {
    t.timestamp_micros()
}

/// The instant of a stored microsecond timestamp.
pub fn from_micros(us: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(us).expect("stored timestamps are in range")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn late_new_year_eve_utc_is_january_in_shanghai() {
        let t: DateTime<Utc> = "2020-12-31T16:30:00Z".parse().unwrap();
        assert_eq!(event_month(t), "2021-01");
        let t: DateTime<Utc> = "2020-12-31T15:59:59Z".parse().unwrap();
        assert_eq!(event_month(t), "2020-12");
    }

    #[test]
    fn day_start_is_eight_hours_before_utc_midnight() {
        let d = NaiveDate::from_ymd_opt(2021, 1, 1).unwrap();
        assert_eq!(day_start_utc(d).to_rfc3339(), "2020-12-31T16:00:00+00:00");
    }
}
