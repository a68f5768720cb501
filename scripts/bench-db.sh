#!/usr/bin/env bash
# bench-db.sh: a forwarded database client through the bastion against a direct connection
# (issue 18's goal: 10,000 small queries within 1.5x of direct). It is a report, not a test: it
# exits 0 whatever the figures. Needs the local MariaDB (127.0.0.1:3306, root without a
# password) and PostgreSQL (127.0.0.1:5432, root trusted, database test), the mysql and psql
# clients, ssh, and root (scripts/ensure-mariadb.sh and scripts/ensure-postgres.sh set them up).
#
#   scripts/bench-db.sh                              # 10,000 queries, 3 runs each (about 2 minutes)
#   BENCH_DB_N=2000 BENCH_REPS=1 scripts/bench-db.sh # quicker, noisier
#   BENCH_DB_QUERY=pk scripts/bench-db.sh            # a primary-key lookup instead of SELECT 1
#   BENCH_ONLY=mysql scripts/bench-db.sh             # one engine only
#   JMSCTL=/tmp/jmsctl JMS_PPROF=127.0.0.1:6061 scripts/bench-db.sh  # a -tags jmspprof build
#
# Each run is one client process (mysql -N -B, psql -X -q -A -t) reading the N statements from
# stdin, one round trip each, timed from start to exit (its login included), over three paths:
#   direct   the client to the database's port
#   tunnel   ssh -N -L to the database's address as a plain TCP forward (a non-database asset on
#            the same address): the SSH tunnel's cost without the wire proxy
#   bastion  ssh -N -L to the database asset: the wire proxy, its login under the stored
#            account, the SQL filters' judge and the statement audit, as a person's client gets
# The paths are interleaved run by run, and the medians are compared (docs/performance.md).
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD
N=${BENCH_DB_N:-10000}
REPS=${BENCH_REPS:-3}
QUERY=${BENCH_DB_QUERY:-select1}
MY_PORT=3306
PG_PORT=5432

BENCH_NAME=bench-db
. scripts/lib.sh # the script runs from the repository root (cd above)
build_jmsctl

if [ "$(id -u)" != 0 ]; then
	log "bench-db: run as root (MariaDB's root logs in over loopback)"
	exit 1
fi
for b in ssh ssh-keygen ss mysql psql go; do
	command -v "$b" >/dev/null || { log "bench-db: $b is missing"; exit 1; }
done

# want ENGINE: whether BENCH_ONLY (default: both) names it.
want() { [[ ",${BENCH_ONLY:-mysql,postgresql}," == *",$1,"* ]]; }
now_us() { echo $(($(date +%s%N) / 1000)); }
median() { sort -n | awk '{a[NR]=$1} END {if (NR == 0) print 0; else print a[int((NR + 1) / 2)]}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b == 0) print "-"; else printf "%.2f", a / b }'; }
ms() { awk -v u="$1" 'BEGIN { printf "%.0f", u / 1000 }'; }

T=$(mktemp -d /tmp/jms-bench-db.XXXXXX)
PIDS=() # every background process this script starts
FWD_PIDS=() # the ssh -L among them
DB=jms_bench_$$
DBUSER=jms_bench_$$
DBPASS=bench-$RANDOM$RANDOM
cleanup() {
	set +e
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
	mysql -h127.0.0.1 -P"$MY_PORT" -uroot -e "DROP DATABASE IF EXISTS $DB; DROP USER IF EXISTS '$DBUSER'@'%'" 2>/dev/null
	psql -X -q "host=127.0.0.1 port=$PG_PORT user=root dbname=test" -c "DROP DATABASE IF EXISTS $DB" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- the databases: a table of 1,000 rows for the primary-key lookups ----------------------------
mysql -h127.0.0.1 -P"$MY_PORT" -uroot -e "CREATE DATABASE $DB; CREATE USER '$DBUSER'@'%' IDENTIFIED BY '$DBPASS';
	GRANT ALL ON $DB.* TO '$DBUSER'@'%'; CREATE TABLE $DB.items (id INT PRIMARY KEY, name VARCHAR(20));
	INSERT INTO $DB.items SELECT seq, CONCAT('item', seq) FROM $DB.seq_1_to_1000"
psql -X -q "host=127.0.0.1 port=$PG_PORT user=root dbname=test" -c "CREATE DATABASE $DB"
psql -X -q "host=127.0.0.1 port=$PG_PORT user=root dbname=$DB" -c "CREATE TABLE items (id INT PRIMARY KEY, name TEXT);
	INSERT INTO items SELECT g, 'item' || g FROM generate_series(1, 1000) g"

# The statements, one a line: SELECT 1, or a lookup by primary key cycling over the table.
awk -v n="$N" -v q="$QUERY" 'BEGIN { for (i = 0; i < n; i++)
	if (q == "pk") printf "SELECT name FROM items WHERE id = %d;\n", i % 1000 + 1; else print "SELECT 1;" }' >"$T/queries.sql"

