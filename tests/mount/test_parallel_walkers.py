"""Parallel walkers (issue 22): ripgrep and fd walk a tree with several threads that pop
directories from a stack, so they look the entries of a listing up last first, several at once.

- The kernel sends the lookups of one directory's entries at once (FUSE_PARALLEL_DIROPS, which
  libfuse before 3.17 never sends): 8 concurrent stats of 8 activations overlap in the API.
- rg and fdfind find what the emulator's records say, over activations/, days/<day>/, failed/,
  recent/ and a trigger's activations/, with every record fetched once.
- Their walk gets readahead: beyond the first window, which `ls` alone queues, records arrive
  many at once, while a 2-thread walker on its own has at most 2 lookups in flight.
- What a walk is not stays cheap: `cat` of 5 random activations after an `ls` costs at most
  5 + 64 records; 15 random lookups in a burst at most 15 + 64; 40 are a walk.

Request counts come from the emulator's request log; the one time measure is the spacing of
the API's own receive stamps against its injected latency (no wall clock of ours)."""

import collections
import datetime
import os
import random
import shutil
import subprocess

import pytest

from conftest import WRAPPER, out, run
from unix_support import calls_of, module_emulators, pages_for, quiet_calls, record_calls  # noqa: F401

N = 300
LATENCY_MS = 100
FIRST_WINDOW = 64               # prefetch.h: PREFETCH_FIRST_WINDOW
WALK_MIN = 16                   # readahead.h: READAHEAD_WALK_MIN
WALKER_THREADS = 2              # -j: at most this many lookups of the walker's own in flight
AT_ONCE = 6                     # more than WALKER_THREADS + its neighbour's: readahead's
RECENT = 20                     # -o recent default
OWNER = "bench/load"
SERIAL_LATENCY_MS = 300         # the parallel-lookup test's latency

pytestmark = pytest.mark.skipif(not (shutil.which("rg") and shutil.which("fdfind")),
                                reason="needs ripgrep and fd-find (make deps)")


@pytest.fixture(scope="module")
def walk_emu(module_emulators):
    """300 activations over 2 days (about 150 a day), 100 ms per API request."""
    return module_emulators("--bench-activations", str(N), "--spread-days", "2",
                            "--latency-ms", str(LATENCY_MS))


@pytest.fixture(scope="module")
def truth(walk_emu):
    """{id: raw record} of every bench activation, from the emulator's admin API."""
    return {a: walk_emu.record("bench", "load", a) for a in walk_emu.ids("bench", "load")}


@pytest.fixture
def top(harness, walk_emu):
    """A fresh mount, the action directory reached, the request log reset."""
    m = harness.mount(emulator=walk_emu)
    path = m.p("packages", "bench", "load")
    assert os.path.isdir(path)
    walk_emu.settle_and_reset()
    return path


def has_error(record):
    return any("ERROR" in line for line in record["logs"])


def is_failed(record):
    return record["response"]["status"] != "success"


def ids_in(output, below):
    """The activation ids of the paths a tool printed, each path under below/<id>/."""
    found = []
    for line in output.decode().splitlines():
        parts = line.split("/")
        assert parts[0] == below and len(parts) == 3, line
        found.append(parts[1])
    assert len(found) == len(set(found)), "a path printed twice"
    return set(found)


def most_at_once(calls_ts, span_ms):
    """The most API requests received within any span_ms."""
    ts = sorted(calls_ts)
    most, lo = 0, 0
    for hi, t in enumerate(ts):
        while t - ts[lo] >= span_ms:
            lo += 1
        most = max(most, hi - lo + 1)
    return most


def record_stamps(emu, exclude=()):
    """Receive stamps (ms) of the record GETs logged since the reset, but those of exclude."""
    stamps = []
    for r in emu.requests():
        parts = r["path"].rstrip("/").split("/")
        if len(parts) >= 2 and parts[-2] == "activations" and parts[-1] not in exclude:
            stamps.append(r["ts"])
    return stamps


def list_ends(emu):
    """The records at both ends of the list, which failed/ and recent/ read to learn its
    order (views.h)."""
    ids = emu.ids("bench", "load")
    return {ids[0], ids[-1]}


def walk(cwd, argv):
    """Run a walker in cwd; -> its stdout (rg exits 1 when nothing matched)."""
    result = run(argv, cwd=cwd)
    assert result.returncode in (0, 1), result.stderr.decode(errors="replace")
    return result.stdout


