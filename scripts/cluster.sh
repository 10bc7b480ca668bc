# Throwaway PostgreSQL clusters for tests and the quickstart.
# Sourced by other scripts. PostgreSQL refuses to run as root, so when we
# are root the cluster runs as the unprivileged `postgres` OS user.
#
#   cluster_start DIR [PORT]   initdb (if needed) and start; sets PGHOST/PGPORT
#   cluster_stop DIR
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

cluster_start() {
    local dir=$1 port=${2:-}
    [ -n "$port" ] || port=$(free_port)
    mkdir -p "$dir"
    if [ "$(id -u)" = 0 ]; then chown postgres: "$dir"; fi
    chmod 700 "$dir"
    if [ ! -f "$dir/data/PG_VERSION" ]; then
        as_pg "$PG_BINDIR/initdb" -D "$dir/data" -U "$(pg_owner)" -A trust \
            --no-sync -E UTF8 --locale=C >"$dir/initdb.log" 2>&1 \
            || { cat "$dir/initdb.log"; return 1; }
        cat >>"$dir/data/postgresql.conf" <<CONF
listen_addresses = '${CLUSTER_LISTEN:-}'
port = $port
unix_socket_directories = '$dir'
fsync = ${CLUSTER_FSYNC:-off}
synchronous_commit = ${CLUSTER_SYNC_COMMIT:-off}
full_page_writes = off
shared_buffers = 256MB
max_worker_processes = 8
max_parallel_workers_per_gather = 2
log_min_messages = warning
CONF
    else
        sed -i "s/^port = .*/port = $port/" "$dir/data/postgresql.conf"
    fi
    # root can enter any folder; postgres must be able to reach the socket dir
    as_pg "$PG_BINDIR/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start >/dev/null \
        || { cat "$dir/server.log"; return 1; }
    export PGHOST=$dir PGPORT=$port PGUSER=$(pg_owner)
}

cluster_stop() {
    local dir=$1
    [ -f "$dir/data/postmaster.pid" ] || return 0
    as_pg "$PG_BINDIR/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
}
