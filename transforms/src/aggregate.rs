//! Aggregation (METHODOLOGY §5–6): sub-dimension scores, the composite, bands, ranks and the exact
//! decomposition of a change into indicator contributions.
//!
//! The composite is a weighted arithmetic mean, so `S = Σ_j 100 · g_j · s_j` with the global weights
//! of [`global_weights`]; [`composite`], [`global_weights`] and [`change_decomposition`] share that
//! definition.

use std::collections::HashMap;

/// The minimum share of the applicable weight of a sub-dimension that must have a value.
const MIN_AVAILABLE_SHARE: f64 = 2.0 / 3.0;

/// The three sub-dimensions of the work plan.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Deserialize, serde::Serialize,
)]
#[serde(rename_all = "snake_case")]
pub enum SubDimension {
    /// 可得情况
    Availability,
    /// 使用情况
    Usage,
    /// 服务质量
    Quality,
}

impl SubDimension {
    pub const ALL: [SubDimension; 3] = [
        SubDimension::Availability,
        SubDimension::Usage,
        SubDimension::Quality,
    ];

    /// `"availability"`, `"usage"` or `"quality"`, as in the methodology file and the scorecards.
    pub fn as_str(self) -> &'static str {
        match self {
            SubDimension::Availability => "availability",
            SubDimension::Usage => "usage",
            SubDimension::Quality => "quality",
        }
    }
}

/// The sub-dimension weights W_k of one dimension (region 0.40/0.35/0.25, institution
/// 0.30/0.35/0.35). They need not sum exactly to 1: the composite divides by their applicable sum.
#[derive(Debug, Clone, Copy, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct SubWeights {
    pub availability: f64,
    pub usage: f64,
    pub quality: f64,
}

impl SubWeights {
    /// W_k of one sub-dimension.
    pub fn get(&self, sub: SubDimension) -> f64 {
        match sub {
            SubDimension::Availability => self.availability,
            SubDimension::Usage => self.usage,
            SubDimension::Quality => self.quality,
        }
    }
}

/// One applicable indicator of a unit in a period: its sub-dimension, its weight w_j within the
/// sub-dimension, and its capped score (`None` = no value). Not-applicable indicators are not passed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ScoredIndicator<'a> {
    pub id: &'a str,
    pub sub: SubDimension,
    pub weight: f64,
    pub score: Option<f64>,
}

/// The scores of a unit on the 0–100 scale; `None` = no value (insufficient data, or for a
/// sub-dimension, no applicable indicator).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Composite {
    pub availability: Option<f64>,
    pub usage: Option<f64>,
    pub quality: Option<f64>,
    pub composite: Option<f64>,
}

/// `D_k = 100 · Σ w_j s_j / Σ w_j` over the items `(w_j, s_j)` with a value. `None` without items,
/// or when the weight with a value is zero or below 2/3 of the total (applicable) weight (with a
/// 1e-12 tolerance).
pub fn sub_dimension_score(items: &[(f64, Option<f64>)]) -> Option<f64> {
    let applicable: f64 = items.iter().map(|(w, _)| w).sum();
    let (available, weighted) = items
        .iter()
        .filter_map(|&(w, s)| Some((w, w * s?)))
        .fold((0.0, 0.0), |(a, ws), (w, x)| (a + w, ws + x));
    if items.is_empty() || available <= 0.0 || available < MIN_AVAILABLE_SHARE * applicable - 1e-12
    {
        return None;
    }
    Some(100.0 * weighted / available)
}

/// The items of one sub-dimension, `None` when it has no applicable indicator.
fn items_of(indicators: &[ScoredIndicator], sub: SubDimension) -> Option<Vec<(f64, Option<f64>)>> {
    let items: Vec<_> = indicators
        .iter()
        .filter(|i| i.sub == sub)
        .map(|i| (i.weight, i.score))
        .collect();
    (!items.is_empty()).then_some(items)
}

/// The effective sub-dimension weights `W_k / Σ W` over the sub-dimensions with at least one
/// applicable indicator (zero for the others).
fn effective_weights(indicators: &[ScoredIndicator], weights: &SubWeights) -> [f64; 3] {
    let applicable = SubDimension::ALL.map(|k| {
        if indicators.iter().any(|i| i.sub == k) {
            weights.get(k)
        } else {
            0.0
        }
    });
    let total: f64 = applicable.iter().sum();
    applicable.map(|w| if total > 0.0 { w / total } else { 0.0 })
}

