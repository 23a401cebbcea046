#!/usr/bin/env bash
# A throwaway BigQuery emulator (bqemulator, from PyPI) for the engine tests, serving the REST API
# on 127.0.0.1:${SEGC_TEST_BQ_PORT:-9050}.
# Usage: scripts/bqemulator.sh start DIR | stop DIR. Installs the emulator in a virtual
# environment (${SEGC_BQ_VENV:-$HOME/.cache/segc-bq-venv}) when missing.
set -euo pipefail

command="${1:?usage: bqemulator.sh start|stop DIR}"
dir="${2:?usage: bqemulator.sh start|stop DIR}"
port="${SEGC_TEST_BQ_PORT:-9050}"
grpc_port="${SEGC_TEST_BQ_GRPC_PORT:-9060}"
venv="${SEGC_BQ_VENV:-$HOME/.cache/segc-bq-venv}"
here="$(cd "$(dirname "$0")" && pwd)"

case "$command" in
  start)
    if ! "$venv/bin/python" -c "import bqemulator, numpy" >/dev/null 2>&1; then
      echo "installing bqemulator (PyPI) in $venv…"
      if ! python3 -m venv "$venv" >/dev/null 2>&1; then
        echo "installing python3-venv (apt-get)…"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq
        apt-get install -y -qq python3-venv >/dev/null
        rm -rf "$venv"
        python3 -m venv "$venv"
      fi
      "$venv/bin/pip" install --quiet --disable-pip-version-check \
        "bqemulator==1.4.0" "duckdb==2.0.0" numpy
    fi
    rm -rf "$dir"
    mkdir -p "$dir"
    "$venv/bin/python" "$here/start_bqemulator.py" start --rest-host 127.0.0.1 --rest-port "$port" \
      --grpc-host 127.0.0.1 --grpc-port "$grpc_port" --ephemeral --project segc-test \
      --log-level warning >"$dir/server.log" 2>&1 &
    echo $! >"$dir/pid"
    for _ in $(seq 1 120); do
      if python3 - "$port" <<'PY' 2>/dev/null
import sys, urllib.request
urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/bigquery/v2/projects/segc-test/datasets", timeout=2)
PY
      then
        echo "bqemulator on 127.0.0.1:$port"
        exit 0
      fi
      if ! kill -0 "$(cat "$dir/pid")" 2>/dev/null; then
        echo "bqemulator exited during start-up:" >&2
        cat "$dir/server.log" >&2
        exit 1
      fi
      sleep 0.5
    done
    echo "bqemulator did not answer on 127.0.0.1:$port within 60 s:" >&2
    cat "$dir/server.log" >&2
    exit 1
    ;;
  stop)
    if [ -f "$dir/pid" ]; then
      kill "$(cat "$dir/pid")" 2>/dev/null || true
      for _ in $(seq 1 20); do
        kill -0 "$(cat "$dir/pid")" 2>/dev/null || break
        sleep 0.25
      done
      kill -9 "$(cat "$dir/pid")" 2>/dev/null || true
    fi
    rm -rf "$dir"
    ;;
  *)
    echo "usage: bqemulator.sh start|stop DIR" >&2
    exit 2
    ;;
esac
