#!/bin/sh
# bench-sftp.sh: a 500 MB sftp download through the bastion against direct sftp to the same
# sshd asset, printed as a ratio (goal: at least 0.8). Needs openssh-server and
# openssh-client; run as root so that the e2e asset account exists.
#   scripts/bench-sftp.sh          # 500 MB
#   JMS_BENCH_SFTP_MB=100 scripts/bench-sftp.sh
set -eu
cd "$(dirname "$0")/.."
JMS_E2E=1 go test -count=1 -run '^$' -bench '^BenchmarkSFTPDownloadRatio$' -benchtime 1x ./e2e/ | grep -E '^(sftp download|Benchmark|ok|FAIL)'
