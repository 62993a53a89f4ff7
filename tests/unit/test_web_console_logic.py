"""The console's own logic (web/src/lib/*.test.ts: deadline countdowns, problems in Chinese, labels, actions)
runs under Vitest; this puts it in `make test`."""

import shutil
import subprocess
from pathlib import Path

import pytest

WEB = Path(__file__).resolve().parents[2] / "web"


def test_vitest_suite_passes():
    if shutil.which("npm") is None:
        pytest.fail("npm is missing: the console's tests need Node.js 20 and npm")
    if not (WEB / "node_modules" / ".package-lock.json").exists():
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=WEB, check=True, capture_output=True, timeout=600)
    run = subprocess.run(["npm", "test", "--silent"], cwd=WEB, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    assert " passed" in run.stdout and "failed" not in run.stdout
