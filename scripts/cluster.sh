# PostgreSQL clusters for tests, benchmarks and the quickstart.
# Sourced by other scripts. PostgreSQL refuses to run as root, so when we
# are root the cluster runs as the unprivileged `postgres` OS user.
#
#   cluster_start DIR [PORT]   initdb (if needed) and start; sets PGHOST/PGPORT
#   cluster_stop DIR
#   cluster_settings           prints the durability settings of the running
#                              cluster (for benchmark reports)
#
# CLUSTER_DURABLE=1 gives PostgreSQL's crash-safe settings (fsync,
# synchronous_commit and full_page_writes on): the quickstart's persistent
# cluster and every durability-sensitive benchmark use it. Without it the
# cluster is a throwaway one for tests, with all three off for speed. The
# mode is applied at every start, so a cluster made by an older version
# with the fast settings becomes crash-safe when started durable.
#
# CLUSTER_ENV, if set, is passed to the postmaster's environment with
# env(1), e.g. "LD_PRELOAD=... FAKETIME=+90d" to run the server with its
# clock moved.
#
# The server listens only on a Unix socket inside DIR (no TCP port is
# taken unless CLUSTER_LISTEN is set, e.g. to 127.0.0.1).

PG_BINDIR=$(pg_config --bindir)

as_pg() {
    if [ "$(id -u)" = 0 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

pg_owner() {
    if [ "$(id -u)" = 0 ]; then echo postgres; else id -un; fi
}

free_port() {
    python3 - <<'PY' 2>/dev/null || echo $((20000 + RANDOM % 20000))
import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()
PY
}

# Rewrites the settings profefe manages in postgresql.conf (the last
# occurrence of a setting wins, but one line each keeps the file readable).
cluster_configure() {
    local conf=$1/data/postgresql.conf port=$2 mode
    if [ -n "${CLUSTER_DURABLE:-}" ]; then mode=on; else mode=off; fi
    as_pg sed -i -E '/^(port|fsync|synchronous_commit|full_page_writes) = /d;/^# profefe: /d' "$conf"
    as_pg tee -a "$conf" >/dev/null <<CONF
# profefe: $([ "$mode" = on ] && echo "crash-safe (CLUSTER_DURABLE)" || echo "throwaway test cluster, not crash-safe")
port = $port
fsync = $mode
synchronous_commit = $mode
full_page_writes = $mode
CONF
}

cluster_start() {
    local dir=$1 port=${2:-} sync_flag=--no-sync
    [ -n "$port" ] || port=$(free_port)
    [ -n "${CLUSTER_DURABLE:-}" ] && sync_flag=
    mkdir -p "$dir"
    if [ "$(id -u)" = 0 ]; then chown postgres: "$dir"; fi
    chmod 700 "$dir"
    if [ ! -f "$dir/data/PG_VERSION" ]; then
        as_pg "$PG_BINDIR/initdb" -D "$dir/data" -U "$(pg_owner)" -A trust \
            $sync_flag -E UTF8 --locale=C >"$dir/initdb.log" 2>&1 \
            || { cat "$dir/initdb.log"; return 1; }
        as_pg tee -a "$dir/data/postgresql.conf" >/dev/null <<CONF
listen_addresses = '${CLUSTER_LISTEN:-}'
unix_socket_directories = '$dir'
shared_buffers = 256MB
max_worker_processes = 8
max_parallel_workers_per_gather = 2
log_min_messages = warning
CONF
    fi
    cluster_configure "$dir" "$port"
    # root can enter any folder; postgres must be able to reach the socket dir
    as_pg env ${CLUSTER_ENV:-} "$PG_BINDIR/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start >/dev/null \
        || { cat "$dir/server.log"; return 1; }
    export PGHOST=$dir PGPORT=$port PGUSER=$(pg_owner)
}

cluster_stop() {
    local dir=$1
    [ -f "$dir/data/postmaster.pid" ] || return 0
    as_pg "$PG_BINDIR/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
}

cluster_settings() {
    psql -X -At -d postgres -c "SELECT string_agg(name || '=' || setting, ' ' ORDER BY name) FROM pg_settings
        WHERE name IN ('fsync', 'synchronous_commit', 'full_page_writes', 'wal_compression', 'shared_buffers', 'wal_level')"
}