# --- the bastion: a mysql and a postgresql asset, and a plain asset on the same address ----------
ssh-keygen -q -t ed25519 -N '' -C jms-bench -f "$T/client_key"
ssh-keygen -q -t ed25519 -N '' -C jms-bench-account -f "$T/account_key"
# No JMS_* setting of the caller's environment applies (JMS_PPROF passes, for a -tags jmspprof
# build: docs/performance.md).
read -ra UNSET <<<"$(env | awk -F= '/^JMS_/ && $1 != "JMS_PPROF" {printf "-u %s ", $1}')"
jms() { env "${UNSET[@]}" "$JMSCTL" --data-dir "$T/data" "$@"; }
echo "bench-admin-$RANDOM$RANDOM" | jms init --admin admin --admin-password-stdin >/dev/null 2>&1
jms user add alice --key "$T/client_key.pub" >/dev/null
jms asset add mydb --platform mysql --address 127.0.0.1 --port "$MY_PORT" --database "$DB" >/dev/null
echo "$DBPASS" | jms account add mydb "$DBUSER" --password-stdin >/dev/null
jms asset add pgdb --platform postgresql --address 127.0.0.1 --port "$PG_PORT" --database "$DB" >/dev/null
echo "made-up" | jms account add pgdb root --password-stdin >/dev/null
jms grant add bench-db --user alice --asset mydb --asset pgdb --account @all --actions forward >/dev/null
# tcp: a plain asset on the databases' address, whose forwards are TCP relays (no wire proxy).
jms asset add tcp --address 127.0.0.1 --port 22 >/dev/null
jms account add tcp root --key "$T/account_key" >/dev/null
jms grant add bench-tcp --user alice --asset tcp --account @all --actions forward --ports "$MY_PORT,$PG_PORT" >/dev/null
BASTION_PORT=$(free_port)
env "${UNSET[@]}" "$JMSCTL" --data-dir "$T/data" serve --listen "127.0.0.1:$BASTION_PORT" 2>>"$T/serve.log" &
SERVE_PID=$!
PIDS+=("$SERVE_PID")
wait_banner "$BASTION_PORT"

# forward NAME LOCAL HOST PORT: ssh -N -L LOCAL:HOST:PORT through the bastion, in the background.
forward() {
	ssh -N -o ExitOnForwardFailure=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
		-o LogLevel=ERROR -o BatchMode=yes -o IdentitiesOnly=yes -i "$T/client_key" \
		-L "127.0.0.1:$2:$3:$4" -p "$BASTION_PORT" alice@127.0.0.1 2>>"$T/ssh-$1.log" &
	PIDS+=($!)
	FWD_PIDS+=($!)
	local i
	for i in $(seq 150); do
		if (exec 3<>"/dev/tcp/127.0.0.1/$2") 2>/dev/null; then return 0; fi
		sleep 0.1
	done
	log "bench-db: the forward $1 did not open: $(cat "$T/ssh-$1.log")"
	exit 1
}

# client ENGINE PORT USER PASSWORD: the client on 127.0.0.1:PORT reading the statements; prints
# the microseconds it took, and checks it printed one line per statement.
client() {
	local s e lines
	s=$(now_us)
	if [ "$1" = mysql ]; then
		lines=$(MYSQL_PWD=$4 mysql -N -B -h 127.0.0.1 -P "$2" -u "$3" -D "$DB" <"$T/queries.sql" | wc -l)
	else
		lines=$(PGPASSWORD=$4 psql -X -q -A -t "host=127.0.0.1 port=$2 user=$3 dbname=$DB sslmode=disable" <"$T/queries.sql" | wc -l)
	fi
	e=$(now_us)
	if [ "$lines" != "$N" ]; then
		log "bench-db: $1 on port $2 printed $lines lines of $N"
		cat "$T/serve.log" >&2
		exit 1
	fi
	echo $((e - s))
}

