//! Medians and spread of repeated samples.

use serde::{Deserialize, Serialize};

/// The summary of repeated samples of one measurement, in nanoseconds per call.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// The median sample.
    pub median_ns: f64,
    /// The 10th percentile (nearest rank).
    pub p10_ns: f64,
    /// The 90th percentile (nearest rank).
    pub p90_ns: f64,
    /// The number of samples.
    pub samples: u32,
}

impl Summary {
    /// Summarises `samples` (ns per call each).
    ///
    /// # Panics
    /// When `samples` is empty or holds a NaN.
    pub fn of(samples: &[f64]) -> Summary {
        assert!(!samples.is_empty(), "no samples to summarise");
        let mut s = samples.to_vec();
        s.sort_by(|a, b| a.partial_cmp(b).expect("no NaN samples"));
        let rank = |p: f64| s[((p * (s.len() - 1) as f64).round() as usize).min(s.len() - 1)];
        Summary {
            median_ns: median_of_sorted(&s),
            p10_ns: rank(0.1),
            p90_ns: rank(0.9),
            samples: s.len() as u32,
        }
    }
}

/// The median of `samples` (the mean of the middle two for an even count).
///
/// # Panics
/// When `samples` is empty or holds a NaN.
pub fn median(samples: &[f64]) -> f64 {
    assert!(!samples.is_empty(), "no samples for a median");
    let mut s = samples.to_vec();
    s.sort_by(|a, b| a.partial_cmp(b).expect("no NaN samples"));
    median_of_sorted(&s)
}

fn median_of_sorted(s: &[f64]) -> f64 {
    if s.len() % 2 == 1 {
        s[s.len() / 2]
    } else {
        (s[s.len() / 2 - 1] + s[s.len() / 2]) / 2.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_and_percentiles() {
        let s = Summary::of(&[5.0, 1.0, 3.0, 2.0, 4.0]);
        assert_eq!(
            (s.median_ns, s.p10_ns, s.p90_ns, s.samples),
            (3.0, 1.0, 5.0, 5)
        );
        assert_eq!(Summary::of(&[1.0, 2.0, 3.0, 10.0]).median_ns, 2.5);
    }
}
