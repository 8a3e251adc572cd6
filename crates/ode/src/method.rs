//! The integrators by name, for problems and command lines that choose one.

use serde::{Deserialize, Serialize};

use crate::{Bdf, Dop853, Dopri5, IntegrationError, Linearization, Rodas4, Solver, SolverOptions};

/// Which integrator.
///
/// The default is [`Method::Rodas4`]: its global error follows the requested tolerance
/// (≈ rtol on the two-layer public problem). [`Method::Bdf`] is the fast stiff option: on the
/// public problem (N = 64, ε = 1e-8, t_end = 3, benches/RESULTS.md) it reaches a maximum
/// relative risk error between 3e-5 and 5e-9 2–5× faster than RODAS4 at equal accuracy, and at
/// N = 10⁵ (rtol 1e-8) it takes ~1700 steps instead of ~8900. **Its error is not RODAS4's at
/// the same rtol**: like scipy's BDF, its global error there is 60–300 × rtol for rtol
/// 1e-5 … 1e-10, so ask it for a ~100× tighter rtol for the same accuracy; below ~1e-9
/// relative error RODAS4 is the faster (BDF at rtol 1e-12 meets round-off in the fast
/// variables). BDF rejects any step that leaves the system's domain
/// ([`Linearization::enforce_domain`]), like CVODE's inequality constraints (a component
/// outside by rounding since the step's start is moved back instead). The explicit
/// pairs are for non-stiff problems (ε not small) and stop with
/// [`IntegrationError::Stiff`] when the problem turns stiff.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Method {
    /// Variable-order (1–5) NDF/BDF, scipy's `BDF` on the structured solves, with Jacobian
    /// and factorization reuse (stiff, fast; error ~100 × rtol). Output times inside a step
    /// are interpolated.
    Bdf,
    /// RODAS (stiff, order 4; error close to rtol, but ~4× more steps than BDF at ε = 1e-8,
    /// each with a Jacobian, a factorization and six solves). The default.
    #[default]
    Rodas4,
    /// Dormand–Prince 5(4), for non-stiff runs.
    Dopri5,
    /// Dormand–Prince 8(5,3), for non-stiff runs.
    Dop853,
}

impl Method {
    /// Every method, in the order of their names in [`Method::NAMES`].
    pub const ALL: [Method; 4] = [Method::Bdf, Method::Rodas4, Method::Dopri5, Method::Dop853];
    /// The names accepted by [`Method::from_name`].
    pub const NAMES: [&'static str; 4] = ["bdf", "rodas4", "dopri5", "dop853"];

    /// The method's name (as in scenario files).
    pub fn name(self) -> &'static str {
        Self::NAMES[self as usize]
    }

    /// The method called `name`, if any.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::NAMES
            .iter()
            .position(|n| *n == name)
            .map(|i| Self::ALL[i])
    }

    /// Whether the method is implicit (needs the system's linearization).
    pub fn is_stiff(self) -> bool {
        matches!(self, Method::Bdf | Method::Rodas4)
    }

    /// A solver of this kind for `system`, started at `(t0, u0)`.
    ///
    /// # Errors
    /// As the solvers' constructors: bad options or initial state.
    pub fn solver<'a, S: Linearization + 'a>(
        self,
        system: S,
        t0: f64,
        u0: &[f64],
        opts: &SolverOptions,
    ) -> Result<Box<dyn Solver + 'a>, IntegrationError> {
        Ok(match self {
            Method::Bdf => Box::new(Bdf::new(system, t0, u0, opts)?),
            Method::Rodas4 => Box::new(Rodas4::new(system, t0, u0, opts)?),
            Method::Dopri5 => Box::new(Dopri5::new(system, t0, u0, opts)?),
            Method::Dop853 => Box::new(Dop853::new(system, t0, u0, opts)?),
        })
    }
}

impl std::fmt::Display for Method {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for m in Method::ALL {
            assert_eq!(Method::from_name(m.name()), Some(m));
        }
        assert_eq!(Method::from_name("radau"), None);
        assert_eq!(Method::default(), Method::Rodas4);
    }
}
