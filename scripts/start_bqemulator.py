"""Start the bqemulator BigQuery REST emulator without DuckDB's spatial extension.

The emulator loads the spatial extension at start-up, which needs a download. segc does not use
GEOGRAPHY, so the loader is replaced by a no-op before the emulator's own command line runs.
"""

import sys

from bqemulator.storage.engine import DuckDBEngine

DuckDBEngine._load_spatial = lambda self: None

from bqemulator.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
