"""Our own acceptance scenarios (tests/scenarios/) through the shared acceptance runner.

The shared runner lives outside this checkout (../shared/tools/acceptance.py); where it is
absent the test is skipped.  The scenarios and their fixtures live here, so a missing
fixture is a failure, not a skip.  Regenerate the fixtures with
`.venv/bin/python tests/scenarios/make_fixtures.py`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "tests" / "scenarios"
SHARED = Path(__file__).resolve().parents[1].parent / "shared"
RUNNER = SHARED / "tools" / "acceptance.py"


def _bot_command() -> str:
    venv_bin = ROOT / ".venv" / "bin" / "madoguchi"
    if venv_bin.is_file():
        return str(venv_bin)
    here = Path(sys.executable).with_name("madoguchi")  # the interpreter's own venv
    if here.is_file():
        return str(here)
    pytest.skip("no madoguchi command in .venv/bin")


def test_own_scenarios_have_their_fixtures() -> None:
    suite = json.loads((SCENARIOS / "scenarios.json").read_text(encoding="utf-8"))
    assert len(suite["scenarios"]) >= 14
    missing = sorted(
        {
            att["file"]
            for sc in suite["scenarios"]
            for step in sc["steps"]
            for msg in [step.get("message") or {}]
            for att in msg.get("attachments", [])
            if not (SCENARIOS / att["file"]).is_file()
        }
    )
    assert not missing, f"fixtures missing (run tests/scenarios/make_fixtures.py): {', '.join(missing)}"


@pytest.mark.slow
def test_own_scenarios_pass() -> None:
    test_own_scenarios_have_their_fixtures()
    if not RUNNER.is_file():
        pytest.skip(f"shared acceptance runner not found at {RUNNER}")
    env = {k: v for k, v in os.environ.items() if not k.startswith("MADOGUCHI_")}
    proc = subprocess.run(
        [sys.executable, str(RUNNER), str(SCENARIOS), "--cmd", _bot_command()],
        cwd=str(ROOT),
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, "own acceptance scenarios failed:\n" + out[-6000:]
