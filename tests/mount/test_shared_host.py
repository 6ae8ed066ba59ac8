"""A shared host (issue 12): root mounts ncffs for one user with `allow_other,uid=,gid=,umask=`
and the kernel keeps every other user out; `auto_unmount` leaves no dead mount behind a daemon
killed with SIGKILL; and the build a packager runs installs nothing, keeps C11 and the warnings
under their own flags, and comes out hardened.

Other users are plain numeric ids run through `setpriv --reuid --regid --clear-groups`: the
kernel needs no /etc/passwd entry to check a uid against a mode. Mounts sit in public
directories under /tmp (the pytest tmp tree is private to root, so no other user could reach a
mount inside it) and are ALWAYS unmounted: through the harness, or here after a SIGKILL.

The build tests work on a `git clone` of the repository (the committed tree, no build/
leftovers) in a temporary directory.

Left out on purpose: mounts through mount(8) and fstab (test_unix_mount.py), and the daemon's
other options (test_startup.py).
"""

import os
import re
import shutil
import signal
import stat
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from conftest import (LATEST, NCFFS, REPO, START_TIMEOUT_S, Mount, is_sanitized_build,
                      mounted_fstype, out, run)
from unix_support import (helper_mounts, is_running, mount_options,  # noqa: F401
                          ncffs_daemons, wait_until, write_credentials)

# ---------------------------------------------------------------------------------------------
# Named ids and limits.

OWNER = (1000, 1000)            # uid, gid the tree is given to
OTHER = (1001, 1001)            # another user of the host
SHARED_GID = 1500               # a group OTHER may be put in
UNMOUNT_TIMEOUT_S = 10          # auto_unmount's helper reacts to the daemon's death in this
BUILD_TIMEOUT_S = 600           # one build of the daemon on a busy 2-core machine
INSTALLERS = re.compile(r"\b(apt-get|apt|aptitude|dpkg|sudo)\b")

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="mounts for other users need root")


def as_user(uid, gid, argv, groups=None):
    """argv run as uid:gid, with exactly the supplementary groups given (setpriv)."""
    group_args = [f"--groups={','.join(map(str, groups))}"] if groups else ["--clear-groups"]
    return ["setpriv", f"--reuid={uid}", f"--regid={gid}", *group_args, *map(str, argv)]


def denied(result):
    return result.returncode != 0 and b"Permission denied" in result.stderr


# ---------------------------------------------------------------------------------------------
# Mounts in public directories.

class PublicMounts:
    """ncffs mounts (with -f, as the harness makes them) on mount points other users can reach;
    each is registered with the harness, whose teardown checks its exit and stderr."""

    def __init__(self, harness):
        self.harness = harness
        self.dirs = []

    def directory(self):
        path = Path(tempfile.mkdtemp(prefix="ncffs-shared-", dir="/tmp"))
        path.chmod(0o755)
        self.dirs.append(path)
        return path

    def mount(self, options, foreground=True):
        """ncffs on a new public mount point, live; -> Mount. Without -f, Mount.proc is the
        process that mounted and went into the background (it must have exited 0)."""
        h = self.harness
        path = self.directory()
        h.count += 1
        argv = h.argv(path, options, None, None, foreground=foreground)
        m = Mount(path, argv, h.env(), h.tmp / f"ncffs-shared{h.count}.stderr")
        h.mounts.append(m)
        if foreground:
            m.wait_live()
        else:
            assert m.proc.wait(START_TIMEOUT_S) == 0, m.stderr()
            assert mounted_fstype(path) == "fuse.ncffs"
        return m

    def close(self):
        for m in self.harness.mounts:
            m.unmount()
        for path in self.dirs:
            if mounted_fstype(path):
                run(["fusermount3", "-uz", path])
            shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def public(harness):
    mounts = PublicMounts(harness)
    try:
        yield mounts
    finally:
        mounts.close()


