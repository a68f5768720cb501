# Helpers the bench scripts share; they source it from the repository root: . scripts/lib.sh
# The caller names itself in BENCH_NAME for messages.

log() { printf '%s\n' "$*" >&2; }

# free_port prints a loopback port nobody listens on.
free_port() {
	local p
	while :; do
		p=$((20000 + RANDOM % 40000))
		if [ -z "$(ss -Hltn "sport = :$p")" ]; then
			echo "$p"
			return
		fi
	done
}

# wait_banner PORT waits until an SSH server answers on 127.0.0.1:PORT.
wait_banner() {
	local i
	for i in $(seq 150); do
		if timeout 1 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1 && head -c 4 <&3" 2>/dev/null | grep -q SSH-; then
			return 0
		fi
		sleep 0.1
	done
	log "${BENCH_NAME:-bench}: nothing answers on port $1"
	return 1
}
