#!/usr/bin/env bash
# A private, throwaway PostgreSQL server for StreamKit's tests and benchmarks (scripts/test.sh uses it).
#
#   env=$(bash scripts/postgres.sh start) && eval "$env"
#       initdb in a fresh temp directory, server on 127.0.0.1 at a free port (unix socket inside the directory),
#       database `streamkit`, superuser `streamkit`, trust auth on loopback only; prints the lines
#         export STREAMKIT_TEST_POSTGRES_URL=postgres://streamkit@127.0.0.1:PORT/streamkit
#         export STREAMKIT_TEST_POSTGRES_DIR=/tmp/streamkit-pg.XXXXXX
#       and nothing else on stdout. Fails loudly (non-zero, the server log's tail on stderr) when it cannot start.
#   bash scripts/postgres.sh stop DIR                        stops the server (fast) and removes DIR
#   bash scripts/postgres.sh server-stop DIR [fast|immediate] stops the server, keeps the cluster
#   bash scripts/postgres.sh server-start DIR                starts it again on the same port
#   bash scripts/postgres.sh bindir                          prints where initdb and pg_ctl are (fails if nowhere)
#
# Sourced (`. scripts/postgres.sh`), it only defines the same as functions: streamkit_pg_start, streamkit_pg_stop,
# streamkit_pg_server_stop, streamkit_pg_server_start, streamkit_pg_bindir, and streamkit_pg_up (start and export
# the two variables into the current shell). Sourcing changes no shell options.
#
# Durability is as in production: fsync, synchronous_commit and full_page_writes stay on (only initdb's own
# files are written without fsync, --no-sync: the cluster does not outlive a crash of the machine anyway).
# The PostgreSQL server refuses to run as root, so when run as root the cluster belongs to the `postgres` system
# user (Debian's package creates it) or, when there is none, to a system user `streamkit-pg` created on the first
# run; STREAMKIT_PG_USER chooses another. initdb and pg_ctl are looked up in $STREAMKIT_PG_BIN, then PATH, then
# /usr/lib/postgresql/*/bin (Debian's place, not in PATH), newest version first.

