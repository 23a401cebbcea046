#!/usr/bin/env bash
# The whole test suite: starts a throwaway PostgreSQL and a BigQuery emulator for the engine
# tests (tmux for the terminal tests, Chromium for the HTML report's browser test, each
# installed when missing), runs every test in the release profile (so the bundled DuckDB is built once), and stops
# both servers. SQL Server tests run too when SEGC_TEST_SQLSERVER holds an ADO connection string.
set -euo pipefail
cd "$(dirname "$0")/.."
# The same target folder as `cargo run --release` (./target unless CARGO_TARGET_DIR says
# otherwise), so the bundled DuckDB is compiled once for both README commands.

work="$(mktemp -d /tmp/segc-engines.XXXXXX)"
# The PostgreSQL cluster inside belongs to the postgres user, who must reach it.
chmod 755 "$work"
cleanup() {
  scripts/bqemulator.sh stop "$work/bq" || true
  scripts/postgres.sh stop "$work/pg" || true
  rm -rf "$work"
}
trap cleanup EXIT
# tmux runs `segc run` in real terminals of a given width (tests/terminal.rs).
if ! command -v tmux >/dev/null 2>&1; then
  echo "installing tmux (apt-get)…"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq tmux >/dev/null
fi
export SEGC_TEST_TMUX=1
scripts/postgres.sh start "$work/pg"
scripts/bqemulator.sh start "$work/bq"

# The JSON Schema test's independent validator (tests/schema.rs): jsonschema and PyYAML from
# PyPI, in the emulator's virtual environment.
venv="${SEGC_BQ_VENV:-$HOME/.cache/segc-bq-venv}"
if ! "$venv/bin/python" -c "import jsonschema, yaml" >/dev/null 2>&1; then
  echo "installing jsonschema and PyYAML (PyPI) in $venv…"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "jsonschema==4.23.0" "PyYAML==6.0.2"
fi
export SEGC_TEST_SCHEMA_PYTHON="$venv/bin/python"
# Headless Chromium for the HTML report's browser test (tests/html_browser.rs).
if ! command -v chromium >/dev/null 2>&1 && [ -z "${SEGC_TEST_CHROMIUM:-}" ]; then
  echo "installing Chromium (apt-get)…"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq chromium >/dev/null
fi
export SEGC_TEST_BROWSER=1
export SEGC_TEST_CHROMIUM="${SEGC_TEST_CHROMIUM:-$(command -v chromium)}"

export SEGC_TEST_POSTGRES=1
export SEGC_TEST_PG_HOST=127.0.0.1
export SEGC_TEST_PG_PORT="${SEGC_TEST_PG_PORT:-54329}"
export SEGC_TEST_PG_USER=postgres
export SEGC_TEST_PG_CA="$work/pg/tls/ca.crt"
export SEGC_TEST_BQ_ENDPOINT="http://127.0.0.1:${SEGC_TEST_BQ_PORT:-9050}"
if [ -z "${SEGC_TEST_SQLSERVER:-}" ]; then
  echo "SQL Server live tests will be skipped: set SEGC_TEST_SQLSERVER to an ADO connection string to run them"
fi
cargo test --release
