"""A dead server: killed (connections refused), frozen (SIGSTOP: the kernel still accepts,
nobody answers), or absent from the start. ls, cat and stat fail in bounded time with a clear
errno, what is cached keeps being served, and unmounting never hangs: fusermount3 -u returns
at once and the daemon exits promptly, also with background fetches stuck on the server.
"""

import errno
import os
import signal
import socket
import subprocess
import time


from conftest import mounted_fstype, run
from fault_support import *  # noqa: F401,F403 (fixtures and helpers)

UMOUNT_S = 5            # fusermount3 -u returns within this
EXIT_S = 5              # and the daemon exits within this after the mount is gone
FILES = ("status", "logs.txt", "result.json")


def timed_unmount(m):
    """fusermount3 -u; -> (seconds it took, seconds until the daemon exited)."""
    began = time.monotonic()
    result = run(["fusermount3", "-u", m.path], timeout=UMOUNT_S * 4)
    took = time.monotonic() - began
    assert result.returncode == 0, result.stderr
    m.proc.wait(EXIT_S * 4)
    m.unmounted = True
    assert m.proc.returncode == 0, m.stderr()
    assert not mounted_fstype(m.path)
    return took, time.monotonic() - began


def warm(m, emu):
    """Reads a few things so that they are cached; -> [(op, path, Outcome)]."""
    aid = emu.ids("demo", "hello")[0]
    base = m.p("packages", "demo", "hello", "activations", aid)
    ops = [("list", m.p("packages")), ("list", m.p("packages", "demo", "hello", "activations"))]
    ops += [("read", f"{base}/{f}") for f in FILES]
    outs = fsops(ops)
    assert all(o.ok for o in outs), outs
    return ops, outs


def unused_port():
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_killed_server(harness, emulator_factory):
    emu = emulator_factory()
    m = harness.mount(options=list(FAST), emulator=emu)
    ops, before = warm(m, emu)
    fresh_aid = emu.ids("demo", "hello")[1]
    emu.proc.kill()
    emu.proc.wait()
    outs = fsops([("list", m.p("packages", "billing", "invoice", "activations")),
                  ("read", m.p("packages", "demo", "hello", "activations", fresh_aid, "status")),
                  ("stat", m.p("packages", "demo", "hello", "action.json"))])
    for o in outs:
        assert o.errno == errno.ECONNREFUSED, o
        assert o.elapsed < fail_bound(attempt_s=0.5), o
    # The real programs, too: they fail, in bounded time, saying why.
    for argv in (["ls", "-l", m.p("packages", "demo", "resize-image", "activations")],
                 ["cat", m.p("packages", "demo", "hello", "activations", fresh_aid,
                             "logs.txt")]):
        began = time.monotonic()
        result = run(argv, timeout=fail_bound() * 2)
        assert time.monotonic() - began < fail_bound(attempt_s=0.5), argv
        assert result.returncode != 0 and b"Connection refused" in result.stderr, result
    cached = fsops(ops)
    assert [(o.names, o.data) for o in cached] == [(o.names, o.data) for o in before]
    assert run(["cat", ops[2][1]]).stdout == before[2].data
    assert_daemon_healthy(m)
    took, exited = timed_unmount(m)
    assert took < UMOUNT_S and exited < UMOUNT_S + EXIT_S, (took, exited)


def test_frozen_server(harness, emulator_factory):
    """SIGSTOPped: connections are accepted by the kernel but never answered."""
    emu = emulator_factory()
    m = harness.mount(options=list(FAST), emulator=emu)
    ops, before = warm(m, emu)
    os.kill(emu.proc.pid, signal.SIGSTOP)
    try:
        # (A read waiting on the frozen server: the next test.)
        o = fsop("list", m.p("packages", "billing", "invoice", "activations"))
        assert o.errno == errno.ETIMEDOUT and o.elapsed < fail_bound(), o
        cached = fsops(ops)
        assert [(o.names, o.data) for o in cached] == [(o.names, o.data) for o in before]
        assert_daemon_healthy(m)
        took, exited = timed_unmount(m)
        assert took < UMOUNT_S and exited < UMOUNT_S + EXIT_S, (took, exited)
    finally:
        os.kill(emu.proc.pid, signal.SIGCONT)


