# Shared by bench-idle.sh and bench-load.sh (sourced from the repository root, after lib.sh):
# an sshd asset on loopback, a fresh `jmsctl serve` (a -tags jmspprof build, for the forced-GC
# figures), and scripts/sessions to open sessions through it. The caller sets T (a temporary
# folder it removes), PIDS (an array of processes to stop) and BENCH_NAME.

sessions_setup() { # builds the tools, makes the key, starts the asset's sshd, writes the data dir
	local b
	for b in /usr/sbin/sshd ssh-keygen ss go; do
		command -v "$b" >/dev/null || { log "$BENCH_NAME: $b is missing (apt-get install openssh-server openssh-client iproute2)"; exit 1; }
	done
	if [ "$(id -u)" != 0 ]; then
		log "$BENCH_NAME: run as root (the sshd asset logs in root)"
		exit 1
	fi
	# One serve holds two descriptors per session (client and asset) and the asset's sshd
	# one per connection: 1,000 sessions need more than the usual 1,024.
	ulimit -n "$(ulimit -Hn)"
	log "$BENCH_NAME: open files limit $(ulimit -n)"
	CGO_ENABLED=0 go build -tags jmspprof,memory.counters -o "$T/jmsctl" ./cmd/jmsctl
	go build -o "$T/sessions" ./scripts/sessions
	mkdir -p "$T/authorized_keys" "$T/home" /run/sshd
	chmod 755 /run/sshd
	ssh-keygen -q -t ed25519 -N '' -C jms-bench -f "$T/client_key"
	cp "$T/client_key.pub" "$T/authorized_keys/root"
	chmod 644 "$T/authorized_keys/root"
	ssh-keygen -q -t ed25519 -N '' -C jms-bench-asset -f "$T/asset_host_key"
	ASSET_PORT=$(free_port)
	cat >"$T/asset_sshd_config" <<CONF
ListenAddress 127.0.0.1:$ASSET_PORT
HostKey $T/asset_host_key
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
MaxStartups 1000
# An empty HOME for the sessions' shells: the machine's own ~/.bashrc (pyenv, say), which
# Debian's bash sources even for the commands sshd runs, is not what is measured.
SetEnv HOME=$T/home
MaxSessions ${BENCH_MAX_SESSIONS:-10}
LogLevel ERROR
CONF
	/usr/sbin/sshd -D -e -f "$T/asset_sshd_config" 2>>"$T/asset_sshd.log" &
	PIDS+=($!)
	wait_banner "$ASSET_PORT"
}

# No JMS_* setting of the caller's environment applies: the defaults and jms.yaml only.
read -ra UNSET <<<"$(env | awk -F= '/^JMS_/ {printf "-u %s ", $1}')"
jms() { env "${UNSET[@]}" "$T/jmsctl" --data-dir "$T/data" "$@"; }

sessions_data() { # DIR: a fresh data dir where alice may use root on web1
	rm -rf "$T/data"
	echo "bench-admin-$RANDOM$RANDOM" | jms init --admin admin --admin-password-stdin >/dev/null 2>&1
	jms user add alice --key "$T/client_key.pub" >/dev/null
	jms asset add web1 --address 127.0.0.1 --port "$ASSET_PORT" >/dev/null
	jms account add web1 root --key "$T/client_key" >/dev/null
	jms grant add bench --user alice --asset web1 --account @all >/dev/null
	# The one change from the defaults: max_connections_per_user (200) would refuse alice's
	# 201st connection. Nothing else limits logged-in sessions; the pre-auth caps
	# (max_unauth_per_source 200) are above the parallelism used here.
	printf 'max_connections_per_user: 0\n' >"$T/data/jms.yaml"
	# BENCH_REUSE=false gives each session its own connection to the asset (the serve's
	# reuse_connections; on by default, as in a real serve).
	if [ -n "${BENCH_REUSE:-}" ]; then
		printf 'reuse_connections: %s\n' "$BENCH_REUSE" >>"$T/data/jms.yaml"
	fi
}

SERVE_PID=
DEBUG_ADDR=
start_serve() { # [VAR=VALUE…]: a fresh serve on a free port, with its debug listener
	BASTION_PORT=$(free_port)
	DEBUG_ADDR=127.0.0.1:$(free_port)
	env "${UNSET[@]}" JMS_PPROF="$DEBUG_ADDR" "$@" "$T/jmsctl" --data-dir "$T/data" serve --listen "127.0.0.1:$BASTION_PORT" 2>>"$T/serve.log" &
	SERVE_PID=$!
	PIDS+=("$SERVE_PID")
	wait_banner "$BASTION_PORT"
	# One session opens what every session uses once (the store's statements, the TLS-free
	# SSH code paths) so that the baseline holds it.
	"$T/sessions" -addr "127.0.0.1:$BASTION_PORT" -user alice@web1 -key "$T/client_key" -pid "$SERVE_PID" \
		-n 2 -c 2 -settle 1s -idle-cpu 0 >/dev/null
}
stop_serve() {
	[ -n "$SERVE_PID" ] || return 0
	kill "$SERVE_PID" 2>/dev/null || true
	wait "$SERVE_PID" 2>/dev/null || true
	SERVE_PID=
}
