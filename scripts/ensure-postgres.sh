#!/usr/bin/env bash
# Makes sure a local PostgreSQL runs for the tests on PostgreSQL and prints
# the URL of its test database (for JMS_TEST_POSTGRES) on stdout; all else
# goes to stderr. Installs PostgreSQL from Debian's packages when it is
# absent and starts the cluster when it is stopped; makes the role of the
# user running it (a superuser: the tests make and drop schemas and
# databases) and the database `test` when they are missing. Needs root for
# the install and the start (as in CI); otherwise it only checks.
set -euo pipefail

log() { echo "ensure-postgres: $*" >&2; }
as_root() {
	if [[ $(id -u) -eq 0 ]]; then "$@"; else sudo -n "$@"; fi
}

if ! compgen -G '/etc/postgresql/*/main' >/dev/null; then
	log "installing postgresql from Debian's packages"
	export DEBIAN_FRONTEND=noninteractive
	as_root apt-get update -qq </dev/null >&2
	as_root apt-get install -y -qq --no-install-recommends postgresql postgresql-client </dev/null >&2
fi
ver=$(ls /etc/postgresql | sort -V | tail -1)

if ! pg_isready -q -h 127.0.0.1 -p 5432; then
	log "starting the PostgreSQL $ver cluster"
	as_root pg_ctlcluster --skip-systemctl-redirect "$ver" main start >&2 || true
fi
for _ in $(seq 1 60); do
	pg_isready -q -h 127.0.0.1 -p 5432 && break
	sleep 0.5
done
pg_isready -h 127.0.0.1 -p 5432 >&2 || { log "PostgreSQL $ver does not answer on 127.0.0.1:5432"; exit 1; }

role=$(id -un)
as_postgres() { as_root runuser -u postgres -- "$@"; }
if [[ $(as_postgres psql -XAtqc "SELECT 1 FROM pg_roles WHERE rolname = '$role'") != 1 ]]; then
	log "making the role $role"
	as_postgres psql -Xqc "CREATE ROLE \"$role\" SUPERUSER LOGIN" >&2
fi
if [[ $(as_postgres psql -XAtqc "SELECT 1 FROM pg_database WHERE datname = 'test'") != 1 ]]; then
	log "making the database test"
	as_postgres createdb -O "$role" test >&2
fi

# TCP on loopback when the cluster trusts it (as on the developers'
# machines), else the Unix socket with peer authentication (Debian's
# default), which needs no password either.
tcp="postgres://$role@127.0.0.1:5432/test?sslmode=disable"
if psql -wXAtqc 'SELECT 1' "$tcp" </dev/null >/dev/null 2>&1; then
	echo "$tcp"
else
	echo "postgres://$role@/test?host=/var/run/postgresql&sslmode=disable"
fi
