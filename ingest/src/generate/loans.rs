//! `loan_events` of one village: inclusive credit lines of farm households (and some new
//! agricultural entities) with the loans drawn on them, ordinary business loans, and loans
//! outstanding when the period starts.

use rand::Rng;

use super::output::{Cents, Secs, StreamWriter, Val, DAY, END, YUAN};
use super::parties::{Party, Roster};
use super::random::{
    self, chance, office_time, office_time_between, round_to, uniform, weighted, Gen,
};
use super::world::{ProductKind, Village, World};
use crate::Result;

/// Share of loans that become non-performing.
const BAD_LOAN_SHARE: f64 = 0.025;
/// Relative weight of each calendar month for new credit lines (spring planting peaks).
const SEASON: [f64; 12] = [0.6, 0.8, 1.6, 1.5, 1.0, 0.9, 0.7, 0.7, 1.0, 1.1, 0.9, 0.8];

/// One `loan_events` record without its `event_id`; fields in contract order.
#[derive(Clone, Copy)]
struct LoanEvent<'a> {
    event_time: Secs,
    event_type: &'static str,
    institution_id: &'a str,
    product_id: Option<&'a str>,
    borrower: &'a Party,
    region_code: &'a str,
    credit_line_id: Option<&'a str>,
    loan_id: Option<&'a str>,
    amount: Option<Cents>,
    annual_rate_pct: Option<u32>,
    reference_rate_pct: Option<u32>,
    term_months: Option<u32>,
    applied_at: Option<Secs>,
    classification: Option<&'static str>,
    first_credit: Option<bool>,
    purpose: Option<&'static str>,
    channel: Option<&'static str>,
    guarantee: Option<&'static str>,
    risk_fund_covered: Option<bool>,
    credit_info_checked: Option<bool>,
}

impl<'a> LoanEvent<'a> {
    /// The fields every event of this borrower at this institution shares.
    fn base(institution_id: &'a str, borrower: &'a Party, region_code: &'a str) -> Self {
        LoanEvent {
            event_time: 0,
            event_type: "",
            institution_id,
            product_id: None,
            borrower,
            region_code,
            credit_line_id: None,
            loan_id: None,
            amount: None,
            annual_rate_pct: None,
            reference_rate_pct: None,
            term_months: None,
            applied_at: None,
            classification: None,
            first_credit: None,
            purpose: None,
            channel: None,
            guarantee: None,
            risk_fund_covered: None,
            credit_info_checked: None,
        }
    }

    fn at(self, event_type: &'static str, event_time: Secs) -> Self {
        LoanEvent {
            event_type,
            event_time,
            ..self
        }
    }

    fn with_amount(self, amount: Cents) -> Self {
        LoanEvent {
            amount: Some(amount),
            ..self
        }
    }

    fn values(&self) -> [Val<'a>; 21] {
        let money = |c: Option<Cents>| c.map_or(Val::Absent, Val::Money);
        let rate = |r: Option<u32>| r.map_or(Val::Absent, Val::Rate);
        [
            Val::Time(self.event_time),
            self.event_type.into(),
            self.institution_id.into(),
            self.product_id.into(),
            self.borrower.id.as_str().into(),
            self.borrower.kind.into(),
            self.region_code.into(),
            self.credit_line_id.into(),
            self.loan_id.into(),
            money(self.amount),
            rate(self.annual_rate_pct),
            rate(self.reference_rate_pct),
            self.term_months.map_or(Val::Absent, |m| Val::Int(m.into())),
            self.applied_at.map_or(Val::Absent, Val::Time),
            self.classification.into(),
            self.first_credit.into(),
            self.purpose.into(),
            self.channel.into(),
            self.guarantee.into(),
            self.risk_fund_covered.into(),
            self.credit_info_checked.into(),
        ]
    }
}

/// What kind of borrower, which decides amounts and purposes.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Profile {
    Farm,
    AgriEntity,
    Individual,
    IndividualBusiness,
    Enterprise,
}