def walk_sample(m, emulator):
    """{path: expected S_IF* type} of one entry of every kind the tree has."""
    top = m.p("packages", "demo", "resize-image")
    newest = emulator.ids("demo", "resize-image")[0]
    failed = out(["ls", f"{top}/failed"]).split()
    assert failed, "the test data set has failed runs of demo/resize-image"
    sample = {m.p(): stat.S_IFDIR, m.p("packages"): stat.S_IFDIR,
              m.p("packages", "demo"): stat.S_IFDIR, top: stat.S_IFDIR,
              f"{top}/activations": stat.S_IFDIR, f"{top}/failed": stat.S_IFDIR,
              f"{top}/activations/{newest}": stat.S_IFDIR,
              f"{top}/activations/{LATEST}": stat.S_IFLNK,
              f"{top}/failed/{failed[0]}": stat.S_IFLNK,
              f"{top}/action.json": stat.S_IFREG, f"{top}/activations.tsv": stat.S_IFREG,
              m.p(".ncffs-stats"): stat.S_IFREG, m.p("triggers"): stat.S_IFDIR}
    for name in ("activation.json", "result.json", "logs.txt", "status"):
        sample[f"{top}/activations/{newest}/{name}"] = stat.S_IFREG
    triggers = out(["ls", m.p("triggers")]).split()
    if triggers:
        sample[m.p("triggers", triggers[0], "trigger.json")] = stat.S_IFREG
    return sample


def status_path(m, emulator):
    newest = emulator.ids("demo", "hello")[0]
    expected = emulator.record("demo", "hello", newest)["response"]["status"] + "\n"
    return m.p("packages", "demo", "hello", "activations", LATEST, "status"), expected


# ---------------------------------------------------------------------------------------------
# uid=, gid=, umask= with allow_other.

def test_owner_reads_every_other_user_gets_eacces(public, emulator):
    m = public.mount(["allow_other", f"uid={OWNER[0]}", f"gid={OWNER[1]}", "umask=077"])
    assert {"allow_other", "default_permissions"} <= set(mount_options(m.path)[1])
    status, expected = status_path(m, emulator)

    owner = run(as_user(*OWNER, ["cat", status]))
    assert owner.returncode == 0, owner.stderr
    assert owner.stdout.decode() == expected
    listing = run(as_user(*OWNER, ["ls", m.p("packages")]))
    assert listing.returncode == 0 and "demo" in listing.stdout.decode().split()

    for argv in (["ls", m.p()], ["ls", m.p("packages")], ["cat", status], ["stat", status]):
        other = run(as_user(*OTHER, argv))
        assert denied(other), (argv, other.returncode, other.stderr)
    # in the owner's group but not the owner: umask 077 leaves the group nothing either
    same_group = run(as_user(OTHER[0], OWNER[1], ["cat", status]))
    assert denied(same_group), same_group.stderr

    assert out(["cat", status]) == expected         # root, as usual


def test_umask_027_lets_the_group_read_and_keeps_others_out(public, emulator):
    m = public.mount(["allow_other", f"uid={OWNER[0]}", f"gid={SHARED_GID}", "umask=027"])
    status, expected = status_path(m, emulator)
    member = run(as_user(*OTHER, ["cat", status], groups=[SHARED_GID]))
    assert member.returncode == 0, member.stderr
    assert member.stdout.decode() == expected
    assert denied(run(as_user(*OTHER, ["cat", status])))
    st = os.stat(status)
    assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (OWNER[0], SHARED_GID, 0o440)


@pytest.mark.parametrize("umask,dir_mode,file_mode", [("077", 0o500, 0o400),
                                                      ("027", 0o550, 0o440),
                                                      ("0", 0o555, 0o444)])
