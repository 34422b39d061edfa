//! `station_events` of one village: its service station (普惠金融服务站), if it has one — opening,
//! functions, monthly transactions in proportion to the village's households, services,
//! complaints and their resolution, and rarely a closure.

use puhui_warehouse::contract::STATION_FUNCTIONS;
use rand::Rng;

use super::output::{Cents, Secs, StreamWriter, Val, DAY, END, MONTHS, YUAN};
use super::parties::Roster;
use super::random::{
    self, chance, lognormal, office_time, office_time_between, poisson, round_to, weighted, Gen,
};
use super::world::{Village, World};
use crate::Result;

/// One `station_events` record without its `event_id`; fields in contract order.
#[derive(Clone, Copy, Default)]
struct StationEvent<'a> {
    event_time: Secs,
    event_type: &'static str,
    station_id: &'a str,
    region_code: Option<&'a str>,
    institution_id: Option<&'a str>,
    functions: Option<&'a [&'static str]>,
    amount: Option<Cents>,
    participants: Option<u32>,
    complaint_id: Option<&'a str>,
    household_id: Option<&'a str>,
}

impl<'a> StationEvent<'a> {
    fn at(self, event_type: &'static str, event_time: Secs) -> Self {
        StationEvent {
            event_type,
            event_time,
            ..self
        }
    }

    fn values(&self) -> [Val<'a>; 10] {
        [
            Val::Time(self.event_time),
            self.event_type.into(),
            self.station_id.into(),
            self.region_code.into(),
            self.institution_id.into(),
            self.functions.map_or(Val::Absent, Val::List),
            self.amount.map_or(Val::Absent, Val::Money),
            self.participants
                .map_or(Val::Absent, |p| Val::Int(p.into())),
            self.complaint_id.into(),
            self.household_id.into(),
        ]
    }
}

/// Transactions: type, weight, median amount in yuan, spread, rounding in cents.
const TRANSACTIONS: [(&str, f64, f64, f64, Cents); 4] = [
    ("cash_withdrawal", 0.45, 800.0, 0.7, 50 * YUAN),
    ("cash_deposit", 0.20, 1500.0, 0.8, 50 * YUAN),
    ("transfer", 0.15, 2000.0, 1.0, YUAN),
    ("bill_payment", 0.20, 120.0, 0.6, 1),
];

