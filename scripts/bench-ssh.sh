#!/usr/bin/env bash
# bench-ssh.sh: the bastion side by side with OpenSSH ProxyJump (ssh -J) on this machine, with
# the same sshd asset, printed as ratios. It is a report, not a test: it exits 0 whatever the
# figures. Needs openssh-server and openssh-client, and root (sshd logs in root on the asset).
#
#   scripts/bench-ssh.sh                      # everything (about 3-5 minutes)
#   BENCH_MB=100 BENCH_REPS=1 scripts/bench-ssh.sh   # quicker, noisier
#   BENCH_ONLY=memory,echo scripts/bench-ssh.sh      # some parts only
#   JMSCTL=/tmp/jmsctl scripts/bench-ssh.sh         # another build of jmsctl
#   BENCH_ROWS='PTY|stdin' scripts/bench-ssh.sh      # the throughput rows whose label matches
#
# What it measures (docs/performance.md explains the method):
#   throughput  300 MB through an exec session's stdout (`head -c 300M /dev/zero`, `cat` of random
#               bytes, `cat` of base64 text), its stdin (random bytes to scripts/rate on the asset),
#               and a PTY session's output (the text, `stty raw -echo; cat`); bastion (recording
#               on, input too) vs ssh -J, with the client's default ciphers (OpenSSH prefers
#               chacha20-poly1305, which the bastion does not offer: it gets aes128-gcm).
#               BENCH_AES=1 adds rows with aes128-gcm everywhere, BENCH_PTY_ZEROS=1 NULs through
#               a PTY. MB/s from the first byte to the end, median of BENCH_REPS.
#   setup       `ssh … echo x`, start to exit, median of 20.
#   memory      RSS added to a fresh `jmsctl serve` per idle PTY session (50 sessions running
#               `sleep`), against the PSS the jump host's sshd processes add per session.
#   echo        keystroke round trip through a PTY to a raw-mode cat (scripts/echolat),
#               median and p95 of 500 keystrokes, median of 3 runs; once with the stock
#               OpenSSH client (`ssh -tt`, `ssh -tt -J`), once with x/crypto clients.
#   sftp        scripts/bench-sftp.sh: a download and an upload through the bastion against
#               direct sftp, interleaved, medians of 3.
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD
MB=${BENCH_MB:-300}
REPS=${BENCH_REPS:-3}
SETUP_N=${BENCH_SETUP_N:-20}
MEM_N=${BENCH_MEM_N:-50}
ECHO_N=${BENCH_ECHO_N:-500}

if [ "$(id -u)" != 0 ]; then
	echo "bench-ssh: run as root (the sshd asset logs in root)" >&2
	exit 1
fi
for b in /usr/sbin/sshd ssh ssh-keygen ss go; do
	command -v "$b" >/dev/null || { echo "bench-ssh: $b is missing" >&2; exit 1; }
done

