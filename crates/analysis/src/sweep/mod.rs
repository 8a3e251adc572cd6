//! Generic ε sweeps: a log grid, shards, parallel resumable runs, merging shards.
//!
//! A sweep evaluates a user closure `Fn(ε) -> Result<R, E>` on every point of an [`EpsGrid`]
//! that belongs to a [`Shard`], in parallel (rayon) with a progress bar (indicatif). Each
//! finished run is written to its own file in a run directory ([`RunStore`]), atomically,
//! under the [`Fingerprint`] of the computation, so a sweep that is interrupted resumes where
//! it stopped and skips finished points — and never reuses the runs of another computation;
//! shard directories are joined by [`merge_run_dirs`], which checks that they are shards of
//! one computation and names the grid points none of them has. The result type only needs to be
//! serializable (serde + serde_json).

mod grid;
mod run;
mod shard;
mod store;

pub use grid::{EpsGrid, MAX_POINTS};
pub use run::{SweepOptions, SweepReport, error_chain, run_sweep};
pub use shard::Shard;
pub use store::{
    FailureRecord, Fingerprint, MergeReport, OpenMode, RunRecord, RunStore, epsilon_key,
    merge_run_dirs,
};
