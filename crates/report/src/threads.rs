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
//! [`join`] runs two closures in parallel (the first on a new thread placed so, the second
//! on the calling thread) and [`place_elsewhere`] places a thread already spawned. Placement
//! is a hint: where the CPUs cannot be read or set, or only one is allowed, the thread runs
//! wherever the scheduler puts it, and nothing fails.

use std::thread::JoinHandle;

/// Runs `elsewhere` on a new thread (placed on another CPU than the caller's, see
/// [`place_elsewhere`]) while `here` runs on the calling thread, and returns both results
/// once both have finished — like `rayon::join`, without a pool: for a few pieces of work
/// of a millisecond, once per run.
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
    let spawned =
        unsafe { std::thread::Builder::new().spawn_unchecked(move || slot.take().map(|f| f())) };
    let Ok(handle) = spawned else {
        let b = here();
        let a = task.take().map(|f| f());
        return (
            a.unwrap_or_else(|| unreachable!("the closure runs once")),
            b,
        );
    };
    place_elsewhere(&handle);
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

/// Restricts the thread of `handle` to the CPUs the calling thread may use other than the
/// one it runs on, so that it starts on an idle CPU instead of waiting behind its parent.
/// Does nothing when the caller may use one CPU only, or off Linux; a failure to read or set
/// the affinity leaves the thread where it is (placement is a hint, never an error).
pub fn place_elsewhere<T>(handle: &JoinHandle<T>) {
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::thread::JoinHandleExt;
        let size = std::mem::size_of::<libc::cpu_set_t>();
        // SAFETY: `set` is a plain bit set of `size` bytes that the calls read and write
        // within bounds; `CPU_CLR` is given a CPU number below CPU_SETSIZE (checked); the
        // pthread_t is that of a thread not yet joined (we hold its handle).
        unsafe {
            let mut set: libc::cpu_set_t = std::mem::zeroed();
            if libc::sched_getaffinity(0, size, &mut set) != 0 || libc::CPU_COUNT(&set) < 2 {
                return;
            }
            let Ok(cpu) = usize::try_from(libc::sched_getcpu()) else {
                return;
            };
            if cpu >= 8 * size || !libc::CPU_ISSET(cpu, &set) {
                return;
            }
            libc::CPU_CLR(cpu, &mut set);
            let _ = libc::pthread_setaffinity_np(handle.as_pthread_t(), size, &set);
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = handle;
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
    #[test]
    fn a_placed_thread_may_use_the_callers_cpus_but_the_one_it_ran_on() {
        let two: Vec<usize> = allowed_cpus().into_iter().take(2).collect();
        if two.len() < 2 {
            // One CPU: nothing to place (the other branch of `place_elsewhere`).
            let (cpus, ()) = join(allowed_cpus, || ());
            assert_eq!(cpus, allowed_cpus());
            return;
        }
        // On a thread of the test's own, restricted to two CPUs: the helper it spawns may
        // use exactly one of them, the other being the one the caller ran on.
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
            let (helper, caller) = join(allowed_cpus, allowed_cpus);
            assert_eq!(caller, two, "the caller's own CPUs are left alone");
            assert_eq!(helper.len(), 1, "one CPU excluded: {helper:?} of {two:?}");
            assert!(two.contains(&helper[0]));
        })
        .join()
        .unwrap();
    }
}