T=$(mktemp -d /tmp/jms-bench-ssh.XXXXXX)
chmod 755 "$T"
PIDS=() # every background process this script starts
cleanup() {
	set +e
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# want PART: whether BENCH_ONLY (default: every part) names PART.
want() { [[ ",${BENCH_ONLY:-throughput,setup,echo,memory,sftp}," == *",$1,"* ]]; }
now_us() { echo $(($(date +%s%N) / 1000)); }
median() { sort -n | awk '{a[NR]=$1} END {if (NR == 0) print 0; else print a[int((NR + 1) / 2)]}'; }

BENCH_NAME=bench-ssh
. scripts/lib.sh # the script runs from the repository root (cd above)
build_jmsctl

# --- keys and the two sshd: the asset, and the jump host for ssh -J ---------------------------
mkdir -p "$T/authorized_keys" "$T/home" /run/sshd
chmod 755 /run/sshd
ssh-keygen -q -t ed25519 -N '' -C jms-bench -f "$T/client_key"
cp "$T/client_key.pub" "$T/authorized_keys/root"
chmod 644 "$T/authorized_keys/root"

start_sshd() { # NAME PORT
	local name=$1 port=$2
	ssh-keygen -q -t ed25519 -N '' -C "jms-bench-$name" -f "$T/${name}_host_key"
	cat >"$T/${name}_sshd_config" <<EOF
ListenAddress 127.0.0.1:$port
HostKey $T/${name}_host_key
PidFile none
UsePAM no
AuthorizedKeysFile $T/authorized_keys/%u
StrictModes no
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin yes
UseDNS no
PrintMotd no
PrintLastLog no
X11Forwarding no
AllowTcpForwarding yes
MaxStartups 300
# An empty HOME for the sessions' shells: the machine's own ~/.bashrc (pyenv, say), which
# Debian's bash sources even for the commands sshd runs, is not what is measured.
SetEnv HOME=$T/home
MaxSessions 100
LogLevel ERROR
EOF
	/usr/sbin/sshd -D -e -f "$T/${name}_sshd_config" 2>>"$T/${name}_sshd.log" &
	PIDS+=($!)
	wait_banner "$port"
}
ASSET_PORT=$(free_port)
start_sshd asset "$ASSET_PORT"
JUMP_PORT=$(free_port)
start_sshd jump "$JUMP_PORT"
JUMP_PID=${PIDS[-1]}

# --- the bastion ---------------------------------------------------------------------------------
# No JMS_* setting of the caller's environment applies: defaults (recording on) and record_input.
# (JMS_PPROF passes, for a build with -tags jmspprof: docs/performance.md.)
read -ra UNSET <<<"$(env | awk -F= '/^JMS_/ && $1 != "JMS_PPROF" {printf "-u %s ", $1}')"
jms() { env "${UNSET[@]}" "$JMSCTL" --data-dir "$T/data" "$@"; }
echo "bench-admin-$RANDOM$RANDOM" | jms init --admin admin --admin-password-stdin >/dev/null 2>&1
jms user add alice --key "$T/client_key.pub" >/dev/null
jms asset add web1 --address 127.0.0.1 --port "$ASSET_PORT" >/dev/null
jms account add web1 root --key "$T/client_key" >/dev/null
jms grant add bench --user alice --asset web1 --account @all >/dev/null
# Input is recorded too, so that the stdin upload is measured with its bytes recorded (the
# default, record_input: false, records no input at all).
echo "record_input: true" >"$T/data/jms.yaml"
BASTION_PORT=$(free_port)
SERVE_PID=
start_serve() {
	env "${UNSET[@]}" "$JMSCTL" --data-dir "$T/data" serve --listen "127.0.0.1:$BASTION_PORT" 2>>"$T/serve.log" &
	SERVE_PID=$!
	PIDS+=("$SERVE_PID")
	wait_banner "$BASTION_PORT"
}
stop_serve() {
	kill "$SERVE_PID" 2>/dev/null || true
	wait "$SERVE_PID" 2>/dev/null || true
}
start_serve

# --- the OpenSSH client's view of the three hosts ------------------------------------------------
write_config() { # FILE [CIPHERS]
	{
		cat <<EOF
Host *
  HostName 127.0.0.1
  StrictHostKeyChecking no
  UserKnownHostsFile /dev/null
  LogLevel ERROR
  BatchMode yes
  IdentitiesOnly yes
  IdentityFile $T/client_key
  ControlMaster no
  ControlPath none
EOF
		[ -n "${2:-}" ] && echo "  Ciphers $2"
		cat <<EOF
Host asset
  Port $ASSET_PORT
  User root
Host jump
  Port $JUMP_PORT
  User root
Host bastion
  Port $BASTION_PORT
  User alice@web1
EOF
	} >"$1"
}
write_config "$T/ssh_config"
write_config "$T/ssh_config_aes" aes128-gcm@openssh.com

# via_bastion/via_jump CONFIG ARGS...: an ssh command through each path.
via_bastion() { local c=$1; shift; ssh -F "$c" "$@" bastion; }
via_jump() { local c=$1; shift; ssh -F "$c" -J jump "$@" asset; }

check() { # a first session each way: pins the asset's host key, proves both paths work
	local out
	out=$(ssh -F "$T/ssh_config" bastion echo via-bastion) || { log "bastion: no session"; cat "$T/serve.log" >&2; exit 1; }
	[ "$out" = via-bastion ] || { log "bastion: got $out"; exit 1; }
	out=$(ssh -F "$T/ssh_config" -J jump asset echo via-jump) || { log "ssh -J: no session"; exit 1; }
	[ "$out" = via-jump ] || { log "ssh -J: got $out"; exit 1; }
}
check

# --- results --------------------------------------------------------------------------------------
ROWS=()
row() { ROWS+=("$(printf '%s\t%s\t%s\t%s\t%s' "$@")"); }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b == 0) print "-"; else printf "%.2f", a / b }'; }

