#!/usr/bin/env bash
# Installs the system packages StreamKit builds against, when they are missing (Debian/Ubuntu).
# With --postgres (scripts/test.sh passes it) also the distribution's PostgreSQL server, package `postgresql`, when
# no initdb and pg_ctl can be found (PATH, /usr/lib/postgresql/*/bin; see scripts/postgres.sh bindir): the tests
# run against a private throwaway cluster. scripts/run.sh does not pass it: the file log needs no database.
set -euo pipefail
scripts=$(dirname "$0")
postgres=0
for arg in "$@"; do
    case "$arg" in
    --postgres) postgres=1 ;;
    *)
        echo "usage: bash scripts/deps.sh [--postgres]" >&2
        exit 2
        ;;
    esac
done
missing=()
for pkg in liblz4-dev libsqlite3-dev pkg-config openssl; do
    dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
need_postgres=0
if [ $postgres -eq 1 ] && ! bash "$scripts/postgres.sh" bindir >/dev/null 2>&1; then
    need_postgres=1
    missing+=(postgresql)
fi
if [ ${#missing[@]} -gt 0 ]; then
    echo "installing: ${missing[*]}" >&2
    sudo_cmd=""
    [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
    apt_install() { DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "$@" >/dev/null; }
    $sudo_cmd apt-get update -qq
    conf=/etc/postgresql-common/createcluster.conf
    if [ $need_postgres -eq 1 ]; then
        # The server package would create and start a system cluster `main` on port 5432, which the tests do not
        # use: postgresql-common first, then the server with create_main_cluster = false for this install only
        # (createcluster.conf is restored afterwards; `pg_createcluster` still makes one when wanted).
        apt_install postgresql-common
        if [ -f "$conf" ]; then
            $sudo_cmd cp -p "$conf" "$conf.streamkit-deps"
            trap '$sudo_cmd mv -f "$conf.streamkit-deps" "$conf"' EXIT
            echo "create_main_cluster = false" | $sudo_cmd tee -a "$conf" >/dev/null
        fi
    fi
    apt_install "${missing[@]}"
    if [ $need_postgres -eq 1 ] && ! bash "$scripts/postgres.sh" bindir >/dev/null; then
        echo "deps.sh: installed postgresql, yet no initdb and pg_ctl in PATH or /usr/lib/postgresql/*/bin" >&2
        exit 1
    fi
fi
