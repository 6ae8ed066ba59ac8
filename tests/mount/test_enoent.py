"""ENOENT: names that break the API's rules fail without any API call; valid names the server
does not have fail after asking it (a 404)."""

import errno
import hashlib
import os
import time

import pytest

from conftest import OPENWHISK, run

HELLO = ("packages", "demo", "hello")
ACTS = HELLO + ("activations",)
NEWEST_HELLO = hashlib.md5(b"demo/hello/24").hexdigest()    # the data set's id rule
RECORD_ID_UNKNOWN = "0123456789abcdef0123456789abcdef"      # valid form, never served

# (path under the mount, the existing directory to warm first)
INVALID = [
    ((".Trash",), ()),
    ((".Trash-0",), ()),
    (("desktop.ini",), ()),
    (("autorun.inf",), ()),
    (("foo",), ()),                                     # valid name, but root holds only packages
    (("packages", ".Trash"), ("packages",)),
    (("packages", ".Trash-0"), ("packages",)),
    (("packages", "desktop.ini"), ("packages",)),
    (("packages", ".hidden"), ("packages",)),
    (("packages", "..."), ("packages",)),
    (("packages", "..x"), ("packages",)),
    (("packages", "-x"), ("packages",)),
    (("packages", "--"), ("packages",)),
    (("packages", "a b"), ("packages",)),
    (("packages", "ünï"), ("packages",)),
    (("packages", "a" * 51), ("packages",)),
    (("packages", "demo", "-"), ("packages", "demo")),  # "-" is a package name only
    (("packages", "demo", "..."), ("packages", "demo")),
    (("packages", "demo", ".git"), ("packages", "demo")),
    (("packages", "demo", "h" * 51), ("packages", "demo")),
    (("packages", "demo", "hello.txt"), ("packages", "demo")),
    (HELLO + ("action.JSON",), HELLO),
    (HELLO + ("other.json",), HELLO),
    (HELLO + ("activations2",), HELLO),
    (HELLO + (".Trash",), HELLO),
    (ACTS + (NEWEST_HELLO.upper(),), ACTS),
    (ACTS + ("ABCDEF0123456789ABCDEF0123456789",), ACTS),
    (ACTS + (NEWEST_HELLO[:31],), ACTS),
    (ACTS + (NEWEST_HELLO + "0",), ACTS),
    (ACTS + ("g" * 32,), ACTS),
    (ACTS + ("...",), ACTS),
    (ACTS + ("desktop.ini",), ACTS),
    (ACTS + (NEWEST_HELLO, "foo"), ACTS + (NEWEST_HELLO,)),
    (ACTS + (NEWEST_HELLO, "Logs.txt"), ACTS + (NEWEST_HELLO,)),
    (ACTS + (NEWEST_HELLO, "result"), ACTS + (NEWEST_HELLO,)),
    (ACTS + (NEWEST_HELLO, ".Trash"), ACTS + (NEWEST_HELLO,)),
    (ACTS + (NEWEST_HELLO, "action.json"), ACTS + (NEWEST_HELLO,)),
]


def show(case):
    name = "/".join(case[0])
    return name if len(name) < 60 else name[:28] + "..." + name[-20:]


@pytest.mark.parametrize("path,warm", INVALID, ids=[show(c) for c in INVALID])
def test_invalid_name_is_enoent_without_an_api_call(shared_mnt, emulator, path, warm):
    # Only lookups and getattr here (no readdir of activations, so no background prefetch):
    # every API call they cause is logged before the syscall returns.
    os.stat(shared_mnt.p(*warm))
    emulator.reset()
    target = shared_mnt.p(*path)
    for call in (os.stat, os.lstat, lambda p: os.open(p, os.O_RDONLY), os.listdir):
        with pytest.raises(OSError) as err:
            call(target)
        assert err.value.errno == errno.ENOENT
    result = run(["ls", "-d", target])
    assert result.returncode == 2 and b"No such file or directory" in result.stderr
    assert run(["cat", target]).returncode == 1
    assert emulator.requests() == []


def test_hello_fixture_id_is_real(emulator):
    assert emulator.ids("demo", "hello")[0] == NEWEST_HELLO


def test_valid_absent_id_asks_the_server_once(mnt, emulator):
    os.stat(mnt.p(*ACTS))
    emulator.settle_and_reset()
    target = mnt.p(*ACTS, RECORD_ID_UNKNOWN)
    with pytest.raises(FileNotFoundError):
        os.stat(target)
    emulator.settle()
    requests = emulator.requests()
    # OpenWhisk names a record by its id alone: no action in the path
    owner = "" if OPENWHISK else "packages/demo/actions/hello/"
    assert [(r["path"], r["status"]) for r in requests] == [
        (f"/api/v2/{owner}activations/{RECORD_ID_UNKNOWN}", 404)]
    # neg_ttl (default 5 s): asking again right away is answered from memory
    emulator.reset()
    for _ in range(3):
        with pytest.raises(FileNotFoundError):
            os.stat(target)
        assert run(["cat", f"{target}/status"]).returncode == 1
    assert emulator.requests() == []


def test_absent_id_is_asked_again_after_neg_ttl(harness, emulator):
    m = harness.mount(options=["neg_ttl=1"])
    os.stat(m.p(*ACTS))
    emulator.settle_and_reset()
    target = m.p(*ACTS, RECORD_ID_UNKNOWN)
    with pytest.raises(FileNotFoundError):
        os.stat(target)
    # the kernel may also remember the miss for neg_ttl: wait it out, then ask again
    time.sleep(1.3)
    with pytest.raises(FileNotFoundError):
        os.stat(target)
    gets = [r for r in emulator.requests() if r["path"].endswith(RECORD_ID_UNKNOWN)]
    assert len(gets) == 2 and all(r["status"] == 404 for r in gets)


@pytest.mark.parametrize("path", [("packages", "nopkg"), ("packages", "p" * 50),
                                  ("packages", "demo", "nosuch"), ("packages", "demo", "a" * 50),
                                  ("packages", "nopkg", "hello", "activations"),
                                  ("packages", "-", "nosuch"),
                                  ("packages", "demo", "nosuch", "action.json")],
                         ids=lambda p: "/".join(p)[:40])
def test_valid_but_absent_names_are_enoent(mnt, emulator, path):
    target = mnt.p(*path)
    with pytest.raises(FileNotFoundError):
        os.stat(target)
    result = run(["ls", target])
    assert result.returncode == 2 and b"No such file or directory" in result.stderr
    assert all(r["status"] in (200, 404) for r in emulator.requests())


def test_vpc_package_is_absent_on_classic(mnt):
    with pytest.raises(FileNotFoundError):
        os.stat(mnt.p("packages", "vpcpkg"))
