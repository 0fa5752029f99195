#!/usr/bin/env bash
# The mail servers the integration tests start for themselves (tests/servers.py):
# Dovecot from Debian's dovecot-imapd (run by the tests with their own config, never as a
# system service), and aiosmtpd in the project's venv. Call it from .ci/run before
# scripts/test.sh. Without root it only says what is missing; those tests then skip.
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive

if ! command -v dovecot >/dev/null 2>&1 && [ ! -x /usr/sbin/dovecot ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "ci_services: installing dovecot-imapd"
    apt-get update -qq
    # policy-rc.d or no init system: the package's own service may not start; the tests do not need it.
    apt-get install -y -qq dovecot-imapd >/dev/null
  else
    echo "ci_services: dovecot is missing; as root: apt-get install dovecot-imapd (the IMAP tests skip)" >&2
  fi
fi

# PostgreSQL binaries for the second pass of the suite (tests/pg_server.py starts a
# throwaway cluster on loopback; the package's own service is not used), and systemd for
# `systemd-analyze verify` of deploy/madoguchi.service (tests/test_deploy.py).
need=""
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need="$need postgresql"
command -v systemd-analyze >/dev/null 2>&1 || need="$need systemd"
if [ -n "$need" ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "ci_services: installing$need"
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends $need >/dev/null
  else
    echo "ci_services: missing$need; as root: apt-get install$need (those tests skip)" >&2
  fi
fi

# aiosmtpd belongs in pyproject's dev extras; until it is there, put it into the venv here.
if [ ! -x .venv/bin/python ]; then
  bash scripts/setup.sh
fi
if ! .venv/bin/python -c "import aiosmtpd" >/dev/null 2>&1; then
  echo "ci_services: installing aiosmtpd into .venv"
  .venv/bin/pip install -q --disable-pip-version-check "aiosmtpd>=1.4" 2>&1 | grep -v "^WARNING: Location" || true
fi
echo "ci_services: ready (dovecot: $(command -v dovecot || echo /usr/sbin/dovecot), aiosmtpd in .venv)"
