//! Scoring (METHODOLOGY §4): an indicator value x becomes a score s ∈ [0, 1].
//!
//! Every rule is absolute: the score depends only on x and the rule's frozen parameters. The capped
//! score feeds the composite; the uncapped one (≥ 0, may exceed 1) is kept for information.

/// The scoring rule of an indicator, as written in the methodology TOML file, e.g.
/// `scoring = { method = "target_up", target = 0.60, floor = 0.0 }`.
#[derive(Debug, Clone, Copy, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(tag = "method", rename_all = "snake_case", deny_unknown_fields)]
pub enum Scoring {
    /// T↑(T, F): `(x − F) / (T − F)`; the plan target T scores 1, the zero-floor F scores 0.
    TargetUp { target: f64, floor: f64 },
    /// T↓(T, C): `(C − x) / (C − T)`; the plan target T scores 1, the zero-ceiling C scores 0.
    TargetDown { target: f64, ceiling: f64 },
    /// G↑(lo, hi): `(x − lo) / (hi − lo)` with expert goalposts.
    GoalUp { lo: f64, hi: f64 },
    /// G↓(lo, hi): `(hi − x) / (hi − lo)` with expert goalposts.
    GoalDown { lo: f64, hi: f64 },
    /// L↑(x_l, x_h): `(ln x − ln x_l) / (ln x_h − ln x_l)`; x ≤ 0 scores 0. The bounds are the frozen
    /// base-period 5th and 95th percentiles ([`percentile_type7`]).
    LogUp { low: f64, high: f64 },
    /// L↓(x_l, x_h): one minus the L↑ ratio; x ≤ 0 scores 1.
    LogDown { low: f64, high: f64 },
}

/// The score of one value: `capped` ∈ [0, 1] feeds the composite, `uncapped` ≥ 0 is informational.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Score {
    pub capped: f64,
    pub uncapped: f64,
}

impl Score {
    /// The score of a raw ratio: uncapped `max(0, r)`, capped `clip(r, 0, 1)`.
    fn from_ratio(r: f64) -> Self {
        let uncapped = r.max(0.0);
        Score {
            capped: uncapped.min(1.0),
            uncapped,
        }
    }
}

/// The direction of a plan target: met when x ≥ T (up) or x ≤ T (down).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Up,
    Down,
}

impl Direction {
    /// `"up"` or `"down"`, as written in `target_attainment.direction`.
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Up => "up",
            Direction::Down => "down",
        }
    }
}

/// Whether `value` meets the plan target (§6 plan-target dashboard): `value ≥ target` (up) or
/// `value ≤ target` (down).
pub fn met(direction: Direction, target: f64, value: f64) -> bool {
    match direction {
        Direction::Up => value >= target,
        Direction::Down => value <= target,
    }
}

impl Scoring {
    /// Scores a finite value x (a zero denominator is "no value" upstream and never reaches here).
    pub fn score(&self, x: f64) -> Score {
        debug_assert!(x.is_finite(), "scoring a non-finite value {x}");
        match *self {
            Scoring::TargetUp { target, floor } => {
                Score::from_ratio((x - floor) / (target - floor))
            }
            Scoring::TargetDown { target, ceiling } => {
                Score::from_ratio((ceiling - x) / (ceiling - target))
            }
            Scoring::GoalUp { lo, hi } => Score::from_ratio((x - lo) / (hi - lo)),
            Scoring::GoalDown { lo, hi } => Score::from_ratio((hi - x) / (hi - lo)),
            Scoring::LogUp { .. } if x <= 0.0 => Score::from_ratio(0.0),
            Scoring::LogDown { .. } if x <= 0.0 => Score::from_ratio(1.0),
            Scoring::LogUp { low, high } => Score::from_ratio(log_ratio(x, low, high)),
            Scoring::LogDown { low, high } => Score::from_ratio(1.0 - log_ratio(x, low, high)),
        }
    }

