//! Small work vectors that stay off the heap: [`Scratch`].

/// Largest length kept on the stack by [`Scratch`].
const SMALL: usize = 16;

/// A zeroed work vector of `len` entries: on the stack when `len ≤ SMALL` (the per-step
/// moments, coefficients and capacitance right-hand sides), on the heap otherwise.
pub(super) enum Scratch {
    Stack([f64; SMALL], usize),
    Heap(Vec<f64>),
}

impl Scratch {
    pub(super) fn zeros(len: usize) -> Self {
        if len <= SMALL {
            Self::Stack([0.0; SMALL], len)
        } else {
            Self::Heap(vec![0.0; len])
        }
    }
}

impl std::ops::Deref for Scratch {
    type Target = [f64];
    fn deref(&self) -> &[f64] {
        match self {
            Self::Stack(a, len) => &a[..*len],
            Self::Heap(v) => v,
        }
    }
}

impl std::ops::DerefMut for Scratch {
    fn deref_mut(&mut self) -> &mut [f64] {
        match self {
            Self::Stack(a, len) => &mut a[..*len],
            Self::Heap(v) => v,
        }
    }
}