def test_modes_and_owners_of_every_kind_of_entry(public, emulator, umask, dir_mode, file_mode):
    """Files 0444, directories and symbolic links 0555, minus the umask (ncffs(1))."""
    m = public.mount(["allow_other", f"uid={OWNER[0]}", f"gid={SHARED_GID}", f"umask={umask}"])
    wrong = {}
    for path, kind in walk_sample(m, emulator).items():
        st = os.lstat(path)
        want = (kind, dir_mode if kind != stat.S_IFREG else file_mode, OWNER[0], SHARED_GID)
        got = (stat.S_IFMT(st.st_mode), stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid)
        if got != want:
            wrong[path] = (oct(got[0]), oct(got[1]), got[2], got[3])
    assert not wrong, wrong
    # and as ls(1) shows them
    top = m.p("packages", "demo", "hello")
    shown = out(["stat", "-c", "%A %u %g", top, f"{top}/action.json",
                 f"{top}/activations/{LATEST}"]).splitlines()
    perm = stat.filemode
    assert shown == [f"{perm(stat.S_IFDIR | dir_mode)} {OWNER[0]} {SHARED_GID}",
                     f"{perm(stat.S_IFREG | file_mode)} {OWNER[0]} {SHARED_GID}",
                     f"{perm(stat.S_IFLNK | dir_mode)} {OWNER[0]} {SHARED_GID}"]


def test_names_work_for_uid_and_gid(public):
    m = public.mount(["allow_other", "uid=nobody", "gid=nogroup", "umask=077"])
    st = os.stat(m.p("packages"))
    assert (st.st_uid, st.st_gid) == (65534, 65534)
    assert run(as_user(65534, 65534, ["ls", m.p("packages")])).returncode == 0


def test_allow_other_alone_exposes_the_tree_to_every_user(public, emulator):
    """What ncffs(1) warns about: without uid=/umask=, allow_other means everyone reads."""
    m = public.mount(["allow_other"])
    assert "default_permissions" in mount_options(m.path)[1]
    status, expected = status_path(m, emulator)
    st = os.stat(status)
    assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (0, 0, 0o444)
    anyone = run(as_user(*OTHER, ["cat", status]))
    assert anyone.returncode == 0 and anyone.stdout.decode() == expected


def test_default_permissions_comes_only_with_allow_other_and_only_once(harness, public):
    alone = harness.mount(["umask=077"])
    assert "default_permissions" not in mount_options(alone.path)[1]
    assert stat.S_IMODE(os.stat(alone.p("packages")).st_mode) == 0o500
    both = public.mount(["allow_other", "default_permissions"])
    assert mount_options(both.path)[1].count("default_permissions") == 1


BAD_VALUES = ["uid=", "uid=-1", "uid=4294967295", "uid=99999999999999999999", "uid=1e3",
              "uid=ncffs-no-such-user", "gid=", "gid=-5", "gid=ncffs-no-such-group",
              "umask=", "umask=8", "umask=0778", "umask=1000", "umask=-022", "umask=0x1f",
              "umask=abc", "umask=00000000000000000022"]


@pytest.mark.parametrize("option", BAD_VALUES)
def test_bad_values_fail_clearly_before_any_request(harness, emulator, option):
    emulator.reset()
    result, path = harness.start(options=[option, "allow_other"])
    err = result.stderr.decode()
    name, value = option.split("=", 1)
    assert result.returncode == 1, err              # an exit status, not a signal
    assert f"invalid {name}={value}" in err, err
    assert len(err.strip().splitlines()) == 1, err
    assert mounted_fstype(path) is None
    assert emulator.requests() == []


# ---------------------------------------------------------------------------------------------
# auto_unmount.

def kill_daemon(m, foreground):
    """SIGKILL the ncffs process serving m; -> its pid."""
    if foreground:
        pid = m.proc.pid
    else:
        pids = ncffs_daemons(m.path)
        assert len(pids) == 1, f"daemons serving {m.path}: {pids}"
        pid = pids[0]
    os.kill(pid, signal.SIGKILL)
    if foreground:
        m.proc.wait(START_TIMEOUT_S)
        assert m.proc.returncode == -signal.SIGKILL
    return pid


