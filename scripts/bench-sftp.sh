#!/bin/sh
# bench-sftp.sh: a 500 MB sftp download and upload through the bastion against direct sftp to
# the same sshd asset, interleaved, medians of 3, printed as ratios (goal: at least 0.8 each
# way), then "name value unit" lines for the bench table. Needs openssh-server and
# openssh-client; run as root so that the e2e asset account exists.
#   scripts/bench-sftp.sh          # 500 MB
#   JMS_BENCH_SFTP_MB=100 scripts/bench-sftp.sh
set -eu
cd "$(dirname "$0")/.."
JMS_E2E=1 go test -count=1 -run '^$' -bench '^BenchmarkSFTPRatio$' -benchtime 1x -timeout 60m ./e2e/ | grep -E '^(sftp|Benchmark|ok|FAIL)'
