"""Signals, as a service manager and an admin send them (issue 5): SIGTERM and SIGINT unmount
and end ncffs with status 0; SIGHUP drops the cache, so the next read of a record asks the API
again, while the mount stays up; umount(8) of a foreground mount ends the daemon with 0."""

import signal
import time

import pytest

from conftest import mounted_fstype, out, run
from unix_support import quiet_calls, record_calls, stats_of, wait_until

EXIT_WAIT_S = 15


def wait_exit(m):
    deadline = time.monotonic() + EXIT_WAIT_S
    while m.proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    return m.proc.poll()


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["TERM", "INT"])
def test_term_and_int_unmount_and_exit_0(harness, emulator, signum):
    m = harness.mount()
    newest = emulator.ids("billing", "invoice")[0]
    out(["cat", m.p("packages", "billing", "invoice", "activations", newest, "result.json")])
    m.proc.send_signal(signum)
    status = wait_exit(m)
    assert status == 0, (status, m.stderr())
    assert mounted_fstype(m.path) is None
    assert run(["ls", m.path]).stdout == b""          # the bare directory again


def test_umount_of_a_foreground_mount_ends_it_with_0(harness):
    m = harness.mount()
    assert "demo" in out(["ls", m.p("packages")]).split()
    result = run(["umount", m.path])
    assert result.returncode == 0, result.stderr
    assert wait_exit(m) == 0, m.stderr()
    assert mounted_fstype(m.path) is None


def test_hup_drops_the_cache_and_the_mount_stays(harness, emulator):
    # No disk cache: finished records kept there outlive a HUP (test_disk_cache.py).
    m = harness.mount(options=["loglevel=info", "cache_dir=none"])
    owner = "demo/hello"
    activation = emulator.ids("demo", "hello")[4]
    top = m.p("packages", "demo", "hello", "activations", activation)
    record = emulator.record("demo", "hello", activation)
    assert out(["cat", f"{top}/result.json"]) and out(["cat", f"{top}/status"]) == \
        record["response"]["status"] + "\n"
    emulator.settle_and_reset()
    # before HUP: another file of the same record is served from ncffs's cache
    out(["cat", f"{top}/duration"])
    assert record_calls(quiet_calls(emulator)) == {}
    entries_before = stats_of(m.p(".ncffs-stats"))["cache_entries"]
    assert entries_before > 0

    m.proc.send_signal(signal.SIGHUP)
    wait_until(lambda: "SIGHUP: dropped" in m.stderr(), 10, "the SIGHUP log line")
    assert m.proc.poll() is None and mounted_fstype(m.path) == "fuse.ncffs"
    assert stats_of(m.p(".ncffs-stats"))["cache_entries"] < entries_before
    emulator.reset()
    # after HUP: reading the record again (its directory, a file not read yet) asks the API
    assert set(out(["ls", top]).split()) >= {"result.json", "logs.txt", "status"}
    assert out(["cat", f"{top}/logs.txt"]) == "".join(line + "\n" for line in record["logs"])
    calls = quiet_calls(emulator)
    assert record_calls(calls, owner) == {activation: 1}
    assert all(c.status == 200 for c in calls)
    # and the mount keeps serving
    assert "hello" in out(["ls", m.p("packages", "demo")]).split()
    assert m.proc.poll() is None


def test_hup_twice_and_reads_in_between_keep_working(harness, emulator):
    """Two HUPs close together, with reads racing the drop (sanitizers watching)."""
    m = harness.mount(options=["loglevel=info"])
    top = m.p("packages", "billing", "invoice", "activations")
    ids = emulator.ids("billing", "invoice")
    for _ in range(2):
        m.proc.send_signal(signal.SIGHUP)
        for activation in ids:
            assert out(["cat", f"{top}/{activation}/status"]) == \
                emulator.record("billing", "invoice", activation)["response"]["status"] + "\n"
    wait_until(lambda: m.stderr().count("SIGHUP: dropped") >= 1, 10, "the SIGHUP log line")
    assert m.proc.poll() is None and mounted_fstype(m.path) == "fuse.ncffs"