/// The sub-dimension scores and the composite `S = Σ_k W_k D_k` (0–100) of one unit.
///
/// The composite has no value when any sub-dimension with applicable indicators has none
/// ("insufficient data"). A sub-dimension with *no* applicable indicator at the unit's level (or for
/// its institution type) is left out: its `D_k` is `None`, its weight W_k leaves the sum and the
/// remaining weights are renormalised, `S = Σ W_k D_k / Σ W_k` over the others. The same division
/// by `Σ W_k` absorbs weights that do not sum exactly to 1 (0.30 + 0.35 + 0.35 in floating point).
pub fn composite(indicators: &[ScoredIndicator], weights: &SubWeights) -> Composite {
    let effective = effective_weights(indicators, weights);
    let mut scores = [None; 3];
    let mut total = Some(0.0);
    let mut any_applicable = false;
    for ((d, w), k) in scores.iter_mut().zip(effective).zip(SubDimension::ALL) {
        if let Some(items) = items_of(indicators, k) {
            any_applicable = true;
            *d = sub_dimension_score(&items);
            total = total.zip(*d).map(|(s, d)| s + w * d);
        }
    }
    let [availability, usage, quality] = scores;
    Composite {
        availability,
        usage,
        quality,
        composite: total.filter(|_| any_applicable),
    }
}

/// The band of a composite, on the value rounded to 4 decimals as published and ranked:
/// 优 ≥ 85, 良 [70, 85), 中 [60, 70), 差 < 60.
pub fn band(composite: f64) -> &'static str {
    match round4(composite) {
        s if s >= 85.0 => "优",
        s if s >= 70.0 => "良",
        s if s >= 60.0 => "中",
        _ => "差",
    }
}

fn round4(x: f64) -> f64 {
    (x * 10_000.0).round() / 10_000.0
}

/// Competition ranks ("1224") by descending score rounded to 4 decimals; equal rounded scores share
/// a rank. `None` (and non-finite) scores are unranked and not counted.
pub fn competition_ranks(scores: &[Option<f64>]) -> Vec<Option<i64>> {
    let mut ranked: Vec<(usize, f64)> = scores
        .iter()
        .enumerate()
        .filter_map(|(i, s)| s.filter(|x| x.is_finite()).map(|x| (i, round4(x))))
        .collect();
    ranked.sort_by(|a, b| b.1.total_cmp(&a.1));
    let mut ranks = vec![None; scores.len()];
    let mut previous: Option<(f64, i64)> = None;
    for (position, (i, s)) in ranked.into_iter().enumerate() {
        let rank = match previous {
            Some((p, r)) if p == s => r,
            _ => position as i64 + 1,
        };
        ranks[i] = Some(rank);
        previous = Some((s, rank));
    }
    ranks
}

/// The global weight of each indicator, in input order: `g_j = W_k · w_j / Σ_{i ∈ k with a value} w_i`,
/// with W_k renormalised as in [`composite`]; 0 for an indicator without a value. When the composite
/// has a value, `S = Σ_j 100 · g_j · s_j` exactly.
pub fn global_weights(indicators: &[ScoredIndicator], weights: &SubWeights) -> Vec<f64> {
    let effective = effective_weights(indicators, weights);
    let available = SubDimension::ALL.map(|k| {
        indicators
            .iter()
            .filter(|i| i.sub == k && i.score.is_some())
            .map(|i| i.weight)
            .sum::<f64>()
    });
    indicators
        .iter()
        .map(|i| {
            let k = i.sub as usize; // declaration order, the order of `SubDimension::ALL`
            if i.score.is_some() && available[k] > 0.0 {
                effective[k] * i.weight / available[k]
            } else {
                0.0
            }
        })
        .collect()
}

