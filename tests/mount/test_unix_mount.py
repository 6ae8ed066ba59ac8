"""ncffs the way mount(8) and fstab(5) know it (issue 5): `mount -t fuse ncffs DIR`, `mount -t
fuse.ncffs ncffs DIR`, an fstab line with credentials= and allow_other read from a temporary
fstab (`mount -T FILE DIR`, `mount --fstab FILE DIR`), and `umount DIR` ending the daemon.

mount(8) runs mount.fuse3, which runs `ncffs` from the standard PATH: the installed
/usr/local/bin/ncffs (`make install`); those tests skip when it is not installed. The
mount.fuse3 form `PROGRAM#SOURCE` reaches the binary under test ($NCFFS_BIN, e.g. the ASan
build) through the same helper, so those tests run against either build."""

import os
import shutil

import pytest

from conftest import NCFFS, mounted_fstype, out, run
from unix_support import (INSTALLED_NCFFS, HelperMounts, as_nobody, daemon_exe,  # noqa: F401
                          helper_mounts, is_running, mount_options, mount_source,
                          write_credentials)


def require_mount_helper():
    if not shutil.which("mount.fuse3") and not os.path.exists("/usr/sbin/mount.fuse3"):
        pytest.skip("mount.fuse3 is not installed (apt-get install fuse3)")


def require_installed():
    require_mount_helper()
    if not os.access(INSTALLED_NCFFS, os.X_OK):
        pytest.skip(f"{INSTALLED_NCFFS} is absent: run `make install` first")


def binary(which):
    """-> (the program mount.fuse3 is told to run, the executable the daemon must be)."""
    if which == "installed":
        require_installed()
        return "ncffs", INSTALLED_NCFFS
    require_mount_helper()
    return f"{os.path.realpath(NCFFS)}#ncffs", os.path.realpath(NCFFS)


def check_serves_the_tree(mountpoint, pid, exe, emulator):
    assert mounted_fstype(mountpoint) == "fuse.ncffs"
    assert mount_source(mountpoint) == "ncffs"
    per_mount, _ = mount_options(mountpoint)
    assert "ro" in per_mount
    assert pid is not None, "no single ncffs daemon serves the mount"
    assert daemon_exe(pid) == exe
    packages = out(["ls", os.path.join(mountpoint, "packages")]).split()
    assert {"demo", "billing", "-"} <= set(packages)
    newest = emulator.ids("demo", "hello")[0]
    status = out(["cat", os.path.join(mountpoint, "packages/demo/hello/activations/latest/status")])
    assert status == emulator.record("demo", "hello", newest)["response"]["status"] + "\n"


def check_umount_ends_the_daemon(helper_mounts, mountpoint, pid):
    result, gone = helper_mounts.umount(mountpoint)
    assert result.returncode == 0, result.stderr.decode(errors="replace")
    assert gone, f"ncffs (pid {pid}) still runs after umount"
    assert not is_running(pid)
    assert mounted_fstype(mountpoint) is None


@pytest.mark.parametrize("fstype", ["fuse", "fuse.ncffs"])
def test_mount_t_runs_the_installed_ncffs(helper_mounts, emulator, tmp_path, fstype):
    require_installed()
    mountpoint = helper_mounts.mountpoint()
    env = helper_mounts.env(tmp_path, credentials=True)
    result, pid = helper_mounts.mount(
        ["mount", "-t", fstype, "ncffs", mountpoint, "-o", f"endpoint={emulator.endpoint()}"],
        env, mountpoint)
    assert result.returncode == 0, result.stderr.decode(errors="replace")
    assert result.stderr == b""
    check_serves_the_tree(mountpoint, pid, INSTALLED_NCFFS, emulator)
    check_umount_ends_the_daemon(helper_mounts, mountpoint, pid)


