"""The business clock: real by default, started at MINQING_CLOCK_START or by a test, running at real speed."""

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from minqing import clock

SHANGHAI = ZoneInfo("Asia/Shanghai")


def test_unset_it_is_the_real_clock(monkeypatch):
    monkeypatch.delenv("MINQING_CLOCK_START", raising=False)
    monkeypatch.delenv("MINQING_CONFIG", raising=False)
    clock.reset()
    before = datetime.now(UTC)
    assert before <= clock.now() <= datetime.now(UTC) and clock.is_real()


def test_started_at_an_instant_it_runs_forward_from_there():
    start = datetime(2026, 12, 31, 23, 59, 59, tzinfo=SHANGHAI)
    clock.start_at(start)
    first, second = clock.now(), clock.now()
    assert start <= first <= second < start + timedelta(minutes=1)
    assert first.tzinfo == UTC and not clock.is_real()
    with pytest.raises(ValueError):
        clock.start_at(datetime(2026, 12, 31, 23, 59))  # naive: which zone?


def test_the_setting_is_read_again_after_a_reset(monkeypatch):
    monkeypatch.setenv("MINQING_CLOCK_START", "2028-02-29T12:00:00+08:00")
    clock.reset()
    assert datetime(2028, 2, 29, 4, tzinfo=UTC) <= clock.now() < datetime(2028, 2, 29, 4, 1, tzinfo=UTC)
    monkeypatch.setenv("MINQING_CLOCK_START", "29/02/2028")
    clock.reset()
    with pytest.raises(ValueError, match="MINQING_CLOCK_START"):
        clock.now()


def test_a_process_started_with_the_setting_starts_at_that_instant():
    code = "from minqing import clock; print(clock.now().isoformat())"
    env = dict(os.environ, MINQING_CLOCK_START="2026-02-28T23:59:30+08:00")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True, timeout=60)
    started = datetime.fromisoformat(out.stdout.strip())
    assert datetime(2026, 2, 28, 15, 59, 30, tzinfo=UTC) <= started < datetime(2026, 3, 1, tzinfo=SHANGHAI)

    env["MINQING_CLOCK_START"] = "2026-02-28T23:59:30"  # no offset: refused, not guessed
    refused = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert refused.returncode != 0 and "MINQING_CLOCK_START" in refused.stderr and "offset" in refused.stderr


def test_with_an_anchor_every_process_and_a_restart_read_the_same_business_time(monkeypatch):
    import time
    from datetime import UTC, datetime, timedelta

    from minqing import clock

    start = datetime(2026, 4, 3, 7, 59, tzinfo=UTC)
    monkeypatch.setenv("MINQING_CLOCK_START", start.isoformat())
    monkeypatch.setenv("MINQING_CLOCK_ANCHOR", repr(time.time() - 3600))  # the clock read `start` an hour ago
    clock.reset()
    try:
        first = clock.now()
        clock.reset()  # as a process restarted after a crash would
        again = clock.now()
    finally:
        clock.reset()
    assert timedelta(minutes=59, seconds=59) < first - start < timedelta(hours=1, seconds=5)
    assert timedelta(0) <= again - first < timedelta(seconds=5)