# serve_cpu: the CPU time serve has used, in clock ticks (user + system).
serve_cpu() { awk '{ print $14 + $15 }' "/proc/$SERVE_PID/stat"; }
TICK_US=$((1000000 / $(getconf CLK_TCK)))
# timed_cpu VAR ARGS...: runs client ARGS, appends its time to the array VAR and serve's CPU
# time over the run (µs; a moment after the client exits, for the audit's last batch) to VAR_cpu.
timed_cpu() {
	local -n times=$1 cpus=${1}_cpu
	local c0 t
	shift
	c0=$(serve_cpu)
	t=$(client "$@")
	sleep 0.2
	times+=("$t")
	cpus+=($((($(serve_cpu) - c0) * TICK_US)))
}

ROWS=()
row() { ROWS+=("$(printf '%s\t%s\t%s\t%s\t%s\t%s' "$@")"); }

bench() { # ENGINE PORT DIRECT_USER DIRECT_PASSWORD ASSET
	local engine=$1 port=$2 user=$3 pass=$4 asset=$5 tl bl d t b
	local ds=() ts=() ts_cpu=() bs=() bs_cpu=()
	tl=$(free_port)
	forward "$engine-tcp" "$tl" tcp "$port"
	bl=$(free_port)
	forward "$engine-bastion" "$bl" "$asset" "$port"
	log "$engine: $N statements ($QUERY), $REPS runs each, interleaved"
	client "$engine" "$port" "$user" "$pass" >/dev/null # warm the server's caches
	for _ in $(seq "$REPS"); do
		ds+=("$(client "$engine" "$port" "$user" "$pass")")
		timed_cpu ts "$engine" "$tl" "$user" "$pass"
		timed_cpu bs "$engine" "$bl" anyone made-up
		log "  direct $(ms "${ds[-1]}") ms, ssh -L tunnel $(ms "${ts[-1]}") ms (serve CPU $(ms "${ts_cpu[-1]}") ms)," \
			"bastion $(ms "${bs[-1]}") ms (serve CPU $(ms "${bs_cpu[-1]}") ms)"
	done
	d=$(printf '%s\n' "${ds[@]}" | median)
	t=$(printf '%s\n' "${ts[@]}" | median)
	b=$(printf '%s\n' "${bs[@]}" | median)
	row "$engine $N x $QUERY (ms)" "$(ms "$b")" "$(ms "$t")" "$(ms "$d")" "$(ratio "$b" "$d")" "$(ratio "$t" "$d")"
	t=$(printf '%s\n' "${ts_cpu[@]}" | median)
	b=$(printf '%s\n' "${bs_cpu[@]}" | median)
	row "  serve CPU per statement (µs)" "$((b / N))" "$((t / N))" "-" "-" "-"
}

want mysql && bench mysql "$MY_PORT" "$DBUSER" "$DBPASS" mydb
want postgresql && bench postgresql "$PG_PORT" root made-up pgdb

# Every statement through the bastion is in the audit once the forwards have ended.
for p in "${FWD_PIDS[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
for a in mydb pgdb; do
	n=$(jms audit commands --asset "$a" --limit 100000000 -o json 2>/dev/null | grep -o '"command":' | wc -l)
	log "statement audit rows for $a: $n (each bastion run adds $N)"
done

# --- report ---------------------------------------------------------------------------------------
echo
echo "forwarded database clients on $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
{
	printf 'metric\tbastion\tssh -L tunnel\tdirect\tratio\ttunnel ratio\n'
	printf '%s\n' "${ROWS[@]}"
} | column -t -s $'\t'
echo "ratio = bastion / direct (goal <= 1.50), tunnel ratio = ssh -L to a plain asset / direct; medians of"
echo "$REPS interleaved runs, each one client process from start to exit (its login included). serve CPU:"
echo "the bastion's user+system time over a run, per statement (the SSH tunnel's share in the tunnel column)."
exit 0
