//! Composites: one observable approximated uniformly in time by expansions valid in
//! different regions, added up, minus what they share.
//!
//! ```text
//!   y_c(t) = Σ_{outer, inner} y_i(t) − Σ_{common} c_j(t),
//! ```
//!
//! each term counted from its start time `t ≥ from_i` on (an outer solution that starts at
//! the end of a layer, say). For a boundary layer at `t = 0` the leading-order composite is
//! `Y₀(t) + η₀(t/ε) − Y₀(0)`; for the two-layer model's risk it is the phase-0/1 composite,
//! plus the chain of plateau flows from its start `t*`, minus the plateau `R₁` they share.
//! A composite knows the order of its expected error (`O(ε)` for the leading-order composite
//! of a Tikhonov problem), against which a measured order is judged.
//!
//! ```
//! use timescales_matching::Composite;
//! let t = vec![0.0, 0.5, 1.0];
//! let c = Composite::new("y", t)
//!     .outer("Y₀", 0.0, vec![1.0, 0.5, 0.25])?
//!     .inner("η₀", 0.0, vec![0.0, 0.75, 0.75])?
//!     .common("Y₀(0)", 0.0, vec![0.75; 3])?;
//! assert_eq!(c.values(), vec![0.25, 0.5, 0.25]);
//! # Ok::<(), timescales_matching::MatchingError>(())
//! ```

use serde::{Deserialize, Serialize};

use crate::MatchingError;

/// What a term of a composite is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Role {
    /// An outer (reduced) solution: added.
    Outer,
    /// An inner (layer) solution: added.
    Inner,
    /// A common part of two expansions (the matching condition's shared limit): subtracted.
    Common,
}

/// One term of a composite on the composite's time grid.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Term {
    /// Name (for tables and plots).
    pub name: String,
    /// Added or subtracted.
    pub role: Role,
    /// The term counts for `t ≥ from`.
    pub from: f64,
    /// Its values on the composite's grid.
    pub values: Vec<f64>,
}

/// A composite expansion of one observable on a time grid (module documentation).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Composite {
    /// The observable (`y`, `risk`, …).
    pub observable: String,
    /// The time grid.
    pub t: Vec<f64>,
    /// Its terms.
    pub terms: Vec<Term>,
    /// The expected order `p` of its error, `O(ε^p)`, if one is known.
    pub order: Option<f64>,
}

impl Composite {
    /// A composite of `observable` on the grid `t`, with no term yet.
    pub fn new(observable: &str, t: Vec<f64>) -> Self {
        Self {
            observable: observable.to_string(),
            t,
            terms: Vec::new(),
            order: None,
        }
    }

    /// Declares the expected order of the error, `O(ε^p)`.
    #[must_use]
    pub fn with_order(mut self, p: f64) -> Self {
        self.order = Some(p);
        self
    }

    fn term(
        mut self,
        role: Role,
        name: &str,
        from: f64,
        values: Vec<f64>,
    ) -> Result<Self, MatchingError> {
        if values.len() != self.t.len() {
            return Err(MatchingError::InvalidRequest(format!(
                "composite of {}: term {name} has {} values for {} times",
                self.observable,
                values.len(),
                self.t.len()
            )));
        }
        self.terms.push(Term {
            name: name.to_string(),
            role,
            from,
            values,
        });
        Ok(self)
    }

    /// Adds an outer solution, counted from `from` on.
    ///
    /// # Errors
    /// [`MatchingError::InvalidRequest`] when `values` is not as long as the grid.
    pub fn outer(self, name: &str, from: f64, values: Vec<f64>) -> Result<Self, MatchingError> {
        self.term(Role::Outer, name, from, values)
    }

    /// Adds an inner solution, counted from `from` on.
    ///
    /// # Errors
    /// As [`outer`](Self::outer).
    pub fn inner(self, name: &str, from: f64, values: Vec<f64>) -> Result<Self, MatchingError> {
        self.term(Role::Inner, name, from, values)
    }

    /// Subtracts a common part, counted from `from` on.
    ///
    /// # Errors
    /// As [`outer`](Self::outer).
    pub fn common(self, name: &str, from: f64, values: Vec<f64>) -> Result<Self, MatchingError> {
        self.term(Role::Common, name, from, values)
    }

    /// `y_c` on the grid: the sum of the terms in force at each time (NaN where one of them
    /// is NaN).
    pub fn values(&self) -> Vec<f64> {
        self.t
            .iter()
            .enumerate()
            .map(|(i, &t)| {
                self.terms
                    .iter()
                    .filter(|term| t >= term.from)
                    .fold(0.0, |acc, term| match term.role {
                        Role::Outer | Role::Inner => acc + term.values[i],
                        Role::Common => acc - term.values[i],
                    })
            })
            .collect()
    }

    /// `max |y_c(t) − y(t)|` against a reference on the same grid over `t ≤ until` (a NaN
    /// value of either counts as an infinite error).
    pub fn max_error(&self, reference: &[f64], until: f64) -> f64 {
        self.t
            .iter()
            .zip(self.values().iter().zip(reference))
            .filter(|(t, _)| **t <= until)
            .map(|(_, (c, r))| {
                let e = (c - r).abs();
                if e.is_nan() { f64::INFINITY } else { e }
            })
            .fold(0.0, f64::max)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terms_count_from_their_start() {
        // An early expansion alone before t* = 1, early + late − common after it.
        let t = vec![0.0, 0.5, 1.0, 2.0];
        let c = Composite::new("risk", t)
            .inner("early", 0.0, vec![3.0, 2.0, 1.0, 1.0])
            .unwrap()
            .outer("late", 1.0, vec![f64::NAN, f64::NAN, 1.0, 0.5])
            .unwrap()
            .common("plateau", 1.0, vec![1.0; 4])
            .unwrap()
            .with_order(0.25);
        assert_eq!(c.values(), vec![3.0, 2.0, 1.0, 0.5]);
        assert_eq!(c.max_error(&[3.0, 2.0, 1.1, 0.5], 1.5), 0.10000000000000009);
        assert_eq!(c.order, Some(0.25));
        assert!(
            Composite::new("y", vec![0.0])
                .outer("Y", 0.0, vec![])
                .is_err()
        );
    }
}
