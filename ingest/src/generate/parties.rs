//! The parties of a village (households, individual businesses, new agricultural entities,
//! enterprises) and their numbers: resident ID numbers (GB 11643), unified social credit codes
//! (GB 32100) and 19-digit account numbers, each unique and scrambled by the seed.

use chrono::{Datelike, Days, NaiveDate};
use rand::Rng;

use super::random::{self, stochastic_round, weighted, Gen};
use super::world::{Village, World};
use crate::identity::{USCC_CHARSET, resident_check_char, uscc_check_char};

/// Days of birth dates drawn, 1950-01-01 ..= 1998-12-31.
const BIRTH_DAYS: u64 = 17_897;

/// A bijection of `0..m` (`x ↦ a·x + b mod m` with `a` coprime to `m`): distinct counters give
/// distinct, irregular-looking numbers.
struct Scramble {
    a: u64,
    b: u64,
    m: u64,
}

impl Scramble {
    fn new(rng: &mut Gen, m: u64) -> Scramble {
        let gcd = |mut x: u64, mut y: u64| {
            while y != 0 {
                (x, y) = (y, x % y);
            }
            x
        };
        let mut a = rng.random_range(m / 3..m);
        while gcd(a, m) != 1 {
            a = a % (m - 1) + 1;
        }
        Scramble {
            a,
            b: rng.random_range(0..m),
            m,
        }
    }

    fn apply(&self, x: u64) -> u64 {
        assert!(x < self.m, "identity space exhausted");
        ((u128::from(self.a) * u128::from(x) + u128::from(self.b)) % u128::from(self.m)) as u64
    }
}

/// Hands out identity and account numbers, counting per county.
pub struct IdFactory {
    residents: Scramble,
    firms: Scramble,
    accounts: Scramble,
    persons_issued: Vec<u64>,
    firms_issued: Vec<u64>,
    accounts_issued: u64,
}

impl IdFactory {
    pub fn new(seed: u64, counties: usize) -> IdFactory {
        let mut rng = random::rng(seed, "ids");
        IdFactory {
            residents: Scramble::new(&mut rng, BIRTH_DAYS * 1000),
            firms: Scramble::new(&mut rng, 31u64.pow(9)),
            accounts: Scramble::new(&mut rng, 10u64.pow(12)),
            persons_issued: vec![0; counties],
            firms_issued: vec![0; counties],
            accounts_issued: 0,
        }
    }

    /// A resident ID number: county code, birth date, sequence, check digit.
    fn resident(&mut self, county: usize, county_code: &str) -> String {
        let v = self.residents.apply(self.persons_issued[county]);
        self.persons_issued[county] += 1;
        let born = NaiveDate::from_ymd_opt(1950, 1, 1).expect("valid date") + Days::new(v / 1000);
        let body = format!(
            "{county_code}{:04}{:02}{:02}{:03}",
            born.year(),
            born.month(),
            born.day(),
            v % 1000
        );
        let check = resident_check_char(&body).expect("17 digits");
        format!("{body}{check}")
    }

    /// A unified social credit code: `prefix` (authority and entity type), county code,
    /// organisation code, check character.
    fn uscc(&mut self, prefix: &str, county: usize, county_code: &str) -> String {
        let mut v = self.firms.apply(self.firms_issued[county]);
        self.firms_issued[county] += 1;
        let mut body = format!("{prefix}{county_code}");
        let org: Vec<u8> = (0..9)
            .map(|_| {
                let c = USCC_CHARSET[(v % 31) as usize];
                v /= 31;
                c
            })
            .collect();
        body.push_str(std::str::from_utf8(&org).expect("ASCII"));
        let check = uscc_check_char(&body).expect("17 characters of the charset");
        format!("{body}{check}")
    }

    /// A 19-digit card account number: the bank's BIN, 12 digits, Luhn check digit.
    pub fn account(&mut self, institution_type: &str) -> String {
        let bin = match institution_type {
            "rural_commercial_bank" => "623059",
            "village_bank" => "623595",
            "postal_bank" => "621799",
            _ => "622848",
        };
        let payload = format!("{bin}{:012}", self.accounts.apply(self.accounts_issued));
        self.accounts_issued += 1;
        let sum: u32 = payload
            .bytes()
            .rev()
            .enumerate()
            .map(|(i, b)| {
                let d = u32::from(b - b'0');
                if i % 2 == 0 {
                    (d * 2) / 10 + (d * 2) % 10
                } else {
                    d
                }
            })
            .sum();
        format!("{payload}{}", (10 - sum % 10) % 10)
    }
}

pub struct Party {
    pub id: String,
    /// The party type (`borrower_type`, `holder_type`).
    pub kind: &'static str,
}

/// Everyone in one village.
pub struct Roster {
    /// Households (by the head's resident ID), farm households first.
    pub households: Vec<Party>,
    farm: usize,
    /// Individual businesses, new agricultural entities and small and micro enterprises.
    pub firms: Vec<Party>,
}

impl Roster {
    pub fn draw(world: &World, village: &Village, ids: &mut IdFactory, seed: u64) -> Roster {
        let mut rng = random::rng(seed, &format!("{}/parties", village.code));
        let (c, code) = (village.county, world.counties[village.county].code.as_str());
        let stats = village.current();
        let households = (0..stats.households)
            .map(|i| Party {
                id: ids.resident(c, code),
                kind: if i < stats.farm_households {
                    "farm_household"
                } else {
                    "other_individual"
                },
            })
            .collect();
        let mut firms = Vec::new();
        for _ in 0..stochastic_round(&mut rng, f64::from(stats.households) * 0.02) {
            firms.push(Party {
                id: ids.uscc("92", c, code),
                kind: "individual_business",
            });
        }
        for _ in 0..stats.new_agri_entities {
            // Cooperatives, and family farms registered as individual businesses or firms.
            let prefix = weighted(&mut rng, &[("93", 0.6), ("92", 0.25), ("91", 0.15)]);
            firms.push(Party {
                id: ids.uscc(prefix, c, code),
                kind: "new_agri_entity",
            });
        }
        for _ in 0..stats.small_micro_enterprises {
            firms.push(Party {
                id: ids.uscc("91", c, code),
                kind: "small_micro_enterprise",
            });
        }
        Roster {
            households,
            farm: stats.farm_households as usize,
            firms,
        }
    }

    pub fn farm_households(&self) -> &[Party] {
        &self.households[..self.farm]
    }

    pub fn other_households(&self) -> &[Party] {
        &self.households[self.farm..]
    }
}
