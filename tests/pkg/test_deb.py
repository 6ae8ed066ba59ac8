"""The Debian package, installed on this machine and removed again (issue 19).

`make deb` builds ncffs_VERSION_ARCH.deb (lintian passing it is part of the target); then
`apt-get install ./ncffs_*.deb`; the maintainer scripts put fuse.ncffs into PRUNEFS of
/etc/updatedb.conf; an /etc/fstab line of type fuse.ncffs mounts with `mount MOUNTPOINT`
(mount(8) -> mount.fuse3 -> /usr/bin/ncffs), `mount -t ncffs` works through the package's
mount.ncffs, a file reads right, `umount` ends the daemon; `apt-get purge ncffs` leaves none
of the package's files and the updatedb.conf it found.

This test changes the host: a package, a line of /etc/fstab, /etc/updatedb.conf. Everything is
put back in a `finally`, also when the test fails: mounts undone, daemons stopped, the package
purged, both files rewritten with the bytes they had. It runs as root only, and skips when an
ncffs package is installed already (that one is the admin's, not the test's).

The mounts run with PATH=/usr/sbin:/usr/bin:/sbin:/bin, so a `make install` copy in
/usr/local/bin cannot stand in for the packaged binary. Standard library and pytest only."""

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "mount"))
from conftest import ACCESS_KEY, SECRET_KEY, Emulator, mounted_fstype  # noqa: E402

FSTAB = Path("/etc/fstab")
UPDATEDB_CONF = Path("/etc/updatedb.conf")
PRUNE = REPO / "tools" / "updatedb-prune"
PACKAGED_NCFFS = "/usr/bin/ncffs"
SYSTEM_PATH = "/usr/sbin:/usr/bin:/sbin:/bin"
BUILD_TIMEOUT_S = 900           # make deb on 2 cores: compile, dh, lintian
APT_TIMEOUT_S = 300
MOUNT_TIMEOUT_S = 30
POLL_S = 0.05
# Files the package must ship, besides the binary.
SHIPPED = ("/usr/bin/ncffs", "/sbin/mount.ncffs", "/usr/libexec/ncffs/updatedb-prune",
           "/usr/share/man/man1/ncffs.1.gz", "/usr/share/man/man8/mount.ncffs.8.gz",
           "/usr/share/doc/ncffs/examples/ncffs.service",
           "/usr/share/doc/ncffs/examples/mnt-ncf.mount", "/usr/share/doc/ncffs/copyright")


def sh(argv, timeout=APT_TIMEOUT_S, check=True, **kwargs):
    env = dict(os.environ, LC_ALL="C", DEBIAN_FRONTEND="noninteractive", PATH=SYSTEM_PATH)
    env.update(kwargs.pop("env", {}))
    result = subprocess.run([str(a) for a in argv], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, timeout=timeout, env=env, **kwargs)
    text = result.stdout.decode(errors="replace")
    if check and result.returncode != 0:
        raise AssertionError(f"{argv} exited {result.returncode}:\n{text[-6000:]}")
    return result.returncode, text


def is_installed(package="ncffs"):
    rc, text = sh(["dpkg-query", "-W", "-f=${Status}", package], check=False)
    return rc == 0 and "ok installed" in text


def is_pruned(conf):
    return subprocess.run([PRUNE, "check", conf]).returncode == 0


def daemons(mountpoint):
    """pids of ncffs processes serving mountpoint."""
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            exe = os.readlink(f"/proc/{entry}/exe")
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                args = f.read().split(b"\0")
        except OSError:
            continue
        if os.path.basename(exe) == "ncffs" and str(mountpoint).encode() in args:
            pids.append(int(entry))
    return pids


def wait_for(predicate, what, timeout=MOUNT_TIMEOUT_S):
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(POLL_S)


def undo_mount(mountpoint):
    """Whatever state it is in: unmounted, its daemon gone. Never raises."""
    if mounted_fstype(mountpoint):
        subprocess.run(["umount", str(mountpoint)], capture_output=True)
    if mounted_fstype(mountpoint):
        subprocess.run(["umount", "-l", str(mountpoint)], capture_output=True)
    for pid in daemons(mountpoint):
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass


def deb_version():
    text = (REPO / "fs" / "main.c").read_text()
    return re.search(r'^#define NCFFS_VERSION "([^"]+)"$', text, re.M).group(1)


