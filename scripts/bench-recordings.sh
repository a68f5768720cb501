#!/usr/bin/env bash
# bench-recordings.sh: does uploading recordings to object storage slow the proxy? The same exec
# session's throughput through the bastion with recordings kept local, and with
# recording_storage: s3://… (a local versitygw) while the recording of an earlier, bigger
# session is being compressed and uploaded; and how fast the uploader itself drains the spool.
# A report, not a test: it exits 0 whatever the figures. Needs root (the sshd asset logs in
# root), openssh-server, openssh-client, curl (7.75+) and versitygw
# (go install github.com/versity/versitygw/cmd/versitygw@latest).
#
#   scripts/bench-recordings.sh                   # about 2-4 minutes
#   BENCH_MB=100 BENCH_REPS=1 scripts/bench-recordings.sh
#
# docs/performance.md ("Recordings in object storage") gives the method and the figures.
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD
MB=${BENCH_MB:-200}      # the measured session: cat of MB of base64 text
BIG_MB=${BENCH_BIG_MB:-400} # the session whose upload runs meanwhile
REPS=${BENCH_REPS:-3}
BENCH_NAME=bench-recordings
. scripts/lib.sh

if [ "$(id -u)" != 0 ]; then
	log "bench-recordings: run as root (the sshd asset logs in root)"
	exit 1
fi
for b in /usr/sbin/sshd ssh ssh-keygen ss go curl versitygw; do
	command -v "$b" >/dev/null || { log "bench-recordings: $b is missing"; exit 1; }
done