/// Writes the station events of one village.
pub fn generate(
    world: &World,
    village: &Village,
    roster: &Roster,
    seed: u64,
    out: &mut StreamWriter,
) -> Result<()> {
    if !village.has_station {
        return Ok(());
    }
    let rng = &mut random::rng(seed, &format!("{}/stations", village.code));
    let mut emit = |event: StationEvent<'_>| out.write(&event.values());
    let station_id = format!("ST{}", village.code);
    let station = StationEvent {
        station_id: &station_id,
        ..StationEvent::default()
    };
    let host = &world.institutions[village.responsible];

    // Most stations open in the first week of the period, the others later.
    let day = if chance(rng, 0.85) {
        rng.random_range(0..7)
    } else {
        rng.random_range(7..END / DAY - 30)
    };
    let opened = office_time(rng, day);
    let closed = if chance(rng, 0.01) {
        office_time_between(rng, opened + 90 * DAY, END)
    } else {
        None
    };
    let open_until = closed.unwrap_or(END);
    let functions = if chance(rng, 0.6) {
        STATION_FUNCTIONS.to_vec()
    } else {
        partial_functions(rng)
    };
    emit(StationEvent {
        region_code: Some(&village.code),
        institution_id: Some(&host.id),
        functions: Some(&functions),
        ..station.at("station_opened", opened)
    })?;
    if functions.len() < STATION_FUNCTIONS.len() && chance(rng, 0.5) {
        if let Some(at) = office_time_between(rng, opened + 30 * DAY, open_until) {
            emit(StationEvent {
                functions: Some(STATION_FUNCTIONS),
                ..station.at("functions_changed", at)
            })?;
        }
    }

    let households = &roster.households;
    let any_household = |rng: &mut Gen| {
        households[rng.random_range(0..households.len())]
            .id
            .as_str()
    };
    let starts = &world.month_starts;
    let per_month = (0.3 * households.len() as f64 / 12.0).max(0.25);
    let kinds: Vec<(usize, f64)> = TRANSACTIONS
        .iter()
        .enumerate()
        .map(|(i, t)| (i, t.1))
        .collect();
    for m in 0..MONTHS {
        let (from, to) = (starts[m].max(opened), starts[m + 1].min(open_until));
        if from >= to {
            continue;
        }
        let share = f64::from(to - from) / f64::from(starts[m + 1] - starts[m]);
        for _ in 0..poisson(rng, per_month * share) {
            let Some(at) = office_time_between(rng, from, to) else {
                continue;
            };
            let (kind, _, median, sigma, step) = TRANSACTIONS[weighted(rng, &kinds)];
            let amount = round_to(lognormal(rng, median, sigma) * YUAN as f64, step).max(step);
            let household_id = chance(rng, 0.6).then(|| any_household(rng));
            emit(StationEvent {
                amount: Some(amount),
                household_id,
                ..station.at(kind, at)
            })?;
        }
    }

    let years = f64::from(open_until - opened) / f64::from(365 * DAY);
    let farm = roster.farm_households();
    let farm_count = farm.len() as f64;
    let services = [
        ("credit_info_collected", (farm_count * 0.02).max(1.0)),
        ("loan_referral", (farm_count * 0.01).max(0.5)),
        ("literacy_session", 1.5),
        ("fraud_alert", 0.05),
    ];
    for (kind, per_year) in services {
        for _ in 0..poisson(rng, per_year * years) {
            let Some(at) = office_time_between(rng, opened, open_until) else {
                continue;
            };
            let event = station.at(kind, at);
            emit(match kind {
                "literacy_session" => StationEvent {
                    participants: Some(rng.random_range(8..=60)),
                    ..event
                },
                "fraud_alert" => event,
                _ => {
                    let household = if farm.is_empty() {
                        any_household(rng)
                    } else {
                        farm[rng.random_range(0..farm.len())].id.as_str()
                    };
                    StationEvent {
                        household_id: Some(household),
                        ..event
                    }
                }
            })?;
        }
    }

    // About 8 complaints a year per 10,000 households; most resolved within 15 days.
    let complained_about = [
        (Some(host.id.as_str()), 0.7),
        (Some(world.institutions[world.psbc].id.as_str()), 0.05),
        (Some(world.institutions[world.abc].id.as_str()), 0.05),
        (None, 0.2),
    ];
    let complaints = poisson(rng, households.len() as f64 * 0.0008 * years);
    for n in 1..=complaints {
        let Some(received) = office_time_between(rng, opened, open_until) else {
            continue;
        };
        let complaint_id = format!("CP{}{n:03}", village.code);
        let institution_id = weighted(rng, &complained_about);
        let complaint = StationEvent {
            complaint_id: Some(&complaint_id),
            institution_id,
            ..station
        };
        emit(complaint.at("complaint_received", received))?;
        let days = if chance(rng, 0.8) {
            rng.random_range(2..=15)
        } else {
            rng.random_range(16..=30)
        };
        let resolved = received + days * DAY + rng.random_range(0..3600);
        if resolved < open_until {
            emit(complaint.at("complaint_resolved", resolved))?;
        }
    }

    if let Some(at) = closed {
        emit(station.at("station_closed", at))?;
    }
    Ok(())
}

/// Financial service and one or two of the other three functions, in the contract's order.
fn partial_functions(rng: &mut Gen) -> Vec<&'static str> {
    let count = rng.random_range(1..=2);
    let extra = rand::seq::index::sample(rng, STATION_FUNCTIONS.len() - 1, count);
    let mut picked: Vec<usize> = extra.iter().map(|i| i + 1).collect();
    picked.sort_unstable();
    std::iter::once(STATION_FUNCTIONS[0])
        .chain(picked.into_iter().map(|i| STATION_FUNCTIONS[i]))
        .collect()
}