# --- a. throughput --------------------------------------------------------------------------------
BYTES=$((MB << 20))
(cd "$ROOT" && go build -o "$T/rate" ./scripts/rate && go build -o "$T/echolat" ./scripts/echolat)
if want throughput; then
log "making $MB MB of random bytes and of base64 text…"
head -c "$BYTES" /dev/urandom >"$T/random"
head -c $((BYTES * 3 / 4)) "$T/random" | base64 -w 76 >"$T/text"
truncate -s "$BYTES" "$T/text"
chmod 644 "$T/random" "$T/text"

# via PATH CONFIG ARGS...: an ssh command through the bastion or ssh -J.
via() {
	local path=$1 conf=$2
	shift 2
	if [ "$path" = bastion ]; then
		ssh -F "$conf" "${@:1:$#-1}" bastion "${@: -1}"
	else
		ssh -F "$conf" -J jump "${@:1:$#-1}" asset "${@: -1}"
	fi
}

# one_run PATH CONFIG KIND ARG: prints the MB/s of one session, from the first byte to the end
# (the setup is measured apart), and logs the rate counting the setup too. KIND: out (ARG is the
# command whose output is read), in (ARG is the file sent to the asset's stdin; scripts/rate
# runs on the asset, which is this machine), pty (the command, run in a PTY in raw mode).
one_run() {
	local path=$1 conf=$2 kind=$3 arg=$4 n total xfer
	case $kind in
	out) read -r n total xfer < <(via "$path" "$conf" "$arg" | "$T/rate") ;;
	in) read -r n total xfer < <(via "$path" "$conf" "$T/rate" <"$arg") ;;
	pty) read -r n total xfer < <(via "$path" "$conf" -tt "stty raw -echo; $arg" </dev/null 2>/dev/null | "$T/rate") ;;
	esac
	rm -rf "$T/data/recordings" # do not fill the disk
	if [ "$n" != "$BYTES" ]; then
		log "$path: got $n bytes of $BYTES"
		echo 0
		return
	fi
	awk -v b="$BYTES" -v us="$total" 'BEGIN { printf "%.0f/", b / us }' >&2 # bytes/µs = MB/s
	awk -v b="$BYTES" -v us="$xfer" 'BEGIN { printf "%.1f", b / us }'
}

