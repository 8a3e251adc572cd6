//! Helper threads that start at once: placed on another CPU than the thread that spawns them.
//!
//! Linux often queues a new thread on its parent's CPU, where it waits until the parent
//! blocks, even while another CPU idles. Measured on a 2-vCPU VM (kernel 6.18,
//! `benches/thread_start.c`): a thread spawned by a parent that goes on computing for 2 ms
//! ran on its parent's CPU in 34 of 40 spawns and started after a median of 1.8 ms (in 17 of
//! 40 only once the parent blocked in `join`); with its affinity excluding the parent's CPU,
//! after 0.20 ms (quartiles 0.18–0.22). For the output of a run, which encodes one file on a
//! helper thread while the spawning thread encodes another and then syncs each file on a
//! thread of its own, that is the difference between the work overlapping and not.
//!
//! [`spawn`] starts a thread so and [`join`] runs two closures in parallel (the first on a
//! thread started so, the second on the calling thread). The placement only decides where
//! the thread starts: once it runs, the thread may use every CPU its parent may, so that
//! the threads it starts in turn (a pool first used there, say) are not confined to fewer
//! CPUs. Placement is a hint: where the CPUs cannot be read or set, or only one is allowed,
//! the thread runs wherever the scheduler puts it, and nothing fails.

use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::thread::{Builder, JoinHandle};

/// Spawns `f` on a new thread that starts on another CPU than the calling thread's, and
/// may then use every CPU the caller may (module documentation).
///
/// # Errors
/// The error of [`std::thread::Builder::spawn`] if no thread can be started.
///
/// ```
/// let handle = timescales_report::threads::spawn(|| (1..=10).sum::<u32>())?;
/// assert_eq!(handle.join().unwrap(), 55);
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn spawn<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> std::io::Result<JoinHandle<T>> {
    // SAFETY: `f` and `T` are 'static: nothing they borrow can go away before the thread ends.
    unsafe { spawn_unchecked(f) }
}

/// The placement is being set by the parent.
const PENDING: u8 = 0;
/// The parent placed the thread: it widens its CPUs back to the parent's once it runs.
const PLACED: u8 = 1;
/// The parent left the thread where it is.
const LEFT: u8 = 2;

/// [`spawn`] for a closure that may borrow.
///
/// # Safety
/// As [`Builder::spawn_unchecked`]: the caller joins the thread before anything `f` borrows
/// goes away (or `T` holds a borrow that outlives it).
unsafe fn spawn_unchecked<'a, T: Send + 'a>(
    f: impl FnOnce() -> T + Send + 'a,
) -> std::io::Result<JoinHandle<T>> {
    let parents = Cpus::of_caller();
    let gate = Arc::new(AtomicU8::new(PENDING));
    let seen = Arc::clone(&gate);
    // SAFETY: passed on to the caller (this function's contract).
    let handle = unsafe {
        Builder::new().spawn_unchecked(move || {
            // Wait for the parent's placement (microseconds after the spawn) before
            // widening it back, so that the parent's call cannot land after ours.
            let mut state = seen.load(Ordering::Acquire);
            while state == PENDING {
                std::thread::yield_now();
                state = seen.load(Ordering::Acquire);
            }
            if state == PLACED {
                parents.widen_back();
            }
            f()
        })
    }?;
    let placed = parents.place_elsewhere(&handle);
    gate.store(if placed { PLACED } else { LEFT }, Ordering::Release);
    Ok(handle)
}

/// The CPUs the thread that read them may use (Linux; elsewhere nothing is placed).
#[derive(Clone, Copy)]
struct Cpus {
    #[cfg(target_os = "linux")]
    set: Option<libc::cpu_set_t>,
}

