//! Seeded random sources and the few distributions the generator draws from.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use sha2::{Digest, Sha256};

use super::output::{Cents, Secs, DAY};

pub type Gen = ChaCha8Rng;

/// An independent generator for one purpose (`label`, e.g. `"410122001001/loans"`), so that what
/// one village or stream draws never shifts another.
pub fn rng(seed: u64, label: &str) -> Gen {
    let digest = Sha256::new()
        .chain_update(seed.to_le_bytes())
        .chain_update(label.as_bytes())
        .finalize();
    Gen::from_seed(digest.into())
}

pub fn chance(rng: &mut Gen, p: f64) -> bool {
    rng.random_bool(p.clamp(0.0, 1.0))
}

/// Uniform in `[lo, hi)`.
pub fn uniform(rng: &mut Gen, lo: f64, hi: f64) -> f64 {
    lo + (hi - lo) * rng.random::<f64>()
}

/// One of `items`, with probability proportional to its weight.
pub fn weighted<T: Copy>(rng: &mut Gen, items: &[(T, f64)]) -> T {
    let total: f64 = items.iter().map(|(_, w)| w).sum();
    let mut x = rng.random::<f64>() * total;
    for &(item, w) in items {
        if x < w {
            return item;
        }
        x -= w;
    }
    items[items.len() - 1].0
}

/// A standard normal deviate (Box–Muller).
pub fn normal(rng: &mut Gen) -> f64 {
    let u = 1.0 - rng.random::<f64>();
    let v = rng.random::<f64>();
    (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
}

/// Log-normal with the given median and log-scale spread.
pub fn lognormal(rng: &mut Gen, median: f64, sigma: f64) -> f64 {
    median * (sigma * normal(rng)).exp()
}

/// A Poisson count (Knuth's method for small means, the normal approximation for large ones).
pub fn poisson(rng: &mut Gen, mean: f64) -> u32 {
    if mean <= 0.0 {
        return 0;
    }
    if mean > 30.0 {
        return (mean + mean.sqrt() * normal(rng)).round().max(0.0) as u32;
    }
    let limit = (-mean).exp();
    let mut product = rng.random::<f64>();
    let mut count = 0;
    while product > limit {
        product *= rng.random::<f64>();
        count += 1;
    }
    count
}

/// `x` rounded down or up at random so that the expectation is `x`.
pub fn stochastic_round(rng: &mut Gen, x: f64) -> u32 {
    let floor = x.floor();
    floor as u32 + u32::from(rng.random::<f64>() < x - floor)
}

/// An instant in `[lo, hi)`, if the range is not empty.
fn between(rng: &mut Gen, lo: Secs, hi: Secs) -> Option<Secs> {
    (lo < hi).then(|| rng.random_range(lo..hi))
}

/// A time of day within office hours (08:00–18:00) on day `day` of the period.
pub fn office_time(rng: &mut Gen, day: u32) -> Secs {
    day * DAY + rng.random_range(8 * 3600..18 * 3600)
}

/// An amount of `x` cents rounded to a multiple of `step` cents.
pub fn round_to(x: f64, step: Cents) -> Cents {
    (x / step as f64).round() as Cents * step
}

/// An instant in `[lo, hi)`, moved into office hours (08:00–18:00) of its day as far as the range
/// allows.
pub fn office_time_between(rng: &mut Gen, lo: Secs, hi: Secs) -> Option<Secs> {
    let at = between(rng, lo, hi)?;
    Some((at - at % DAY + 8 * 3600 + at % DAY * 10 / 24).clamp(lo, hi - 1))
}
