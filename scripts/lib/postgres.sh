# A throwaway PostgreSQL 15 server for the demo and the benchmarks (source this file):
#   postgres_start DIR   initdb into DIR and start a server listening only on a Unix socket there
#                        (as the postgres OS user when run as root: the server refuses root)
#   postgres_url DB      the URL fleetadm takes for database DB, as a login named like the OS user
#   postgres_fresh DB    drops DB if it exists and creates it empty, owned by that login
#   postgres_sql DB ...  runs psql on DB as the superuser with the remaining arguments
#   postgres_stop        stops the server: call it from the caller's EXIT trap
postgres_bin=/usr/lib/postgresql/15/bin
postgres_dir=""
postgres_port=5432  # only names the socket file in our own folder

postgres_as_owner() {
    if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

postgres_start() {
    postgres_dir=$1
    mkdir -p "$postgres_dir"
    [ "$(id -u)" = 0 ] && chown postgres: "$postgres_dir"
    postgres_as_owner "$postgres_bin/initdb" -D "$postgres_dir/data" -A trust -U postgres -E UTF8 \
        --locale=C.UTF-8 --no-instructions >/dev/null
    postgres_as_owner "$postgres_bin/pg_ctl" -D "$postgres_dir/data" -l "$postgres_dir/server.log" -w \
        -o "-k $postgres_dir -p $postgres_port -c listen_addresses=''" start >/dev/null
    # The login fleetadm uses is a provider admin with CREATEROLE: init creates the store's roles.
    postgres_sql postgres -qc "CREATE ROLE \"$(id -un)\" LOGIN CREATEROLE" >/dev/null
}

postgres_stop() {
    [ -n "$postgres_dir" ] || return 0
    postgres_as_owner "$postgres_bin/pg_ctl" -D "$postgres_dir/data" -m immediate stop >/dev/null 2>&1 || true
    postgres_dir=""
}

postgres_url() { echo "postgresql://$(id -un)@/$1?host=$postgres_dir&port=$postgres_port"; }

postgres_sql() {
    local db=$1
    shift
    PGOPTIONS="-c client_min_messages=warning" psql -X -v ON_ERROR_STOP=1 -h "$postgres_dir" -p "$postgres_port" -U postgres -d "$db" "$@"
}

postgres_fresh() {
    postgres_sql postgres -qc "DROP DATABASE IF EXISTS \"$1\"" -c "CREATE DATABASE \"$1\" OWNER \"$(id -un)\"" >/dev/null
}