impl Profile {
    fn of(kind: &str) -> Profile {
        match kind {
            "farm_household" => Profile::Farm,
            "new_agri_entity" => Profile::AgriEntity,
            "individual_business" => Profile::IndividualBusiness,
            "other_individual" => Profile::Individual,
            _ => Profile::Enterprise,
        }
    }

    /// The limit of an inclusive credit line.
    fn line_limit(self, rng: &mut Gen) -> Cents {
        let thousands = match self {
            Profile::Farm if chance(rng, 0.05) => rng.random_range(51..=200),
            Profile::Farm if chance(rng, 0.4) => rng.random_range(1..=5) * 10,
            Profile::Farm => rng.random_range(10..=50),
            _ => rng.random_range(5..=30) * 10,
        };
        thousands * 1000 * YUAN
    }

    /// The principal of an ordinary loan.
    fn loan_amount(self, rng: &mut Gen) -> Cents {
        let (lo, hi, step) = match self {
            Profile::Farm => (10, 50, 1),
            Profile::Individual => (10, 200, 1),
            Profile::IndividualBusiness => (20, 300, 1),
            Profile::AgriEntity => (50, 500, 10),
            Profile::Enterprise => (100, 1000, 10),
        };
        rng.random_range(lo / step..=hi / step) * step * 1000 * YUAN
    }

    fn purpose(self, rng: &mut Gen) -> &'static str {
        let weights: &[(&str, f64)] = match self {
            Profile::Farm => &[
                ("agriculture", 0.75),
                ("business", 0.15),
                ("consumption", 0.05),
                ("housing", 0.02),
                ("other", 0.03),
            ],
            Profile::AgriEntity => &[("agriculture", 0.9), ("business", 0.1)],
            Profile::Individual => &[
                ("business", 0.5),
                ("consumption", 0.35),
                ("housing", 0.1),
                ("other", 0.05),
            ],
            Profile::IndividualBusiness | Profile::Enterprise => {
                &[("business", 0.9), ("other", 0.1)]
            }
        };
        weighted(rng, weights)
    }
}

/// The conditions of one loan.
struct Terms {
    rate: u32,
    reference: Option<u32>,
    months: u32,
    purpose: &'static str,
    channel: &'static str,
    guarantee: &'static str,
    risk_fund_covered: Option<bool>,
    credit_info_checked: bool,
}

/// A rate in steps of 0.05 points between `lo` and `hi` (ten-thousandths of a percent).
fn rate_between(rng: &mut Gen, lo: u32, hi: u32) -> u32 {
    lo + 500 * rng.random_range(0..=(hi - lo) / 500)
}

fn term_months(rng: &mut Gen) -> u32 {
    weighted(rng, &[(12, 0.7), (24, 0.2), (36, 0.1)])
}

struct Lender<'a> {
    world: &'a World,
    village: &'a Village,
    out: &'a mut StreamWriter,
    rng: Gen,
    /// Credit line and loan ids issued in the village.
    issued: u32,
}

/// Writes the loan events of one village.
pub fn generate(
    world: &World,
    village: &Village,
    roster: &Roster,
    seed: u64,
    out: &mut StreamWriter,
) -> Result<()> {
    let mut lender = Lender {
        world,
        village,
        out,
        rng: random::rng(seed, &format!("{}/loans", village.code)),
        issued: 0,
    };
    let farm = roster.farm_households();
    let covered = rand::seq::index::sample(&mut lender.rng, farm.len(), village.covered as usize);
    let mut is_covered = vec![false; farm.len()];
    covered.iter().for_each(|i| is_covered[i] = true);
    // Revoked lines (about 3% of all lines) go to households left without a line.
    let uncovered = farm.len() - covered.len();
    let revoke_share = if uncovered > 0 {
        0.031 * covered.len() as f64 / uncovered as f64
    } else {
        0.0
    };

    for (household, covered) in farm.iter().zip(is_covered) {
        let had_inclusive_loan =
            chance(&mut lender.rng, 0.08) && lender.prior_loan(household, Profile::Farm)?;
        if covered {
            let inst = lender.line_institution();
            lender.credit_line(household, Profile::Farm, inst, !had_inclusive_loan, false)?;
            if chance(&mut lender.rng, 0.04) {
                let other = lender.other_bank(inst);
                lender.credit_line(household, Profile::Farm, other, false, false)?;
            }
        } else if chance(&mut lender.rng, revoke_share) {
            let inst = lender.line_institution();
            lender.credit_line(household, Profile::Farm, inst, !had_inclusive_loan, true)?;
        }
    }
    for household in roster.other_households() {
        if chance(&mut lender.rng, 0.04) {
            lender.ordinary_loans(household, Profile::Individual)?;
        }
    }
    for firm in &roster.firms {
        let profile = Profile::of(firm.kind);
        if chance(&mut lender.rng, 0.2) {
            lender.prior_loan(firm, profile)?;
        }
        let borrows = match profile {
            Profile::AgriEntity => 0.5,
            Profile::IndividualBusiness => 0.3,
            _ => 0.35,
        };
        if !chance(&mut lender.rng, borrows) {
            continue;
        }
        if profile == Profile::AgriEntity && chance(&mut lender.rng, 0.5) {
            let inst = lender.line_institution();
            lender.credit_line(firm, profile, inst, true, false)?;
        } else {
            lender.ordinary_loans(firm, profile)?;
        }
    }
    Ok(())
}

