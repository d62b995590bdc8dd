"""The tool that proves the suite is independent of today's date moves the wall clock,
and only the wall clock: sleeps and timed waits keep their real length."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.live import real_clock_environment

RUN = Path(__file__).resolve().parent.parent / "tools" / "shifted-clock" / "run"
YEAR = 365 * 24 * 3600

# What a test waits on: time.sleep (clock_nanosleep on the monotonic clock), a timed
# Event.wait (a condition variable with a deadline) and the subprocess module's timeout.
PROBE = """
import json, subprocess, sys, threading, time
started = time.monotonic()
time.sleep(0.2)
threading.Event().wait(0.2)
subprocess.run([sys.executable, "-c", "pass"], timeout=30, check=True)
print(json.dumps({"wall": time.time(), "waited": time.monotonic() - started}))
"""


@pytest.mark.skipif(
    shutil.which("faketime") is None,
    reason="Debian's faketime package is not installed (.ci/run installs it)",
)
@pytest.mark.parametrize("offset, years", [("+365d", 1), ("-365d", -1)])
def test_the_wall_clock_moves_and_waits_stay_real(offset: str, years: int) -> None:
    # The suite itself may run under the tool: the probe's offset is from the real clock.
    real = real_clock_environment()
    before = float(
        subprocess.run(
            [sys.executable, "-c", "import time; print(time.time())"],
            env=real,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        ).stdout
    )
    result = subprocess.run(
        [str(RUN), offset, sys.executable, "-c", PROBE],
        env=real,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    seen = json.loads(result.stdout)
    assert abs(seen["wall"] - before - years * YEAR) < 60
    assert 0.4 <= seen["waited"] < 20  # not the offset, not nothing
