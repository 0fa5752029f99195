"""The shared acceptance samples, run by the shared runner against the installed command."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

SHARED = Path(__file__).resolve().parents[1].parent / "shared"


@pytest.mark.slow
def test_shared_acceptance_samples_pass(tmp_path: Path) -> None:
    runner = SHARED / "tools" / "acceptance.py"
    if not runner.is_file():
        pytest.skip(f"shared acceptance runner not found at {runner}")
    exe = Path(sys.executable).parent / "madoguchi"
    assert exe.exists() or shutil.which("madoguchi")
    p = subprocess.run([sys.executable, str(runner), str(SHARED / "samples"), "--cmd", str(exe),
                        "--report", str(tmp_path / "report.json")],
                       capture_output=True, text=True, timeout=900)
    print(p.stdout[-3000:])
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-2000:]
    assert p.stdout.strip().splitlines()[-1].startswith("acceptance: 8/8")