@pytest.mark.parametrize("foreground", [True, False], ids=["foreground", "daemon"])
def test_auto_unmount_leaves_no_mount_after_sigkill(public, emulator, foreground):
    m = public.mount(["allow_other", f"uid={OWNER[0]}", f"gid={OWNER[1]}", "umask=077",
                      "auto_unmount"], foreground=foreground)
    # the fusermount3 path mounts with the same options as the direct one
    assert {"allow_other", "default_permissions"} <= set(mount_options(m.path)[1])
    status, expected = status_path(m, emulator)
    assert run(as_user(*OWNER, ["cat", status])).stdout.decode() == expected
    assert denied(run(as_user(*OTHER, ["cat", status])))

    kill_daemon(m, foreground)
    wait_until(lambda: mounted_fstype(m.path) is None, UNMOUNT_TIMEOUT_S,
               f"{m.path} to be unmounted after SIGKILL")
    assert os.listdir(m.path) == []                 # a plain directory, not ENOTCONN
    m.unmounted = True                              # nothing left for the harness to undo
    m.proc.wait(START_TIMEOUT_S)


def test_without_auto_unmount_sigkill_leaves_a_dead_mount(public):
    """The control: what auto_unmount prevents, so the test above can tell the difference."""
    m = public.mount([])
    kill_daemon(m, foreground=True)
    try:
        time.sleep(0.5)
        assert mounted_fstype(m.path) == "fuse.ncffs"
        with pytest.raises(OSError) as err:
            os.listdir(m.path)
        assert err.value.errno == 107               # ENOTCONN
    finally:
        run(["fusermount3", "-u", m.path])
        m.unmounted = True
    assert mounted_fstype(m.path) is None


def test_auto_unmount_keeps_a_clean_exit_on_unmount(harness, emulator):
    """fusermount3 -u of an auto_unmount mount: ncffs still exits 0 (checked at teardown)."""
    m = harness.mount(["auto_unmount"])
    status, expected = status_path(m, emulator)
    assert out(["cat", status]) == expected


def test_the_documented_fstab_line_shares_with_one_user_and_dies_cleanly(helper_mounts, emulator,
                                                                          tmp_path):
    """README and ncffs(1): `allow_other,uid=USER,gid=GROUP,umask=077,auto_unmount,credentials=`
    from fstab, through mount(8) and mount.fuse3 (which run ncffs as a daemon)."""
    if not shutil.which("mount.fuse3") and not os.path.exists("/usr/sbin/mount.fuse3"):
        pytest.skip("mount.fuse3 is not installed (apt-get install fuse3)")
    credentials = write_credentials(tmp_path / "credentials")
    mountpoint = helper_mounts.mountpoint(public=True)
    fstab = tmp_path / "fstab"
    fstab.write_text(f"{os.path.realpath(NCFFS)}#ncffs {mountpoint} fuse defaults,_netdev,"
                     "allow_other,uid=nobody,gid=nogroup,umask=077,auto_unmount,"
                     f"credentials={credentials},endpoint={emulator.endpoint()} 0 0\n")
    result, pid = helper_mounts.mount(["mount", "--fstab", fstab, mountpoint],
                                      helper_mounts.env(tmp_path / "emptyhome"), mountpoint)
    assert result.returncode == 0, result.stderr.decode(errors="replace")
    assert pid is not None
    assert {"allow_other", "default_permissions"} <= set(mount_options(mountpoint)[1])
    newest = emulator.ids("demo", "hello")[0]
    status = f"{mountpoint}/packages/demo/hello/activations/{newest}/status"
    expected = emulator.record("demo", "hello", newest)["response"]["status"] + "\n"
    nobody = run(as_user(65534, 65534, ["cat", status]))
    assert nobody.returncode == 0 and nobody.stdout.decode() == expected, nobody.stderr
    assert denied(run(as_user(*OTHER, ["cat", status])))
    st = os.stat(status)
    assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (65534, 65534, 0o400)

    os.kill(pid, signal.SIGKILL)
    wait_until(lambda: mounted_fstype(mountpoint) is None, UNMOUNT_TIMEOUT_S,
               f"{mountpoint} to be unmounted after SIGKILL")
    assert os.listdir(mountpoint) == []
    wait_until(lambda: not is_running(pid), UNMOUNT_TIMEOUT_S, f"pid {pid} to be gone")


