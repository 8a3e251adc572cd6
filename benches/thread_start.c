/* How long a new thread waits before it runs while its parent goes on computing (Linux).
 *
 * The measurement behind `timescales_report::threads` (benches/RESULTS.md, issue 17 part 4,
 * fifth pass). Each trial, in a fresh child process: the parent computes for 5 ms (as
 * `timescales run` does before it writes its output), spawns a thread, computes 2 ms more,
 * then joins. Reported: the time from the spawn to the thread's first instruction, and
 * whether it ran on its parent's CPU, for the default placement and with the thread's
 * affinity set (as `place_elsewhere` does) to the parent's CPUs but the one it runs on.
 *
 *   cc -O2 -pthread benches/thread_start.c -o /tmp/thread_start && /tmp/thread_start 40
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_us(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e6 + t.tv_nsec / 1e3;
}

static void compute(double us) {
  double t0 = now_us();
  volatile double x = 0;
  while (now_us() - t0 < us) x += 1;
}

struct result { double start_us; int same_cpu; int after_block; };
static volatile double started;
static volatile int child_cpu;

static void *child(void *arg) {
  (void)arg;
  started = now_us();
  child_cpu = sched_getcpu();
  return NULL;
}

static struct result trial(int placed) {
  compute(5000);
  int parent_cpu = sched_getcpu();
  pthread_t t;
  double t0 = now_us();
  pthread_create(&t, NULL, child, NULL);
  if (placed) {
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 1) {
      CPU_CLR(parent_cpu, &set);
      pthread_setaffinity_np(t, sizeof set, &set);
    }
  }
  compute(2000);
  double blocked = now_us();  /* the parent stops computing and blocks in the join */
  pthread_join(t, NULL);
  struct result r = {started - t0, child_cpu == parent_cpu, started >= blocked};
  return r;
}

static int cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

int main(int argc, char **argv) {
  int n = argc > 1 ? atoi(argv[1]) : 40;
  if (n < 1) n = 1;
  struct result *shared = mmap(NULL, sizeof(struct result) * 2 * n, PROT_READ | PROT_WRITE,
                               MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  for (int k = 0; k < 2 * n; k++) {  /* alternate the two placements, trial by trial */
    pid_t pid = fork();
    if (pid == 0) {
      shared[k] = trial(k % 2);
      _exit(0);
    }
    waitpid(pid, NULL, 0);
  }
  for (int placed = 0; placed < 2; placed++) {
    double *v = malloc(sizeof(double) * n);
    int same = 0, late = 0;
    for (int i = 0; i < n; i++) {
      struct result r = shared[2 * i + placed];
      v[i] = r.start_us;
      same += r.same_cpu;
      late += r.after_block;
    }
    qsort(v, n, sizeof(double), cmp);
    printf("%-8s start after spawn: median %.0f us, quartiles %.0f-%.0f us; on the parent's CPU "
           "%d of %d; only once the parent blocked %d of %d\n",
           placed ? "placed" : "default", v[n / 2], v[n / 4], v[3 * n / 4], same, n, late, n);
    free(v);
  }
  return 0;
}
