# shellcheck shell=bash
# proc.sh — start/stop farm daemons through PID files.
#   $FARM/run/NAME.pid   the daemon's PID
#   $FARM/run/NAME.cmd   its expected command line, one argument per line
#   $FARM/logs/NAME.log  its stdout+stderr
# A PID only counts as "ours" while /proc/PID/cmdline still equals NAME.cmd (guards against PID reuse).
# Daemons are started with fd 9 closed: up.sh/down.sh hold their flock on fd 9.

# proc_pid NAME : print the PID if the daemon is alive and really ours. No external commands: up.sh asks this
# dozens of times.
proc_pid() {
  local pf=$FARM/run/$1.pid cf=$FARM/run/$1.cmd pid stat state i have=() want=()
  [ -s "$pf" ] && [ -s "$cf" ] || return 1
  read -r pid <"$pf" || return 1
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  read -r stat 2>/dev/null <"/proc/$pid/stat" || return 1
  state=${stat##*) }; state=${state%% *}     # the field after "(comm)"
  [ -n "$state" ] && [ "$state" != Z ] || return 1
  mapfile -d '' -t have 2>/dev/null <"/proc/$pid/cmdline" || return 1
  mapfile -t want <"$cf"
  [ "${#have[@]}" = "${#want[@]}" ] || return 1
  for i in "${!want[@]}"; do [ "${have[$i]}" = "${want[$i]}" ] || return 1; done
  printf '%s\n' "$pid"
}
proc_alive() { proc_pid "$1" >/dev/null; }

# proc_start NAME [--netns NSPATH] CMD... : start CMD detached (own session) unless already running.
# Returns 0 once the process has exec'd CMD; dies with the log tail if it exits at once.
proc_start() {
  local name=$1; shift
  local netns=""
  if [ "${1:-}" = --netns ]; then netns=$2; shift 2; fi
  local log=$FARM/logs/$name.log pid i
  if pid=$(proc_pid "$name") && [ -n "$netns" ] && ! [ "/proc/$pid/ns/net" -ef "$netns" ]; then
    # still running, but in a namespace that is no longer $netns (deleted and made again): unreachable
    info "$name: runs in another network namespace than $netns; restarting"
    proc_stop "$name" 30
  fi
  if pid=$(proc_pid "$name"); then info "$name: running (pid $pid)"; return 0; fi
  rm -f "$FARM/run/$name.pid" "$FARM/run/$name.cmd"
  mkdir -p "$FARM/run" "$FARM/logs"
  printf '%s\n' "$@" >"$FARM/run/$name.cmd"
  printf '\n===== start %s: %s\n' "$(date -u +%FT%TZ)" "$*" >>"$log"
  if [ -n "$netns" ]; then
    # nsenter --net (not `ip netns exec`, which remounts /sys and breaks runc's cgroup detection)
    setsid nsenter "--net=$netns" -- "$@" >>"$log" 2>&1 </dev/null 9>&- &
  else
    setsid "$@" >>"$log" 2>&1 </dev/null 9>&- &
  fi
  pid=$!
  printf '%s\n' "$pid" >"$FARM/run/$name.pid"
  # setsid/nsenter exec in place; wait (bounded) until the PID shows the final command line
  for i in $(seq 1 40); do
    proc_alive "$name" && break
    [ -d "/proc/$pid" ] || break
    sleep 0.05
  done
  proc_alive "$name" || die "$name exited right after start" "$log"
  info "$name: started (pid $pid, log ${log#"$FARM"/})"
}

# proc_restart_if_changed NAME GRACE_S CMD... : stop NAME when it runs with another command line than CMD
# (proc_start would otherwise keep the old one running).
proc_restart_if_changed() {
  local name=$1 grace=$2; shift 2
  if proc_alive "$name" && [ "$(printf '%s\n' "$@")" != "$(<"$FARM/run/$name.cmd")" ]; then
    info "$name: options changed, restarting"; proc_stop "$name" "$grace"
  fi
}

# farm_daemons : every daemon name up.sh starts, in start order (down.sh stops them in reverse).
farm_daemons() {
  local n p
  printf '%s\n' registry-mirror registry-push faultproxy buildkitd-qemu
  for n in "${NATIVE_NODES[@]}"; do
    for p in $REG_PORTS; do printf '%s\n' "fwd-$n-host-$p" "fwd-$n-ns-$p"; done
    printf '%s\n' "buildkitd-$n"
  done
  printf '%s\n' dockerd
}

# stop_strays : stop daemons whose PID files name none of farm_daemons (left by an older layout of the farm,
# e.g. the forwarders fwd-host-15000/fwd-ns-15000 from before every native node had its own netns).
stop_strays() {
  local pf name known
  known=$(farm_daemons)
  for pf in "$FARM"/run/*.pid; do
    [ -e "$pf" ] || continue
    name=$(basename "$pf" .pid)
    grep -qx -- "$name" <<<"$known" && continue
    info "$name: not part of this farm layout; stopping it"
    proc_stop "$name" 30
  done
}

# proc_stop NAME [GRACE_S] : TERM, wait up to GRACE_S (default 20), then KILL. Only if the cmdline still matches.
proc_stop() {
  local pid
  pid=$(_proc_term "$1") || return 0
  _proc_finish "$1" "$pid" "${2:-20}"
}

# proc_stop_group GRACE_S NAME... : proc_stop for several daemons at once: TERM to all, then wait for each
# (they shut down side by side instead of one after the other).
proc_stop_group() {
  local grace=$1 name pid names=() pids=() i; shift
  for name in "$@"; do
    pid=$(_proc_term "$name") || continue
    names+=("$name"); pids+=("$pid")
  done
  for i in "${!names[@]}"; do _proc_finish "${names[$i]}" "${pids[$i]}" "$grace"; done
}

# _proc_term NAME : send TERM and print the PID; fails (after removing a stale PID file) when not running.
_proc_term() {
  local name=$1 pid pf=$FARM/run/$1.pid
  if ! pid=$(proc_pid "$name"); then
    if [ -e "$pf" ]; then
      info "$name: not running (stale pid file $(cat "$pf" 2>/dev/null) removed; that PID is not ours)" >&2
    fi
    rm -f "$pf" "$FARM/run/$name.cmd"
    return 1
  fi
  kill -TERM "$pid" 2>/dev/null || true
  printf '%s\n' "$pid"
}

# _proc_finish NAME PID GRACE_S : wait for a TERMed daemon, KILL it after GRACE_S, remove its PID file.
_proc_finish() {
  local name=$1 pid=$2 grace=$3 i
  local pf=$FARM/run/$name.pid
  for i in $(seq 1 $((grace * 10))); do
    proc_alive "$name" || break
    sleep 0.1
  done
  if proc_alive "$name"; then
    warn "$name (pid $pid) ignored SIGTERM for ${grace}s; sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    for i in $(seq 1 25); do [ -d "/proc/$pid" ] || break; sleep 0.2; done
  fi
  rm -f "$pf" "$FARM/run/$name.cmd"
  STOPPED_PIDS+=("$pid")
  info "$name: stopped (pid $pid)"
}
STOPPED_PIDS=()

# wait_reaped [MAX_S] : wait (bounded) until the stopped daemons have also been reaped by init, so that
# they do not linger in ps as <defunct>. Prints how many are left.
wait_reaped() {
  local max=${1:-10} i p left=0
  for i in $(seq 1 $((max * 5))); do
    left=0
    for p in "${STOPPED_PIDS[@]}"; do [ -e "/proc/$p" ] && left=$((left + 1)); done
    [ $left = 0 ] && break
    sleep 0.2
  done
  return $left
}

# farm_leftovers : list processes (pid + cmdline) that still reference the farm directory, other than us.
farm_leftovers() {
  local d pid cl
  for d in /proc/[0-9]*; do
    pid=${d#/proc/}
    [ "$pid" = $$ ] || [ "$pid" = "$BASHPID" ] && continue
    cl=$(tr '\0' ' ' <"$d/cmdline" 2>/dev/null) || continue
    case "$cl" in
      socat\ *"$NS_PREFIX"*|/usr/bin/socat\ *"$NS_PREFIX"*)
        printf '%s %s\n' "$pid" "$cl" ;;
      *"$FARM/"*)
        case "${cl%% *}" in */buildkitd|buildkitd|*/dockerd|dockerd|*containerd*|*docker-registry|socat|*/socat|*runc*|*/buildctl|*/faultproxy)
          printf '%s %s\n' "$pid" "$cl" ;;
        esac ;;
    esac
  done
}