impl Lender<'_> {
    fn emit(&mut self, event: &LoanEvent<'_>) -> Result<()> {
        self.out.write(&event.values())
    }

    /// A credit line (`CL`) or loan (`LN`) id, unique by the village code and a counter.
    fn next_id(&mut self, prefix: &str) -> String {
        self.issued += 1;
        format!("{prefix}{}{:05}", self.village.code, self.issued)
    }

    /// The village's responsible institution, sometimes the postal bank or ABC.
    fn line_institution(&mut self) -> usize {
        if chance(&mut self.rng, 0.9) {
            self.village.responsible
        } else {
            self.other_bank(self.village.responsible)
        }
    }

    /// The postal bank or ABC, other than `inst`.
    fn other_bank(&mut self, inst: usize) -> usize {
        let (psbc, abc) = (self.world.psbc, self.world.abc);
        match inst {
            i if i == psbc => abc,
            i if i == abc => psbc,
            _ if chance(&mut self.rng, 0.5) => psbc,
            _ => abc,
        }
    }

    /// An instant in office hours in `[from, to)` (a non-empty range).
    fn office_time_in(&mut self, from: Secs, to: Secs) -> Secs {
        office_time_between(&mut self.rng, from, to).expect("a non-empty range")
    }

    fn offline_channel(&mut self) -> &'static str {
        if self.village.has_station && chance(&mut self.rng, 0.3) {
            "station"
        } else {
            "branch"
        }
    }

    /// When a credit line is granted: a month of the period by season, in office hours, before
    /// `latest`.
    fn grant_time(&mut self, latest: Secs) -> Secs {
        let starts = &self.world.month_starts;
        let months: Vec<(usize, f64)> =
            (0..starts.len() - 1).map(|m| (m, SEASON[m % 12])).collect();
        let m = weighted(&mut self.rng, &months);
        let (first, last) = (starts[m] / DAY, starts[m + 1].min(latest) / DAY);
        let day = self.rng.random_range(first..last);
        office_time(&mut self.rng, day)
    }

    /// Grants an inclusive credit line and plays out the loans drawn on it.
    fn credit_line(
        &mut self,
        party: &Party,
        profile: Profile,
        inst: usize,
        first_credit: bool,
        revoked: bool,
    ) -> Result<()> {
        let (world, village) = (self.world, self.village);
        let bank = &world.institutions[inst];
        let online = chance(&mut self.rng, 0.45);
        let product = bank.product(if online {
            ProductKind::InclusiveOnline
        } else {
            ProductKind::InclusiveBranch
        });
        let channel = if online {
            "online"
        } else {
            self.offline_channel()
        };
        let line_id = self.next_id("CL");
        let granted = self.grant_time(if revoked { END - 30 * DAY } else { END - DAY });
        let limit = profile.line_limit(&mut self.rng);
        let base = LoanEvent::base(&bank.id, party, &village.code);
        let line = LoanEvent {
            credit_line_id: Some(&line_id),
            ..base
        };
        self.emit(&LoanEvent {
            product_id: Some(product),
            first_credit: Some(first_credit),
            channel: Some(channel),
            ..line.at("credit_granted", granted).with_amount(limit)
        })?;
        if revoked {
            let at = self.office_time_in(granted + 7 * DAY, END);
            return self.emit(&line.at("credit_revoked", at));
        }
        let mut change = None;
        if chance(&mut self.rng, 0.1) {
            let at = granted + self.rng.random_range(90..540) * DAY;
            if at < END {
                let new_limit = (limit + self.rng.random_range(-10..=20) * 1000 * YUAN)
                    .clamp(5000 * YUAN, 200_000 * YUAN);
                self.emit(&line.at("credit_changed", at).with_amount(new_limit))?;
                change = Some((at, new_limit));
            }
        }
        if !chance(&mut self.rng, 0.68) {
            return Ok(());
        }
        let draws = weighted(&mut self.rng, &[(1, 0.6), (2, 0.3), (3, 0.1)]);
        let mut at = self.office_time_in(granted + 3600, granted + 45 * DAY);
        for _ in 0..draws {
            if at >= END - DAY {
                break;
            }
            let limit_now = match change {
                Some((changed, new_limit)) if changed <= at => new_limit,
                _ => limit,
            };
            let principal = round_to(
                limit_now as f64 * uniform(&mut self.rng, 0.3, 1.0),
                1000 * YUAN,
            )
            .max(1000 * YUAN);
            let terms = self.inclusive_terms(profile, online);
            match self.loan(&base, product, Some(&line_id), at, principal, &terms)? {
                Some(repaid) => at = self.office_time_in(repaid + DAY, repaid + 90 * DAY),
                None => break,
            }
        }
        Ok(())
    }

    fn inclusive_terms(&mut self, profile: Profile, online_product: bool) -> Terms {
        let rng = &mut self.rng;
        let rate = if chance(rng, 0.8) {
            rate_between(rng, 55_000, 70_000)
        } else {
            rate_between(rng, 45_000, 80_000)
        };
        let reference = match weighted(
            rng,
            &[
                ("above", 0.80),
                ("equal", 0.07),
                ("below", 0.05),
                ("none", 0.08),
            ],
        ) {
            "above" => Some(rate + 500 * rng.random_range(4..=30)),
            "equal" => Some(rate),
            "below" => Some(rate - 500 * rng.random_range(1..=10)),
            _ => None,
        };
        let channel = if online_product && chance(rng, 0.9) {
            "online"
        } else {
            self.offline_channel()
        };
        let rng = &mut self.rng;
        Terms {
            rate,
            reference,
            months: term_months(rng),
            purpose: profile.purpose(rng),
            channel,
            guarantee: weighted(
                rng,
                &[
                    ("pure_credit", 0.85),
                    ("guaranteed", 0.10),
                    ("collateral", 0.04),
                    ("pledge", 0.01),
                ],
            ),
            risk_fund_covered: Some(chance(rng, 0.5)),
            credit_info_checked: chance(rng, 0.92),
        }
    }

    fn business_terms(&mut self, profile: Profile) -> Terms {
        let rng = &mut self.rng;
        Terms {
            rate: if chance(rng, 0.6) {
                rate_between(rng, 50_000, 70_000)
            } else {
                rate_between(rng, 45_000, 80_000)
            },
            reference: None,
            months: term_months(rng),
            purpose: profile.purpose(rng),
            channel: if chance(rng, 0.15) {
                "online"
            } else {
                "branch"
            },
            guarantee: weighted(
                rng,
                &[
                    ("pure_credit", 0.25),
                    ("guaranteed", 0.35),
                    ("collateral", 0.30),
                    ("pledge", 0.10),
                ],
            ),
            risk_fund_covered: None,
            credit_info_checked: chance(rng, 0.95),
        }
    }

    /// One or two business loans on the ordinary product, one after the other.
    fn ordinary_loans(&mut self, party: &Party, profile: Profile) -> Result<()> {
        let (world, village) = (self.world, self.village);
        let inst = weighted(
            &mut self.rng,
            &[
                (village.responsible, 0.6),
                (world.abc, 0.25),
                (world.psbc, 0.15),
            ],
        );
        let bank = &world.institutions[inst];
        let base = LoanEvent::base(&bank.id, party, &village.code);
        let count = if chance(&mut self.rng, 0.3) { 2 } else { 1 };
        let day = self.rng.random_range(0..END / DAY - 30);
        let mut at = office_time(&mut self.rng, day);
        for _ in 0..count {
            if at >= END - DAY {
                break;
            }
            let principal = profile.loan_amount(&mut self.rng);
            let terms = self.business_terms(profile);
            match self.loan(
                &base,
                bank.product(ProductKind::Business),
                None,
                at,
                principal,
                &terms,
            )? {
                Some(repaid) => at = self.office_time_in(repaid + DAY, repaid + 60 * DAY),
                None => break,
            }
        }
        Ok(())
    }

    /// A loan outstanding at the start of the period (a `balance_snapshot`) and its repayment.
    /// Returns whether it was an inclusive loan.
    fn prior_loan(&mut self, party: &Party, profile: Profile) -> Result<bool> {
        let (world, village) = (self.world, self.village);
        let bank = &world.institutions[village.responsible];
        let inclusive = profile == Profile::Farm && chance(&mut self.rng, 0.8);
        let product = bank.product(if inclusive {
            ProductKind::InclusiveBranch
        } else {
            ProductKind::Business
        });
        let outstanding = round_to(
            profile.loan_amount(&mut self.rng) as f64 * uniform(&mut self.rng, 0.3, 1.0),
            100 * YUAN,
        );
        let loan_id = self.next_id("LN");
        let loan = LoanEvent {
            loan_id: Some(&loan_id),
            ..LoanEvent::base(&bank.id, party, &village.code)
        };
        let purpose = profile.purpose(&mut self.rng);
        self.emit(&LoanEvent {
            product_id: Some(product),
            purpose: Some(purpose),
            ..loan.at("balance_snapshot", 0).with_amount(outstanding)
        })?;
        let maturity = self.rng.random_range(20..400) * DAY;
        self.repay(&loan, 0, outstanding, maturity)?;
        Ok(inclusive)
    }

    /// Disburses a loan at `at` and plays out its life; returns when it was repaid in full, if
    /// that happened within the period.
    fn loan(
        &mut self,
        base: &LoanEvent<'_>,
        product: &str,
        line: Option<&str>,
        at: Secs,
        principal: Cents,
        terms: &Terms,
    ) -> Result<Option<Secs>> {
        let loan_id = self.next_id("LN");
        let wait_days = if terms.channel == "online" {
            1..=5
        } else {
            3..=20
        };
        let applied_day = (at / DAY).saturating_sub(self.rng.random_range(wait_days));
        let applied_at = office_time(&mut self.rng, applied_day).min(at);
        let loan = LoanEvent {
            loan_id: Some(&loan_id),
            ..*base
        };
        self.emit(&LoanEvent {
            product_id: Some(product),
            credit_line_id: line,
            annual_rate_pct: Some(terms.rate),
            reference_rate_pct: terms.reference,
            term_months: Some(terms.months),
            applied_at: Some(applied_at),
            purpose: Some(terms.purpose),
            channel: Some(terms.channel),
            guarantee: Some(terms.guarantee),
            risk_fund_covered: terms.risk_fund_covered,
            credit_info_checked: Some(terms.credit_info_checked),
            ..loan.at("loan_disbursed", at).with_amount(principal)
        })?;
        self.repay(&loan, at, principal, at + terms.months * 30 * DAY)
    }

    /// Repayments of `principal` outstanding from `start`, due at `maturity`: in full at or before
    /// maturity, sometimes after partial repayments; or, for bad loans, classification and
    /// perhaps a write-off. Returns when the loan was repaid in full, if within the period.
    fn repay(
        &mut self,
        loan: &LoanEvent<'_>,
        start: Secs,
        principal: Cents,
        maturity: Secs,
    ) -> Result<Option<Secs>> {
        if chance(&mut self.rng, BAD_LOAN_SHARE) {
            let first_class = start + self.rng.random_range(90..360) * DAY;
            if first_class < END {
                self.go_bad(loan, start, principal, first_class)?;
                return Ok(None);
            }
        }
        let early = chance(&mut self.rng, 0.2);
        let paid_off = early
            .then(|| office_time_between(&mut self.rng, start + 30 * DAY, maturity))
            .flatten()
            .unwrap_or_else(|| self.office_time_in(maturity - 3 * DAY, maturity));
        let until = paid_off.min(END);
        if chance(&mut self.rng, 0.03) {
            if let Some(at) = office_time_between(&mut self.rng, start + 60 * DAY, until) {
                self.emit(&LoanEvent {
                    classification: Some("special_mention"),
                    ..loan.at("loan_classified", at)
                })?;
                if let Some(back) = office_time_between(&mut self.rng, at + 30 * DAY, until) {
                    self.emit(&LoanEvent {
                        classification: Some("normal"),
                        ..loan.at("loan_classified", back)
                    })?;
                }
            }
        }
        let outstanding = if chance(&mut self.rng, 0.35) {
            self.partial_repayments(loan, start, principal, until)?
        } else {
            principal
        };
        if paid_off < END {
            self.emit(&loan.at("loan_repaid", paid_off).with_amount(outstanding))?;
            return Ok(Some(paid_off));
        }
        Ok(None)
    }

    /// One to three partial repayments (10–30% of the principal each) between `start` and
    /// `until`; returns what is still outstanding (always more than zero).
    fn partial_repayments(
        &mut self,
        loan: &LoanEvent<'_>,
        start: Secs,
        principal: Cents,
        until: Secs,
    ) -> Result<Cents> {
        let mut outstanding = principal;
        let count = self.rng.random_range(1..=3);
        let mut times: Vec<Secs> = (0..count)
            .filter_map(|_| office_time_between(&mut self.rng, start + DAY, until))
            .collect();
        times.sort_unstable();
        for at in times {
            let amount = round_to(
                principal as f64 * uniform(&mut self.rng, 0.1, 0.3),
                100 * YUAN,
            )
            .max(100 * YUAN);
            if amount < outstanding {
                self.emit(&loan.at("loan_repaid", at).with_amount(amount))?;
                outstanding -= amount;
            }
        }
        Ok(outstanding)
    }

    /// A loan that turns bad at `first_class`: maybe a partial repayment and a special-mention
    /// warning before, then substandard, perhaps doubtful and loss, and a partial write-off.
    fn go_bad(
        &mut self,
        loan: &LoanEvent<'_>,
        start: Secs,
        principal: Cents,
        first_class: Secs,
    ) -> Result<()> {
        let outstanding = if chance(&mut self.rng, 0.4) {
            self.partial_repayments(loan, start, principal, first_class - 30 * DAY)?
        } else {
            principal
        };
        if chance(&mut self.rng, 0.5) {
            let at = first_class - self.rng.random_range(20..60) * DAY;
            self.emit(&LoanEvent {
                classification: Some("special_mention"),
                ..loan.at("loan_classified", at)
            })?;
        }
        let mut at = first_class;
        let mut class = "substandard";
        loop {
            self.emit(&LoanEvent {
                classification: Some(class),
                ..loan.at("loan_classified", at)
            })?;
            let next = match class {
                "substandard" => "doubtful",
                "doubtful" => "loss",
                _ => break,
            };
            at += self.rng.random_range(60..150) * DAY;
            if at >= END || !chance(&mut self.rng, 0.5) {
                break;
            }
            class = next;
        }
        if class == "loss" && chance(&mut self.rng, 0.6) {
            at += self.rng.random_range(30..180) * DAY;
            if at < END {
                let amount = round_to(outstanding as f64 * uniform(&mut self.rng, 0.3, 0.9), 1)
                    .clamp(1, outstanding);
                self.emit(&loan.at("loan_written_off", at).with_amount(amount))?;
            }
        }
        Ok(())
    }
}
