//! The best checkpoint interval, in theory and as measured.
//!
//! A job that checkpoints every T, pays C of lost processing per checkpoint
//! and fails every M on average (exponentially distributed) loses, to first
//! order, a fraction C/T to checkpoints and (T/2 + R)/M to failures (half an
//! interval of work replayed, plus the restart time R). Its throughput is
//! therefore, to first order,
//!
//! ```text
//! throughput(T) = a + b/T + c·T        (b = −capacity·C, c = −capacity/2M)
//! ```
//!
//! maximal at Young's T* = √(2·C·M) (Young, CACM 1974). Daly's higher-order
//! estimate (FGCS 2006) corrects it for C not small against M:
//! T* = √(2·C·M)·(1 + ⅓·√(C/2M) + C/18M) − C for C < 2M, else M.
//!
//! [`fit`] measures the optimum: a least-squares fit of the first-order form
//! to measured (interval, throughput) points, maximal at √(b/c). The form
//! is the theory's, the coefficients are the measurement's, so the fitted
//! optimum is compared with Young's on equal terms, and it is far less
//! sensitive to noise than the sweep's best point.

/// Young's optimum √(2·C·M), in the unit of its inputs.
pub fn young(cost: f64, mtbf: f64) -> f64 {
    assert!(cost >= 0.0 && mtbf > 0.0, "young: C = {cost}, M = {mtbf}");
    (2.0 * cost * mtbf).sqrt()
}

/// Daly's higher-order optimum, in the unit of its inputs.
pub fn daly(cost: f64, mtbf: f64) -> f64 {
    assert!(cost >= 0.0 && mtbf > 0.0, "daly: C = {cost}, M = {mtbf}");
    if cost >= 2.0 * mtbf {
        return mtbf;
    }
    let r = cost / (2.0 * mtbf);
    young(cost, mtbf) * (1.0 + r.sqrt() / 3.0 + r / 9.0) - cost
}

/// The first-order throughput model fitted to measured points.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ThroughputFit {
    pub a: f64,
    pub b: f64,
    pub c: f64,
}

impl ThroughputFit {
    /// The fitted throughput at interval `t`.
    pub fn at(&self, t: f64) -> f64 {
        self.a + self.b / t + self.c * t
    }

    /// The interval of the fitted maximum √(b/c), if the fit has one (both
    /// short and long intervals cost throughput: b < 0 and c < 0).
    pub fn optimum(&self) -> Option<f64> {
        (self.b < 0.0 && self.c < 0.0).then(|| (self.b / self.c).sqrt())
    }
}

/// Least-squares fit of `a + b/T + c·T` to `(T, throughput)` points;
/// `None` with fewer than 3 distinct positive intervals.
pub fn fit(points: &[(f64, f64)]) -> Option<ThroughputFit> {
    let mut distinct: Vec<f64> = points.iter().map(|p| p.0).filter(|t| *t > 0.0).collect();
    distinct.sort_by(f64::total_cmp);
    distinct.dedup();
    if distinct.len() < 3 {
        return None;
    }
    // Normal equations (XᵀX)β = Xᵀy with rows (1, 1/x, x), in x = T/T0
    // with T0 the intervals' geometric mean, so the columns are of one
    // order of magnitude whatever the unit of T.
    let t0 = (distinct.iter().map(|t| t.ln()).sum::<f64>() / distinct.len() as f64).exp();
    let mut m = [[0.0f64; 4]; 3];
    for &(t, y) in points.iter().filter(|p| p.0 > 0.0) {
        let x = t / t0;
        let row = [1.0, 1.0 / x, x];
        for i in 0..3 {
            for j in 0..3 {
                m[i][j] += row[i] * row[j];
            }
            m[i][3] += row[i] * y;
        }
    }
    let [a, b, c] = solve(m)?;
    Some(ThroughputFit {
        a,
        b: b * t0,
        c: c / t0,
    })
}

/// A pivot this small against the matrix's largest entry means the system
/// is singular (fewer independent points than unknowns), up to rounding.
const SINGULAR: f64 = 1e-9;