    /// The plan target of a target-attainment rule (T↑/T↓); `None` for goalpost and log rules,
    /// which have no plan target.
    pub fn plan_target(&self) -> Option<(Direction, f64)> {
        match *self {
            Scoring::TargetUp { target, .. } => Some((Direction::Up, target)),
            Scoring::TargetDown { target, .. } => Some((Direction::Down, target)),
            _ => None,
        }
    }

    /// Checks the parameters: all finite, and the score increasing in the rule's direction
    /// (T↑: target > floor; T↓: ceiling > target; G: hi > lo; L: 0 < low < high).
    pub fn validate(&self) -> Result<(), String> {
        let (a, b, ok) = match *self {
            Scoring::TargetUp { target, floor } => (floor, target, target > floor),
            Scoring::TargetDown { target, ceiling } => (target, ceiling, ceiling > target),
            Scoring::GoalUp { lo, hi } | Scoring::GoalDown { lo, hi } => (lo, hi, hi > lo),
            Scoring::LogUp { low, high } | Scoring::LogDown { low, high } => {
                (low, high, low > 0.0 && high > low)
            }
        };
        if a.is_finite() && b.is_finite() && ok {
            Ok(())
        } else {
            Err(format!("invalid scoring parameters: {self:?}"))
        }
    }
}

fn log_ratio(x: f64, low: f64, high: f64) -> f64 {
    (x.ln() - low.ln()) / (high.ln() - low.ln())
}

