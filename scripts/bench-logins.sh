#!/usr/bin/env bash
# bench-logins.sh: the memory a burst of password logins leaves behind in `jmsctl serve`.
# It is a report, not a test: it exits 0 whatever the figures (non-zero only when it cannot
# measure). No root and no sshd needed: the logins authenticate and close, no asset is reached.
#
#   scripts/bench-logins.sh                          # 100 logins, 10 at a time (about 2 minutes)
#   BENCH_LOGINS_N=200 BENCH_LOGINS_C=20 scripts/bench-logins.sh
#   BENCH_LOGINS_WAIT=30 scripts/bench-logins.sh    # read the RSS 30 s after instead of 60 s
#   JMSCTL=/tmp/jmsctl-old scripts/bench-logins.sh  # another build of jmsctl
#
# Method (docs/performance.md): a fresh data dir and `jmsctl serve` with the defaults (argon2id
# 64 MiB, t=3, p=4); one warm-up login; wait until VmRSS holds still (at most 90 s); read VmRSS;
# make the logins with scripts/logins (x/crypto client, password on stdin); read VmRSS right
# after the last one and BENCH_LOGINS_WAIT seconds later. Goal: under 32 MiB added one minute
# later.
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD
N=${BENCH_LOGINS_N:-100}
C=${BENCH_LOGINS_C:-10}
WAIT=${BENCH_LOGINS_WAIT:-60}

for b in ss go; do
	command -v "$b" >/dev/null || { echo "bench-logins: $b is missing" >&2; exit 1; }
done

T=$(mktemp -d /tmp/jms-bench-logins.XXXXXX)
SERVE_PID=
cleanup() {
	set +e
	if [ -n "$SERVE_PID" ]; then
		kill "$SERVE_PID" 2>/dev/null
		wait "$SERVE_PID" 2>/dev/null
	fi
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

BENCH_NAME=bench-logins
. scripts/lib.sh # the script runs from the repository root (cd above)
build_jmsctl
rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }
settle_rss() { # PID: waits (at most 90 s) until VmRSS holds within 256 KiB for 3 s; prints it
	local last cur same=0
	last=$(rss_kib "$1")
	cur=$last
	for _ in $(seq 90); do
		sleep 1
		cur=$(rss_kib "$1")
		if ((cur - last < 256 && last - cur < 256)); then
			same=$((same + 1))
			((same >= 3)) && break
		else
			same=0
			last=$cur
		fi
	done
	echo "$cur"
}
mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }

# No JMS_* setting of the caller's environment applies: defaults only.
read -ra UNSET <<<"$(env | awk -F= '/^JMS_/ {printf "-u %s ", $1}')"
jms() { env "${UNSET[@]}" "$JMSCTL" --data-dir "$T/data" "$@"; }
(cd "$ROOT" && go build -o "$T/logins" ./scripts/logins)
PASSWORD="bench-$RANDOM$RANDOM-$RANDOM$RANDOM"
echo "bench-admin-$RANDOM$RANDOM" | jms init --admin admin --admin-password-stdin >/dev/null 2>&1
echo "$PASSWORD" | jms user add alice --password-stdin >/dev/null
PORT=$(free_port)
env "${UNSET[@]}" "$JMSCTL" --data-dir "$T/data" serve --listen "127.0.0.1:$PORT" 2>>"$T/serve.log" &
SERVE_PID=$!
wait_banner "$PORT"

logins() { echo "$PASSWORD" | "$T/logins" -addr "127.0.0.1:$PORT" -user alice -n "$1" -c "$2"; }
read -r ok _ _ < <(logins 1 1)
if [ "$ok" != 1 ]; then
	log "bench-logins: the warm-up login failed"
	cat "$T/serve.log" >&2
	exit 1
fi
log "waiting for the RSS of a fresh serve to settle…"
before=$(settle_rss "$SERVE_PID")
log "making $N password logins, $C at a time…"
read -r ok failed secs < <(logins "$N" "$C")
after=$(rss_kib "$SERVE_PID")
log "  $ok logins ($failed failed) in $secs s; waiting $WAIT s…"
sleep "$WAIT"
later=$(rss_kib "$SERVE_PID")

echo
echo "$N password logins, $C at a time, on $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-22s %8s MiB\n' "serve RSS before" "$(mib "$before")"
printf '%-22s %8s MiB  (+%s MiB)\n' "right after" "$(mib "$after")" "$(mib $((after - before)))"
printf '%-22s %8s MiB  (+%s MiB)\n' "$WAIT s later" "$(mib "$later")" "$(mib $((later - before)))"
verdict=missed
((later - before < 32 * 1024)) && verdict=met
echo "goal: under 32 MiB added one minute later: $verdict"
[ "$failed" = 0 ] || log "bench-logins: $failed logins failed (see the first failure above)"
exit 0