/// Gauss-Jordan elimination with partial pivoting of a 3×3 system given as
/// its augmented matrix.
fn solve(mut m: [[f64; 4]; 3]) -> Option<[f64; 3]> {
    let scale = m.iter().flat_map(|r| &r[..3]).fold(0.0f64, |a, v| a.max(v.abs()));
    for col in 0..3 {
        let pivot = (col..3).max_by(|x, y| m[*x][col].abs().total_cmp(&m[*y][col].abs()))?;
        m.swap(col, pivot);
        let p = m[col][col];
        if p.is_nan() || p.abs() <= SINGULAR * scale {
            return None;
        }
        for v in m[col].iter_mut() {
            *v /= p;
        }
        for row in 0..3 {
            if row != col {
                let f = m[row][col];
                let pivot_row = m[col];
                for (v, pv) in m[row].iter_mut().zip(pivot_row) {
                    *v -= f * pv;
                }
            }
        }
    }
    let x = [m[0][3], m[1][3], m[2][3]];
    x.iter().all(|v| v.is_finite()).then_some(x)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn young_and_daly_match_their_formulas() {
        assert!((young(100.0, 10_000.0) - 1414.2135).abs() < 1e-3);
        // C = 100, M = 10,000: r = 0.005.
        let r: f64 = 0.005;
        let expected = 1_414.213_562 * (1.0 + r.sqrt() / 3.0 + r / 9.0) - 100.0;
        assert!((daly(100.0, 10_000.0) - expected).abs() < 1e-3);
        assert!(daly(100.0, 10_000.0) < young(100.0, 10_000.0));
        assert_eq!(daly(300.0, 100.0), 100.0, "C ≥ 2M: checkpoint every M");
        let r: f64 = 150.0 / 200.0;
        let below = young(150.0, 100.0) * (1.0 + r.sqrt() / 3.0 + r / 9.0) - 150.0;
        assert!((daly(150.0, 100.0) - below).abs() < 1e-9, "C < 2M: the formula");
        assert_eq!(young(0.0, 5.0), 0.0);
    }

    #[test]
    fn the_fit_recovers_the_model_and_its_maximum() {
        let model = ThroughputFit {
            a: 1000.0,
            b: -50.0,
            c: -0.02,
        };
        let points: Vec<(f64, f64)> = [10.0, 20.0, 40.0, 80.0, 160.0]
            .iter()
            .map(|t| (*t, model.at(*t)))
            .collect();
        let f = fit(&points).expect("fit");
        assert!(
            (f.a - 1000.0).abs() < 1e-6 && (f.b + 50.0).abs() < 1e-6 && (f.c + 0.02).abs() < 1e-9,
            "{f:?}"
        );
        assert!((f.optimum().expect("maximum") - 50.0).abs() < 1e-6);
        assert!((f.at(50.0) - (1000.0 - 1.0 - 1.0)).abs() < 1e-9);
    }

    #[test]
    fn the_fit_needs_three_intervals_and_a_maximum() {
        assert_eq!(fit(&[(1.0, 5.0), (1.0, 6.0), (2.0, 7.0)]), None);
        assert_eq!(fit(&[(0.0, 5.0), (1.0, 6.0), (2.0, 7.0)]), None);
        // Rising throughput: no interior maximum.
        let rising = fit(&[(1.0, 1.0), (2.0, 2.0), (3.0, 3.0), (4.0, 4.0)]).expect("fit");
        assert_eq!(rising.optimum(), None);
        let only_c = ThroughputFit {
            a: 1.0,
            b: 1.0,
            c: -1.0,
        };
        assert_eq!(only_c.optimum(), None);
        let flat = |b: f64, c: f64| ThroughputFit { a: 1.0, b, c };
        assert_eq!(flat(0.0, -1.0).optimum(), None);
        assert_eq!(flat(-1.0, 0.0).optimum(), None);
        // Exactly three intervals suffice; a zero interval is left out.
        let model = flat(-4.0, -1.0);
        let three: Vec<(f64, f64)> = [1.0, 2.0, 4.0].iter().map(|t| (*t, model.at(*t))).collect();
        let f = fit(&three).expect("three intervals fit");
        assert!((f.optimum().expect("maximum") - 2.0).abs() < 1e-9);
        let mut with_zero = three.clone();
        with_zero.push((0.0, 99.0));
        assert_eq!(fit(&with_zero), Some(f));
    }
}