impl Cpus {
    fn of_caller() -> Self {
        #[cfg(target_os = "linux")]
        {
            // SAFETY: sched_getaffinity of the calling thread into a local set of its size.
            unsafe {
                let mut set: libc::cpu_set_t = std::mem::zeroed();
                let read =
                    libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set);
                Self {
                    set: (read == 0).then_some(set),
                }
            }
        }
        #[cfg(not(target_os = "linux"))]
        Self {}
    }

    /// Restricts the thread of `handle` to these CPUs other than the one the calling thread
    /// runs on; whether it did (not with one CPU, or where a call fails).
    fn place_elsewhere<T>(&self, handle: &JoinHandle<T>) -> bool {
        #[cfg(target_os = "linux")]
        {
            use std::os::unix::thread::JoinHandleExt;
            let Some(mut set) = self.set else {
                return false;
            };
            let size = std::mem::size_of::<libc::cpu_set_t>();
            // SAFETY: `set` is a plain bit set of `size` bytes that the calls read within
            // bounds; `CPU_CLR` is given a CPU number below CPU_SETSIZE (checked); the
            // pthread_t is that of a thread not yet joined (we hold its handle).
            unsafe {
                if libc::CPU_COUNT(&set) < 2 {
                    return false;
                }
                let Ok(cpu) = usize::try_from(libc::sched_getcpu()) else {
                    return false;
                };
                if cpu >= 8 * size || !libc::CPU_ISSET(cpu, &set) {
                    return false;
                }
                libc::CPU_CLR(cpu, &mut set);
                libc::pthread_setaffinity_np(handle.as_pthread_t(), size, &set) == 0
            }
        }
        #[cfg(not(target_os = "linux"))]
        {
            let _ = handle;
            false
        }
    }

    /// Lets the calling thread use these CPUs again (a failure leaves it placed: a hint).
    fn widen_back(&self) {
        #[cfg(target_os = "linux")]
        if let Some(set) = &self.set {
            #[cfg(test)]
            tests::record_placement();
            // SAFETY: sched_setaffinity of the calling thread from a set of its size.
            unsafe {
                let _ = libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), set);
            }
        }
    }
}

/// Runs `elsewhere` on a new thread (started on another CPU than the caller's, see
/// [`spawn`]) while `here` runs on the calling thread, and returns both results once both
/// have finished — like `rayon::join`, without a pool: for a few pieces of work of a
/// millisecond, once per run.
///
/// `elsewhere` may borrow from the caller: the thread is joined before this returns, also
/// when `here` panics. A panic of either closure is resumed here once both have finished.
/// If no thread can be spawned, `elsewhere` runs on the calling thread after `here`.
///
/// ```
/// let data = vec![1.0_f64, 2.0, 3.0];
/// let (sum, max) = timescales_report::threads::join(
///     || data.iter().sum::<f64>(),
///     || data.iter().copied().fold(f64::MIN, f64::max),
/// );
/// assert_eq!((sum, max), (6.0, 3.0));
/// ```
pub fn join<A, B>(elsewhere: impl FnOnce() -> A + Send, here: impl FnOnce() -> B) -> (A, B)
where
    A: Send,
{
    let mut task = Some(elsewhere);
    let slot = &mut task;
    // SAFETY: the closure borrows `task` (and whatever `elsewhere` borrows) only while the
    // thread runs, and the thread is joined before this function returns or unwinds: by
    // `Joined::wait` below, or by `Joined`'s `Drop` when `here` panics. If the spawn fails,
    // the closure is dropped without running and `task` is still ours.
    let spawned = unsafe { spawn_unchecked(move || slot.take().map(|f| f())) };
    let Ok(handle) = spawned else {
        let b = here();
        let a = task.take().map(|f| f());
        return (
            a.unwrap_or_else(|| unreachable!("the closure runs once")),
            b,
        );
    };
    let joined = Joined(Some(handle));
    let b = here();
    match joined.wait() {
        Ok(Some(a)) => (a, b),
        Ok(None) => unreachable!("the thread took the closure"),
        Err(panic) => std::panic::resume_unwind(panic),
    }
}

/// A spawned thread that is joined when dropped (on unwinding) if it was not waited for.
struct Joined<T>(Option<JoinHandle<T>>);

impl<T> Joined<T> {
    fn wait(mut self) -> std::thread::Result<T> {
        match self.0.take() {
            Some(handle) => handle.join(),
            None => unreachable!("waited for once"),
        }
    }
}

