#!/usr/bin/env bash
# The whole test suite: starts a throwaway PostgreSQL for the engine tests, runs every test in
# the release profile (so the bundled DuckDB is built once), and stops the server.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/segc-target}"

cluster="$(mktemp -d /tmp/segc-pg.XXXXXX)"
trap 'scripts/postgres.sh stop "$cluster"' EXIT
scripts/postgres.sh start "$cluster"

export SEGC_TEST_POSTGRES=1
export SEGC_TEST_PG_HOST=127.0.0.1
export SEGC_TEST_PG_PORT="${SEGC_TEST_PG_PORT:-54329}"
export SEGC_TEST_PG_USER=postgres
cargo test --release
