"""The nightly updatedb stays out of ncffs mounts (issue 19).

The real updatedb (plocate's) indexes a directory holding a live mount, reading the PRUNEFS
line that tools/updatedb-prune (used by `make install` and the Debian package) wrote into a
copy of this machine's /etc/updatedb.conf. plocate's updatedb only ever reads
/etc/updatedb.conf, so the copy is bind-mounted over it in a private mount namespace
(`unshare -m`): the host's file is never touched, and updatedb parses the line itself.

With fuse.ncffs in PRUNEFS the walk costs 0 API requests and the database holds nothing from
the mount; the same walk with the line as it was before (Debian's list, which names fuse.sshfs
but not fuse.ncffs) fetches records and indexes activation files, so the first test cannot pass
by accident. Needs root (unshare -m, bind mounts), like the mount(8) tests."""

import os
import shutil

import pytest

from conftest import REPO, run

PRUNE = REPO / "tools" / "updatedb-prune"
HOST_CONF = "/etc/updatedb.conf"
UPDATEDB_TIMEOUT_S = 60


def require_updatedb():
    if not shutil.which("updatedb") or not shutil.which("plocate"):
        pytest.skip("plocate is not installed (apt-get install plocate)")
    if not os.path.exists(HOST_CONF):
        pytest.skip(f"{HOST_CONF} is absent (plocate ships it as a conffile)")
    if os.geteuid() != 0 or not shutil.which("unshare"):
        pytest.skip("needs root and unshare(1) to show updatedb a private updatedb.conf")


def conf_without_ncffs(path):
    """A copy of this machine's updatedb.conf as it was before ncffs was installed."""
    shutil.copyfile(HOST_CONF, path)
    run([PRUNE, "remove", path], check=True)
    assert run([PRUNE, "check", path]).returncode == 1
    return path


def prunefs_line(path):
    return [l for l in path.read_text().splitlines() if l.lstrip().startswith("PRUNEFS")]


def index(root, conf, db):
    """Run the real updatedb over root with conf as its /etc/updatedb.conf; -> the paths it
    stored (plocate over the new database)."""
    script = f'mount --bind "$1" {HOST_CONF} && exec updatedb -U "$2" -o "$3"'
    result = run(["unshare", "-m", "--propagation", "private", "sh", "-c", script, "sh",
                  conf, root, db], timeout=UPDATEDB_TIMEOUT_S)
    assert result.returncode == 0, result.stderr.decode(errors="replace")
    listed = run(["plocate", "-d", db, "-r", "^" + str(root) + "/"])
    return set(listed.stdout.decode().splitlines())


def test_with_prunefs_entry_updatedb_makes_no_request(harness, mnt, emulator, tmp_path):
    require_updatedb()
    before = conf_without_ncffs(tmp_path / "before.conf")
    after = tmp_path / "updatedb.conf"
    shutil.copyfile(before, after)
    run([PRUNE, "add", after], check=True)
    run([PRUNE, "add", after], check=True)          # twice: still one entry
    old, new = prunefs_line(before), prunefs_line(after)
    assert old and [l[:-1] + ' fuse.ncffs"' for l in old] == new   # the rest kept as it was
    (tmp_path / "home" / "witness").write_text("indexed\n")

    stored = index(tmp_path, after, tmp_path / "with.db")

    assert emulator.requests() == []
    assert str(tmp_path / "home" / "witness") in stored    # updatedb did walk tmp_path
    assert not [p for p in stored if p.startswith(mnt.p() + "/")]


def test_without_prunefs_entry_updatedb_walks_the_mount(harness, mnt, emulator, tmp_path):
    """The control: the line as Debian ships it lets updatedb into the mount."""
    require_updatedb()
    before = conf_without_ncffs(tmp_path / "before.conf")

    stored = index(tmp_path, before, tmp_path / "without.db")

    fetched = emulator.requests()
    assert fetched, "updatedb walked the mount without a single API request?"
    assert any(p.endswith("/activation.json") and p.startswith(mnt.p() + "/") for p in stored)