# Prints the directory that holds initdb and pg_ctl (symlinks resolved, so `postgres` is beside them).
streamkit_pg_bindir() (
    set -euo pipefail
    if [ -n "${STREAMKIT_PG_BIN:-}" ]; then
        if [ -x "$STREAMKIT_PG_BIN/initdb" ] && [ -x "$STREAMKIT_PG_BIN/pg_ctl" ]; then
            echo "$STREAMKIT_PG_BIN"
            exit 0
        fi
        echo "postgres.sh: STREAMKIT_PG_BIN=$STREAMKIT_PG_BIN holds no initdb and pg_ctl" >&2
        exit 1
    fi
    if found=$(command -v initdb 2>/dev/null); then
        dir=$(dirname "$(readlink -f "$found")")
        if [ -x "$dir/pg_ctl" ]; then
            echo "$dir"
            exit 0
        fi
    fi
    shopt -s nullglob
    candidates=(/usr/lib/postgresql/*/bin)
    [ ${#candidates[@]} -gt 0 ] || exit 1
    while IFS= read -r dir; do
        if [ -x "$dir/initdb" ] && [ -x "$dir/pg_ctl" ]; then
            echo "$dir"
            exit 0
        fi
    done < <(printf '%s\n' "${candidates[@]}" | sort -rV)
    exit 1
)

# Runs a command as USER when this shell is root (the server refuses root), as is otherwise.
_streamkit_pg_as() {
    local user=$1
    shift
    if [ "$(id -u)" -ne 0 ]; then
        "$@"
    elif command -v runuser >/dev/null 2>&1; then
        runuser -u "$user" -- "$@"
    else
        su -s /bin/bash "$user" -c "$(printf '%q ' "$@")"
    fi
}

# The OS user that owns and runs a new cluster: this user, or when root an unprivileged system user.
_streamkit_pg_os_user() {
    if [ "$(id -u)" -ne 0 ]; then
        id -un 2>/dev/null || id -u
        return 0
    fi
    if [ -n "${STREAMKIT_PG_USER:-}" ]; then
        echo "$STREAMKIT_PG_USER"
        return 0
    fi
    if id -u postgres >/dev/null 2>&1; then
        echo postgres
        return 0
    fi
    if ! id -u streamkit-pg >/dev/null 2>&1; then
        echo "postgres.sh: creating system user streamkit-pg to run the test server (it refuses root)" >&2
        useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin streamkit-pg >&2 ||
            return 1
    fi
    echo streamkit-pg
}

_streamkit_pg_port_busy() {
    local port=$1
    if command -v ss >/dev/null 2>&1 && [ -n "$(ss -Htln "sport = :$port" 2>/dev/null)" ]; then
        return 0
    fi
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null
}

# A random free port below Linux's ephemeral range (32768-60999), so no client connection holds it.
_streamkit_pg_free_port() {
    local port tries=0
    while [ $tries -lt 100 ]; do
        port=$((20000 + (RANDOM * 32768 + RANDOM) % 12768))
        _streamkit_pg_port_busy "$port" || {
            echo "$port"
            return 0
        }
        tries=$((tries + 1))
    done
    echo "postgres.sh: found no free port in 20000-32767 after 100 tries" >&2
    return 1
}

_streamkit_pg_check_cluster_dir() {
    if [ -z "${1:-}" ] || [ ! -f "$1/streamkit-pg-cluster" ]; then
        echo "postgres.sh: '${1:-}' is not a cluster directory made by postgres.sh start; leaving it alone" >&2
        return 1
    fi
}

# Starts the server of an existing cluster directory (on the port in its streamkit.conf). Loud on failure.
_streamkit_pg_run_server() {
    local dir=$1 bin user
    bin=$(cat "$dir/bindir")
    user=$(stat -c %U "$dir/data")
    if _streamkit_pg_as "$user" "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -s -w -t 120 start >&2; then
        return 0
    fi
    return 1
}

_streamkit_pg_log_tail() {
    echo "postgres.sh: --- last lines of $1 ---" >&2
    tail -n 30 "$1" >&2 2>/dev/null || true
    echo "postgres.sh: ---" >&2
}

streamkit_pg_start() (
    set -euo pipefail
    bin=$(streamkit_pg_bindir) || {
        echo "postgres.sh: no PostgreSQL server (initdb, pg_ctl) in \$STREAMKIT_PG_BIN, PATH or" \
            "/usr/lib/postgresql/*/bin; install it with: bash scripts/deps.sh --postgres" >&2
        exit 1
    }
    psql=$bin/psql
    [ -x "$psql" ] || psql=$(command -v psql) || {
        echo "postgres.sh: psql not found (it creates the streamkit database)" >&2
        exit 1
    }
    user=$(_streamkit_pg_os_user)
    root=0
    [ "$(id -u)" -eq 0 ] && root=1

    dir=""
    # Whatever stops a start half-way (an error, Ctrl-C) removes what it made, a running server included.
    # shellcheck disable=SC2317 # called by the trap
    discard_on_failure() {
        local rc=$?
        if [ "$rc" -ne 0 ] && [ -n "$dir" ]; then streamkit_pg_stop "$dir" >/dev/null 2>&1 || true; fi
    }
    trap discard_on_failure EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    # When root, the directory must be reachable by the cluster's user: $TMPDIR may not be, /tmp is.
    for base in "${TMPDIR:-/tmp}" /tmp; do
        dir=$(mktemp -d "${base%/}/streamkit-pg.XXXXXX")
        echo "$bin" >"$dir/bindir"
        touch "$dir/streamkit-pg-cluster"
        mkdir "$dir/sock"
        [ $root -eq 1 ] || break
        chown -R "$user:" "$dir"
        if _streamkit_pg_as "$user" test -w "$dir"; then break; fi
        rm -rf "$dir"
        dir=""
    done
    [ -n "$dir" ] || {
        echo "postgres.sh: user $user cannot write in a temp directory under ${TMPDIR:-/tmp} nor /tmp" >&2
        exit 1
    }
    cd "$dir" # the cluster's user may not be able to read the caller's working directory

    if ! _streamkit_pg_as "$user" "$bin/initdb" -D "$dir/data" -U streamkit -E UTF8 --locale=C \
        --auth-local=trust --auth-host=trust --no-sync >"$dir/initdb.log" 2>&1; then
        echo "postgres.sh: initdb failed (as $user)" >&2
        _streamkit_pg_log_tail "$dir/initdb.log"
        exit 1
    fi
    # Loopback only: the server listens on 127.0.0.1 and the socket directory is private to the cluster's user.
    cat >"$dir/data/pg_hba.conf" <<'HBA'
# Written by scripts/postgres.sh: trust, loopback and the private socket only.
local   all             all                     trust
host    all             all     127.0.0.1/32    trust
local   replication     all                     trust
host    replication     all     127.0.0.1/32    trust
HBA
    echo "include 'streamkit.conf'" >>"$dir/data/postgresql.conf"
    socket_dir=$dir/sock
    # A unix socket path is limited to 107 bytes; with a very long TMPDIR the server listens on TCP only.
    [ ${#socket_dir} -le 90 ] || socket_dir=""

    attempt=0
    while :; do
        attempt=$((attempt + 1))
        port=$(_streamkit_pg_free_port)
        cat >"$dir/data/streamkit.conf" <<CONF
# Written by scripts/postgres.sh: a private, throwaway cluster for StreamKit's tests and benchmarks.
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$socket_dir'
unix_socket_permissions = 0700
max_connections = 200
# Durability as in production: every commit waits for its WAL to be flushed.
fsync = on
synchronous_commit = on
full_page_writes = on
timezone = 'UTC'
log_timezone = 'UTC'
lc_messages = 'C'
log_line_prefix = '%m [%p] '
CONF
        [ $root -eq 0 ] || chown "$user:" "$dir/data/pg_hba.conf" "$dir/data/streamkit.conf"
        if _streamkit_pg_run_server "$dir"; then
            break
        fi
        # Another process took the port between the check and the bind: try another one, a few times.
        if [ $attempt -lt 10 ] && grep -q 'Address already in use' "$dir/server.log" 2>/dev/null; then
            echo "postgres.sh: port $port was taken meanwhile; trying another" >&2
            mv "$dir/server.log" "$dir/server.log.$attempt"
            continue
        fi
        echo "postgres.sh: the PostgreSQL server did not start (as $user, port $port)" >&2
        _streamkit_pg_log_tail "$dir/server.log"
        exit 1
    done

    if ! "$psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U streamkit -d postgres \
        -c 'CREATE DATABASE streamkit' >&2; then
        echo "postgres.sh: could not create the database streamkit on 127.0.0.1:$port" >&2
        _streamkit_pg_log_tail "$dir/server.log"
        exit 1
    fi
    url="postgres://streamkit@127.0.0.1:$port/streamkit"
    echo "$url" >"$dir/url"
    echo "postgres.sh: PostgreSQL $("$bin/pg_ctl" --version | awk '{print $3}') on 127.0.0.1:$port," \
        "cluster in $dir (OS user $user)" >&2
    printf 'export STREAMKIT_TEST_POSTGRES_URL=%q\nexport STREAMKIT_TEST_POSTGRES_DIR=%q\n' "$url" "$dir"
)

# Stops the server (fast shutdown; immediate, then SIGKILL, if that fails) and removes the cluster directory.
streamkit_pg_stop() (
    set -euo pipefail
    dir=${1:-}
    _streamkit_pg_check_cluster_dir "$dir"
    cd /
    if [ -f "$dir/data/postmaster.pid" ]; then
        bin=$(cat "$dir/bindir")
        user=$(stat -c %U "$dir/data")
        if ! _streamkit_pg_as "$user" "$bin/pg_ctl" -D "$dir/data" -m fast -s -w -t 60 stop >&2 &&
            ! _streamkit_pg_as "$user" "$bin/pg_ctl" -D "$dir/data" -m immediate -s -w -t 30 stop >&2; then
            pid=$(head -n 1 "$dir/data/postmaster.pid" 2>/dev/null || true)
            if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
                echo "postgres.sh: killing the server (pid $pid) that did not stop" >&2
                kill -KILL "$pid" 2>/dev/null || true
            fi
        fi
    fi
    rm -rf "$dir"
)

# Stops the server and keeps the cluster (to test what happens while PostgreSQL is down). Mode: fast or immediate.
streamkit_pg_server_stop() (
    set -euo pipefail
    dir=${1:-}
    mode=${2:-fast}
    _streamkit_pg_check_cluster_dir "$dir"
    cd /
    _streamkit_pg_as "$(stat -c %U "$dir/data")" "$(cat "$dir/bindir")/pg_ctl" -D "$dir/data" -m "$mode" -s -w -t 60 \
        stop >&2
)

# Starts the server of a cluster stopped with server-stop again, on the same port.
streamkit_pg_server_start() (
    set -euo pipefail
    dir=${1:-}
    _streamkit_pg_check_cluster_dir "$dir"
    cd /
    _streamkit_pg_run_server "$dir" || {
        echo "postgres.sh: the PostgreSQL server in $dir did not start" >&2
        _streamkit_pg_log_tail "$dir/server.log"
        exit 1
    }
)

# Sourced use: starts a cluster and exports STREAMKIT_TEST_POSTGRES_URL and STREAMKIT_TEST_POSTGRES_DIR here.
streamkit_pg_up() {
    local env
    env=$(streamkit_pg_start) || return 1
    eval "$env"
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    set -euo pipefail
    command=${1:-}
    [ $# -eq 0 ] || shift
    case "$command" in
    start) streamkit_pg_start ;;
    stop) streamkit_pg_stop "$@" ;;
    server-stop) streamkit_pg_server_stop "$@" ;;
    server-start) streamkit_pg_server_start "$@" ;;
    bindir) streamkit_pg_bindir ;;
    *)
        echo "usage: bash scripts/postgres.sh start | stop DIR | server-stop DIR [fast|immediate] |" \
            "server-start DIR | bindir" >&2
        exit 2
        ;;
    esac
fi
