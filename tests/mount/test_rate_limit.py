"""Walking a tree behind a gateway that throttles (the emulator's --rate): grep -r, find and
rsync see every activation the emulator has, with the right bytes, however many 429s the
gateway answers, and when ncffs does give up (throttle_wait) the walkers are told so with EIO,
never skipped quietly with EAGAIN or ENOENT. The scheduler's state is in /.ncffs-stats."""

import os
import re
import subprocess

import pytest

from conftest import out, run
from fault_support import expected_file

N = 240                     # activations of bench/load
RATE = 40                   # requests a second the gateway allows
OWNER = ("packages", "bench", "load", "activations")
ID_RE = re.compile(r"/activations/([0-9a-f]{32})/")


def stats_of(m):
    with open(m.p(".ncffs-stats")) as f:
        return dict(line.rsplit(" ", 1) for line in f.read().splitlines() if " " in line)


def error_lines(emu, activation):
    text = expected_file(emu.record("bench", "load", activation), "logs.txt")
    return sum(b"ERROR" in line for line in text.splitlines())


def logs_counts(stdout):
    """grep -c's lines for logs.txt files: activation id -> matching lines. (Not grep
    --include=logs.txt: grep skips an entry it cannot stat whose name does not match the
    glob without a word, whatever the errno.)"""
    counts = {}
    for line in stdout.decode().splitlines():
        path, count = line.rsplit(":", 1)
        if path.endswith("/logs.txt"):
            counts[ID_RE.search(path).group(1)] = int(count)
    return counts


def throttled(emu):
    return sum(r["status"] == 429 for r in emu.requests())


def test_grep_find_rsync_see_everything_behind_a_rate_limit(harness, emulator_factory, tmp_path):
    emu = emulator_factory("--bench-activations", str(N), "--rate", str(RATE),
                           "--rate-code", "410")
    m = harness.mount(emulator=emu)
    ids = emu.ids("bench", "load")
    expected = {a: error_lines(emu, a) for a in ids}
    assert any(expected.values())

    top = m.p(*OWNER)
    grep = run(["grep", "-r", "-c", "ERROR", top], timeout=300)
    assert grep.returncode == 0 and grep.stderr == b"", grep.stderr.decode()
    counts = logs_counts(grep.stdout)
    assert counts == expected          # every activation, each with its own count
    assert throttled(emu) > 0, "the gateway never throttled: the test proves nothing"

    found = out(["find", top, "-name", "status"]).split()
    assert sorted(ID_RE.search(p).group(1) for p in found) == sorted(ids)

    copy = tmp_path / "copy"
    rsync = run(["rsync", "-rl", top + "/", str(copy)], timeout=300)
    assert rsync.returncode == 0, rsync.stderr.decode()
    assert sorted(os.listdir(copy)) == sorted(ids + ["latest"])
    for activation in ids[::7]:
        record = emu.record("bench", "load", activation)
        for name in ("status", "logs.txt"):
            assert (copy / activation / name).read_bytes() == expected_file(record, name)

    st = stats_of(m)
    assert int(st["sched_throttled"]) > 0
    assert 1 <= int(st["sched_limit"]) <= 64
    for key in ("sched_in_flight", "sched_queued_interactive", "sched_queued_readahead",
                "sched_queued_background", "sched_paused_ms"):
        assert key in st


def test_giving_up_is_eio_that_walkers_report(harness, emulator_factory):
    """Three records the gateway always throttles, behind a rate limit, and a mount that
    waits 1 s for them: grep names exactly those three with EIO (not EAGAIN, which it would
    skip without a word) and reads every other one right; the log has one line per burst."""
    emu = emulator_factory("--bench-activations", "40", "--rate", str(RATE))
    ids = emu.ids("bench", "load")
    stuck = set(ids[5:8])
    emu.config(faults=[{"path_regex": a, "status": 429, "retry_after": 1} for a in stuck])
    m = harness.mount(emulator=emu, options=["throttle_wait=1", "retries=0", "prefetch=0"])
    top = m.p(*OWNER)
    grep = run(["grep", "-r", "-c", "ERROR", top], timeout=300)
    errors = grep.stderr.decode()
    assert grep.returncode == 2, (grep.returncode, errors)
    failed = [line for line in errors.splitlines() if line]
    assert all(line.endswith("Input/output error") for line in failed), errors
    assert {re.search(r"/activations/([0-9a-f]{32}):", line).group(1)
            for line in failed} == stuck
    counts = logs_counts(grep.stdout)
    assert counts == {a: error_lines(emu, a) for a in ids if a not in stuck}
    gave_up = [line for line in m.stderr().splitlines() if "gave up" in line]
    assert 1 <= len(gave_up) < len(failed)       # one line per burst, not one per failure
    assert "429" in gave_up[0]
