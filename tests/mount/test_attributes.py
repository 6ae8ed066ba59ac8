"""Attributes: exact sizes, mtimes = record end (ms), modes 0555/0444, owner, ls -lt order."""

import os
import stat

import pytest

from conftest import ACTIVATION_FILES, LATEST, activation_ids, out, run


@pytest.fixture
def mnt(shared_mnt):
    """These tests only look: one mount serves the whole module."""
    return shared_mnt


def activations_dir(m, pkg, action):
    return m.p("packages", pkg, action, "activations")


def stat_fields(paths, fmt):
    """GNU stat -c FMT over many paths in one run; -> one line per path."""
    return out(["stat", "-c", fmt, *paths]).splitlines()


def end_text(end_ms):
    """An epoch-ms time as `stat -c %.3Y` prints it."""
    return f"{end_ms // 1000}.{end_ms % 1000:03d}"


def test_stat_size_equals_bytes_read(mnt, emulator):
    for pkg, action in (("demo", "hello"), ("logs", "empty"), ("logs", "long")):
        top = activations_dir(mnt, pkg, action)
        out(["ls", top])
        for activation in emulator.ids(pkg, action)[:6]:
            paths = [f"{top}/{activation}/{name}" for name in ACTIVATION_FILES]
            sizes = [int(s) for s in stat_fields(paths, "%s")]
            for path, size in zip(paths, sizes):
                data = run(["cat", path], check=True).stdout
                assert size == len(data), path
                assert os.stat(path).st_size == len(data), path
                assert out(["wc", "-c", path]).split()[0] == str(len(data))
    path = mnt.p("packages", "demo", "hello", "action.json")
    assert os.stat(path).st_size == len(run(["cat", path], check=True).stdout)


def test_size_is_exact_before_the_file_is_ever_read(harness, emulator):
    """stat first, on a fresh mount: the size must already be the rendered size."""
    fresh = harness.mount()
    activation = emulator.ids("demo", "resize-image")[2]
    base = f"{activations_dir(fresh, 'demo', 'resize-image')}/{activation}"
    sizes = {name: os.stat(f"{base}/{name}").st_size for name in ACTIVATION_FILES}
    for name, size in sizes.items():
        with open(f"{base}/{name}", "rb") as f:
            assert len(f.read()) == size, name


def test_activation_mtime_is_record_end_in_ms(mnt, emulator):
    top = activations_dir(mnt, "demo", "hello")
    out(["ls", top])
    for activation in emulator.ids("demo", "hello")[:8]:
        end = emulator.record("demo", "hello", activation)["end"]
        paths = [f"{top}/{activation}"] + [f"{top}/{activation}/{n}" for n in ACTIVATION_FILES]
        assert stat_fields(paths, "%.3Y") == [end_text(end)] * len(paths), activation
        for path in paths:
            assert os.stat(path).st_mtime_ns == end * 1_000_000, path


def test_mtime_uses_end_also_when_duration_is_a_string(mnt, emulator):
    for activation in emulator.ids("logs", "empty"):
        record = emulator.record("logs", "empty", activation)
        path = f"{activations_dir(mnt, 'logs', 'empty')}/{activation}/duration"
        assert os.stat(path).st_mtime_ns == record["end"] * 1_000_000


def test_modes_and_owner_at_every_level(mnt, emulator):
    activation = emulator.ids("billing", "invoice")[0]
    act = f"{activations_dir(mnt, 'billing', 'invoice')}/{activation}"
    dirs = [mnt.p(), mnt.p("packages"), mnt.p("packages", "billing"),
            mnt.p("packages", "billing", "invoice"), activations_dir(mnt, "billing", "invoice"),
            act, mnt.p("packages", "-")]
    files = [mnt.p("packages", "billing", "invoice", "action.json")] + \
        [f"{act}/{name}" for name in ACTIVATION_FILES]
    owner = f"{os.getuid()} {os.getgid()}"
    assert stat_fields(dirs, "%A %a %u %g") == [f"dr-xr-xr-x 555 {owner}"] * len(dirs)
    assert stat_fields(files, "%A %a %u %g") == [f"-r--r--r-- 444 {owner}"] * len(files)
    for path in dirs:
        st = os.stat(path)
        assert stat.S_ISDIR(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o555, path
        assert (st.st_uid, st.st_gid) == (os.getuid(), os.getgid())
    for path in files:
        st = os.stat(path)
        assert stat.S_ISREG(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o444, path
        assert (st.st_uid, st.st_gid) == (os.getuid(), os.getgid())


def test_ls_l_shows_modes_and_sizes(mnt, emulator):
    activation = emulator.ids("demo", "hello")[1]
    base = f"{activations_dir(mnt, 'demo', 'hello')}/{activation}"
    lines = out(["ls", "-l", base]).splitlines()[1:]     # drop "total N"
    assert [line.split()[-1] for line in lines] == list(ACTIVATION_FILES)
    for line in lines:
        fields = line.split()
        assert fields[0] == "-r--r--r--"
        data = run(["cat", f"{base}/{fields[-1]}"], check=True).stdout
        assert int(fields[4]) == len(data)
    for line in out(["ls", "-l", mnt.p("packages")]).splitlines()[1:]:
        assert line.startswith("dr-xr-xr-x")


def test_ls_lt_orders_activations_by_end(mnt, emulator):
    for pkg, action in (("demo", "hello"), ("demo", "resize-image")):
        ends = {a: emulator.record(pkg, action, a)["end"] for a in emulator.ids(pkg, action)}
        newest_first = sorted(ends, key=lambda a: (-ends[a], a))
        top = activations_dir(mnt, pkg, action)
        # `latest` is a symlink with the mount's time; the runs sort among themselves by end
        assert activation_ids(out(["ls", "-t", top]).split()) == newest_first
        assert activation_ids(out(["ls", "-tr", top]).split()) == newest_first[::-1]
        lines = out(["ls", "-lt", "--time-style=+%s", top]).splitlines()[1:]
        listed = [(line.split()[6], int(line.split()[5])) for line in lines
                  if line.split()[6] != LATEST]
        assert [name for name, _ in listed] == newest_first
        assert all(secs == ends[name] // 1000 for name, secs in listed)


def test_symlinks_are_0555_and_point_where_documented(mnt, emulator):
    top = mnt.p("packages", "demo", "resize-image")
    failed = out(["ls", f"{top}/failed"]).split()
    assert failed
    links = [f"{top}/activations/{LATEST}"] + [f"{top}/failed/{a}" for a in failed]
    owner = f"{os.getuid()} {os.getgid()}"
    # no write bit anywhere in a read-only tree; search like the directories they lead to
    assert stat_fields(links, "%A %u %g") == [f"lr-xr-xr-x {owner}"] * len(links)
    for link in links:
        st = os.lstat(link)
        assert stat.S_ISLNK(st.st_mode) and st.st_size == len(os.readlink(link))
