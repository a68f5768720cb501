#!/usr/bin/env bash
# bench-idle.sh: the RSS an idle proxied session costs `jmsctl serve` (goal: at most 128 KiB),
# with 100 and with 1,000 sessions open, half PTY shells and half exec sessions. It is a report,
# not a test: it exits 0 whatever the figures (non-zero only when it cannot measure).
# Needs openssh-server, and root (the sshd asset logs in root). 5 to 15 minutes (the load).
#
#   scripts/bench-idle.sh
#   BENCH_IDLE_N="100" BENCH_IDLE_RUNS=3 scripts/bench-idle.sh
#   BENCH_IDLE_MEMLIMIT=64MiB scripts/bench-idle.sh
#   BENCH_IDLE_WARM=20 scripts/bench-idle.sh       # the baseline after a burst of 20 sessions
#   BENCH_MAX_SESSIONS=1000 scripts/bench-idle.sh   # the asset sshd's MaxSessions (default 10)
#   BENCH_REUSE=false scripts/bench-idle.sh         # one asset connection per session
#
# Method (docs/performance.md, "Memory per idle session"): for each N and each run, a fresh serve
# (a -tags jmspprof build) on a fresh data dir; two warm-up sessions; the baseline; N sessions
# opened 20 at a time by scripts/sessions (x/crypto clients in one process, key logins) and left
# idle; the figures. Each is (after - before) / N, read three ways: the RSS once it holds still
# (the GC's headroom included), the RSS right after a forced collection that returns free pages
# to the OS (/debug/jms/free: debug.FreeOSMemory, in the profiling build only), and the settled
# RSS of a serve run with GOMEMLIMIT (32 MiB plus 128 KiB per session, or BENCH_IDLE_MEMLIMIT),
# which bounds the collector's headroom the way an operator would. After the forced collection
# it also gives, per session, the live heap, the heap's spans in use (live heap and the free room
# in those spans) and the goroutine stacks, and the goroutines per session.
set -euo pipefail
cd "$(dirname "$0")/.."
NS=${BENCH_IDLE_N:-100 1000}
RUNS=${BENCH_IDLE_RUNS:-2}
MEMLIMIT=${BENCH_IDLE_MEMLIMIT:-}
# BENCH_IDLE_WARM=20: that many sessions opened 20 at a time and closed before the baseline, so
# that the serve's fixed costs of a burst (the store's pooled connections and their caches) are in
# the baseline rather than spread over the sessions measured.
WARM=${BENCH_IDLE_WARM:-0}

T=$(mktemp -d /tmp/jms-bench-idle.XXXXXX)
PIDS=()
cleanup() {
	set +e
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

BENCH_NAME=bench-idle
. scripts/lib.sh
. scripts/lib-sessions.sh
sessions_setup

measure() { # N OUT [VAR=VALUE…]: one fresh serve, N idle sessions; figures to OUT
	local n=$1 out=$2
	shift 2
	sessions_data
	start_serve "$@"
	"$T/sessions" -addr "127.0.0.1:$BASTION_PORT" -user alice@web1 -key "$T/client_key" \
		-pid "$SERVE_PID" -debug "$DEBUG_ADDR" -asset-port "$ASSET_PORT" -n "$n" -c 20 -idle-cpu 5s -warm "$WARM" >"$out"
	stop_serve
}
fig() { awk -v k="$2" '$1 == k {printf "%.0f", $2}' "$1"; }
figf() { awk -v k="$2" '$1 == k {printf "%.1f", $2}' "$1"; }

ROWS=()
SUMMARY=()
for n in $NS; do
	# GOMEMLIMIT: 32 MiB for the serve at rest plus the goal, 128 KiB per session, unless
	# BENCH_IDLE_MEMLIMIT names one. Under it the collector runs whenever the heap would pass it;
	# a serve that needs more goes over it (the limit is soft), and the figure says by how much.
	lim=${MEMLIMIT:-$(((32 * 1024 + n * 128) / 1024))MiB}
	for r in $(seq "$RUNS"); do
		log "$BENCH_NAME: $n sessions, run $r of $RUNS…"
		measure "$n" "$T/gc.$n.$r"
		log "$BENCH_NAME: $n sessions, run $r of $RUNS, GOMEMLIMIT=$lim…"
		measure "$n" "$T/lim.$n.$r" GOMEMLIMIT="$lim"
		g=$T/gc.$n.$r l=$T/lim.$n.$r
		ROWS+=("$(printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s' "$n" "$r" \
			"$(fig "$g" rss_per_session_at_open)" "$(fig "$g" rss_per_session_settled)" \
			"$(fig "$g" rss_per_session_forced_gc)" "$(fig "$g" rss_anon_per_session_forced_gc)" "$(fig "$g" rss_file_per_session_forced_gc)" \
			"$(fig "$l" rss_per_session_settled)" \
			"$(fig "$g" heap_per_session)" "$(fig "$g" heap_inuse_per_session)" "$(fig "$g" stack_per_session)" "$(figf "$g" goroutines_per_session)" \
			"$(fig "$g" asset_connections)" "$(figf "$g" open_seconds)")")
		SUMMARY+=("idle_rss_per_session_forced_gc_n${n}_run$r $(fig "$g" rss_per_session_forced_gc) KiB")
		SUMMARY+=("idle_rss_anon_per_session_forced_gc_n${n}_run$r $(fig "$g" rss_anon_per_session_forced_gc) KiB")
		SUMMARY+=("idle_rss_file_per_session_forced_gc_n${n}_run$r $(fig "$g" rss_file_per_session_forced_gc) KiB")
		SUMMARY+=("idle_rss_anon_arena_per_session_forced_gc_n${n}_run$r $(fig "$g" rss_anon_arena_per_session_forced_gc) KiB")
		SUMMARY+=("idle_rss_anon_rest_per_session_forced_gc_n${n}_run$r $(fig "$g" rss_anon_rest_per_session_forced_gc) KiB")
		SUMMARY+=("idle_asset_connections_n${n}_run$r $(fig "$g" asset_connections) count")
		SUMMARY+=("idle_rss_per_session_memlimit_n${n}_run$r $(fig "$l" rss_per_session_settled) KiB")
		SUMMARY+=("idle_rss_per_session_settled_n${n}_run$r $(fig "$g" rss_per_session_settled) KiB")
		SUMMARY+=("idle_goroutines_per_session_n${n}_run$r $(figf "$g" goroutines_per_session) count")
		SUMMARY+=("idle_stack_per_session_n${n}_run$r $(fig "$g" stack_per_session) KiB")
		# Where the Go runtime's memory went (runtime/metrics /memory/classes/, after the forced
		# collection; heap_released is returned to the OS and not in the RSS).
		while read -r k v u; do
			SUMMARY+=("idle_${k}_n${n}_run$r $v $u")
		done < <(awk '$1 ~ /^memclass_/' "$g")
	done
done

echo
echo "idle sessions (half PTY shells, half exec), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
{
	printf 'sessions\trun\tKiB/session at open\tsettled\tforced GC\t(anon\tfile)\tGOMEMLIMIT\theap\theap spans\tstacks\tgoroutines/session\tasset conns\topen s\n'
	printf '%s\n' "${ROWS[@]}"
} | column -t -s $'\t'
echo "goal: at most 128 KiB per session (forced GC and GOMEMLIMIT columns)"
echo
printf '%s\n' "${SUMMARY[@]}"
