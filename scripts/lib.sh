# Helpers the bench scripts share; they source it from the repository root: . scripts/lib.sh
# The caller names itself in BENCH_NAME for messages.

log() { printf '%s\n' "$*" >&2; }

# build_jmsctl sets JMSCTL to the jmsctl to measure: the tree's own build, made every time (go
# build is incremental) so that a bin/jmsctl left from an older checkout is never what gets
# measured, unless the caller named another in JMSCTL. Call it with ROOT set.
build_jmsctl() {
	if [ -z "${JMSCTL:-}" ]; then
		JMSCTL=$ROOT/bin/jmsctl
		(cd "$ROOT" && CGO_ENABLED=0 go build -trimpath -o "$JMSCTL" ./cmd/jmsctl) || exit 1
	elif [ ! -x "$JMSCTL" ]; then
		log "$BENCH_NAME: JMSCTL=$JMSCTL is not an executable"
		exit 1
	fi
}

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
