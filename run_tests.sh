#!/usr/bin/env bash
# Set everything up from nothing (venv, requirements, test services) and run
# the linter and the whole test suite. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")"
source scripts/setup_venv.sh
source scripts/setup_test_services.sh
ruff check .
python -m pytest "$@"