def test_mount_t_fuse_with_program_source_runs_the_binary_under_test(helper_mounts, emulator,
                                                                      tmp_path):
    program, exe = binary("under-test")
    credentials = write_credentials(tmp_path / "credentials")
    mountpoint = helper_mounts.mountpoint()
    result, pid = helper_mounts.mount(
        ["mount", "-t", "fuse", program, mountpoint, "-o",
         f"endpoint={emulator.endpoint()},credentials={credentials}"],
        helper_mounts.env(tmp_path), mountpoint)
    assert result.returncode == 0, result.stderr.decode(errors="replace")
    check_serves_the_tree(mountpoint, pid, exe, emulator)
    # the environment reached the daemon: a sanitizer report would land where teardown looks
    with open(f"/proc/{pid}/environ", "rb") as f:
        environ = f.read().split(b"\0")
    assert f"ASAN_OPTIONS=log_path={helper_mounts.reports}/asan".encode() in environ
    check_umount_ends_the_daemon(helper_mounts, mountpoint, pid)


@pytest.mark.parametrize("which", ["installed", "under-test"])
@pytest.mark.parametrize("how", ["-T", "--fstab"])
def test_fstab_line_with_credentials_file_and_allow_other(helper_mounts, emulator, tmp_path,
                                                          which, how):
    program, exe = binary(which)
    credentials = write_credentials(tmp_path / "credentials")
    assert os.stat(credentials).st_mode & 0o777 == 0o600
    mountpoint = helper_mounts.mountpoint(public=True)
    fstab = tmp_path / "fstab"
    fstab.write_text(
        "# a temporary fstab, as ncffs(1) shows it\n"
        f"{program} {mountpoint} fuse defaults,_netdev,nofail,noatime,allow_other,"
        f"credentials={credentials},endpoint={emulator.endpoint()} 0 0\n")
    # no keys in the environment, none in ~/.ncloud: the file is the only source
    env = helper_mounts.env(tmp_path / "emptyhome")
    result, pid = helper_mounts.mount(["mount", how, fstab, mountpoint], env, mountpoint)
    assert result.returncode == 0, result.stderr.decode(errors="replace")
    check_serves_the_tree(mountpoint, pid, exe, emulator)
    per_mount, super_options = mount_options(mountpoint)
    assert "allow_other" in super_options and "noatime" in per_mount
    # allow_other: another user reads the tree
    newest = emulator.ids("billing", "invoice")[0]
    as_other = run(as_nobody(["cat", f"{mountpoint}/packages/billing/invoice/activations/"
                                     f"{newest}/status"]))
    assert as_other.returncode == 0, as_other.stderr
    assert as_other.stdout.decode() == \
        emulator.record("billing", "invoice", newest)["response"]["status"] + "\n"
    check_umount_ends_the_daemon(helper_mounts, mountpoint, pid)


def test_without_allow_other_other_users_are_kept_out(helper_mounts, emulator, tmp_path):
    program, exe = binary("under-test")
    credentials = write_credentials(tmp_path / "credentials")
    mountpoint = helper_mounts.mountpoint(public=True)
    result, pid = helper_mounts.mount(
        ["mount", "-t", "fuse", program, mountpoint, "-o",
         f"endpoint={emulator.endpoint()},credentials={credentials}"],
        helper_mounts.env(tmp_path), mountpoint)
    assert result.returncode == 0, result.stderr.decode(errors="replace")
    assert "allow_other" not in mount_options(mountpoint)[1]
    as_other = run(as_nobody(["ls", f"{mountpoint}/packages"]))
    assert as_other.returncode != 0
    assert b"Permission denied" in as_other.stderr
    assert "demo" in out(["ls", f"{mountpoint}/packages"]).split()    # root, who mounted it
    check_umount_ends_the_daemon(helper_mounts, mountpoint, pid)


def test_helper_mount_sanitizer_reports_are_caught(tmp_path):
    """Safety net of the fixture: a report file written by a daemonized ASan build fails the
    test that made it; no file, no problem."""
    mounts = HelperMounts(tmp_path)
    assert mounts.teardown() == []
    (mounts.reports / "asan.4242").write_text(
        "==4242==ERROR: AddressSanitizer: heap-use-after-free\n")
    problems = mounts.teardown()
    assert len(problems) == 1 and "heap-use-after-free" in problems[0]