impl<T> Drop for Joined<T> {
    fn drop(&mut self) {
        if let Some(handle) = self.0.take() {
            let _ = handle.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicBool, Ordering};

    #[test]
    fn both_closures_run_and_the_borrow_outlives_the_thread() {
        let mut written = 0u64;
        let shared: Vec<u64> = (1..=1000).collect();
        let (a, b) = join(
            || {
                written = shared.iter().sum();
                std::thread::current().id()
            },
            || std::thread::current().id(),
        );
        assert_ne!(a, b, "elsewhere ran on a thread of its own");
        assert_eq!(b, std::thread::current().id());
        assert_eq!(written, 500_500);
    }

    #[test]
    fn a_panic_elsewhere_is_resumed_here_after_here_finishes() {
        let here_done = AtomicBool::new(false);
        let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            join(
                || panic!("elsewhere"),
                || here_done.store(true, Ordering::SeqCst),
            )
        }));
        let payload = caught.expect_err("the panic is resumed");
        assert_eq!(payload.downcast_ref::<&str>(), Some(&"elsewhere"));
        assert!(here_done.load(Ordering::SeqCst));
    }

    #[test]
    fn a_panic_here_waits_for_the_thread_before_unwinding() {
        let finished = AtomicBool::new(false);
        let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            join(
                || {
                    std::thread::sleep(std::time::Duration::from_millis(50));
                    finished.store(true, Ordering::SeqCst);
                },
                || panic!("here"),
            )
        }));
        assert!(caught.is_err());
        // The thread was joined before the panic left `join`: its write is visible.
        assert!(finished.load(Ordering::SeqCst));
    }

    /// The CPUs the calling thread may use.
    #[cfg(target_os = "linux")]
    fn allowed_cpus() -> Vec<usize> {
        // SAFETY: sched_getaffinity of the calling thread into a local set of its size;
        // CPU_ISSET reads bits below CPU_SETSIZE.
        unsafe {
            let mut set: libc::cpu_set_t = std::mem::zeroed();
            assert_eq!(
                libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set),
                0
            );
            (0..libc::CPU_SETSIZE as usize)
                .filter(|&c| libc::CPU_ISSET(c, &set))
                .collect()
        }
    }

    #[cfg(target_os = "linux")]
    std::thread_local! {
        /// The CPUs a placed thread of this test module could use when it began to run,
        /// before it widened them back (set by `Cpus::widen_back`).
        static PLACED_ON: std::cell::RefCell<Option<Vec<usize>>> =
            const { std::cell::RefCell::new(None) };
    }

    /// Called by a placed thread just before it widens its CPUs back.
    #[cfg(target_os = "linux")]
    pub(super) fn record_placement() {
        PLACED_ON.with(|p| *p.borrow_mut() = Some(allowed_cpus()));
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_placed_thread_starts_off_the_callers_cpu_then_may_use_all_of_its_cpus() {
        let two: Vec<usize> = allowed_cpus().into_iter().take(2).collect();
        if two.len() < 2 {
            // One CPU: nothing to place (the other branch of `place_elsewhere`).
            let ((placed, cpus), ()) =
                join(|| (PLACED_ON.with(|p| p.take()), allowed_cpus()), || ());
            assert_eq!(placed, None);
            assert_eq!(cpus, allowed_cpus());
            return;
        }
        // On a thread of the test's own, restricted to two CPUs: the helper it spawns
        // begins on exactly one of them, the other being the one the caller ran on, and
        // then may use both again (so that threads it starts may too).
        std::thread::spawn(move || {
            // SAFETY: a local set of its size, CPU numbers below CPU_SETSIZE.
            unsafe {
                let mut set: libc::cpu_set_t = std::mem::zeroed();
                for &c in &two {
                    libc::CPU_SET(c, &mut set);
                }
                assert_eq!(
                    libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set),
                    0
                );
            }
            for spawn_by in ["join", "spawn"] {
                let helper = || {
                    let placed = PLACED_ON.with(|p| p.take());
                    let grandchild = std::thread::spawn(allowed_cpus).join().unwrap();
                    (placed, allowed_cpus(), grandchild)
                };
                let ((placed, after, grandchild), caller) = match spawn_by {
                    "join" => join(helper, allowed_cpus),
                    _ => (spawn(helper).unwrap().join().unwrap(), allowed_cpus()),
                };
                assert_eq!(
                    caller, two,
                    "{spawn_by}: the caller's own CPUs are left alone"
                );
                let placed = placed.unwrap_or_else(|| panic!("{spawn_by}: not placed"));
                assert_eq!(
                    placed.len(),
                    1,
                    "{spawn_by}: one CPU excluded: {placed:?} of {two:?}"
                );
                assert!(two.contains(&placed[0]));
                assert_eq!(after, two, "{spawn_by}: the helper's CPUs widened back");
                assert_eq!(
                    grandchild, two,
                    "{spawn_by}: its own threads are not confined"
                );
            }
        })
        .join()
        .unwrap();
    }
}
