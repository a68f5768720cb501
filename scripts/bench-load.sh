#!/usr/bin/env bash
# bench-load.sh: 1,000 concurrent sessions on one `jmsctl serve`. It opens them (key logins,
# half PTY shells and half exec sessions, from x/crypto clients in one process), reports the
# time to open them, the serve's RSS, CPU and goroutines, the p50/p99 of a new login made while
# they are open (goal: p99 under 1 s; the same logins are first timed with no session open, to
# tell the machine's load from the serve's), closes them, and checks that every session row is closed
# and every recording whole and valid. It is a report: it exits 0 whatever the figures, and
# non-zero when it cannot measure or a check fails. Needs openssh-server, and root (the sshd
# asset logs in root). About 5 minutes on a loaded 2-core machine.
#
#   scripts/bench-load.sh
#   BENCH_LOAD_N=300 BENCH_LOAD_PROBES=50 scripts/bench-load.sh
#
# Limits (docs/performance.md, "A thousand sessions"): the open-files limit is raised to the hard
# limit (each session holds two sockets in the serve and one in the asset's sshd); the serve's
# jms.yaml sets max_connections_per_user: 0, since the default (200) refuses alice's 201st
# connection; nothing else changes. The asset's sshd allows 1000 unauthenticated connections
# (MaxStartups) as the bastion opens them 20 at a time.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${BENCH_LOAD_N:-1000}
C=${BENCH_LOAD_C:-20}
PROBES=${BENCH_LOAD_PROBES:-100}

T=$(mktemp -d /tmp/jms-bench-load.XXXXXX)
PIDS=()
cleanup() {
	set +e
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

BENCH_NAME=bench-load
. scripts/lib.sh
. scripts/lib-sessions.sh
sessions_setup
go build -o "$T/sessioncheck" ./scripts/sessioncheck
sessions_data
start_serve
log "$BENCH_NAME: $N sessions, $C at a time, then $PROBES new logins…"
"$T/sessions" -addr "127.0.0.1:$BASTION_PORT" -user alice@web1 -key "$T/client_key" -pid "$SERVE_PID" \
	-debug "$DEBUG_ADDR" -n "$N" -c "$C" -probes "$PROBES" -idle-cpu 10s -settle 30s >"$T/load" || {
	log "$BENCH_NAME: the load failed; the serve's log ends with:"
	tail -20 "$T/serve.log" >&2
	exit 1
}
opened=$(awk '$1 == "sessions_open" {print $2}' "$T/load")

# Every session row closed: the serve ends them as their clients go.
for _ in $(seq 120); do
	[ "$(jms session list --active -o json | jq length)" = 0 ] && break
	sleep 0.5
done
jms session list -o json --limit $((N * 2 + PROBES + 100)) | "$T/sessioncheck" -data "$T/data" -want "$((opened + PROBES))" >"$T/check" || {
	cat "$T/check"
	log "$BENCH_NAME: the sessions left behind fail their check (above)"
	exit 1
}
stop_serve

fig() { awk -v k="$1" '$1 == k {printf "%.'"${2:-0}"'f", $2}' "$T/load" "$T/check"; }
echo
echo "$N concurrent sessions (half PTY, half exec) on $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), open files limit $(ulimit -n)"
{
	printf 'measure\tvalue\tgoal\n'
	printf 'sessions open / failed to open\t%s / %s\t%s / 0\n' "$(fig sessions_open)" "$(fig sessions_failed_to_open)" "$N"
	printf 'time to open them (s)\t%s\t-\n' "$(fig open_seconds 1)"
	printf 'serve CPU to open them (s)\t%s\t-\n' "$(fig open_cpu_seconds 1)"
	printf 'serve RSS with them open, settled (MiB)\t%s\t-\n' "$(awk '$1 == "rss_after_settled" {printf "%.0f", $2 / 1024}' "$T/load")"
	printf 'RSS per session, settled / after forced GC (KiB)\t%s / %s\t<= 128\n' "$(fig rss_per_session_settled)" "$(fig rss_per_session_forced_gc)"
	printf 'goroutines per session\t%s\t-\n' "$(fig goroutines_per_session 1)"
	printf 'serve CPU while they idle (%%)\t%s\t-\n' "$(fig idle_cpu_percent 1)"
	printf 'new login while open, p50 / p99 (ms)\t%s / %s\t< 1000\n' "$(fig new_login_p50)" "$(fig new_login_p99)"
	printf 'same with no session open, p50 / p99 (ms)\t%s / %s\t-\n' "$(fig new_login_alone_p50)" "$(fig new_login_alone_p99)"
	printf 'new logins failed\t%s\t0\n' "$(fig new_login_failed)"
	printf 'sessions lost while open\t%s\t0\n' "$(fig sessions_lost_while_open)"
	printf 'rows checked / not closed / recordings invalid\t%s / %s / %s\t- / 0 / 0\n' \
		"$(fig sessions_checked)" "$(fig sessions_not_closed)" "$(fig recordings_invalid)"
} | column -t -s $'\t'
echo
sed 's/^/load_/' "$T/load" "$T/check"
