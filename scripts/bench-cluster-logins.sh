#!/usr/bin/env bash
# bench-cluster-logins.sh: 200 concurrent logins spread over two `jmsctl serve` nodes on one
# PostgreSQL (issue 13), key logins then password logins: p50, p99, slowest and errors.
# It is a report, not a test: it exits 0 whatever the figures (non-zero only when it cannot
# measure). No root and no sshd: the logins authenticate and close, no asset is reached.
#
#   scripts/bench-cluster-logins.sh                        # 200 logins, all at once (about 1 minute)
#   BENCH_CLUSTER_N=400 BENCH_CLUSTER_C=100 scripts/bench-cluster-logins.sh
#   JMS_TEST_POSTGRES=postgres://… scripts/bench-cluster-logins.sh  # another PostgreSQL
#   JMSCTL=/tmp/jmsctl-old scripts/bench-cluster-logins.sh
#
# Method (docs/performance.md): a fresh schema in the PostgreSQL of JMS_TEST_POSTGRES (or the
# local one scripts/ensure-postgres.sh starts), dropped at the end; node A's data directory made
# by `jmsctl init`, node B's a copy of it (secret.key, config) without the database; alice with
# a key and a password; both nodes started with the defaults (argon2id 64 MiB, t=3, p=4); one
# warm-up login on each; then scripts/logins makes N logins, C at a time, login i to node i mod 2,
# each timed from dial to authenticated.
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD
N=${BENCH_CLUSTER_N:-200}
C=${BENCH_CLUSTER_C:-200}

for b in ss go psql ssh-keygen; do
	command -v "$b" >/dev/null || { echo "bench-cluster-logins: $b is missing" >&2; exit 1; }
done
PG=${JMS_TEST_POSTGRES:-$(scripts/ensure-postgres.sh)}
SCHEMA="jms_bench_$RANDOM$RANDOM"
case $PG in *\?*) DB="$PG&search_path=$SCHEMA" ;; *) DB="$PG?search_path=$SCHEMA" ;; esac

T=$(mktemp -d /tmp/jms-bench-cluster.XXXXXX)
PIDS=()
cleanup() {
	set +e
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
	psql -q "$PG" -c "DROP SCHEMA IF EXISTS $SCHEMA CASCADE" >/dev/null 2>&1
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

BENCH_NAME=bench-cluster-logins
. scripts/lib.sh # the script runs from the repository root (cd above)
build_jmsctl

psql -q "$PG" -c "CREATE SCHEMA $SCHEMA" >/dev/null
# No JMS_* setting of the caller's environment applies: defaults and the database only.
read -ra UNSET <<<"$(env | awk -F= '/^JMS_/ {printf "-u %s ", $1}')"
jms() { env "${UNSET[@]}" JMS_DATABASE="$DB" "$JMSCTL" --data-dir "$T/a" "$@"; }
(cd "$ROOT" && go build -o "$T/logins" ./scripts/logins)
echo "bench-admin-$RANDOM$RANDOM" | jms init --admin admin --admin-password-stdin >/dev/null 2>&1
mkdir -m 700 "$T/b"
for f in "$T"/a/*; do
	case ${f##*/} in serve.lock | node_id | jms.db*) ;; *) [ -f "$f" ] && cp -p "$f" "$T/b/" ;; esac
done
ssh-keygen -q -t ed25519 -N "" -f "$T/key"
PASSWORD="bench-$RANDOM$RANDOM-$RANDOM$RANDOM"
echo "$PASSWORD" | jms user add alice --password-stdin --key "$T/key.pub" >/dev/null

ADDRS=
for node in a b; do
	port=$(free_port)
	env "${UNSET[@]}" JMS_DATABASE="$DB" JMS_NODE_NAME="node-$node" \
		"$JMSCTL" --data-dir "$T/$node" serve --listen "127.0.0.1:$port" 2>>"$T/serve-$node.log" &
	PIDS+=($!)
	wait_banner "$port"
	ADDRS="$ADDRS${ADDRS:+,}127.0.0.1:$port"
done

logins() { # KIND N C: prints "ok failed seconds p50 p99 max"
	if [ "$1" = key ]; then
		"$T/logins" -addr "$ADDRS" -user alice -key "$T/key" -n "$2" -c "$3" -latency </dev/null
	else
		echo "$PASSWORD" | "$T/logins" -addr "$ADDRS" -user alice -n "$2" -c "$3" -latency
	fi
}
for kind in key password; do
	read -r ok _ < <(logins "$kind" 2 2)
	if [ "$ok" != 2 ]; then
		log "bench-cluster-logins: the $kind warm-up logins failed"
		cat "$T"/serve-*.log >&2
		exit 1
	fi
done

echo "$N logins, $C at a time, over two nodes on PostgreSQL $(psql -qtA "$PG" -c 'SHOW server_version'), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-9s %5s %7s %8s %8s %8s %8s\n' kind ok errors wall_s p50_ms p99_ms max_ms
for kind in key password; do
	log "making $N $kind logins, $C at a time…"
	read -r ok failed secs p50 p99 max < <(logins "$kind" "$N" "$C")
	printf '%-9s %5s %7s %8s %8s %8s %8s\n' "$kind" "$ok" "$failed" "$secs" "$p50" "$p99" "$max"
done
env "${UNSET[@]}" JMS_DATABASE="$DB" "$JMSCTL" --data-dir "$T/a" server list
exit 0
