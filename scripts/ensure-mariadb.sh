#!/usr/bin/env bash
# Makes sure a local MariaDB runs for the database-asset tests and prints
# the URL of its admin account (for JMS_TEST_MYSQL) on stdout; all else
# goes to stderr. Installs MariaDB from Debian's packages when it is absent
# and starts it when it is stopped; lets root log in over TCP without a
# password (a test server on loopback only; the tests make and drop their
# own databases and accounts). Needs root for the install and the start
# (as in CI); otherwise it only checks.
set -euo pipefail

log() { echo "ensure-mariadb: $*" >&2; }
as_root() {
	if [[ $(id -u) -eq 0 ]]; then "$@"; else sudo -n "$@"; fi
}
answers() { mysql -uroot -h127.0.0.1 -P3306 -Nse 'SELECT 1' >/dev/null 2>&1; }

if ! command -v mariadbd >/dev/null 2>&1 && [[ ! -x /usr/sbin/mariadbd ]]; then
	log "installing mariadb-server from Debian's packages"
	export DEBIAN_FRONTEND=noninteractive
	as_root apt-get update -qq </dev/null >&2
	as_root apt-get install -y -qq --no-install-recommends mariadb-server mariadb-client </dev/null >&2
fi
if ! answers; then
	if ! pgrep -x mariadbd >/dev/null; then
		log "starting MariaDB"
		as_root mkdir -p /run/mysqld
		as_root chown mysql:mysql /run/mysqld 2>/dev/null || true
		(as_root /usr/sbin/mariadbd --user=mysql --bind-address=127.0.0.1 --port=3306 >/tmp/ensure-mariadb.log 2>&1 &)
	fi
	for _ in $(seq 1 60); do
		# root logs in over the socket by unix_socket: let it in over TCP too.
		if as_root mysql -uroot -Nse 'SELECT 1' >/dev/null 2>&1; then
			answers || as_root mysql -uroot -e "ALTER USER 'root'@'localhost' IDENTIFIED VIA mysql_native_password USING PASSWORD('') OR unix_socket" >&2 || true
		fi
		answers && break
		sleep 0.5
	done
fi
answers || { log "MariaDB does not answer on 127.0.0.1:3306 as root without a password"; exit 1; }
echo "mysql://root@127.0.0.1:3306/"
