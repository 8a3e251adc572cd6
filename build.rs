//! Records the git commit the program is built from (`TIMESCALES_GIT_COMMIT`), for the
//! fingerprints and manifests of its outputs. A build outside a git checkout may set
//! `TIMESCALES_GIT_COMMIT` itself; otherwise the commit is `unknown`.
//!
//! On x86-64 GNU/Linux it also links the `timescales` program (the binary only, not the
//! library, tests, examples or the Python extension) as a position-dependent executable
//! (`-no-pie`): a position-independent one carries ~75 000 relative relocations that the
//! dynamic loader applies at every start (`timescales --version`: 2.2 ms of CPU and 552 page
//! faults as a PIE, 1.0 ms and 121 without; benches/RESULTS.md, issue 17 part 4).
//! `TIMESCALES_PIE=1` keeps the default (PIE).

use std::path::Path;
use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
        .filter(|s| !s.is_empty())
}

fn main() {
    println!("cargo:rerun-if-env-changed=TIMESCALES_GIT_COMMIT");
    println!("cargo:rerun-if-changed=build.rs");
    let commit = std::env::var("TIMESCALES_GIT_COMMIT")
        .ok()
        .filter(|s| !s.is_empty())
        .or_else(|| git(&["rev-parse", "HEAD"]))
        .unwrap_or_else(|| "unknown".to_string());
    // Rebuild when HEAD moves: HEAD itself, the branch it points to, packed refs.
    let mut watched = vec!["HEAD".to_string(), "packed-refs".to_string()];
    if let Some(branch) = git(&["symbolic-ref", "-q", "HEAD"]) {
        watched.push(branch);
    }
    for name in watched {
        if let Some(path) = git(&["rev-parse", "--git-path", &name])
            && Path::new(&path).exists()
        {
            println!("cargo:rerun-if-changed={path}");
        }
    }
    println!("cargo:rustc-env=TIMESCALES_GIT_COMMIT={commit}");

    println!("cargo:rerun-if-env-changed=TIMESCALES_PIE");
    let target_is = |key: &str, value: &str| std::env::var(key).is_ok_and(|v| v == value);
    let pie = std::env::var("TIMESCALES_PIE").is_ok_and(|v| v == "1");
    if !pie
        && target_is("CARGO_CFG_TARGET_OS", "linux")
        && target_is("CARGO_CFG_TARGET_ARCH", "x86_64")
        && target_is("CARGO_CFG_TARGET_ENV", "gnu")
    {
        // rustc's own `-pie` comes first on the linker's command line; the last one wins.
        println!("cargo:rustc-link-arg-bins=-no-pie");
    }
}