/// The exact decomposition `ΔS = S_t − S_{t−1} = Σ_j 100 · g_j · (s_{j,t} − s_{j,t−1})`: one
/// contribution per indicator with a value, in the order of `current`.
///
/// `None` unless both composites have a value and the same indicators (same id, sub-dimension and
/// weight) have a value in both periods — only then are the global weights the same and the
/// decomposition exact.
pub fn change_decomposition(
    previous: &[ScoredIndicator],
    current: &[ScoredIndicator],
    weights: &SubWeights,
) -> Option<Vec<(String, f64)>> {
    composite(previous, weights).composite?;
    composite(current, weights).composite?;
    let before: HashMap<&str, (SubDimension, f64, f64)> = previous
        .iter()
        .filter_map(|i| Some((i.id, (i.sub, i.weight, i.score?))))
        .collect();
    let g = global_weights(current, weights);
    let mut contributions = Vec::with_capacity(before.len());
    for (now, g) in current.iter().zip(g) {
        let Some(s) = now.score else { continue };
        let &(sub, weight, s_before) = before.get(now.id)?;
        if sub != now.sub || weight != now.weight {
            return None;
        }
        contributions.push((now.id.to_owned(), 100.0 * g * (s - s_before)));
    }
    (contributions.len() == before.len()).then_some(contributions)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scoring::Scoring;

    use crate::scoring::tests::assert_close;

    const REGION: SubWeights = SubWeights {
        availability: 0.40,
        usage: 0.35,
        quality: 0.25,
    };

    /// E11's six indicators, two per sub-dimension with within-sub weights 0.5/0.5.
    const E11: [(&str, SubDimension, Scoring); 6] = [
        (
            "coverage",
            SubDimension::Availability,
            Scoring::TargetUp {
                target: 0.60,
                floor: 0.0,
            },
        ),
        (
            "station",
            SubDimension::Availability,
            Scoring::TargetUp {
                target: 1.0,
                floor: 0.0,
            },
        ),
        (
            "agri_gap",
            SubDimension::Usage,
            Scoring::TargetUp {
                target: 0.0,
                floor: -10.0,
            },
        ),
        (
            "platform_active",
            SubDimension::Usage,
            Scoring::GoalUp { lo: 0.0, hi: 0.50 },
        ),
        (
            "rate",
            SubDimension::Quality,
            Scoring::TargetDown {
                target: 6.75,
                ceiling: 9.75,
            },
        ),
        (
            "npl",
            SubDimension::Quality,
            Scoring::TargetDown {
                target: 2.0,
                ceiling: 5.0,
            },
        ),
    ];

    fn e11_unit(values: [f64; 6]) -> Vec<ScoredIndicator<'static>> {
        E11.iter()
            .zip(values)
            .map(|(&(id, sub, rule), x)| ScoredIndicator {
                id,
                sub,
                weight: 0.5,
                score: Some(rule.score(x).capped),
            })
            .collect()
    }

    #[test]
    fn e11_full_composite_ranks_and_change() {
        let a = e11_unit([0.66, 1.00, 1.2, 0.42, 6.50, 1.2]);
        let b = e11_unit([0.45, 0.92, -2.5, 0.30, 7.25, 3.1]);
        let c = e11_unit([0.54, 0.85, -4.0, 0.35, 6.90, 2.6]);
        let a_previous = e11_unit([0.50, 0.90, -1.0, 0.30, 7.00, 1.8]);

        let s: Vec<Option<f64>> = [&a, &b, &c]
            .iter()
            .map(|u| composite(u, &REGION).composite)
            .collect();
        for (s, expected) in s.iter().zip([97.2000, 75.3583, 79.6250]) {
            assert_close(s.unwrap(), expected);
        }
        assert_eq!(competition_ranks(&s), vec![Some(1), Some(3), Some(2)]);

        let now = s[0].unwrap();
        let before = composite(&a_previous, &REGION).composite.unwrap();
        assert_close(before, 84.8750);
        assert_close(now - before, 12.3250);

        let g = global_weights(&a, &REGION);
        for (g, expected) in g.iter().zip([0.2, 0.2, 0.175, 0.175, 0.125, 0.125]) {
            assert_close(*g, expected);
        }
        let weighted: f64 = a
            .iter()
            .zip(&g)
            .map(|(i, g)| 100.0 * g * i.score.unwrap())
            .sum();
        assert_close(weighted, now);

        let parts = change_decomposition(&a_previous, &a, &REGION).unwrap();
        let ids: Vec<&str> = parts.iter().map(|(id, _)| id.as_str()).collect();
        assert_eq!(ids, E11.map(|(id, _, _)| id));
        for ((_, part), expected) in parts
            .iter()
            .zip([3.3333, 2.0000, 1.7500, 4.2000, 1.0417, 0.0])
        {
            assert_close(*part, expected);
        }
        let total: f64 = parts.iter().map(|(_, p)| p).sum();
        assert!((total - (now - before)).abs() < 1e-9);
    }

    #[test]
    fn change_needs_the_same_available_indicators() {
        let a = e11_unit([0.66, 1.00, 1.2, 0.42, 6.50, 1.2]);
        let mut previous = e11_unit([0.50, 0.90, -1.0, 0.30, 7.00, 1.8]);
        // Both composites have a value, but an indicator has a value in one period only.
        previous.push(ScoredIndicator {
            id: "extra",
            sub: SubDimension::Quality,
            weight: 0.5,
            score: Some(0.5),
        });
        assert!(composite(&previous, &REGION).composite.is_some());
        assert_eq!(change_decomposition(&previous, &a, &REGION), None);
        assert_eq!(change_decomposition(&a, &previous, &REGION), None);

        let mut reweighted = a.clone();
        reweighted[0].weight = 0.6;
        assert_eq!(change_decomposition(&a, &reweighted, &REGION), None);

        let mut missing = a.clone();
        missing[0].score = None; // availability falls to 1/2 of its weight: no composite
        assert_eq!(composite(&missing, &REGION).composite, None);
        assert_eq!(change_decomposition(&missing, &a, &REGION), None);
    }

    #[test]
    fn e12_ties_share_a_rank() {
        let s = [Some(85.0), Some(72.5), Some(72.5), Some(60.0)];
        assert_eq!(
            competition_ranks(&s),
            vec![Some(1), Some(2), Some(2), Some(4)]
        );
        let s = [
            Some(60.0),
            None,
            Some(72.50004),
            Some(72.49996),
            Some(f64::NAN),
        ];
        assert_eq!(
            competition_ranks(&s),
            vec![Some(3), None, Some(1), Some(1), None]
        );
        assert_eq!(competition_ranks(&[]), vec![]);
    }

    #[test]
    fn e15_missing_data() {
        let d = sub_dimension_score(&[(0.5, Some(0.8)), (0.3, None), (0.2, Some(0.5))]);
        assert_close(d.unwrap(), 71.4286);
        assert_eq!(
            sub_dimension_score(&[(0.5, Some(0.8)), (0.3, None), (0.2, None)]),
            None
        );
        // Exactly 2/3 of the weight available is enough.
        let d = sub_dimension_score(&[(0.2, Some(1.0)), (0.2, Some(0.5)), (0.2, None)]);
        assert_close(d.unwrap(), 75.0);
        assert_eq!(sub_dimension_score(&[]), None);
        assert_eq!(sub_dimension_score(&[(0.0, Some(1.0))]), None);
    }

    #[test]
    fn sub_dimension_without_applicable_indicators_is_left_out() {
        let a = e11_unit([0.66, 1.00, 1.2, 0.42, 6.50, 1.2]);
        let without_quality: Vec<_> = a
            .iter()
            .copied()
            .filter(|i| i.sub != SubDimension::Quality)
            .collect();
        let c = composite(&without_quality, &REGION);
        assert_eq!(c.quality, None);
        let (d_a, d_u) = (c.availability.unwrap(), c.usage.unwrap());
        assert_close(c.composite.unwrap(), (0.40 * d_a + 0.35 * d_u) / 0.75);
        let g = global_weights(&without_quality, &REGION);
        let weighted: f64 = without_quality
            .iter()
            .zip(&g)
            .map(|(i, g)| 100.0 * g * i.score.unwrap())
            .sum();
        assert_close(weighted, c.composite.unwrap());
        assert_eq!(composite(&[], &REGION).composite, None);
    }

    #[test]
    fn institution_weights_need_not_sum_to_one() {
        let institution = SubWeights {
            availability: 0.30,
            usage: 0.35,
            quality: 0.35,
        };
        let perfect = e11_unit([0.66, 1.00, 1.2, 0.50, 6.50, 1.2]);
        assert_eq!(composite(&perfect, &institution).composite, Some(100.0));
        assert_eq!(band(100.0), "优");
    }

    #[test]
    fn bands_at_the_edges() {
        for (s, expected) in [
            (85.0, "优"),
            (84.9999, "良"),
            (84.99996, "优"), // published as 85.0000
            (70.0, "良"),
            (69.9999, "中"),
            (60.0, "中"),
            (59.99, "差"),
            (0.0, "差"),
        ] {
            assert_eq!(band(s), expected, "{s}");
        }
    }

    #[test]
    fn sub_weights_from_toml() {
        let w: SubWeights =
            toml::from_str("availability = 0.40\nusage = 0.35\nquality = 0.25").unwrap();
        assert_eq!(w, REGION);
        assert_eq!(w.get(SubDimension::Usage), 0.35);
        assert!(toml::from_str::<SubWeights>("availability = 0.4\nusage = 0.35").is_err());
        assert_eq!(SubDimension::Quality.as_str(), "quality");
    }
}