throughput() { # LABEL KIND ARG CONFIG
	local label=$1 kind=$2 arg=$3 conf=$4 bs=() js=() b j
	[[ "$label" =~ ${BENCH_ROWS:-.} ]] || return 0
	log "  $label:"
	for _ in $(seq "$REPS"); do # interleaved, so that both see the same load
		printf '    bastion ' >&2
		bs+=("$(one_run bastion "$conf" "$kind" "$arg")")
		printf '%s MB/s (with setup/without)\n    ssh -J  ' "${bs[-1]}" >&2
		js+=("$(one_run jump "$conf" "$kind" "$arg")")
		printf '%s MB/s\n' "${js[-1]}" >&2
	done
	b=$(printf '%s\n' "${bs[@]}" | median)
	j=$(printf '%s\n' "${js[@]}" | median)
	row "$label (MB/s)" "$b" "$j" "$(ratio "$b" "$j")" ">= 1.00"
}
cipher_of() { ssh -v "$@" true 2>&1 | awk '/kex: server->client cipher:/ {c = $5} END {print c}'; }
log "throughput ($REPS runs each); default ciphers: bastion $(cipher_of -F "$T/ssh_config" bastion)," \
	"ssh -J $(cipher_of -F "$T/ssh_config" -J jump asset) (the client's order wins; the bastion offers AES-GCM only)"
throughput "exec stdout, zeros ${MB}M" out "head -c ${MB}M /dev/zero" "$T/ssh_config"
throughput "exec stdout, random ${MB}M" out "cat $T/random" "$T/ssh_config"
throughput "exec stdout, base64 text ${MB}M" out "cat $T/text" "$T/ssh_config"
throughput "exec stdin upload, random ${MB}M" in "$T/random" "$T/ssh_config"
throughput "PTY stream, base64 text ${MB}M" pty "cat $T/text" "$T/ssh_config"
if [ -n "${BENCH_AES:-}" ]; then # the same with aes128-gcm on every hop (OpenSSL on ssh -J's)
	throughput "exec stdout, zeros ${MB}M, aes128-gcm" out "head -c ${MB}M /dev/zero" "$T/ssh_config_aes"
	throughput "exec stdout, base64 text ${MB}M, aes128-gcm" out "cat $T/text" "$T/ssh_config_aes"
fi
if [ -n "${BENCH_PTY_ZEROS:-}" ]; then # binary through a PTY: asciicast's worst case
	throughput "PTY stream, zeros ${MB}M" pty "head -c ${MB}M /dev/zero" "$T/ssh_config"
fi
rm -f "$T/text" "$T/random"
fi

# --- b. connection setup --------------------------------------------------------------------------
if want setup; then
log "connection setup ($SETUP_N runs each)…"
bs=() js=()
for _ in $(seq "$SETUP_N"); do
	s=$(now_us); ssh -F "$T/ssh_config" bastion echo x >/dev/null; e=$(now_us); bs+=($((e - s)))
	s=$(now_us); ssh -F "$T/ssh_config" -J jump asset echo x >/dev/null; e=$(now_us); js+=($((e - s)))
done
b=$(printf '%s\n' "${bs[@]}" | median)
j=$(printf '%s\n' "${js[@]}" | median)
row "setup, ssh … echo x (ms)" "$(awk -v u="$b" 'BEGIN{printf "%.1f", u/1000}')" \
	"$(awk -v u="$j" 'BEGIN{printf "%.1f", u/1000}')" "$(ratio "$b" "$j")" "<= 1.00"
fi

# --- d. keystroke echo latency (before the memory test, on a process that has seen traffic) ------
# Twice: with x/crypto clients in scripts/echolat (ssh -J done in process: no ssh -W process), and
# with the stock OpenSSH client as a person runs it (ssh -tt, and ssh -J, which runs ssh -W).
if want echo; then
log "echo latency ($ECHO_N keystrokes, 3 runs each, x/crypto and OpenSSH clients)…"
bm=() bp=() jm=() jp=() obm=() obp=() ojm=() ojp=()
for _ in 1 2 3; do
	if read -r m p _ _ < <("$T/echolat" -n "$ECHO_N" -key "$T/client_key" -addr "127.0.0.1:$BASTION_PORT" -user alice@web1); then
		bm+=("$m") bp+=("$p")
	fi
	if read -r m p _ _ < <("$T/echolat" -n "$ECHO_N" -key "$T/client_key" -jump "127.0.0.1:$JUMP_PORT" -addr "127.0.0.1:$ASSET_PORT"); then
		jm+=("$m") jp+=("$p")
	fi
	if read -r m p _ _ < <("$T/echolat" -n "$ECHO_N" -cmd "ssh -F $T/ssh_config -tt bastion"); then
		obm+=("$m") obp+=("$p")
	fi
	if read -r m p _ _ < <("$T/echolat" -n "$ECHO_N" -cmd "ssh -F $T/ssh_config -tt -J jump asset"); then
		ojm+=("$m") ojp+=("$p")
	fi
