#!/usr/bin/env bash
# The whole test suite, on a machine set up by scripts/setup.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
if [ "$(id -u)" = 0 ]; then
  bash scripts/ci_services.sh   # Dovecot, PostgreSQL binaries, systemd-analyze (idempotent)
fi
.venv/bin/ruff check bot parsers replies config tests
.venv/bin/mypy
.venv/bin/pytest -q "$@"
if [ "$#" -eq 0 ]; then
  if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
    echo "test.sh: PostgreSQL is needed for the second pass: as root, bash scripts/ci_services.sh" >&2
    exit 1
  fi
  # Again on PostgreSQL (tests/pg_server.py starts a throwaway server on loopback): every
  # test that builds the app in-process now runs on it. Not again: the slow OCR and corpus
  # runs (they do not depend on the database), the tests about SQLite itself, and those
  # that are about PostgreSQL already (they ran on it in the first pass).
  MADOGUCHI_TEST_DATABASE=postgresql .venv/bin/pytest -q -m "not slow and not sqlite_only and not postgresql"
fi