T=$(mktemp -d /tmp/jms-bench-rec.XXXXXX)
chmod 755 "$T"
PIDS=()
cleanup() {
	set +e
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
median() { sort -n | awk '{a[NR]=$1} END {if (NR == 0) print 0; else print a[int((NR + 1) / 2)]}'; }
now_ms() { echo $(($(date +%s%N) / 1000000)); }

CGO_ENABLED=0 go build -trimpath -o "$T/jmsctl" ./cmd/jmsctl
go build -o "$T/rate" ./scripts/rate

# --- the asset ----------------------------------------------------------------------------------
mkdir -p "$T/authorized_keys" /run/sshd
chmod 755 /run/sshd
ssh-keygen -q -t ed25519 -N '' -C jms-bench -f "$T/client_key"
cp "$T/client_key.pub" "$T/authorized_keys/root"
chmod 644 "$T/authorized_keys/root"
ssh-keygen -q -t ed25519 -N '' -f "$T/asset_host_key"
ASSET_PORT=$(free_port)
cat >"$T/sshd_config" <<EOF
ListenAddress 127.0.0.1:$ASSET_PORT
HostKey $T/asset_host_key
PidFile none
UsePAM no
AuthorizedKeysFile $T/authorized_keys/%u
StrictModes no
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin yes
UseDNS no
LogLevel ERROR
EOF
/usr/sbin/sshd -D -e -f "$T/sshd_config" 2>>"$T/sshd.log" &
PIDS+=($!)
wait_banner "$ASSET_PORT"

# --- the object store ---------------------------------------------------------------------------
S3_PORT=$(free_port)
S3_KEY=benchak$RANDOM
S3_SECRET=benchsk$RANDOM$RANDOM$RANDOM
mkdir -p "$T/s3"
versitygw --access "$S3_KEY" --secret "$S3_SECRET" --port "127.0.0.1:$S3_PORT" --quiet posix "$T/s3" >>"$T/s3.log" 2>&1 &
PIDS+=($!)
s3() { curl -sf --aws-sigv4 "aws:amz:us-east-1:s3" --user "$S3_KEY:$S3_SECRET" -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" "$@"; }
for _ in $(seq 100); do s3 "http://127.0.0.1:$S3_PORT/" >/dev/null && break; sleep 0.1; done
s3 -X PUT "http://127.0.0.1:$S3_PORT/bench" >/dev/null

# --- the bastion ----------------------------------------------------------------------------------
read -ra UNSET <<<"$(env | awk -F= '/^JMS_/ {printf "-u %s ", $1}')"
jms() { env "${UNSET[@]}" "$T/jmsctl" --data-dir "$T/data" "$@"; }
echo "bench-admin-$RANDOM$RANDOM" | jms init --admin admin --admin-password-stdin >/dev/null 2>&1
jms user add alice --key "$T/client_key.pub" >/dev/null
jms asset add web1 --address 127.0.0.1 --port "$ASSET_PORT" >/dev/null
jms account add web1 root --key "$T/client_key" >/dev/null
jms grant add bench --user alice --asset web1 --account @all >/dev/null
BASTION_PORT=$(free_port)
SERVE_PID=
start_serve() { # local|s3
	if [ "$1" = s3 ]; then
		printf 'recording_storage: s3://bench/rec\ns3_endpoint: http://127.0.0.1:%s\ns3_addressing: path\n' "$S3_PORT" >"$T/data/jms.yaml"
	else
		: >"$T/data/jms.yaml"
	fi
	env "${UNSET[@]}" AWS_ACCESS_KEY_ID="$S3_KEY" AWS_SECRET_ACCESS_KEY="$S3_SECRET" \
		"$T/jmsctl" --data-dir "$T/data" serve --listen "127.0.0.1:$BASTION_PORT" 2>>"$T/serve.log" &
	SERVE_PID=$!
	PIDS+=("$SERVE_PID")
	wait_banner "$BASTION_PORT"
}
stop_serve() {
	kill "$SERVE_PID" 2>/dev/null || true
	wait "$SERVE_PID" 2>/dev/null || true
}
cat >"$T/ssh_config" <<EOF
Host bastion
  HostName 127.0.0.1
  Port $BASTION_PORT
  User alice@web1
  StrictHostKeyChecking no
  UserKnownHostsFile /dev/null
  LogLevel ERROR
  BatchMode yes
  IdentitiesOnly yes
  IdentityFile $T/client_key
EOF

log "making $MB MB of base64 text…"
head -c $((MB * 3 / 4 << 20)) /dev/urandom | base64 -w 76 >"$T/text"
head -c $((BIG_MB * 3 / 4 << 20)) /dev/urandom | base64 -w 76 >"$T/big"
BYTES=$(stat -c %s "$T/text")

# one_run: MB/s of the measured session, first byte to end.
one_run() {
	local n total xfer
	read -r n total xfer < <(ssh -F "$T/ssh_config" bastion "cat $T/text" | "$T/rate")
	[ "$n" = "$BYTES" ] || { log "got $n bytes of $BYTES"; echo 0; return; }
	awk -v b="$n" -v s="$xfer" 'BEGIN { printf "%.0f\n", b / s }'
}
# pending: how many recording files wait in the spool.
pending() { jms recording status -o csv | tail -n +2 | wc -l; }

LOCAL=() S3=() DRAIN=() OVERLAP=()
for rep in $(seq "$REPS"); do
	start_serve local
	LOCAL+=("$(one_run)")
	stop_serve
	rm -rf "$T/data/recordings"

	start_serve s3
	ssh -F "$T/ssh_config" bastion "cat $T/big" >/dev/null
	# Wait for the big recording's upload to begin (it is registered within 2 s), then measure.
	for _ in $(seq 100); do [ "$(pending)" -ge 1 ] && break; sleep 0.05; done
	t0=$(now_ms)
	S3+=("$(one_run)")
	[ "$(pending)" -ge 1 ] && OVERLAP+=(yes) || OVERLAP+=(no)
	for _ in $(seq 1200); do [ "$(pending)" = 0 ] && break; sleep 0.1; done
	DRAIN+=("$(($(now_ms) - t0))")
	stop_serve
	log "rep $rep: local ${LOCAL[-1]} MB/s, s3 during an upload ${S3[-1]} MB/s (upload still running at the end: ${OVERLAP[-1]}), spool drained in ${DRAIN[-1]} ms"
done

big_rec=$(du -sm "$T/s3/bench" | cut -f1)
printf '\n%-62s %s\n' "metric" "median"
printf '%-62s %s\n' "throughput, $MB MB of text, recordings local (MB/s)" "$(printf '%s\n' "${LOCAL[@]}" | median)"
printf '%-62s %s\n' "throughput, same, s3 with a $BIG_MB MB upload running (MB/s)" "$(printf '%s\n' "${S3[@]}" | median)"
printf '%-62s %s\n' "time to drain both recordings to the store (ms)" "$(printf '%s\n' "${DRAIN[@]}" | median)"
printf '%-62s %s\n' "upload still running when the measured session ended" "${OVERLAP[*]}"
printf '%-62s %s\n' "objects in the bucket after all runs (MB, compressed)" "$big_rec"
