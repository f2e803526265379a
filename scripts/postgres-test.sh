#!/usr/bin/env bash
# Makes a PostgreSQL database available for the tests of
# internal/store/postgres and prints its DSN on stdout (everything else goes
# to stderr):
#
#   export LETTERBOX_TEST_POSTGRES_DSN=$(sudo ./scripts/postgres-test.sh)
#   go test -race ./internal/store/postgres/
#
# Idempotent; run as root on Debian. Steps, each skipped when already done:
#   1. apt-get install postgresql when pg_ctlcluster is missing;
#   2. create the newest version's "main" cluster when there is none, and
#      start it;
#   3. create the role letterbox (password LETTERBOX_PG_PASSWORD, default
#      "letterbox"; reset on every run) and the database letterbox_test it
#      owns.
# The tests make a schema per test inside letterbox_test and drop it after.
set -euo pipefail

password=${LETTERBOX_PG_PASSWORD:-letterbox}
role=letterbox
database=letterbox_test

log() { echo "postgres-test: $*" >&2; }

if [ "$(id -u)" != 0 ]; then
	log "run as root (it installs and starts PostgreSQL)"
	exit 1
fi

if ! command -v pg_ctlcluster >/dev/null 2>&1; then
	log "installing postgresql"
	DEBIAN_FRONTEND=noninteractive apt-get install -y postgresql >&2 ||
		{ apt-get update >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y postgresql >&2; }
fi

version=$(ls /usr/lib/postgresql | sort -V | tail -1)
if [ -z "$version" ]; then
	log "no PostgreSQL server under /usr/lib/postgresql"
	exit 1
fi

if ! pg_lsclusters -h | awk -v v="$version" '$1 == v && $2 == "main" { found = 1 } END { exit !found }'; then
	log "creating cluster $version/main"
	pg_createcluster "$version" main >&2
fi

status=$(pg_lsclusters -h | awk -v v="$version" '$1 == v && $2 == "main" { print $4 }')
if [ "$status" != online ]; then
	log "starting cluster $version/main"
	pg_ctlcluster "$version" main start >&2
fi
port=$(pg_lsclusters -h | awk -v v="$version" '$1 == v && $2 == "main" { print $3 }')

# Wait until it accepts connections (a fresh start may take a moment).
for _ in $(seq 1 50); do
	if runuser -u postgres -- pg_isready -q -p "$port"; then
		break
	fi
	sleep 0.2
done
runuser -u postgres -- pg_isready -p "$port" >&2

psql_admin() { runuser -u postgres -- psql -p "$port" -v ON_ERROR_STOP=1 -qAt "$@"; }

# The password is passed as a psql variable so no quoting can break out.
if [ "$(psql_admin -c "SELECT 1 FROM pg_roles WHERE rolname = '$role'")" != 1 ]; then
	log "creating role $role"
	psql_admin -c "CREATE ROLE $role LOGIN"
fi
psql_admin -v pw="$password" <<'SQL'
ALTER ROLE letterbox WITH LOGIN PASSWORD :'pw';
SQL
if [ "$(psql_admin -c "SELECT 1 FROM pg_database WHERE datname = '$database'")" != 1 ]; then
	log "creating database $database"
	psql_admin -c "CREATE DATABASE $database OWNER $role"
fi

# Percent-encode the password for the URL (RFC 3986 unreserved kept).
urlencode() {
	local LC_ALL=C s=$1 out= c i
	for ((i = 0; i < ${#s}; i++)); do
		c=${s:i:1}
		case $c in
		[A-Za-z0-9._~-]) out+=$c ;;
		*) out+=$(printf '%%%02X' "'$c") ;;
		esac
	done
	printf '%s' "$out"
}
encoded=$(urlencode "$password")
dsn="postgres://$role:$encoded@127.0.0.1:$port/$database?sslmode=disable"
# Check the DSN really works over TCP with the password.
if ! PGPASSWORD=$password psql "postgres://$role@127.0.0.1:$port/$database?sslmode=disable" -qAt -c 'SELECT 1' >/dev/null; then
	log "cannot connect as $role over 127.0.0.1:$port (check pg_hba.conf)"
	exit 1
fi
echo "$dsn"
