"""The daemon's life: it unmounts and exits cleanly on fusermount3 -u and on SIGTERM/SIGINT,
also with requests in flight; and the harness's own safety nets work."""

import os
import signal
import time

import pytest

from conftest import mounted_fstype, out, sanitizer_reports
from unix_support import stats_of, wait_until


def wait_exit(m, timeout=15):
    deadline = time.monotonic() + timeout
    while m.proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    return m.proc.poll()


def test_fusermount_u_ends_the_daemon_cleanly(harness):
    m = harness.mount()
    assert "demo" in out(["ls", m.p("packages")])
    m.unmount()
    assert m.exit_problem is None, m.stderr()
    assert m.proc.returncode == 0
    assert mounted_fstype(m.path) is None
    assert not sanitizer_reports(m.stderr()), m.stderr()


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["TERM", "INT"])
def test_signal_unmounts_and_exits_0_with_fetches_in_flight(harness, emulator_factory, signum):
    """SIGINT/SIGTERM: ncffs cancels its fetches, unmounts and exits 0 (fs/main.c: "a clean
    stop, not a failure"; note that ncffs(1) still says 1 there)."""
    emu = emulator_factory()
    m = harness.mount(emulator=emu)
    out(["ls", m.p("packages", "demo", "hello")])                  # parents, at full speed
    emu.config(latency_ms=300)                                      # now every answer is slow
    out(["ls", m.p("packages", "demo", "hello", "activations")])   # queues 25 prefetches
    # Signal well within one latency: the first prefetches are unanswered, while the
    # kernel's RELEASEDIR for ls's directory handle has arrived (see the next test).
    time.sleep(0.2)
    m.proc.send_signal(signum)
    status = wait_exit(m)
    m.unmounted = True      # this test owns the exit; teardown still checks stderr
    assert status == 0, (status, m.stderr())
    assert mounted_fstype(m.path) is None
    assert not sanitizer_reports(m.stderr()), m.stderr()
    emu.settle()        # record fetches had really started when the signal came
    assert any("/hello/activations/" in r["path"] for r in emu.requests())


def test_directory_open_at_stop_time_is_not_leaked(harness):
    m = harness.mount()
    fd = os.open(m.p("packages", "demo"), os.O_RDONLY | os.O_DIRECTORY)
    try:
        m.proc.send_signal(signal.SIGTERM)
        status = wait_exit(m)
    finally:
        os.close(fd)
    m.unmounted = True
    m.sanitizer_checked = True      # judged here
    assert status == 0, (status, m.stderr())
    assert mounted_fstype(m.path) is None
    assert not sanitizer_reports(m.stderr()), m.stderr()


def test_unmount_while_prefetching_250_records(harness, emulator_factory):
    """Unmount right after listing a big directory on a slow server, with record fetches in
    flight (seen in /.ncffs-stats, not assumed): the daemon must cancel or finish them and
    exit 0 quickly (sanitizers watching)."""
    emu = emulator_factory()
    m = harness.mount(emulator=emu)
    out(["ls", m.p("packages", "paging", "many")])                 # parents, at full speed
    emu.config(latency_ms=2000)                                     # now every answer is slow
    assert len(out(["ls", m.p("packages", "paging", "many", "activations")]).split()) == 250 + 1
    wait_until(lambda: stats_of(m.p(".ncffs-stats"))["api_in_flight"] > 0, 10,
               "a record fetch in flight")
    started = time.monotonic()
    m.unmount()
    assert m.exit_problem is None, m.stderr()
    assert time.monotonic() - started < 10
    assert not sanitizer_reports(m.stderr()), m.stderr()


def test_killed_daemon_is_still_cleaned_up(harness):
    """Harness safety net: a SIGKILLed daemon leaves a dead mount that teardown removes."""
    m = harness.mount()
    m.proc.kill()
    m.proc.wait()
    assert mounted_fstype(m.path) == "fuse.ncffs"       # dead but still mounted
    m.unmount()
    assert mounted_fstype(m.path) is None
    m.exit_problem = None                               # expected here, not a daemon fault


def test_sanitizer_markers_are_detected():
    text = ("ok line\n==1==ERROR: AddressSanitizer: heap-use-after-free on address 0x1\n"
            "fs/ops.c:12:3: runtime error: signed integer overflow\n"
            "==1==ERROR: LeakSanitizer: detected memory leaks\n")
    assert len(sanitizer_reports(text)) == 3
    assert sanitizer_reports("ncffs: warning: nothing to see\n") == []
