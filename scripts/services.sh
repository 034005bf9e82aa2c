#!/usr/bin/env bash
# Starts the servers the remote-storage tests talk to, on 127.0.0.1 only, installing whatever is
# missing (Debian bookworm, run as root). Idempotent: a server that already answers is left alone, so
# a second run is a quick check. Prints the URLs the tests read and exits non-zero if any server did
# not come up.
#
#   REDIS_URL=redis://127.0.0.1:6379            redis-server, no persistence
#   REDIS_CLUSTER_URL=redis://127.0.0.1:7000     6 nodes on 7000-7005, 3 masters + 3 replicas
#   POSTGRES_URL=postgresql://postgres@127.0.0.1:5432/test   trust auth for 127.0.0.1 only
#   MYSQL_URL=mysql://root@127.0.0.1:3306/test   MariaDB, root without password over TCP
#   MONGO_URL=mongodb://127.0.0.1:27017/test     FerretDB v1 on PostgreSQL, standing in for MongoDB
#
# State lives under $CACHEME_SERVICES_DIR (default /tmp/cacheme-services); the FerretDB binary is
# built once from the Go module proxy and cached at $CACHEME_FERRETDB_BIN.
set -uo pipefail

BASE=${CACHEME_SERVICES_DIR:-/tmp/cacheme-services}
FERRETDB_BIN=${CACHEME_FERRETDB_BIN:-/root/.cache/cacheme/ferretdb}
FERRETDB_VERSION=v1.24.2
CLUSTER_PORTS=(7000 7001 7002 7003 7004 7005)
export PATH="$PATH:/usr/local/go/bin:/usr/sbin:/sbin"
mkdir -p "$BASE"

failed=()
apt_updated=0

log() { printf '[services] %s\n' "$*" >&2; }