# ---------------------------------------------------------------------------------------------
# The kernel no longer serialises lookups of one directory.

def barrier_stats(paths):
    """One `stat` per path, all released at once by closing a pipe; -> exit statuses."""
    read_fd, write_fd = os.pipe()
    procs = []
    try:
        for path in paths:
            procs.append(subprocess.Popen(["sh", "-c", 'read -r _; exec stat -c %n -- "$0"', path],
                                          stdin=read_fd, stdout=subprocess.DEVNULL,
                                          stderr=subprocess.PIPE))
        os.close(read_fd)
        read_fd = None
        os.close(write_fd)          # EOF: every reader's `read` returns
        write_fd = None
        return [p.wait(60) for p in procs]
    finally:
        for fd in (read_fd, write_fd):
            if fd is not None:
                os.close(fd)
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()


def test_lookups_of_one_directory_reach_the_api_at_once(harness, walk_emu):
    """Without FUSE_PARALLEL_DIROPS the kernel holds the directory's lock across each lookup:
    the next record request could only arrive a full latency after the one before."""
    m = harness.mount(emulator=walk_emu, options=["prefetch=0"])
    acts = m.p("packages", "bench", "load", "activations")
    assert os.path.isdir(os.path.dirname(acts))
    chosen = walk_emu.ids("bench", "load")[100:108]
    walk_emu.settle_and_reset()
    walk_emu.config(latency_ms=SERIAL_LATENCY_MS)
    try:
        assert barrier_stats([f"{acts}/{a}" for a in chosen]) == [0] * len(chosen)
    finally:
        walk_emu.config(latency_ms=LATENCY_MS)
    stamps = sorted(record_stamps(walk_emu))
    assert len(stamps) == len(chosen)
    gaps = [b - a for a, b in zip(stamps, stamps[1:])]
    assert min(gaps) < SERIAL_LATENCY_MS, f"one at a time: {gaps}"


# ---------------------------------------------------------------------------------------------
# rg and fd over activations/: right answers, each record once, and readahead for the walk.

WALKERS = (
    ("rg", ("rg", "-j", str(WALKER_THREADS), "-l", "ERROR", "activations", "-g", "logs.txt"),
     "logs.txt", has_error),
    ("rg-j8", ("rg", "-j", "8", "-l", "ERROR", "activations", "-g", "logs.txt"),
     "logs.txt", has_error),
    ("fdfind", ("fdfind", "-j", str(WALKER_THREADS), "-t", "f", "logs.txt", "activations"),
     "logs.txt", lambda record: True),
)


@pytest.mark.parametrize("name,argv,leaf,wanted", WALKERS, ids=[w[0] for w in WALKERS])
def test_walkers_find_what_the_records_hold(top, walk_emu, truth, name, argv, leaf, wanted):
    output = walk(top, argv)
    assert ids_in(output, "activations") == {a for a, r in truth.items() if wanted(r)}
    assert all(line.endswith("/" + leaf) for line in output.decode().splitlines())
    calls = quiet_calls(walk_emu)
    fetched = record_calls(calls, OWNER)
    assert set(fetched) == set(truth) and max(fetched.values()) == 1, fetched.most_common(3)
    assert len([c for c in calls if c.kind == "activations"]) == pages_for(N)


def test_a_two_thread_walk_gets_readahead(top, walk_emu):
    """rg -j2 has at most 2 lookups of its own in flight; `ls` alone queues the first window
    (either end of the list, whatever its order). Beyond those, many records arriving at once
    are the readahead that recognised the walk."""
    ids = walk_emu.ids("bench", "load")
    walk(top, ("rg", "-j", str(WALKER_THREADS), "-l", "ERROR", "activations", "-g", "logs.txt"))
    walk_emu.settle()
    ends = set(ids[:FIRST_WINDOW]) | set(ids[-FIRST_WINDOW:])
    stamps = record_stamps(walk_emu, exclude=ends)
    assert len(stamps) == N - len(ends)
    assert most_at_once(stamps, LATENCY_MS) >= AT_ONCE


# ---------------------------------------------------------------------------------------------
# Every listing that holds activations.

