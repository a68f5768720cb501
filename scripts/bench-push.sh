#!/usr/bin/env bash
# bench-push.sh: `jmsctl account push` to many accounts on many assets, with --parallel.
# It is a report, not a test: it exits 0 whatever the figures (non-zero only when it cannot
# measure). Root only: it starts BENCH_PUSH_ASSETS sshd on 127.0.0.1 (each an "asset" whose
# privileged account is root) and creates BENCH_PUSH_ACCOUNTS Unix users per asset, named
# jmsbench-A-U, on THIS machine; it deletes them on exit.
#
#   scripts/bench-push.sh                                   # 20 assets x 10 accounts, --parallel 20
#   BENCH_PUSH_ASSETS=5 BENCH_PUSH_ACCOUNTS=4 scripts/bench-push.sh
#   BENCH_PUSH_PARALLEL=50 scripts/bench-push.sh
#
# Method (docs/performance.md): a fresh data dir; node /bench/aNN per asset; one template per
# account (generate-password, /bin/bash, pushed to its asset's node); then the wall time of
# `jmsctl account push --node /bench --parallel P -o json` (every account created, its password
# set and proven by a fresh login, then stored), and of a second push (nothing to change: each
# account is read and its password checked by a login). All assets are this one machine, so
# useradd and chpasswd of different "assets" wait for each other's lock on /etc/passwd and
# /etc/shadow: real assets do not.
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD
NA=${BENCH_PUSH_ASSETS:-20}
NU=${BENCH_PUSH_ACCOUNTS:-10}
PAR=${BENCH_PUSH_PARALLEL:-20}

if [ "$(id -u)" -ne 0 ]; then
	echo "bench-push: run as root (it creates Unix users through sshd assets on this machine)" >&2
	exit 1
fi
for b in /usr/sbin/sshd ssh-keygen ss go useradd userdel; do
	command -v "$b" >/dev/null || { echo "bench-push: $b is missing" >&2; exit 1; }
done

T=$(mktemp -d /tmp/jms-bench-push.XXXXXX)
chmod 755 "$T"
PIDS=()
cleanup() {
	set +e
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
	for a in $(seq "$NA"); do
		for u in $(seq "$NU"); do
			userdel -r -f "jmsbench-$a-$u" >/dev/null 2>&1
		done
	done
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

BENCH_NAME=bench-push
. scripts/lib.sh
build_jmsctl

mkdir -p "$T/authorized_keys" /run/sshd
chmod 755 /run/sshd
ssh-keygen -q -t ed25519 -N '' -C jms-bench -f "$T/root_key"
cp "$T/root_key.pub" "$T/authorized_keys/root"
chmod 644 "$T/authorized_keys/root"

read -ra UNSET <<<"$(env | awk -F= '/^JMS_/ {printf "-u %s ", $1}')"
jms() { env "${UNSET[@]}" "$JMSCTL" --data-dir "$T/data" "$@"; }
echo "bench-admin-$RANDOM$RANDOM" | jms init --admin admin --admin-password-stdin >/dev/null 2>&1

log "bench-push: starting $NA sshd and adding $NA assets x $NU templates"
for a in $(seq "$NA"); do
	port=$(free_port)
	ssh-keygen -q -t ed25519 -N '' -f "$T/host_$a"
	cat >"$T/sshd_$a" <<CONF
ListenAddress 127.0.0.1:$port
HostKey $T/host_$a
PidFile none
UsePAM no
AuthorizedKeysFile $T/authorized_keys/%u .ssh/authorized_keys
StrictModes no
PasswordAuthentication yes
KbdInteractiveAuthentication no
PermitRootLogin yes
UseDNS no
PrintMotd no
PrintLastLog no
MaxStartups 300
MaxSessions 100
LogLevel ERROR
CONF
	/usr/sbin/sshd -D -e -f "$T/sshd_$a" 2>>"$T/sshd_$a.log" &
	PIDS+=($!)
	wait_banner "$port"
	jms asset add "a$a" --address 127.0.0.1 --port "$port" --node "/bench/a$a" >/dev/null
	jms account add "a$a" root --key "$T/root_key" --privileged >/dev/null
	for u in $(seq "$NU"); do
		jms account template add "t-$a-$u" --username "jmsbench-$a-$u" --secret generate-password \
			--shell /bin/bash --node "/bench/a$a" --push >/dev/null
	done
done

run_push() { # LABEL: prints seconds and the results' counts
	local t0 t1
	t0=$(date +%s%N)
	jms account push --node /bench --parallel "$PAR" -o json >"$T/out.json" 2>"$T/err.txt" || true
	t1=$(date +%s%N)
	local secs
	secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.1f", (b - a) / 1e9}')
	local counts
	counts=$(grep -o '"status":"[^"]*"' "$T/out.json" | sort | uniq -c | awk '{printf "%s %s, ", $2, $1}' | sed 's/"status"://g; s/"//g; s/, $//')
	echo "$1: ${secs} s for $((NA * NU)) accounts on $NA assets (--parallel $PAR): $counts"
	awk -v s="$secs" -v na="$NA" -v n="$((NA * NU))" 'BEGIN {printf "  %.2f s per asset, %.0f ms per account\n", s / na, s * 1000 / n}'
}
run_push "first push (create)"
grep -m3 '"failed"' "$T/out.json" || true
run_push "second push (nothing to change)"
