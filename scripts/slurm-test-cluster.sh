#!/usr/bin/env bash
# A real single-node Slurm on this machine for the cluster tests: munged, slurmctld and slurmd
# from a generated slurm.conf (this host, its CPUs and memory), as root without systemd.
#   scripts/slurm-test-cluster.sh start    install slurm-wlm + munge if missing, start, wait until the node is idle
#   scripts/slurm-test-cluster.sh stop     stop the daemons this script started (by their pid files)
#   scripts/slurm-test-cluster.sh status
# Only one Slurm can run on a machine. A slurm.conf this script did not write is never replaced.
set -euo pipefail

STATE=${CELLSHIFT_SLURM_STATE:-/tmp/cellshift-slurm}
CONF=/etc/slurm/slurm.conf
MARK='# Written by cellshift scripts/slurm-test-cluster.sh'
MUNGE_PID=/run/munge/munged.pid

say() { echo "slurm-test-cluster: $*"; }

install_if_missing() {
  local missing=()
  command -v slurmctld >/dev/null && command -v slurmd >/dev/null && command -v sbatch >/dev/null || missing+=(slurm-wlm)
  command -v munged >/dev/null || missing+=(munge)
  if [ ${#missing[@]} -gt 0 ]; then
    say "installing ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
}

start_munge() {
  if [ -f "$MUNGE_PID" ] && kill -0 "$(cat "$MUNGE_PID")" 2>/dev/null; then return; fi
  install -d -o munge -g munge -m 0700 /etc/munge /var/lib/munge /var/log/munge
  install -d -o munge -g munge -m 0755 /run/munge
  if [ ! -s /etc/munge/munge.key ]; then
    say "generating a munge key"
    if command -v mungekey >/dev/null; then runuser -u munge -- mungekey --create --keyfile=/etc/munge/munge.key
    else dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none; fi
    chown munge:munge /etc/munge/munge.key
    chmod 0400 /etc/munge/munge.key
  fi
  runuser -u munge -- /usr/sbin/munged
  install -d "$STATE"
  touch "$STATE/munged.ours" # stop ends munged only when this script started it
}

write_conf() {
  if [ -f "$CONF" ] && ! grep -qF "$MARK" "$CONF"; then
    say "$CONF exists and was not written by this script: using it as it is"
    return
  fi
  local host cpus mem
  host=$(hostname -s)
  cpus=$(nproc --all)
  mem=$(awk '/MemTotal/ { printf "%d", $2 / 1024 * 0.9 }' /proc/meminfo)
  install -d "$STATE/ctld" "$STATE/slurmd" /etc/slurm
  cat >"$CONF" <<EOF
$MARK
ClusterName=cellshift-test
SlurmctldHost=$host
AuthType=auth/munge
CredType=cred/munge
SlurmUser=root
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
MpiDefault=none
ReturnToService=2
StateSaveLocation=$STATE/ctld
SlurmdSpoolDir=$STATE/slurmd
SlurmctldPidFile=$STATE/slurmctld.pid
SlurmdPidFile=$STATE/slurmd.pid
SlurmctldLogFile=$STATE/slurmctld.log
SlurmdLogFile=$STATE/slurmd.log
# No accounting daemon: finished tasks are read from scontrol while the controller remembers
# them, then from this completion record.
JobCompType=jobcomp/filetxt
JobCompLoc=$STATE/jobcomp.txt
MinJobAge=600
NodeName=$host CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF
}

running() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

start() {
  [ "$(id -u)" = 0 ] || { say "must run as root (it starts munged, slurmctld and slurmd)"; exit 1; }
  install_if_missing
  start_munge
  write_conf
  running "$STATE/slurmctld.pid" || slurmctld -i
  running "$STATE/slurmd.pid" || slurmd
  local host
  host=$(hostname -s)
  for _ in $(seq 1 60); do
    state=$(sinfo -h -n "$host" -o '%T' 2>/dev/null || true)
    case "$state" in
      idle* | mixed* | allocated*) say "node $host is $state"; return 0 ;;
      down* | drain*) scontrol update NodeName="$host" State=RESUME >/dev/null 2>&1 || true ;;
    esac
    sleep 1
  done
  say "the node did not become idle within 60 s; slurmctld log:"
  tail -n 20 "$STATE/slurmctld.log" || true
  tail -n 20 "$STATE/slurmd.log" || true
  exit 1
}

stop_daemon() {
  local pidfile=$1 name=$2
  if running "$pidfile"; then
    local pid
    pid=$(cat "$pidfile")
    kill "$pid"
    for _ in $(seq 1 20); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    say "stopped $name ($pid)"
  fi
}

stop() {
  stop_daemon "$STATE/slurmd.pid" slurmd
  stop_daemon "$STATE/slurmctld.pid" slurmctld
  if [ -f "$STATE/munged.ours" ]; then
    stop_daemon "$MUNGE_PID" munged
    rm -f "$STATE/munged.ours"
  fi
}

status() {
  running "$STATE/slurmctld.pid" && running "$STATE/slurmd.pid" || { say "not running"; exit 1; }
  sinfo
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
