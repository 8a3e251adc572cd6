#!/usr/bin/env bash
# A single-node Slurm cluster on localhost, for testing `timescales sweep` as an array job.
#
#   scripts/slurm/local-cluster.sh start    # munged, slurmctld, slurmd; waits for the node to be idle
#   scripts/slurm/local-cluster.sh status   # exit 0 if the node answers, 1 if not
#   scripts/slurm/local-cluster.sh stop     # stops the daemons this script started
#
# Needs root and Debian's `slurm-wlm` and `munge` packages. No systemd and no cgroups: the
# daemons run in the background, processes are tracked through /proc (proctrack/linuxproc).
# `start` is idempotent: it does nothing but wait for the node when the cluster is already up.
# It writes /etc/slurm/slurm.conf (Debian's path) and refuses to overwrite one it did not write,
# unless TIMESCALES_SLURM_FORCE=1. State, spool and logs live under $STATE (below).
set -euo pipefail

STATE=${TIMESCALES_SLURM_STATE:-/var/lib/timescales-slurm}
CONF=/etc/slurm/slurm.conf
MARKER="# written by timescales scripts/slurm/local-cluster.sh"
TIMEOUT=${TIMESCALES_SLURM_TIMEOUT:-60}

die() {
  echo "local-cluster: $*" >&2
  exit 1
}

show_logs() {
  local f
  for f in "$STATE"/log/slurmctld.log "$STATE"/log/slurmd.log /var/log/munge/munged.log; do
    [ -f "$f" ] || continue
    echo "---- last lines of $f" >&2
    tail -n 30 "$f" >&2
  done
}

# Prints the pid in file $1 when that process is alive.
live_pid() {
  local pid
  [ -f "$1" ] || return 1
  pid=$(cat "$1" 2>/dev/null) || return 1
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && echo "$pid"
}

# 0 if the node answers and is usable (idle, mixed or allocated).
node_up() {
  local s
  s=$(timeout 5 sinfo -h -n localhost -o %T 2>/dev/null) || return 1
  case "$s" in
    idle* | mix* | alloc* | completing*) return 0 ;;
    *) return 1 ;;
  esac
}

write_conf() {
  local cpus mem
  cpus=$(nproc)
  # RealMemory: total minus 10% (at least 256 MiB) so that slurmd never finds less than declared.
  mem=$(free -m | awk '/^Mem:/ { m = int($2 * 0.9); if ($2 - m < 256) m = $2 - 256; print (m > 1 ? m : 1) }')
  mkdir -p "$(dirname "$CONF")" "$STATE"/ctld "$STATE"/spool "$STATE"/log "$STATE"/run
  cat >"$CONF.tmp" <<EOF
$MARKER
ClusterName=timescales
SlurmctldHost=localhost
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
JobRequeue=1
ReturnToService=2
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
MailProg=/bin/true
SchedulerType=sched/backfill
SchedulerParameters=sched_interval=2
MinJobAge=300
KillWait=5
StateSaveLocation=$STATE/ctld
SlurmdSpoolDir=$STATE/spool
SlurmctldPidFile=$STATE/run/slurmctld.pid
SlurmdPidFile=$STATE/run/slurmd.pid
SlurmctldLogFile=$STATE/log/slurmctld.log
SlurmdLogFile=$STATE/log/slurmd.log
NodeName=localhost CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=main Nodes=localhost Default=YES MaxTime=INFINITE State=UP
EOF
  mv "$CONF.tmp" "$CONF"
}