# ---------------------------------------------------------------------------------------------
# The build.

# All a packager's build machine has: a shell, make, a C compiler, pkg-config (and the
# libraries); plus mkdir and find, which the Makefile's recipes use. No jq, no fusermount3, no
# valgrind: a Makefile that checks for test tools before building shows itself here.
BUILD_TOOLS = ("sh", "make", "cc", "as", "ld", "pkg-config", "mkdir", "find")


@pytest.fixture(scope="module")
def build_path(tmp_path_factory):
    """A PATH directory holding only BUILD_TOOLS."""
    path = tmp_path_factory.mktemp("build-bin")
    for tool in BUILD_TOOLS:
        found = shutil.which(tool)
        if not found:
            pytest.skip(f"{tool} is not installed")
        (path / tool).symlink_to(found)
    return path


def make(clone, build_path, *args, timeout=120):
    """make in the clone as a packager runs it: a minimal PATH, no CI, no inherited flags."""
    env = {"PATH": str(build_path), "HOME": str(clone.parent), "LC_ALL": "C"}
    return run(["make", "-C", clone, *args], env=env, timeout=timeout)


def compile_lines(text):
    return [line for line in text.splitlines() if re.search(r"\s-c\s", line)]


def link_line(text):
    lines = [line for line in text.splitlines() if re.search(r"\s-o ncffs\s", line)]
    assert len(lines) == 1, text
    return lines[0]


@pytest.fixture(scope="module")
def clone(tmp_path_factory):
    """A fresh clone of the repository (its committed tree; no build/ yet)."""
    if not shutil.which("git") or not (REPO / ".git").exists():
        pytest.skip("needs git and a git checkout of ncffs")
    path = tmp_path_factory.mktemp("clone") / "ncffs"
    run(["git", "clone", "-q", "--no-hardlinks", REPO, path], check=True)
    return path


def test_default_target_runs_no_installer(clone, build_path):
    result = make(clone, build_path, "-n")
    text = result.stdout.decode()
    assert result.returncode == 0, result.stderr
    assert compile_lines(text) and link_line(text)  # it did print the build
    assert not INSTALLERS.search(text), INSTALLERS.search(text).group(0)
    assert not INSTALLERS.search(result.stderr.decode())


def test_a_missing_library_stops_make_with_one_line_naming_its_package(clone, build_path,
                                                                        tmp_path):
    """pkg-config that knows every module but libcjson: make names libcjson-dev, compiles
    nothing and installs nothing."""
    without = tmp_path / "bin"
    shutil.copytree(build_path, without, symlinks=True)
    (without / "pkg-config").unlink()
    (without / "pkg-config").write_text(
        "#!/bin/sh\n"
        "for a in \"$@\"; do [ \"$a\" = libcjson ] && exit 1; done\n"
        f"exec {shutil.which('pkg-config')} \"$@\"\n")
    (without / "pkg-config").chmod(0o755)
    result = make(clone, without)
    err = result.stderr.decode()
    assert result.returncode != 0
    ours = [line for line in err.splitlines() if not line.startswith("make")]
    assert ours == ["ncffs: missing build dependencies; install the Debian packages: "
                    "libcjson-dev"], err
    assert " -c " not in result.stdout.decode()
    assert not INSTALLERS.search(result.stdout.decode() + err)


