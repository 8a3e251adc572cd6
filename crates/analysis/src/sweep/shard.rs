//! Splitting a grid among independent jobs (`--shard i/n`).

use serde::{Deserialize, Serialize};

use super::EpsGrid;
use crate::error::{AnalysisError, Result};

/// Share `index` of `count` of a grid: grid point `k` belongs to shard `k mod count`.
///
/// Indices are 0-based (`0/4 … 3/4`), matching a Slurm job array `--array=0-3` with
/// `--shard $SLURM_ARRAY_TASK_ID/4`. The round-robin assignment is deterministic, covers
/// every grid point exactly once over the `count` shards, and spreads the expensive small-ε
/// end of a grid evenly over the shards.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shard {
    /// This shard, `0 ≤ index < count`.
    pub index: usize,
    /// Number of shards, `≥ 1`.
    pub count: usize,
}

impl Default for Shard {
    /// The whole grid: shard `0/1`.
    fn default() -> Self {
        Self { index: 0, count: 1 }
    }
}

impl Shard {
    /// Parses `"i/n"` with `0 ≤ i < n`.
    ///
    /// ```
    /// # use timescales_analysis::sweep::Shard;
    /// let s = Shard::parse("1/3")?;
    /// assert_eq!(s.select(&[1.0, 2.0, 3.0, 4.0, 5.0]), vec![2.0, 5.0]);
    /// # Ok::<(), timescales_analysis::AnalysisError>(())
    /// ```
    pub fn parse(spec: &str) -> Result<Self> {
        let err = |reason: String| AnalysisError::ShardSpec {
            spec: spec.to_string(),
            reason,
        };
        let (i, n) = spec
            .trim()
            .split_once('/')
            .ok_or_else(|| err("expected i/n, e.g. 0/4".to_string()))?;
        let index: usize = i
            .trim()
            .parse()
            .map_err(|e| err(format!("index `{i}` is not a non-negative integer ({e})")))?;
        let count: usize = n
            .trim()
            .parse()
            .map_err(|e| err(format!("count `{n}` is not a non-negative integer ({e})")))?;
        Self::new(index, count).map_err(|_| {
            err(format!(
                "need 0 <= index < count and count >= 1 (indices are 0-based), got {index}/{count}"
            ))
        })
    }

    /// Shard `index` of `count`.
    pub fn new(index: usize, count: usize) -> Result<Self> {
        if count == 0 || index >= count {
            return Err(AnalysisError::ShardSpec {
                spec: format!("{index}/{count}"),
                reason: "need 0 <= index < count and count >= 1".to_string(),
            });
        }
        Ok(Self { index, count })
    }

    /// Whether grid point `k` belongs to this shard.
    pub fn contains(&self, k: usize) -> bool {
        k % self.count == self.index
    }

    /// The shards of `count` that own `points` of `grid` (point `k` belongs to shard
    /// `k mod count`), each with its points, in shard order: the shards to rerun when
    /// `points` are missing.
    ///
    /// ```
    /// # use timescales_analysis::sweep::{EpsGrid, Shard};
    /// let grid = EpsGrid::parse("1e-3:1e-6:4")?;
    /// assert_eq!(Shard::owners(&grid, 2, &[1e-4, 1e-6]), vec![(1, vec![1e-4, 1e-6])]);
    /// # Ok::<(), timescales_analysis::AnalysisError>(())
    /// ```
    pub fn owners(grid: &EpsGrid, count: usize, points: &[f64]) -> Vec<(usize, Vec<f64>)> {
        let mut by_shard: std::collections::BTreeMap<usize, Vec<f64>> = Default::default();
        for (k, &e) in grid.points().iter().enumerate() {
            if points.contains(&e) {
                by_shard.entry(k % count.max(1)).or_default().push(e);
            }
        }
        by_shard.into_iter().collect()
    }

    /// The points of `grid` that belong to this shard, in grid order.
    pub fn select(&self, grid: &[f64]) -> Vec<f64> {
        grid.iter()
            .enumerate()
            .filter(|(k, _)| self.contains(*k))
            .map(|(_, &e)| e)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sweep::EpsGrid;

    #[test]
    fn shards_partition_the_grid() {
        let grid = EpsGrid::parse("1e-3:1e-9:13").unwrap();
        for n in 1..=15 {
            let mut seen = vec![0usize; grid.len()];
            for i in 0..n {
                let shard = Shard::new(i, n).unwrap();
                for e in shard.select(grid.points()) {
                    let k = grid.points().iter().position(|&p| p == e).unwrap();
                    seen[k] += 1;
                }
            }
            assert!(seen.iter().all(|&c| c == 1), "n = {n}: {seen:?}");
        }
        // Deterministic and balanced.
        let a = Shard::parse("2/4").unwrap().select(grid.points());
        assert_eq!(a, Shard::parse("2/4").unwrap().select(grid.points()));
        assert_eq!(a.len(), 3);
    }

    #[test]
    fn parse_errors() {
        for bad in ["3", "4/4", "-1/4", "1/0", "a/2", "1/b", ""] {
            assert!(
                matches!(Shard::parse(bad), Err(AnalysisError::ShardSpec { .. })),
                "{bad}"
            );
        }
        assert_eq!(Shard::parse(" 0 / 1 ").unwrap(), Shard::default());
    }
}
