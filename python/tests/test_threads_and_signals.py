"""Long calls release the GIL, and a real SIGINT interrupts them within a fraction of a
second, keeping what finished."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time

import timescales as ts


def test_the_gil_is_released_during_a_solve():
    ticks = []
    stop = threading.Event()

    def count():
        while not stop.is_set():
            ticks.append(time.perf_counter())
            time.sleep(0.001)

    worker = threading.Thread(target=count)
    start = time.perf_counter()
    worker.start()
    r = ts.run(epsilon=1e-8, particles=2048, progress=False)
    end = time.perf_counter()
    stop.set()
    worker.join()
    during = [t for t in ticks if start + 0.05 < t < end - 0.05]
    solve = end - start
    assert r.stats["steps"] > 0 and solve > 0.3, f"the solve took only {solve:.2f} s"
    # The other thread ran all along: with the GIL held it would not tick at all. The
    # largest gap between its ticks stays far below the solve time.
    assert len(during) > 20, (len(during), solve)
    gaps = [b - a for a, b in zip(during, during[1:])]
    assert max(gaps) < 0.2 * solve, (max(gaps), solve)


SCRIPT = textwrap.dedent(
    """
    import sys, time, timescales as ts
    out = sys.argv[1]
    print("started", flush=True)
    t0 = time.perf_counter()
    try:
        ts.sweep(eps="1e-4:1e-9:12", particles=512, threads=1, out=out, progress=False)
        print("finished", flush=True)
    except ts.Interrupted as e:
        print("interrupted", len(e.partial.runs), e.partial.status, flush=True)
    except KeyboardInterrupt:
        print("plain KeyboardInterrupt", flush=True)
    print("at", time.perf_counter(), flush=True)
    """
)


def test_sigint_interrupts_a_sweep_quickly_and_keeps_finished_points(tmp_path):
    out = tmp_path / "sweep"
    proc = subprocess.Popen(
        [sys.executable, "-c", SCRIPT, str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout.readline().strip() == "started"
    runs = out / "runs"
    deadline = time.time() + 120
    while time.time() < deadline:
        if runs.exists() and any(p.name.startswith("eps_") for p in runs.iterdir()):
            break
        time.sleep(0.02)
    else:
        proc.kill()
        raise AssertionError("no point finished within 120 s")
    sent = time.perf_counter()
    os.kill(proc.pid, signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=60)
    lines = stdout.strip().splitlines()
    assert lines[0].startswith("interrupted"), (stdout, stderr)
    _, finished, status = lines[0].split()
    assert status == "interrupted" and 1 <= int(finished) < 12
    latency = float(lines[1].split()[1]) - sent
    print(f"SIGINT → Interrupted raised after {1e3 * latency:.0f} ms, {finished} points finished")
    assert latency < 0.5, f"Interrupted raised {latency:.3f} s after SIGINT"
    kept = [p for p in runs.iterdir() if p.name.startswith("eps_")]
    assert len(kept) >= int(finished)
    # The same call again resumes: the kept points are not computed again.
    again = ts.sweep(eps="1e-4:1e-9:12", particles=512, threads=1, out=out, progress=False)
    assert again.status == "complete"
    assert len(again.record["resumed"]) == len(kept)
    assert len(again.record["computed"]) == 12 - len(kept)


def test_an_interrupt_during_the_progress_display_stops_the_run():
    # Ctrl-C while Python code runs (here: the progress display) surfaces as a
    # KeyboardInterrupt there; the run stops at its next step with what it has.
    calls = []

    def progress(fraction, label):
        calls.append(fraction)
        raise KeyboardInterrupt

    t0 = time.perf_counter()
    try:
        ts.run(epsilon=1e-9, particles=16384, progress=progress)
    except ts.Interrupted as e:
        run = e.partial
    else:
        raise AssertionError("not interrupted")
    assert time.perf_counter() - t0 < 5.0
    assert len(calls) == 1 and run.interrupted_at is not None and run.interrupted_at < 3.0
    assert run.t.size == run.risk.size and run.a.shape[0] == run.t.size
    assert run.t.size == 0 or run.t[-1] <= run.interrupted_at


def test_another_exception_from_a_signal_handler_is_raised_after_the_solve_stops():
    class Stop(Exception):
        pass

    def handler(signum, frame):
        raise Stop()

    previous = signal.signal(signal.SIGUSR1, handler)
    try:
        timer = threading.Timer(0.3, os.kill, (os.getpid(), signal.SIGUSR1))
        timer.start()
        t0 = time.perf_counter()
        try:
            ts.run(epsilon=1e-9, particles=16384, progress=False)
        except Stop:
            pass
        else:
            raise AssertionError("the handler's exception was lost")
        assert time.perf_counter() - t0 < 5.0
    finally:
        signal.signal(signal.SIGUSR1, previous)
