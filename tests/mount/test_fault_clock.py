"""Clock skew. The API Gateway accepts signatures only within 5 minutes of its own clock.
faketime is not installed here, so the emulator's --clock-offset-s moves the server's clock
(its signature window and its Date header) instead of ncffs's. ncffs must then fail to mount
with a message that blames the clock, not just the credentials; a small skew is harmless.
"""

import re

import pytest

from conftest import mounted_fstype
from fault_support import *  # noqa: F401,F403 (fixtures and helpers)

CLOCK = re.compile(r"\bclock\b", re.I)


@pytest.mark.parametrize("offset_s", [600, -600, 86400, -3 * 3600])
def test_skewed_server_clock_fails_the_mount_naming_the_clock(harness, emulator_factory,
                                                              offset_s):
    emu = emulator_factory("--clock-offset-s", str(offset_s))
    result, path = harness.start(options=list(FAST), emulator=emu)
    err = result.stderr.decode()
    assert result.returncode != 0, err
    assert CLOCK.search(err), err
    assert "rejected" in err and "environment" in err, err      # says what was refused
    assert mounted_fstype(path) is None
    # One signed request, refused as stale, and not retried (a 401 will not heal).
    assert [r["status"] for r in emu.requests()] == [401]


def test_small_skew_is_harmless(harness, emulator_factory):
    emu = emulator_factory("--clock-offset-s", "120")
    m = harness.mount(options=list(FAST), emulator=emu)
    assert not CLOCK.search(m.stderr()), m.stderr()
    assert_serves_correctly(m, emu)
    assert_daemon_healthy(m)
