//! Which degrees a drop of the risk learns, and the exponents model.md §5 predicts for it.

use serde::{Deserialize, Serialize};

/// The identity of a drop of the risk between two plateaus.
///
/// Displayed as in the tables: `2` (degree 2 learnt alone), `2–3` (degrees 2 and 3 learnt in
/// one drop: the phases merged), `to 0.12` (a drop to a plateau whose level matches no
/// predicted `R_l`, the level rounded to two decimals).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum PhaseId {
    /// The drop learns the degrees `first..=last`.
    Degrees {
        /// The first degree learnt (the one that starts the drop).
        first: usize,
        /// The last degree learnt (`first` for a phase of its own).
        last: usize,
    },
    /// A drop to a plateau at `hundredths / 100` that matches no predicted level.
    ToLevel {
        /// The level reached, in hundredths (rounded).
        hundredths: i64,
    },
}

impl PhaseId {
    /// The identity of a drop that learns `degrees_learnt` (from the hint labels of the
    /// plateaus on both sides), else reaches the plateau of `degree`, else reaches
    /// `level_after`.
    pub fn of_drop(degrees_learnt: &[usize], degree: Option<usize>, level_after: f64) -> Self {
        match (degrees_learnt, degree) {
            ([first, .., last], _) => PhaseId::Degrees {
                first: *first,
                last: *last,
            },
            ([k], _) => PhaseId::Degrees {
                first: *k,
                last: *k,
            },
            ([], Some(l)) => PhaseId::Degrees { first: l, last: l },
            ([], None) => PhaseId::ToLevel {
                hundredths: (level_after * 100.0).round() as i64,
            },
        }
    }

    /// Whether the drop merges several phases.
    pub fn is_merged(&self) -> bool {
        matches!(self, PhaseId::Degrees { first, last } if first != last)
    }

    /// The degree that starts the drop, if it is known.
    pub fn first_degree(&self) -> Option<usize> {
        match self {
            PhaseId::Degrees { first, .. } => Some(*first),
            PhaseId::ToLevel { .. } => None,
        }
    }

    /// The exponent model.md §5 predicts for `quantity` across ε: `t_l ~ ε^{1/(2l)}`
    /// (`t_0 ~ ε`; `t_1 ~ √ε log(1/ε)`, exponent ½), and at the end of phase 1
    /// `a ~ ε^{−1/4}`, `s ~ ε^{1/4}`. A merged drop is compared with the law of its first
    /// degree, which starts it. `None` where nothing is predicted.
    pub fn predicted_exponent(&self, quantity: Quantity) -> Option<f64> {
        let l = self.first_degree()?;
        match (l, quantity) {
            (0, Quantity::TMid | Quantity::TSteepest) => Some(1.0),
            (l, Quantity::TMid | Quantity::TSteepest) => Some(1.0 / (2.0 * l as f64)),
            (1, Quantity::MaxAbsA) if !self.is_merged() => Some(-0.25),
            (1, Quantity::MaxAbsS) if !self.is_merged() => Some(0.25),
            _ => None,
        }
    }
}

impl std::fmt::Display for PhaseId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PhaseId::Degrees { first, last } if first == last => write!(f, "{first}"),
            PhaseId::Degrees { first, last } => write!(f, "{first}–{last}"),
            PhaseId::ToLevel { hundredths } => write!(f, "to {:.2}", *hundredths as f64 / 100.0),
        }
    }
}

/// A measured quantity of a phase, fitted across ε.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Quantity {
    /// When the risk crosses halfway between the plateaus around the drop.
    TMid,
    /// The steepest descent of the risk in `ln t`.
    TSteepest,
    /// `max_i |a_i|` at the end of the phase.
    MaxAbsA,
    /// `max_i |s_i|` at the end of the phase.
    MaxAbsS,
}

impl Quantity {
    /// Every quantity, in table order.
    pub const ALL: [Quantity; 4] = [
        Quantity::TMid,
        Quantity::TSteepest,
        Quantity::MaxAbsA,
        Quantity::MaxAbsS,
    ];

    /// The column name in the tables.
    pub fn name(self) -> &'static str {
        match self {
            Quantity::TMid => "t_mid",
            Quantity::TSteepest => "t_steepest",
            Quantity::MaxAbsA => "max_abs_a",
            Quantity::MaxAbsS => "max_abs_s",
        }
    }
}

impl std::fmt::Display for Quantity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identities_and_predictions() {
        let show = |d: &[usize], g, lvl| PhaseId::of_drop(d, g, lvl).to_string();
        assert_eq!(show(&[2], Some(2), 0.5), "2");
        assert_eq!(show(&[2, 3], Some(3), 0.0), "2–3");
        assert_eq!(show(&[], Some(3), 0.0), "3");
        assert_eq!(show(&[], None, 0.1234), "to 0.12");
        let merged = PhaseId::Degrees { first: 2, last: 3 };
        assert!(merged.is_merged());
        assert_eq!(merged.predicted_exponent(Quantity::TMid), Some(0.25));
        let one = PhaseId::Degrees { first: 1, last: 1 };
        assert_eq!(one.predicted_exponent(Quantity::TMid), Some(0.5));
        assert_eq!(one.predicted_exponent(Quantity::MaxAbsA), Some(-0.25));
        assert_eq!(
            PhaseId::Degrees { first: 1, last: 2 }.predicted_exponent(Quantity::MaxAbsA),
            None
        );
        assert_eq!(
            PhaseId::Degrees { first: 2, last: 2 }.predicted_exponent(Quantity::TSteepest),
            Some(0.25)
        );
        assert_eq!(
            PhaseId::ToLevel { hundredths: 12 }.predicted_exponent(Quantity::TMid),
            None
        );
        assert_eq!(
            PhaseId::Degrees { first: 3, last: 3 }.predicted_exponent(Quantity::MaxAbsS),
            None
        );
    }
}
