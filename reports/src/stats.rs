//! Small statistics over samples: nearest-rank percentiles (the same rule as
//! the sweep's summary table, so the report and the terminal agree), means,
//! and empirical CDFs.

/// Nearest-rank percentile (`p` in 0..=100) of `values`; `None` if empty.
pub fn percentile(values: &[f64], p: f64) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let rank = ((p / 100.0) * v.len() as f64).ceil().max(1.0) as usize;
    Some(v[rank.min(v.len()) - 1])
}

/// Nearest-rank median (the lower middle value for an even count).
pub fn median(values: &[f64]) -> Option<f64> {
    percentile(values, 50.0)
}

/// Nearest-rank median of integer samples.
pub fn median_u64(values: &[u64]) -> Option<u64> {
    if values.is_empty() {
        return None;
    }
    let mut v = values.to_vec();
    v.sort_unstable();
    Some(v[v.len().div_ceil(2) - 1])
}

/// Arithmetic mean; `None` if empty.
pub fn mean(values: &[f64]) -> Option<f64> {
    (!values.is_empty()).then(|| values.iter().sum::<f64>() / values.len() as f64)
}

/// Empirical CDF of `values` out of `total` samples (`total` ≥ the number of
/// values: samples that never happened, such as a recovery that never came,
/// keep the curve below 1). One point per value, sorted: `(x, fraction ≤ x)`.
pub fn cdf(values: &[f64], total: usize) -> Vec<(f64, f64)> {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let n = total.max(v.len()).max(1) as f64;
    v.iter().enumerate().map(|(i, x)| (*x, (i + 1) as f64 / n)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank() {
        assert_eq!(median(&[]), None);
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), Some(2.0));
        assert_eq!(median_u64(&[4, 1, 3, 2]), Some(2));
        assert_eq!(median_u64(&[5]), Some(5));
        assert_eq!(percentile(&[1.0, 2.0, 3.0, 4.0], 99.0), Some(4.0));
        assert_eq!(mean(&[1.0, 2.0]), Some(1.5));
    }

    #[test]
    fn cdf_counts_missing_samples() {
        assert_eq!(cdf(&[2.0, 1.0], 4), vec![(1.0, 0.25), (2.0, 0.5)]);
        assert_eq!(cdf(&[], 0), vec![]);
    }
}
