"""Every attempt to change the tree fails with EROFS, from the shell and from syscalls, and
leaves the tree as it was."""

import errno
import os

import pytest

from conftest import ACTION_ENTRIES, ACTIVATION_FILES, out, run

def targets(m, emulator):
    activation = emulator.ids("demo", "hello")[0]
    act = m.p("packages", "demo", "hello", "activations", activation)
    return {
        "root": m.p(), "packages": m.p("packages"), "package": m.p("packages", "demo"),
        "action": m.p("packages", "demo", "hello"),
        "action_json": m.p("packages", "demo", "hello", "action.json"),
        "activations": m.p("packages", "demo", "hello", "activations"),
        "activation": act, "logs": f"{act}/logs.txt", "status": f"{act}/status",
    }


SHELL_CASES = [
    ("touch", 'touch "$action/new"'),
    ("touch-existing", 'touch "$logs"'),
    ("mkdir", 'mkdir "$package/newdir"'),
    ("mkdir-packages", 'mkdir "$packages/newpkg"'),
    ("rm", 'rm -f "$logs"'),
    ("rm-r", 'rm -rf "$activation"'),
    ("rmdir", 'rmdir "$activations"'),
    ("mv", 'mv "$action_json" "$action/moved.json"'),
    ("mv-dir", 'mv "$activation" "$activations/x"'),
    ("chmod", 'chmod 644 "$status"'),
    ("chmod-dir", 'chmod 755 "$action"'),
    ("echo-truncate", 'echo hacked > "$status"'),
    ("echo-append", 'echo hacked >> "$logs"'),
    ("echo-new", 'echo hacked > "$activation/new.txt"'),
    ("ln-s", 'ln -s "$status" "$action/link"'),
    ("truncate", 'truncate -s 0 "$action_json"'),
    ("cp", 'cp /etc/hostname "$package/"'),
]


@pytest.mark.parametrize("command", [c for _, c in SHELL_CASES], ids=[n for n, _ in SHELL_CASES])
def test_shell_changes_fail_with_erofs(shared_mnt, emulator, command):
    env = dict(os.environ, LC_ALL="C", **targets(shared_mnt, emulator))
    before = out(["cat", env["status"], env["logs"]])
    result = run(["sh", "-c", command], env=env)
    assert result.returncode != 0
    assert b"Read-only file system" in result.stderr, result.stderr
    assert out(["cat", env["status"], env["logs"]]) == before
    assert out(["ls", "-A", env["activation"]]).split() == list(ACTIVATION_FILES)
    assert out(["ls", "-A", env["action"]]).split() == list(ACTION_ENTRIES)


SYSCALL_CASES = [
    ("open-wronly", lambda t: os.open(t["status"], os.O_WRONLY)),
    ("open-rdwr", lambda t: os.open(t["logs"], os.O_RDWR)),
    ("open-append", lambda t: os.open(t["logs"], os.O_WRONLY | os.O_APPEND)),
    ("open-trunc", lambda t: os.open(t["status"], os.O_WRONLY | os.O_TRUNC)),
    ("creat", lambda t: os.open(t["action"] + "/new", os.O_WRONLY | os.O_CREAT, 0o644)),
    ("mkdir", lambda t: os.mkdir(t["activations"] + "/0123456789abcdef0123456789abcdef")),
    ("unlink", lambda t: os.unlink(t["logs"])),
    ("rmdir", lambda t: os.rmdir(t["activation"])),
    ("rename", lambda t: os.rename(t["status"], t["activation"] + "/status2")),
    ("chmod", lambda t: os.chmod(t["status"], 0o666)),
    ("chown", lambda t: os.chown(t["status"], os.getuid(), os.getgid())),
    ("truncate", lambda t: os.truncate(t["logs"], 0)),
    ("symlink", lambda t: os.symlink("x", t["action"] + "/link")),
    ("link", lambda t: os.link(t["status"], t["action"] + "/hard")),
    ("utime", lambda t: os.utime(t["status"], (0, 0))),
    ("mknod", lambda t: os.mkfifo(t["package"] + "/fifo")),
]


@pytest.mark.parametrize("call", [c for _, c in SYSCALL_CASES], ids=[n for n, _ in SYSCALL_CASES])
def test_syscalls_that_change_fail_with_erofs(shared_mnt, emulator, call):
    t = targets(shared_mnt, emulator)
    size = os.stat(t["status"]).st_size
    with pytest.raises(OSError) as err:
        fd = call(t)
        if isinstance(fd, int):
            os.close(fd)
    assert err.value.errno == errno.EROFS
    assert os.stat(t["status"]).st_size == size


def test_mount_is_read_only_in_the_kernel_view(shared_mnt):
    st = os.statvfs(shared_mnt.p())
    assert st.f_flag & os.ST_RDONLY
    for path in (shared_mnt.p("packages"),
                 shared_mnt.p("packages", "demo", "hello", "action.json")):
        assert run(["test", "-w", path]).returncode == 1      # even for root
        assert not os.access(path, os.W_OK)
