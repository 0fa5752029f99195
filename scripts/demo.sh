#!/usr/bin/env bash
# Runs madoguchi once on its embedded defaults: SQLite in ./var, a Maildir at ./var/mail
# seeded with the bundled example requests, replies written to ./var/outbox.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
for v in $(env | grep -o '^MADOGUCHI_[A-Z_]*' || true); do unset "$v"; done
# A second run seeds the same examples again: they are recognised and not answered twice.
.venv/bin/python -m bot.examples var/mail
echo
echo "== madoguchi run --once"
.venv/bin/madoguchi run --once
echo
echo "== madoguchi cases list"
.venv/bin/madoguchi cases list
echo
echo "== replies written to var/outbox"
.venv/bin/python -m bot.examples --show-outbox var/outbox
echo
echo "== madoguchi digest --print"
.venv/bin/madoguchi digest --print
