#!/usr/bin/env bash
# The whole test suite, on a machine set up by scripts/setup.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/ruff check bot parsers replies config tests
.venv/bin/mypy
.venv/bin/pytest -q "$@"