def test_rg_follows_failed_links(top, walk_emu, truth):
    failed = {a for a, r in truth.items() if is_failed(r)}
    assert len(failed) > WALK_MIN, "the data set needs failures enough for a walk"
    output = walk(top, ("rg", "-L", "-j", str(WALKER_THREADS), "-l", "ERROR", "failed",
                        "-g", "logs.txt"))
    assert ids_in(output, "failed") == failed
    fetched = record_calls(quiet_calls(walk_emu), OWNER)
    assert failed <= set(fetched) <= failed | list_ends(walk_emu)
    assert max(fetched.values()) == 1
    assert most_at_once(record_stamps(walk_emu), LATENCY_MS) >= AT_ONCE


def test_fd_follows_recent_links(top, walk_emu):
    newest = walk_emu.ids("bench", "load")[:RECENT]
    output = walk(top, ("fdfind", "-L", "-t", "f", "status", "recent"))
    assert ids_in(output, "recent") == set(newest)
    fetched = record_calls(quiet_calls(walk_emu), OWNER)
    assert set(newest) <= set(fetched) <= set(newest) | list_ends(walk_emu)
    assert max(fetched.values()) == 1


def day_of(record):
    """The local date of a record's start, as days/ names it."""
    return datetime.datetime.fromtimestamp(record["start"] / 1000).strftime("%Y-%m-%d")


def test_rg_walks_a_day(top, walk_emu, truth):
    by_day = collections.defaultdict(set)
    for a, r in truth.items():
        by_day[day_of(r)].add(a)
    day = max(by_day, key=lambda d: len(by_day[d]))
    members = by_day[day]
    assert len(members) > WALK_MIN
    output = walk(top, ("rg", "-L", "-j", str(WALKER_THREADS), "-l", "ERROR", f"days/{day}",
                        "-g", "logs.txt"))
    prefix = f"days/{day}/"
    lines = output.decode().splitlines()
    assert all(line.startswith(prefix) and line.endswith("/logs.txt") for line in lines)
    assert {line[len(prefix):].split("/")[0] for line in lines} == \
        {a for a in members if has_error(truth[a])}
    fetched = record_calls(quiet_calls(walk_emu), OWNER)
    assert set(fetched) == members and max(fetched.values()) == 1


def test_rg_walks_trigger_activations(harness, emulator):
    """The shared test data set's triggers: rg finds every activation's status file."""
    m = harness.mount(emulator=emulator)
    triggers = m.p("triggers")
    names = sorted(os.listdir(triggers))
    assert names
    emulator.settle_and_reset()
    output = walk(triggers, ("fdfind", "-t", "f", "status", *names))
    want = {f"{t}/activations/{a}/status" for t in names
            for a in emulator.admin("GET", f"/trigger-ids/{t}")["ids"]}
    assert set(output.decode().splitlines()) == want
    fetched = record_calls(quiet_calls(emulator))
    assert sum(fetched.values()) == len(want)


# ---------------------------------------------------------------------------------------------
# What a walk is not.

def lookups_in_a_burst(top, ids):
    """One process stats activations/<id> of each id, one after the other."""
    out(["stat", "-c", "%n", *[f"activations/{a}" for a in ids]], cwd=top)


def test_cat_of_five_random_activations_costs_at_most_a_window(top, walk_emu):
    ids = walk_emu.ids("bench", "load")
    listed = [n for n in os.listdir(f"{top}/activations") if n != "latest"]   # the first window
    assert len(listed) == N
    picked = random.Random(22).sample(ids, 5)
    run(["sh", "-c", 'for a; do cat "activations/$a/status" >/dev/null || exit 1; done',
         "sh", *picked], cwd=top, check=True)
    fetched = record_calls(quiet_calls(walk_emu), OWNER)
    assert set(picked) <= set(fetched)
    assert len(fetched) <= 5 + FIRST_WINDOW, len(fetched)


def test_a_few_random_lookups_are_no_walk_and_many_are(top, walk_emu):
    ids = walk_emu.ids("bench", "load")
    os.listdir(f"{top}/activations")
    order = random.Random(15).sample(ids, len(ids))
    few = order[:WALK_MIN - 1]
    lookups_in_a_burst(top, few)
    fetched = record_calls(quiet_calls(walk_emu), OWNER)
    assert len(fetched) <= len(few) + FIRST_WINDOW, len(fetched)
    many = order[WALK_MIN - 1:WALK_MIN - 1 + 40]
    lookups_in_a_burst(top, many)
    fetched = record_calls(quiet_calls(walk_emu), OWNER)
    assert len(fetched) > len(few) + len(many) + FIRST_WINDOW, len(fetched)
    assert max(fetched.values()) == 1