start_munge() {
  if munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
    return 0
  fi
  if [ ! -s /etc/munge/munge.key ]; then
    mkdir -p /etc/munge
    if command -v mungekey >/dev/null 2>&1; then
      mungekey --create --keyfile=/etc/munge/munge.key
    else
      dd if=/dev/urandom of=/etc/munge/munge.key bs=1 count=1024 status=none
    fi
  fi
  chown munge:munge /etc/munge /etc/munge/munge.key
  chmod 700 /etc/munge
  chmod 400 /etc/munge/munge.key
  mkdir -p /run/munge /var/log/munge /var/lib/munge
  chown munge:munge /run/munge /var/log/munge /var/lib/munge
  runuser -u munge -- /usr/sbin/munged </dev/null >>/var/log/munge/munged.out 2>&1 || {
    show_logs
    die "munged did not start"
  }
  for _ in $(seq 1 20); do
    munge -n 2>/dev/null | unmunge >/dev/null 2>&1 && return 0
    sleep 0.5
  done
  show_logs
  die "munged started but does not answer (munge -n | unmunge fails)"
}

start() {
  [ "$(id -u)" -eq 0 ] || die "start needs root (it writes $CONF and runs the daemons)"
  local b
  for b in munged munge unmunge slurmctld slurmd sinfo; do
    command -v "$b" >/dev/null 2>&1 || [ -x "/usr/sbin/$b" ] ||
      die "$b not found: install Debian's packages first (apt-get install slurm-wlm munge)"
  done
  if [ -f "$CONF" ] && ! grep -qxF "$MARKER" "$CONF" && [ "${TIMESCALES_SLURM_FORCE:-0}" != 1 ]; then
    die "$CONF exists and was not written by this script; set TIMESCALES_SLURM_FORCE=1 to replace it"
  fi
  start_munge
  if live_pid "$STATE"/run/slurmctld.pid >/dev/null && live_pid "$STATE"/run/slurmd.pid >/dev/null; then
    # Both running (perhaps still registering): only wait for the node below.
    echo "local-cluster: slurmctld and slurmd already running"
  else
    # One is missing: start both afresh from a freshly written configuration.
    stop_daemon slurmd
    stop_daemon slurmctld
    write_conf
    # -i: ignore state files from an earlier run that do not match this configuration.
    # The daemons' own stdio goes to a file: an inherited pipe would keep the caller waiting.
    /usr/sbin/slurmctld -i </dev/null >>"$STATE"/log/slurmctld.out 2>&1 || {
      show_logs
      die "slurmctld did not start"
    }
    /usr/sbin/slurmd -N localhost </dev/null >>"$STATE"/log/slurmd.out 2>&1 || {
      show_logs
      die "slurmd did not start"
    }
  fi
  local t0=$SECONDS d
  until node_up; do
    for d in slurmctld slurmd; do
      live_pid "$STATE/run/$d.pid" >/dev/null || {
        show_logs
        die "$d exited (its log is above)"
      }
    done
    if [ $((SECONDS - t0)) -ge "$TIMEOUT" ]; then
      timeout 5 sinfo -N -l >&2 || true
      show_logs
      die "the node is not idle after ${TIMEOUT}s"
    fi
    # A node left down or drained by an earlier run: bring it back.
    case "$(timeout 5 sinfo -h -n localhost -o %T 2>/dev/null || true)" in
      down* | drain*) timeout 5 scontrol update NodeName=localhost State=RESUME >/dev/null 2>&1 || true ;;
    esac
    sleep 1
  done
  echo "local-cluster: up after $((SECONDS - t0))s"
  sinfo
}

stop_daemon() {
  local pid
  pid=$(live_pid "$STATE/run/$1.pid") || return 0
  kill "$pid"
  for _ in $(seq 1 20); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.5
  done
  echo "local-cluster: $1 ($pid) did not stop on SIGTERM; sending SIGKILL" >&2
  kill -9 "$pid" 2>/dev/null || true
}

stop() {
  stop_daemon slurmd
  stop_daemon slurmctld
  echo "local-cluster: stopped (munged left running)"
}

status() {
  if command -v sinfo >/dev/null 2>&1 && node_up; then
    sinfo
    return 0
  fi
  echo "local-cluster: not up" >&2
  return 1
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  *)
    echo "usage: $0 start|stop|status" >&2
    exit 2
    ;;
esac