def test_cflags_from_the_command_line_keep_c11_warnings_and_hardening(clone, build_path):
    text = make(clone, build_path, "-n", "CFLAGS=-O0").stdout.decode()
    lines = compile_lines(text)
    assert len(lines) >= 20, text
    for line in lines:
        words = line.split()
        for flag in ("-std=c11", "-Wall", "-Wextra", "-Wformat=2", "-Wvla", "-Wundef",
                     "-Wnull-dereference", "-Wmissing-prototypes", "-fstack-protector-strong",
                     "-fPIE", "-O0"):
            assert flag in words, (flag, line)
        assert "-O2" not in words
        assert not any(w.startswith("-D_FORTIFY_SOURCE") for w in words), line  # needs -O
    link = link_line(text).split()
    assert "-pie" in link and "-Wl,-z,relro,-z,now" in link


def test_packager_flags_are_added_not_lost(clone, build_path):
    text = make(clone, build_path, "-n", "CFLAGS=-O2 -g -ffile-prefix-map=/x=.",
                "CPPFLAGS=-D_FORTIFY_SOURCE=3", "LDFLAGS=-Wl,--as-needed").stdout.decode()
    for line in compile_lines(text):
        words = line.split()
        assert {"-std=c11", "-Wall", "-O2", "-ffile-prefix-map=/x=.",
                "-D_FORTIFY_SOURCE=3"} <= set(words), line
        assert "-D_FORTIFY_SOURCE=2" not in words, line     # theirs, not ours on top
    link = link_line(text).split()
    assert {"-pie", "-Wl,-z,relro,-z,now", "-Wl,--as-needed"} <= set(link)
    ours = compile_lines(make(clone, build_path, "-n").stdout.decode())
    assert all("-D_FORTIFY_SOURCE=2" in line.split() for line in ours)


def test_O0_build_with_werror_compiles_links_and_tracks_test_headers(clone, build_path):
    """A real build with nothing but BUILD_TOOLS, at -O0 (no inlining to hide a missing
    library) and -Werror; and a unit test binary whose dependency file makes it out of date
    when a header it includes changes."""
    result = make(clone, build_path, "-j2", "CFLAGS=-O0", "CI=true", "all", "build/tests/unit/test_perms",
                  timeout=BUILD_TIMEOUT_S)
    assert result.returncode == 0, result.stderr.decode()[-3000:]
    assert run([clone / "ncffs", "--version"]).returncode == 0
    assert run([clone / "build/tests/unit/test_perms"]).returncode == 0
    deps = (clone / "build/tests/unit/test_perms.d").read_text()
    assert deps.startswith("build/tests/unit/test_perms:") and "fs/perms.h" in deps, deps

    def rebuilds_test():
        text = make(clone, build_path, "-n", "CFLAGS=-O0",
                    "build/tests/unit/test_perms").stdout.decode()
        return "tests/unit/test_perms.c" in text

    assert not rebuilds_test()
    later = time.time() + 2
    os.utime(clone / "fs" / "perms.h", (later, later))
    assert rebuilds_test()


def readelf(*args):
    if not shutil.which("readelf"):
        pytest.skip("readelf is not installed (binutils)")
    return out(["readelf", "-W", *args, NCFFS])


def test_binary_is_hardened():
    """PIE, full RELRO (BIND_NOW), stack protector, and fortified calls where not sanitized."""
    assert re.search(r"^\s*Type:\s+DYN\b", readelf("-h"), re.M)
    dynamic = readelf("-d")
    assert re.search(r"\(FLAGS\)\s+.*\bBIND_NOW\b", dynamic), dynamic
    assert re.search(r"\(FLAGS_1\)\s+.*\bNOW\b.*\bPIE\b", dynamic), dynamic
    assert re.search(r"^\s*GNU_RELRO\b", readelf("-l"), re.M)
    symbols = readelf("--dyn-syms")
    assert "__stack_chk_fail" in symbols
    if not is_sanitized_build():
        fortified = set(re.findall(r"\b(__\w+_chk)\b", symbols)) - {"__stack_chk_fail"}
        assert fortified, "no _FORTIFY_SOURCE function (__*_chk) in the binary"
