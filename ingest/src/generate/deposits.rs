//! `deposit_events` of one village: the demand and time deposit accounts of households and firms,
//! open at the start of the period (a `balance_snapshot`) or opened during it, with deposits,
//! withdrawals (never below a zero balance) and a few closures.

use rand::Rng;

use super::output::{Cents, Secs, StreamWriter, Val, DAY, END, YUAN};
use super::parties::{IdFactory, Party, Roster};
use super::random::{
    self, chance, lognormal, office_time, office_time_between, poisson, round_to, uniform,
    weighted, Gen,
};
use super::world::{Village, World};
use crate::Result;

/// One `deposit_events` record without its `event_id`; fields in contract order.
#[derive(Clone, Copy)]
struct DepositEvent<'a> {
    event_time: Secs,
    event_type: &'static str,
    institution_id: &'a str,
    account_id: &'a str,
    holder: &'a Party,
    region_code: &'a str,
    amount: Option<Cents>,
    channel: Option<&'static str>,
    term: Option<&'static str>,
}

impl<'a> DepositEvent<'a> {
    fn at(
        self,
        event_type: &'static str,
        event_time: Secs,
        amount: Option<Cents>,
        channel: Option<&'static str>,
    ) -> Self {
        DepositEvent {
            event_type,
            event_time,
            amount,
            channel,
            ..self
        }
    }

    fn values(&self) -> [Val<'a>; 10] {
        [
            Val::Time(self.event_time),
            self.event_type.into(),
            self.institution_id.into(),
            self.account_id.into(),
            self.holder.id.as_str().into(),
            self.holder.kind.into(),
            self.region_code.into(),
            self.amount.map_or(Val::Absent, Val::Money),
            self.channel.into(),
            self.term.into(),
        ]
    }
}

struct Depositor<'a> {
    world: &'a World,
    village: &'a Village,
    out: &'a mut StreamWriter,
    rng: Gen,
}

/// Writes the deposit events of one village.
pub fn generate(
    world: &World,
    village: &Village,
    roster: &Roster,
    ids: &mut IdFactory,
    seed: u64,
    out: &mut StreamWriter,
) -> Result<()> {
    let mut depositor = Depositor {
        world,
        village,
        out,
        rng: random::rng(seed, &format!("{}/deposits", village.code)),
    };
    for household in &roster.households {
        if chance(&mut depositor.rng, 0.85) {
            let accounts = if chance(&mut depositor.rng, 0.15) {
                2
            } else {
                1
            };
            for _ in 0..accounts {
                depositor.account(household, ids)?;
            }
        }
    }
    for firm in &roster.firms {
        if chance(&mut depositor.rng, 0.9) {
            depositor.account(firm, ids)?;
        }
    }
    Ok(())
}

impl Depositor<'_> {
    fn emit(&mut self, event: &DepositEvent<'_>) -> Result<()> {
        self.out.write(&event.values())
    }

    fn channel(&mut self) -> Option<&'static str> {
        let station = if self.village.has_station { 0.2 } else { 0.0 };
        weighted(
            &mut self.rng,
            &[
                (Some("branch"), 0.4),
                (Some("station"), station),
                (Some("online"), 0.3),
                (Some("atm"), 0.1),
                (None, 0.05),
            ],
        )
    }

    /// One account with its flows.
    fn account(&mut self, holder: &Party, ids: &mut IdFactory) -> Result<()> {
        let firm = !matches!(holder.kind, "farm_household" | "other_individual");
        let (world, village) = (self.world, self.village);
        let inst = weighted(
            &mut self.rng,
            &[
                (village.responsible, 0.7),
                (world.psbc, 0.15),
                (world.abc, 0.15),
            ],
        );
        let bank = &world.institutions[inst];
        let account_id = ids.account(&bank.kind);
        let term = weighted(
            &mut self.rng,
            &[(Some("demand"), 0.8), (Some("time"), 0.15), (None, 0.05)],
        );
        // The median deposit in yuan; balances are about three deposits.
        let typical =
            if firm { 25_000.0 } else { 4000.0 } * if term == Some("time") { 3.0 } else { 1.0 };
        let account = DepositEvent {
            event_time: 0,
            event_type: "",
            institution_id: &bank.id,
            account_id: &account_id,
            holder,
            region_code: &village.code,
            amount: None,
            channel: None,
            term,
        };
        let deposit_amount = |rng: &mut Gen| {
            round_to(lognormal(rng, typical, 0.9) * YUAN as f64, 10 * YUAN).max(10 * YUAN)
        };

        let (opened, mut balance) = if chance(&mut self.rng, 0.8) {
            let balance = (lognormal(&mut self.rng, typical * 3.0, 1.1) * YUAN as f64)
                .round()
                .max(YUAN as f64) as Cents;
            self.emit(&account.at("balance_snapshot", 0, Some(balance), None))?;
            (0, balance)
        } else {
            let day = self.rng.random_range(0..END / DAY - 7);
            let opened = office_time(&mut self.rng, day);
            let channel = self.channel();
            self.emit(&account.at("account_opened", opened, None, channel))?;
            let first = deposit_amount(&mut self.rng);
            let at = opened + self.rng.random_range(60..1800);
            self.emit(&account.at("deposit", at, Some(first), channel))?;
            (at, first)
        };

        let per_year = match term {
            Some("time") => 0.5,
            _ if firm => 8.0,
            _ => 2.5,
        };
        let years = f64::from(END - opened) / f64::from(365 * DAY);
        let mut times: Vec<Secs> = (0..poisson(&mut self.rng, per_year * years))
            .filter_map(|_| office_time_between(&mut self.rng, opened + 1, END))
            .collect();
        times.sort_unstable();
        for &at in &times {
            let channel = self.channel();
            if balance < 100 * YUAN || chance(&mut self.rng, 0.55) {
                let amount = deposit_amount(&mut self.rng);
                balance += amount;
                self.emit(&account.at("deposit", at, Some(amount), channel))?;
            } else {
                let share = uniform(&mut self.rng, 0.05, 0.4);
                let amount = round_to(balance as f64 * share, 10 * YUAN).clamp(YUAN, balance);
                balance -= amount;
                self.emit(&account.at("withdrawal", at, Some(amount), channel))?;
            }
        }

        if chance(&mut self.rng, 0.03) {
            let last = times.last().copied().unwrap_or(opened);
            if let Some(at) = office_time_between(&mut self.rng, last + DAY, END - DAY) {
                let channel = self.channel();
                if balance > 0 {
                    self.emit(&account.at("withdrawal", at, Some(balance), channel))?;
                }
                self.emit(&account.at("account_closed", at + 60, None, channel))?;
            }
        }
        Ok(())
    }
}