# apt-get install, running `apt-get update` once first.
install_packages() {
  if [[ $apt_updated -eq 0 ]]; then
    log "apt-get update"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null || return 1
    apt_updated=1
  fi
  log "apt-get install $*"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

# Runs "$@" until it succeeds, at most $1 tries 0.5 s apart.
retry() {
  local tries=$1
  shift
  for ((i = 0; i < tries; i++)); do
    "$@" >/dev/null 2>&1 && return 0
    sleep 0.5
  done
  return 1
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
redis_ping() { [[ $(redis-cli -h 127.0.0.1 -p "$1" ping 2>/dev/null) == PONG ]]; }
cluster_ok() { redis-cli -h 127.0.0.1 -p 7000 cluster info 2>/dev/null | grep -q '^cluster_state:ok'; }
cluster_known() { redis-cli -h 127.0.0.1 -p "$1" cluster info 2>/dev/null | sed -n 's/^cluster_known_nodes:\([0-9]*\).*/\1/p'; }

# --- Redis -------------------------------------------------------------------------------------------
start_redis() {
  if ! command -v redis-server >/dev/null || ! command -v redis-cli >/dev/null; then
    install_packages redis-server redis-tools || return 1
  fi
  if ! redis_ping 6379; then
    log "starting redis on 6379"
    redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save '' --appendonly no \
      --dir "$BASE" --logfile "$BASE/redis-6379.log" --pidfile "$BASE/redis-6379.pid" || return 1
  fi
  retry 40 redis_ping 6379
}

# --- Redis Cluster -----------------------------------------------------------------------------------
start_redis_cluster() {
  local port dir
  for port in "${CLUSTER_PORTS[@]}"; do
    redis_ping "$port" && continue
    dir="$BASE/redis-$port"
    mkdir -p "$dir"
    log "starting redis cluster node on $port"
    redis-server --daemonize yes --bind 127.0.0.1 --port "$port" --cluster-enabled yes \
      --cluster-config-file nodes.conf --cluster-node-timeout 5000 --save '' --appendonly no \
      --dir "$dir" --logfile "$dir/redis.log" --pidfile "$dir/redis.pid" || return 1
  done
  for port in "${CLUSTER_PORTS[@]}"; do retry 40 redis_ping "$port" || return 1; done
  # Nodes restarted with their nodes.conf rejoin on their own: give them a moment before deciding.
  if [[ $(cluster_known 7000) != 1 ]] && ! cluster_ok; then retry 10 cluster_ok; fi
  if ! cluster_ok; then
    # Either never formed, or left half-formed: reset every node and form the cluster anew.
    for port in "${CLUSTER_PORTS[@]}"; do
      if [[ $(cluster_known "$port") != 1 ]]; then
        log "resetting cluster node $port"
        redis-cli -h 127.0.0.1 -p "$port" flushall >/dev/null 2>&1
        redis-cli -h 127.0.0.1 -p "$port" cluster reset hard >/dev/null || return 1
      fi
    done
    log "creating the redis cluster"
    redis-cli --cluster create 127.0.0.1:7000 127.0.0.1:7001 127.0.0.1:7002 127.0.0.1:7003 \
      127.0.0.1:7004 127.0.0.1:7005 --cluster-replicas 1 --cluster-yes >"$BASE/redis-cluster-create.log" 2>&1 ||
      return 1
  fi
  retry 60 cluster_ok
}

# --- PostgreSQL --------------------------------------------------------------------------------------
pg_ready() { pg_isready -q -h 127.0.0.1 -p 5432; }

start_postgres() {
  if ! command -v pg_lsclusters >/dev/null || [[ -z $(ls /usr/lib/postgresql 2>/dev/null) ]]; then
    install_packages postgresql || return 1
  fi
  local version conf hba
  version=$(ls /usr/lib/postgresql | sort -V | tail -n 1)
  if ! pg_lsclusters -h | awk '{print $1, $2}' | grep -qx "$version main"; then
    log "creating postgresql cluster $version/main"
    pg_createcluster "$version" main >/dev/null || return 1
  fi
  conf=/etc/postgresql/$version/main
  hba=$conf/pg_hba.conf
  # Loopback only, and no password from 127.0.0.1 (a test database on a dev/CI machine).
  # FerretDB keeps up to 50 connections of its own beside the tests' pools: more than the default 100.
  if ! grep -q '^max_connections = 300' "$conf/conf.d/cacheme.conf" 2>/dev/null; then
    printf "listen_addresses = '127.0.0.1'\nport = 5432\nmax_connections = 300\n" >"$conf/conf.d/cacheme.conf"
    pg_ready && pg_ctlcluster "$version" main restart
  fi
  if ! grep -q '# cacheme-services' "$hba"; then
    sed -i '1i host all all 127.0.0.1/32 trust # cacheme-services' "$hba"
    pg_ready && pg_ctlcluster "$version" main reload
  fi
  if ! pg_ready; then
    log "starting postgresql $version/main"
    pg_ctlcluster "$version" main start || return 1
  fi
  retry 60 pg_ready || return 1
  ensure_pg_database test
}

# Creates the PostgreSQL database $1 unless it exists.
ensure_pg_database() {
  if [[ $(psql -h 127.0.0.1 -U postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '$1'") != 1 ]]; then
    psql -h 127.0.0.1 -U postgres -qc "CREATE DATABASE $1" || return 1
  fi
}

# --- MariaDB -----------------------------------------------------------------------------------------
mysql_tcp() { mariadb --protocol=tcp -h 127.0.0.1 -P 3306 -u root -e 'SELECT 1'; }

start_mariadb() {
  if ! command -v mariadbd >/dev/null && [[ ! -x /usr/sbin/mariadbd ]]; then
    install_packages mariadb-server mariadb-client || return 1
  fi
  if ! port_open 3306; then
    log "starting mariadb"
    # Debian's default config binds 127.0.0.1; say so explicitly in case it was changed.
    mkdir -p /etc/mysql/mariadb.conf.d
    printf '[mysqld]\nbind-address = 127.0.0.1\nport = 3306\n' >/etc/mysql/mariadb.conf.d/99-cacheme.cnf
    service mariadb start >"$BASE/mariadb-start.log" 2>&1 || return 1
  fi
  retry 60 port_open 3306 || return 1
  if ! mysql_tcp >/dev/null 2>&1; then
    # root@localhost keeps socket auth and also accepts an empty password; root@127.0.0.1 covers TCP
    # connections that are not resolved to localhost.
    log "allowing root without password over TCP on 127.0.0.1"
    retry 20 mariadb -u root -e 'SELECT 1' || return 1
    mariadb -u root <<'SQL' || return 1
ALTER USER 'root'@'localhost' IDENTIFIED VIA unix_socket OR mysql_native_password USING PASSWORD('');
CREATE USER IF NOT EXISTS 'root'@'127.0.0.1' IDENTIFIED BY '';
GRANT ALL PRIVILEGES ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION;
FLUSH PRIVILEGES;
SQL
  fi
  retry 20 mysql_tcp || return 1
  mariadb --protocol=tcp -h 127.0.0.1 -u root -e 'CREATE DATABASE IF NOT EXISTS test'
}

# --- FerretDB ----------------------------------------------------------------------------------------
build_ferretdb() {
  if ! command -v go >/dev/null; then
    install_packages golang-go || return 1
  fi
  # `go install …@version` leaves out the generated build/version/version.txt and the binary panics
  # at start, so build from a copy of the module source with that file written in.
  local module src
  log "building FerretDB $FERRETDB_VERSION (a few minutes on 2 cores)"
  module=$(go mod download -json "github.com/FerretDB/FerretDB@$FERRETDB_VERSION" |
    sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p') || return 1
  [[ -d $module ]] || return 1
  src="$BASE/ferretdb-src"
  rm -rf "$src"
  cp -r "$module" "$src" && chmod -R u+w "$src" || return 1
  echo "$FERRETDB_VERSION" >"$src/build/version/version.txt"
  mkdir -p "$(dirname "$FERRETDB_BIN")"
  (cd "$src" && GOFLAGS=-buildvcs=false nice go build -p 1 -o "$FERRETDB_BIN.tmp" ./cmd/ferretdb) \
    >"$BASE/ferretdb-build.log" 2>&1 || return 1
  mv "$FERRETDB_BIN.tmp" "$FERRETDB_BIN"
  rm -rf "$src"
}

start_ferretdb() {
  if port_open 27017; then return 0; fi
  if [[ ! -x $FERRETDB_BIN ]] || ! "$FERRETDB_BIN" --version >/dev/null 2>&1; then
    build_ferretdb || return 1
  fi
  # The PostgreSQL backend, in its own database of the server started above: FerretDB has
  # PostgreSQL filter a string equality, where its SQLite backend sends it every document per query.
  ensure_pg_database ferretdb || return 1
  mkdir -p "$BASE/ferretdb"
  log "starting ferretdb on 27017 (PostgreSQL backend)"
  nohup "$FERRETDB_BIN" --handler=postgresql --postgresql-url="postgres://postgres@127.0.0.1:5432/ferretdb" \
    --state-dir="$BASE/ferretdb" --listen-addr=127.0.0.1:27017 --debug-addr=127.0.0.1:8088 \
    --telemetry=disable --log-level=warn >>"$BASE/ferretdb/ferretdb.log" 2>&1 </dev/null &
  echo $! >"$BASE/ferretdb/ferretdb.pid"
  retry 60 port_open 27017
}

for service in redis redis_cluster postgres mariadb ferretdb; do
  if ! "start_$service"; then
    log "FAILED: $service did not come up (logs under $BASE)"
    failed+=("$service")
  fi
done

echo "REDIS_URL=redis://127.0.0.1:6379"
echo "REDIS_CLUSTER_URL=redis://127.0.0.1:7000"
echo "POSTGRES_URL=postgresql://postgres@127.0.0.1:5432/test"
echo "MYSQL_URL=mysql://root@127.0.0.1:3306/test"
echo "MONGO_URL=mongodb://127.0.0.1:27017/test"

if ((${#failed[@]} > 0)); then
  log "not running: ${failed[*]}"
  exit 1
fi