done
if [ -n "${BENCH_ECHO_PERF:-}" ]; then # the serve's context switches and futex calls per keystroke
	for g in "" 1; do
		perf stat -x, -e context-switches,cpu-migrations,syscalls:sys_enter_futex,syscalls:sys_enter_write \
			-p "$SERVE_PID" -o "$T/perf.txt" &
		perf_pid=$!
		sleep 0.5
		"$T/echolat" -n "$ECHO_N" -key "$T/client_key" -addr "127.0.0.1:$BASTION_PORT" -user alice@web1 >"$T/perf.lat"
		kill -INT "$perf_pid"
		wait "$perf_pid" || true
		log "  serve per keystroke (GOMAXPROCS ${g:-default}; median $(cut -d' ' -f1 "$T/perf.lat") µs):" \
			"$(awk -F, -v n="$ECHO_N" '$3 ~ /:|switch|migr/ {printf "%s %.1f  ", $3, $1 / (n + 20)}' "$T/perf.txt")"
		[ -n "$g" ] && break
		stop_serve
		GOMAXPROCS=1 start_serve
	done
	stop_serve
	start_serve
fi
log "  x/crypto client: bastion medians ${bm[*]} µs, ssh -J medians ${jm[*]} µs"
log "  OpenSSH client:  bastion medians ${obm[*]} µs, ssh -J medians ${ojm[*]} µs"
echo_rows() { # LABEL BASTION_MEDIANS JUMP_MEDIANS BASTION_P95S JUMP_P95S (space-separated lists)
	local b j
	b=$(printf '%s\n' $2 | median)
	j=$(printf '%s\n' $3 | median)
	row "echo median, $1 (µs)" "$b" "$j" "$(ratio "$b" "$j")" "<= 1.00"
	b=$(printf '%s\n' $4 | median)
	j=$(printf '%s\n' $5 | median)
	row "echo p95, $1 (µs)" "$b" "$j" "$(ratio "$b" "$j")" "-"
}
echo_rows "OpenSSH client" "${obm[*]}" "${ojm[*]}" "${obp[*]}" "${ojp[*]}"
echo_rows "x/crypto client" "${bm[*]}" "${jm[*]}" "${bp[*]}" "${jp[*]}"
fi

