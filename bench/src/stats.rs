//! Latency distributions.

use serde::Serialize;

/// A summary of a sample, in milliseconds.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Dist {
    pub n: usize,
    pub mean: f64,
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub max: f64,
}

/// Nearest-rank percentile of a sorted sample (`p` in 0..=1).
pub fn pct(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = (p * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

impl Dist {
    /// Sorts `sample` in place and summarises it.
    pub fn of(sample: &mut [f64]) -> Self {
        sample.sort_by(f64::total_cmp);
        if sample.is_empty() {
            return Self {
                n: 0,
                mean: f64::NAN,
                p50: f64::NAN,
                p90: f64::NAN,
                p99: f64::NAN,
                max: f64::NAN,
            };
        }
        Self {
            n: sample.len(),
            mean: sample.iter().sum::<f64>() / sample.len() as f64,
            p50: pct(sample, 0.50),
            p90: pct(sample, 0.90),
            p99: pct(sample, 0.99),
            max: sample[sample.len() - 1],
        }
    }
}

/// Milliseconds of a duration.
pub fn ms(d: std::time::Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_nearest_rank() {
        let mut v: Vec<f64> = (1..=100).map(f64::from).collect();
        let d = Dist::of(&mut v);
        assert_eq!(d.p50, 50.0);
        assert_eq!(d.p99, 99.0);
        assert_eq!(d.max, 100.0);
        assert_eq!(pct(&[7.0], 0.99), 7.0);
    }
}
