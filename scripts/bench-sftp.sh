#!/bin/sh
# bench-sftp.sh: a 500 MB sftp download and upload through the bastion against direct sftp to
# the same sshd asset, interleaved, medians of 3, printed as ratios (goal: at least 0.8 each
# way), then "name value unit" lines for the bench table. Needs openssh-server and
# openssh-client; run as root so that the e2e asset account exists.
#   scripts/bench-sftp.sh          # 500 MB
#   JMS_BENCH_SFTP_MB=100 scripts/bench-sftp.sh
#   JMS_BENCH_SFTP_LINK=1gbit scripts/bench-sftp.sh
#
# On loopback the client, the bastion and the asset share the machine's CPUs and no link limits
# them. JMS_BENCH_SFTP_LINK=RATE (tc's units: 1gbit, 500mbit) puts the client's side behind a
# link of that rate, as a person's sftp reaches a bastion over a network: the sftp client binds
# 127.0.0.3 (ssh's BindAddress), and an htb class on lo shapes every packet from or to that
# address, so the direct session and the client's hop to the bastion cross the same link while
# the bastion's hop to the asset (127.0.0.1 to 127.0.0.1) does not, as in a data centre. Needs
# root and tc (iproute2); the qdisc is removed at the end.
set -eu
cd "$(dirname "$0")/.."
if [ -n "${JMS_BENCH_SFTP_LINK:-}" ]; then
	command -v tc >/dev/null || { echo "bench-sftp: tc is missing (apt-get install iproute2)" >&2; exit 1; }
	if tc qdisc show dev lo | grep -q 'htb 1:'; then
		echo "bench-sftp: lo already has an htb qdisc (another run?): remove it with 'tc qdisc del dev lo root'" >&2
		exit 1
	fi
	trap 'tc qdisc del dev lo root 2>/dev/null || true' EXIT INT TERM
	tc qdisc add dev lo root handle 1: htb default 20 r2q 1000
	tc class add dev lo parent 1: classid 1:10 htb rate "$JMS_BENCH_SFTP_LINK" quantum 60000
	tc class add dev lo parent 1: classid 1:20 htb rate 100gbit quantum 200000
	tc filter add dev lo parent 1: protocol ip prio 1 u32 match ip src 127.0.0.3/32 flowid 1:10
	tc filter add dev lo parent 1: protocol ip prio 1 u32 match ip dst 127.0.0.3/32 flowid 1:10
	export JMS_BENCH_SFTP_BIND=127.0.0.3
	echo "sftp link: the client's side shaped to $JMS_BENCH_SFTP_LINK (htb on lo, from and to 127.0.0.3)"
fi
JMS_E2E=1 go test -count=1 -run '^$' -bench '^BenchmarkSFTPRatio$' -benchtime 1x -timeout 60m ./e2e/ | grep -E '^(sftp|Benchmark|ok|FAIL)'