class HostState:
    """The two host files this test may change, as bytes, and how to put them back."""

    def __init__(self):
        self.fstab = FSTAB.read_bytes()
        self.updatedb = UPDATEDB_CONF.read_bytes() if UPDATEDB_CONF.exists() else None
        if self.updatedb is not None and is_pruned(UPDATEDB_CONF):
            # `make install` put it there: take it out for the test, put it back after
            sh([PRUNE, "remove", UPDATEDB_CONF])
        self.before = UPDATEDB_CONF.read_bytes() if self.updatedb is not None else None

    def restore(self):
        if FSTAB.read_bytes() != self.fstab:
            FSTAB.write_bytes(self.fstab)
        if self.updatedb is not None and UPDATEDB_CONF.read_bytes() != self.updatedb:
            UPDATEDB_CONF.write_bytes(self.updatedb)


def mount_and_read(argv, mountpoint, emulator):
    """Run a mount command; check the packaged daemon serves the tree; umount it."""
    rc, text = sh(argv, timeout=MOUNT_TIMEOUT_S, check=False)
    assert rc == 0, f"{argv}: {text}"
    assert mounted_fstype(mountpoint) == "fuse.ncffs"
    pids = daemons(mountpoint)
    assert len(pids) == 1 and os.readlink(f"/proc/{pids[0]}/exe") == PACKAGED_NCFFS
    newest = emulator.ids("demo", "hello")[0]
    status = (mountpoint / "packages/demo/hello/activations/latest/status").read_text()
    assert status == emulator.record("demo", "hello", newest)["response"]["status"] + "\n"
    rc, text = sh(["umount", mountpoint], check=False)
    assert rc == 0, text
    wait_for(lambda: not daemons(mountpoint), "ncffs to exit after umount")
    assert mounted_fstype(mountpoint) is None


@pytest.fixture
def host():
    if os.geteuid() != 0:
        pytest.skip("installs a package and edits /etc/fstab: root only")
    if not shutil.which("dpkg-buildpackage") or not shutil.which("apt-get"):
        pytest.skip("dpkg-buildpackage and apt-get are needed (make deps)")
    if is_installed():
        pytest.skip("an ncffs package is installed already; the test leaves it alone")
    state = HostState()
    try:
        yield state
    finally:
        if is_installed() or sh(["dpkg-query", "-W", "ncffs"], check=False)[0] == 0:
            sh(["dpkg", "--purge", "ncffs"], check=False)
        state.restore()


def test_deb_installs_mounts_through_fstab_and_purges_clean(host, tmp_path):
    version = deb_version()
    sh(["make", "-C", REPO, "deb"], timeout=BUILD_TIMEOUT_S)
    arch = sh(["dpkg", "--print-architecture"])[1].strip()
    deb = REPO / f"ncffs_{version}_{arch}.deb"
    assert deb.is_file(), f"make deb did not leave {deb.name}"
    assert sh(["dpkg-deb", "-f", deb, "Version"])[1].strip() == version

    emulator = Emulator(tmp_path / "emulator")
    mounts = [tmp_path / "fstab-mnt", tmp_path / "t-ncffs-mnt"]
    try:
        sh(["apt-get", "install", "-y", f"./{deb.name}"], cwd=REPO)
        assert is_installed()
        shipped = [l for l in sh(["dpkg", "-L", "ncffs"])[1].splitlines()
                   if not os.path.isdir(l)]    # (/sbin is a link to a directory)
        assert set(SHIPPED) <= set(shipped), set(SHIPPED) - set(shipped)
        assert sh([PACKAGED_NCFFS, "--version"])[1].startswith(f"ncffs {version} ")
        if host.before is not None:
            assert is_pruned(UPDATEDB_CONF), "postinst did not add fuse.ncffs to PRUNEFS"

        credentials = tmp_path / "credentials"
        credentials.write_text(f"[DEFAULT]\nncloud_access_key_id = {ACCESS_KEY}\n"
                               f"ncloud_secret_access_key = {SECRET_KEY}\n")
        credentials.chmod(0o600)
        options = f"credentials={credentials},endpoint={emulator.endpoint()}"
        for m in mounts:
            m.mkdir()
        with open(FSTAB, "a", encoding="utf-8") as f:
            f.write(f"ncffs {mounts[0]} fuse.ncffs noauto,_netdev,nofail,{options} 0 0\n")

        mount_and_read(["mount", mounts[0]], mounts[0], emulator)
        mount_and_read(["mount", "-t", "ncffs", "ncffs", mounts[1], "-o", options],
                       mounts[1], emulator)

        sh(["apt-get", "purge", "-y", "ncffs"])
        assert not is_installed()
        assert sh(["dpkg-query", "-W", "ncffs"], check=False)[0] != 0, "purge left dpkg state"
        assert [p for p in shipped if os.path.lexists(p)] == []
        assert not os.path.lexists("/usr/libexec/ncffs") and not os.path.lexists("/usr/share/doc/ncffs")
        if host.before is not None:
            assert UPDATEDB_CONF.read_bytes() == host.before, "prerm left updatedb.conf changed"
    finally:
        for m in mounts:
            undo_mount(m)
        emulator.stop()