# --- c. memory per idle session -------------------------------------------------------------------
rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }
descendants() { # PID: the process and all its descendants
	local p=$1 c
	echo "$p"
	for c in $(ps -o pid= --ppid "$p"); do descendants "$c"; done
}
pss_tree_kib() { # PID: PSS of the process tree, KiB
	local sum=0 p v
	for p in $(descendants "$1"); do
		v=$(awk '/^Pss:/ {print $2}' "/proc/$p/smaps_rollup" 2>/dev/null || echo 0)
		sum=$((sum + ${v:-0}))
	done
	echo "$sum"
}
settle_rss() { # PID: waits (at most 90 s) until VmRSS holds within 256 KiB for 3 s; prints it
	local last cur same=0 i
	last=$(rss_kib "$1")
	for i in $(seq 90); do
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
count_sleepers() { pgrep -c -f "^sleep $1\$" || true; }
wait_sleepers() { # TAG N
	local i
	for i in $(seq 300); do
		[ "$(count_sleepers "$1")" -ge "$2" ] && return 0
		sleep 0.1
	done
	log "only $(count_sleepers "$1") of $2 sessions started"
}
# Idle sessions keep their stdin open (a FIFO nobody writes to), as a person's terminal does.
mkfifo "$T/idle"
exec 7<>"$T/idle"
open_idle() { # TAG N ssh-args...: N background PTY sessions running `sleep TAG`
	local tag=$1 n=$2 i
	shift 2
	SESS=()
	for i in $(seq "$n"); do
		ssh -tt "$@" "sleep $tag" <&7 >/dev/null 2>&1 &
		SESS+=($!)
		PIDS+=($!)
		((i % 10 == 0)) && sleep 0.3 # do not trip MaxStartups-like limits
	done
	wait_sleepers "$tag" "$n"
}
close_idle() {
	local p
	for p in "${SESS[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${SESS[@]}"; do wait "$p" 2>/dev/null || true; done
}

if want memory; then
log "memory per idle session ($MEM_N sessions each)…"
stop_serve
start_serve
ssh -F "$T/ssh_config" bastion echo warm >/dev/null # load what every session uses once
# serve starts with a 64 MiB argon2 hash (the dummy for unknown users), returned to the OS
# 2 s after (bastion/memrelease.go): wait until the RSS stops falling.
settle_rss "$SERVE_PID" >/dev/null
before=$(rss_kib "$SERVE_PID")
open_idle 601 "$MEM_N" -F "$T/ssh_config" bastion
sleep 1
after=$(rss_kib "$SERVE_PID")
settled=$(settle_rss "$SERVE_PID")
close_idle
jbefore=$(pss_tree_kib "$JUMP_PID")
open_idle 602 "$MEM_N" -F "$T/ssh_config" -J jump asset
sleep 1
jafter=$(pss_tree_kib "$JUMP_PID")
close_idle
b=$(((after - before) / MEM_N))
bs=$(((settled - before) / MEM_N))
j=$(((jafter - jbefore) / MEM_N))
log "  serve RSS ${before} → ${after} KiB (${settled} settled); jump sshd PSS ${jbefore} → ${jafter} KiB"
row "memory per idle session (KiB)" "$b" "$j" "$(ratio "$b" "$j")" "<= 128 (stable: make bench-idle)"
row "  same, RSS settled (KiB)" "$bs" "-" "-" "-"
fi

# --- e. sftp both ways against direct sftp (scripts/bench-sftp.sh: its own bastion and asset) ----
if want sftp; then
log "sftp download and upload ($MB MB, scripts/bench-sftp.sh, medians of 3 interleaved)…"
out=$(JMS_BENCH_SFTP_MB=$MB scripts/bench-sftp.sh 2>&1 || true)
for dir in download upload; do
	if line=$(grep "^sftp $dir of" <<<"$out"); then
		log "  $line"
		read -r d b r < <(sed -E 's/.*direct [^(]*\(([0-9.]+) MB\/s[;)].*bastion [^(]*\(([0-9.]+) MB\/s[;)].*ratio ([0-9.]+).*/\1 \2 \3/' <<<"$line")
		row "sftp $dir ${MB}M vs direct sftp (MB/s)" "$b" "$d" "$r" ">= 0.80"
	else
		log "  bench-sftp.sh gave no $dir figure"
	fi
done
fi

# --- report ---------------------------------------------------------------------------------------
echo
echo "bastion vs OpenSSH ProxyJump on $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg); $(ssh -V 2>&1 | cut -d, -f1)"
{
	printf 'metric\tbastion\topenssh\tratio\tgoal\n'
	printf '%s\n' "${ROWS[@]}"
} | column -t -s $'\t'
echo "ratio = bastion / openssh (medians of $REPS interleaved runs; setup of $SETUP_N; echo of 3). Memory: the bastion's RSS"
echo "added per session, against the PSS the jump host's sshd adds. sftp: against direct sftp to the asset, medians of 3 interleaved."
exit 0
