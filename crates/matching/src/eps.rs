use crate::MatchingError;

/// Reads a list of ε: `A:B:N` is `N` values from `A` to `B` equally spaced in `log ε`
/// (`1e-1:1e-4:7` = 10^{−1}, 10^{−1.5}, …, 10^{−4}); `a,b,c` is an explicit list. Values
/// must be in `(0, 1)`; the result is sorted decreasing.
///
/// ```
/// let e = timescales_matching::parse_eps_list("1e-1:1e-4:7").unwrap();
/// assert_eq!(e.len(), 7);
/// assert!((e[1] - 10f64.powf(-1.5)).abs() < 1e-15);
/// ```
///
/// # Errors
/// [`MatchingError::EpsList`] naming what is wrong.
pub fn parse_eps_list(spec: &str) -> Result<Vec<f64>, MatchingError> {
    let bad = |reason: String| MatchingError::EpsList {
        spec: spec.to_string(),
        reason,
    };
    let num = |s: &str| -> Result<f64, MatchingError> {
        s.trim()
            .parse::<f64>()
            .map_err(|_| bad(format!("'{}' is not a number", s.trim())))
    };
    let mut eps = if spec.contains(':') {
        let parts: Vec<&str> = spec.split(':').collect();
        if parts.len() != 3 {
            return Err(bad("expected A:B:N".into()));
        }
        let (a, b) = (num(parts[0])?, num(parts[1])?);
        let n: usize = parts[2]
            .trim()
            .parse()
            .map_err(|_| bad(format!("'{}' is not a count", parts[2].trim())))?;
        if n < 2 {
            return Err(bad("N must be at least 2".into()));
        }
        if !(a > 0.0 && b > 0.0) {
            return Err(bad("A and B must be positive".into()));
        }
        let (la, lb) = (a.log10(), b.log10());
        (0..n)
            .map(|i| 10f64.powf(la + (lb - la) * i as f64 / (n - 1) as f64))
            .collect::<Vec<_>>()
    } else {
        spec.split(',').map(num).collect::<Result<Vec<_>, _>>()?
    };
    if eps.is_empty() {
        return Err(bad("no value".into()));
    }
    if let Some(e) = eps.iter().find(|e| !(**e > 0.0 && **e < 1.0)) {
        return Err(bad(format!("{e} is not in (0, 1)")));
    }
    eps.sort_by(|a, b| b.total_cmp(a));
    eps.dedup();
    Ok(eps)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_and_lists() {
        let e = parse_eps_list("1e-1:1e-4:4").unwrap();
        for (a, b) in e.iter().zip([1e-1, 1e-2, 1e-3, 1e-4]) {
            assert!((a / b - 1.0).abs() < 1e-14);
        }
        assert_eq!(parse_eps_list("0.01, 0.1").unwrap(), vec![0.1, 0.01]);
        for bad in ["1e-1:1e-4", "1:0.1:3", "0.1:0.01:1", "x", "0.1,-1", ""] {
            assert!(parse_eps_list(bad).is_err(), "{bad}");
        }
    }
}
