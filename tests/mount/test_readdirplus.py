"""READDIRPLUS: a directory listing carries an entry's attributes when the daemon's memory holds
them already (an activation's files once its record was fetched), so a walker (grep -r, rg,
find, du) looks an activation up once instead of once per file. Checked here with the kernel's
own requests (libfuse's `-o debug` lines): a walk's LOOKUPs, a listing that fetches no record
and moves no readahead, attributes that agree with the bytes read, and lookup counts handed
out with a listing that the kernel gives back (inodes_known in /.ncffs-stats falls back once
the kernel drops its caches)."""

import os
import re
import subprocess

import pytest

from unix_support import calls_of, module_emulators, stats_of, wait_until  # noqa: F401

N = 30
TOP = ("packages", "bench", "load", "activations")
# What a walk may look up besides the activations: the path down to activations/ and the
# stats file.
PATH_LOOKUPS = 8
FILES_PER_ACTIVATION = 7
WAIT_S = 30


@pytest.fixture(scope="module")
def emu(module_emulators):
    return module_emulators("--bench-activations", str(N))


def opcodes(m, since=0):
    """The kernel's requests in libfuse's debug lines after offset since: {opcode: count}."""
    text = open(m.stderr_path, errors="replace").read()[since:]
    counts = {}
    for name in re.findall(r"opcode: ([A-Z_]+) ", text):
        counts[name] = counts.get(name, 0) + 1
    return counts


ID_RE = re.compile(r"[0-9a-f]{32}")


def activation_ids(top):
    """The activation folders of a listing (it also holds `latest`)."""
    return sorted(name for name in os.listdir(top) if ID_RE.fullmatch(name))


def debug_offset(m):
    return len(open(m.stderr_path, errors="replace").read())


def grep_all(m):
    result = subprocess.run(["grep", "-r", "-c", "ERROR", m.p(*TOP)], capture_output=True,
                            timeout=120)
    assert result.returncode in (0, 1) and not result.stderr, result.stderr
    return result.stdout.decode()


def test_a_walk_looks_each_activation_up_once_not_each_file(harness, emu):
    m = harness.mount(["debug"], emulator=emu)
    emu.settle_and_reset()
    before = debug_offset(m)
    counted = grep_all(m)
    seen = opcodes(m, before)
    files = counted.count("\n")
    assert files == N * FILES_PER_ACTIVATION, counted[:500]
    # READDIRPLUS carried every file's attributes: no LOOKUP per file (7 × N without it)
    assert seen.get("READDIRPLUS", 0) >= N, seen
    assert seen.get("LOOKUP", 0) <= N + PATH_LOOKUPS, seen
    records = [c for c in calls_of(emu) if c.kind == "record"]
    assert len(records) == N and len({c.id for c in records}) == N


def test_attributes_from_a_listing_agree_with_the_bytes(harness, emu):
    m = harness.mount(emulator=emu)
    top = m.p(*TOP)
    for activation in activation_ids(top):
        folder = os.path.join(top, activation)
        record = emu.record("bench", "load", activation)
        with os.scandir(folder) as entries:     # attributes as the listing brought them
            sizes = {e.name: e.stat().st_size for e in entries}
        assert len(sizes) == FILES_PER_ACTIVATION
        for name, size in sizes.items():
            with open(os.path.join(folder, name), "rb") as f:
                data = f.read()
            assert size == len(data), (activation, name)
        with open(os.path.join(folder, "logs.txt")) as f:
            assert f.read() == "".join(line + "\n" for line in record["logs"])


def test_a_listing_fetches_no_record_and_gives_its_lookups_back(harness, emu):
    m = harness.mount(emulator=emu)
    top = m.p(*TOP)
    os.listdir(top)                             # the listing's page, and its readahead
    emu.settle_and_reset()
    # a second listing of a known directory: entries of records not in memory carry nothing
    # and cost nothing; neither does listing every activation's directory twice
    assert len(activation_ids(top)) == N
    for _ in range(2):
        for activation in activation_ids(top):
            assert len(os.listdir(os.path.join(top, activation))) == FILES_PER_ACTIVATION
    assert [c for c in calls_of(emu) if c.kind == "record"] == []
    grep_all(m)
    stats = m.p(".ncffs-stats")
    held = stats_of(stats)["inodes_known"]
    assert held >= N * (1 + FILES_PER_ACTIVATION)
    # The kernel forgets what it drops; every lookup a listing counted comes back with it.
    drop_kernel_caches()
    wait_until(lambda: stats_of(stats)["inodes_known"] <= PATH_LOOKUPS, WAIT_S,
               "the kernel's forgets of every inode the walk held")


@pytest.fixture(scope="module")
def many(module_emulators):
    return module_emulators()                   # the test data: paging/many has 250 runs


def drop_kernel_caches():
    subprocess.run(["sync"], check=True)
    with open("/proc/sys/vm/drop_caches", "w") as f:
        f.write("2\n")


def test_a_listing_longer_than_one_reply_lists_each_entry_once(harness, many):
    """250 activations whose records are all in memory: the first reply of the listing fills up
    with attributes mid-list (the entry that did not fit gives its lookup back), the rest comes
    in further replies; every id once, and nothing held after the kernel forgets."""
    m = harness.mount(emulator=many)
    top = m.p("packages", "paging", "many", "activations")
    result = subprocess.run(["grep", "-r", "-l", "hello", top], capture_output=True, timeout=120)
    assert result.returncode in (0, 1) and not result.stderr
    stats = m.p(".ncffs-stats")
    drop_kernel_caches()
    wait_until(lambda: stats_of(stats)["inodes_known"] <= PATH_LOOKUPS, WAIT_S, "forgets")
    base = stats_of(stats)["inodes_known"]
    many.settle_and_reset()
    listed = [name for name in os.listdir(top) if ID_RE.fullmatch(name)]
    assert sorted(listed) == sorted(many.ids("paging", "many"))
    assert len(set(listed)) == len(listed) == 250
    for activation in listed:
        os.stat(os.path.join(top, activation))
    assert [c for c in calls_of(many) if c.kind == "record"] == []
    assert stats_of(stats)["inodes_known"] >= 250
    drop_kernel_caches()
    # exactly as many as before the listing: not one lookup kept for an entry that did not fit
    wait_until(lambda: stats_of(stats)["inodes_known"] <= base, WAIT_S, "forgets")