/// The q-quantile (0 ≤ q ≤ 1) by type 7 (`h = (n − 1)q`, linear interpolation between order
/// statistics), as used to freeze the L bounds. Non-finite values are ignored; `None` when no value
/// remains or q is outside [0, 1].
pub fn percentile_type7(values: &[f64], q: f64) -> Option<f64> {
    if !(0.0..=1.0).contains(&q) {
        return None;
    }
    let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let h = (v.len() - 1) as f64 * q;
    let (lo, hi) = (h.floor() as usize, h.ceil() as usize);
    Some(v[lo] + (h - lo as f64) * (v[hi] - v[lo]))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Golden values are given at 4 decimals.
    pub(crate) fn assert_close(actual: f64, expected: f64) {
        assert!(
            (actual - expected).abs() <= 5e-5,
            "{actual} is not {expected}"
        );
    }

    fn up(target: f64, floor: f64) -> Scoring {
        Scoring::TargetUp { target, floor }
    }

    fn down(target: f64, ceiling: f64) -> Scoring {
        Scoring::TargetDown { target, ceiling }
    }

    #[test]
    fn e7_target_attainment() {
        let cases = [
            (up(0.60, 0.0), 0.45, 0.7500), // credit coverage
            (up(0.60, 0.0), 0.66, 1.0000),
            (up(1.0, 0.0), 0.92, 0.9200),     // station coverage
            (up(0.60, 0.0), 0.48, 0.8000),    // platform penetration
            (up(10.0, 0.0), 7.0, 0.7000),     // products online, 7 of 10
            (up(4.0, 0.0), 3.0, 0.7500),      // online inclusive products, 3 of 4
            (up(0.80, 0.0), 0.72, 0.9000),    // new-entity credit info
            (down(6.75, 9.75), 7.25, 0.8333), // average rate
            (down(6.75, 9.75), 6.50, 1.0000),
            (down(2.0, 5.0), 3.1, 0.6333),  // NPL ratio
            (up(0.0, -10.0), -2.5, 0.7500), // growth gap
        ];
        for (rule, x, expected) in cases {
            assert_close(rule.score(x).capped, expected);
        }
        assert_close(up(0.60, 0.0).score(0.66).uncapped, 1.1000);
        assert_close(down(6.75, 9.75).score(6.50).uncapped, 1.0833);
        assert_eq!(
            up(0.60, 0.0).score(-0.1),
            Score {
                capped: 0.0,
                uncapped: 0.0
            }
        );
    }

    #[test]
    fn goalposts() {
        let complaints = Scoring::GoalDown { lo: 2.0, hi: 20.0 };
        assert_close(complaints.score(2.0).capped, 1.0);
        assert_close(complaints.score(11.0).capped, 0.5);
        assert_close(complaints.score(25.0).capped, 0.0);
        assert_close(complaints.score(0.0).uncapped, 20.0 / 18.0);
        assert_close(
            Scoring::GoalUp { lo: 0.0, hi: 0.5 }.score(0.42).capped,
            0.84,
        );
    }

    #[test]
    fn e8_log_efficacy() {
        let base = [
            1200.0, 2500.0, 3100.0, 4000.0, 5200.0, 6100.0, 7500.0, 9800.0, 12000.0, 20000.0,
        ];
        let low = percentile_type7(&base, 0.05).unwrap();
        let high = percentile_type7(&base, 0.95).unwrap();
        assert_close(low, 1785.0);
        assert_close(high, 16400.0);
        let rule = Scoring::LogUp { low, high };
        assert_close(100.0 * rule.score(6100.0).capped, 55.4079);
        assert_close(100.0 * rule.score(3000.0).capped, 23.4096);
        assert_close(100.0 * rule.score(25000.0).capped, 100.0);
        assert_close(100.0 * rule.score(25000.0).uncapped, 119.0090);
        assert_eq!(
            rule.score(1000.0),
            Score {
                capped: 0.0,
                uncapped: 0.0
            }
        );
        assert_eq!(rule.score(0.0).capped, 0.0);

        let rule = Scoring::LogDown {
            low: 1.0,
            high: 20.0,
        };
        assert_close(100.0 * rule.score(3.0).capped, 63.3274);
        assert_eq!(
            rule.score(0.0),
            Score {
                capped: 1.0,
                uncapped: 1.0
            }
        );
        assert_eq!(rule.score(-1.0).capped, 1.0);
    }

    #[test]
    fn percentile_edges() {
        assert_eq!(percentile_type7(&[], 0.5), None);
        assert_eq!(percentile_type7(&[f64::NAN], 0.5), None);
        assert_eq!(percentile_type7(&[3.0], 0.95), Some(3.0));
        assert_eq!(percentile_type7(&[4.0, f64::NAN, 2.0], 0.5), Some(3.0));
        assert_eq!(percentile_type7(&[1.0, 2.0], 0.0), Some(1.0));
        assert_eq!(percentile_type7(&[1.0, 2.0], 1.0), Some(2.0));
        assert_eq!(percentile_type7(&[1.0, 2.0], 1.5), None);
    }

    #[test]
    fn e10_ratio_of_sums() {
        let villages = [(80.0, 100.0), (30.0, 300.0), (45.0, 100.0)];
        let (covered, households) = villages
            .iter()
            .fold((0.0, 0.0), |(c, h), (vc, vh)| (c + vc, h + vh));
        let coverage = covered / households;
        assert_close(coverage, 0.31);
        let rule = up(0.60, 0.0);
        assert_close(rule.score(coverage).capped, 0.516667);
        let mean_of_ratios = villages.iter().map(|(c, h)| c / h).sum::<f64>() / 3.0;
        assert_close(mean_of_ratios, 0.45);
        assert!((rule.score(mean_of_ratios).capped - 0.516667).abs() > 0.2);
    }

    #[test]
    fn e16_scoring_from_event_arithmetic() {
        // Inclusive loans (amount, rate, reference rate).
        let loans = [
            (30000.0, 6.5, 7.2),
            (50000.0, 7.0, 7.0),
            (20000.0, 6.0, 6.8),
        ];
        let amount: f64 = loans.iter().map(|l| l.0).sum();
        let rate = loans.iter().map(|l| l.0 * l.1).sum::<f64>() / amount;
        assert_close(rate, 6.65);
        assert_close(down(6.75, 9.75).score(rate).capped, 1.0);
        let below = loans.iter().filter(|l| l.1 < l.2).count() as f64 / loans.len() as f64;
        assert_close(below, 0.666667);

        let gap = 100.0 * ((82.0 - 80.0) / 80.0 - (540.0 - 500.0) / 500.0);
        assert_close(gap, -5.5);
        assert_close(up(0.0, -10.0).score(gap).capped, 0.45);

        let answers = [5.0, 4.0, 4.0, 3.0, 5.0];
        let satisfaction = answers.iter().map(|a| (a - 1.0) / 4.0 * 100.0).sum::<f64>() / 5.0;
        assert_close(satisfaction, 80.0);
        let goal = Scoring::GoalUp { lo: 60.0, hi: 90.0 };
        assert_close(goal.score(satisfaction).capped, 0.666667);

        assert_close(up(0.70, 0.0).score(70.0 / 100.0).capped, 1.0);

        let leverage = up(10.0, 0.0).score(120.0 / 10.0);
        assert_close(leverage.capped, 1.0);
        assert_close(leverage.uncapped, 1.2);
    }

    #[test]
    fn plan_targets() {
        assert_eq!(up(0.60, 0.0).plan_target(), Some((Direction::Up, 0.60)));
        assert_eq!(down(2.0, 5.0).plan_target(), Some((Direction::Down, 2.0)));
        assert_eq!(Scoring::GoalUp { lo: 0.0, hi: 0.5 }.plan_target(), None);
        assert_eq!(
            Scoring::LogUp {
                low: 1.0,
                high: 2.0
            }
            .plan_target(),
            None
        );
        assert!(met(Direction::Up, 0.60, 0.60));
        assert!(!met(Direction::Up, 0.60, 0.59));
        assert!(met(Direction::Down, 6.75, 6.75));
        assert!(!met(Direction::Down, 6.75, 6.76));
        assert_eq!(Direction::Down.as_str(), "down");
    }

    #[test]
    fn validation() {
        assert!(up(0.0, -10.0).validate().is_ok());
        assert!(down(6.75, 9.75).validate().is_ok());
        assert!(Scoring::LogDown {
            low: 1.0,
            high: 20.0
        }
        .validate()
        .is_ok());
        assert!(up(0.6, 0.6).validate().is_err());
        assert!(up(0.0, 1.0).validate().is_err());
        assert!(down(5.0, 2.0).validate().is_err());
        assert!(Scoring::GoalDown { lo: 2.0, hi: 2.0 }.validate().is_err());
        assert!(Scoring::GoalUp {
            lo: 0.0,
            hi: f64::INFINITY
        }
        .validate()
        .is_err());
        assert!(up(f64::NAN, 0.0).validate().is_err());
        assert!(Scoring::LogUp {
            low: 0.0,
            high: 20.0
        }
        .validate()
        .is_err());
        assert!(Scoring::LogUp {
            low: 5.0,
            high: 5.0
        }
        .validate()
        .is_err());
    }

    #[derive(Debug, PartialEq, serde::Deserialize, serde::Serialize)]
    struct Indicator {
        scoring: Scoring,
    }

    #[test]
    fn toml_round_trip() {
        let parsed: Indicator =
            toml::from_str(r#"scoring = { method = "target_up", target = 0.60, floor = 0.0 }"#)
                .unwrap();
        assert_eq!(parsed.scoring, up(0.60, 0.0));
        let again: Indicator = toml::from_str(&toml::to_string(&parsed).unwrap()).unwrap();
        assert_eq!(again, parsed);

        for rule in [
            down(6.75, 9.75),
            Scoring::GoalDown { lo: 2.0, hi: 20.0 },
            Scoring::LogUp {
                low: 1785.0,
                high: 16400.0,
            },
        ] {
            let text = toml::to_string(&Indicator { scoring: rule }).unwrap();
            assert_eq!(toml::from_str::<Indicator>(&text).unwrap().scoring, rule);
        }

        let integers: Indicator =
            toml::from_str(r#"scoring = { method = "goal_up", lo = 60, hi = 90 }"#).unwrap();
        assert_eq!(integers.scoring, Scoring::GoalUp { lo: 60.0, hi: 90.0 });
        for bad in [
            r#"scoring = { method = "target_up", target = 0.6, floor = 0.0, cap = 1 }"#,
            r#"scoring = { method = "target_up", target = 0.6 }"#,
            r#"scoring = { method = "min_max", lo = 0, hi = 1 }"#,
        ] {
            assert!(toml::from_str::<Indicator>(bad).is_err(), "{bad}");
        }
    }
}