def test_unmount_with_a_reader_waiting_on_a_frozen_server(harness, emulator_factory):
    """cat is inside a lookup that waits for the server: fusermount3 -u says busy at once
    (it does not hang), cat gets ETIMEDOUT in bounded time, then the unmount goes through."""
    emu = emulator_factory()
    m = harness.mount(options=list(FAST), emulator=emu)
    aid = emu.ids("demo", "hello")[2]
    os.kill(emu.proc.pid, signal.SIGSTOP)
    try:
        began = time.monotonic()
        cat = subprocess.Popen(["cat", m.p("packages", "demo", "hello", "activations", aid,
                                           "status")],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               env=dict(os.environ, LC_ALL="C"))
        time.sleep(0.5)
        t0 = time.monotonic()
        busy = run(["fusermount3", "-u", m.path], timeout=UMOUNT_S * 4)
        assert time.monotonic() - t0 < UMOUNT_S
        assert busy.returncode != 0 and b"busy" in busy.stderr.lower(), busy.stderr
        _, err = cat.communicate(timeout=fail_bound() * 3)
        assert cat.returncode != 0 and b"Connection timed out" in err, err
        assert time.monotonic() - began < fail_bound()
        assert_daemon_healthy(m)
        took, exited = timed_unmount(m)
        assert took < UMOUNT_S and exited < UMOUNT_S + EXIT_S, (took, exited)
    finally:
        os.kill(emu.proc.pid, signal.SIGCONT)


def test_unmount_cancels_background_fetches_stuck_on_the_server(harness, femu):
    """ls starts prefetching 250 records; every record request then hangs. With timeout=5
    and retries=3 one stuck record could hold a worker for 20 s; unmounting must cancel them
    all instead of waiting."""
    m = harness.mount(options=["timeout=5", "retries=3", "prefetch=4"], emulator=femu)
    femu.faults(fault("hang", REC_PATH, seconds=10))
    listing = fsop("list", m.p("packages", "paging", "many", "activations"))
    assert listing.ok and len(listing.names) == 251
    femu.wait_logged(lambda reqs: len(reqs) >= 4, timeout=5)     # workers are stuck now
    time.sleep(0.5)
    assert_daemon_healthy(m)
    took, exited = timed_unmount(m)
    assert took < UMOUNT_S and exited < 3, (took, exited)


def test_mount_while_nothing_listens_then_fails_fast(harness, femu):
    """ncffs(1): an unreachable API at start-up only warns; later accesses fail with
    ECONNREFUSED in bounded time and the daemon stays up."""
    endpoint = f"http://127.0.0.1:{unused_port()}/api/v2"
    began = time.monotonic()
    m = harness.mount(options=list(FAST), endpoint=endpoint)
    assert time.monotonic() - began < fail_bound(attempt_s=0.5) + 2
    assert "warning" in m.stderr() and "mounting anyway" in m.stderr(), m.stderr()
    for o in fsops([("list", m.p("packages")), ("stat", m.p("packages", "demo"))]):
        assert o.errno == errno.ECONNREFUSED and o.elapsed < fail_bound(attempt_s=0.5), o
    assert fsop("list", m.p()).ok                   # the fixed top level needs no API
    assert_daemon_healthy(m)
    took, exited = timed_unmount(m)
    assert took < UMOUNT_S and exited < UMOUNT_S + EXIT_S


def test_mount_while_the_server_hangs_then_recovers(harness, femu):
    """The start-up probe gives up after timeout x (retries + 1) and mounts anyway; once the
    server answers again, so does the mount."""
    femu.faults(fault("hang", "", seconds=4))
    began = time.monotonic()
    m = harness.mount(options=list(FAST), emulator=femu)
    assert time.monotonic() - began < fail_bound() + 2
    assert "mounting anyway" in m.stderr(), m.stderr()
    femu.clear()
    got = fsop("list", m.p("packages", "demo", "hello", "activations"))
    assert got.ok and sorted(got.names) == sorted(femu.ids("demo", "hello") + ["latest"])
    assert_daemon_healthy(m)
