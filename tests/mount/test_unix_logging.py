"""Logging (issue 5): with -f ncffs logs to standard error; -o loglevel chooses how much; a failed
API call is logged once, with method, request path, HTTP status and errorCode, and the secret
key never appears in the log."""

import errno
import os
import re
import subprocess

import pytest

from conftest import NCFFS, SECRET_KEY, mounted_fstype, out, run
from unix_support import (calls_of, helper_mounts, is_running, ncffs_daemons,  # noqa: F401
                          quiet_calls, wait_until)

LEVEL_LINE = re.compile(r"^ncffs: (error|warning|info|debug): ", re.M)


def levels(text):
    return [m.group(1) for m in LEVEL_LINE.finditer(text)]


def absent_id(emulator, pkg, action):
    """A well-formed activation id the emulator does not have for pkg/action."""
    ids = set(emulator.ids(pkg, action))
    candidate = "0123456789abcdef" * 2
    assert candidate not in ids
    return candidate


def same_work(m, emulator):
    """What every mount in the level test goes through: a listing with names ncffs must
    skip (a warning), a valid-but-absent activation (a 404, debug only), a good record."""
    out(["ls", m.p("packages")])
    missing = m.p("packages", "demo", "hello", "activations", absent_id(emulator, "demo", "hello"))
    with pytest.raises(FileNotFoundError):
        os.stat(missing)
    newest = emulator.ids("demo", "hello")[0]
    out(["cat", m.p("packages", "demo", "hello", "activations", newest, "status")])
    emulator.settle()


def test_f_logs_to_stderr_and_loglevel_chooses_how_much(harness, emulator):
    texts = {}
    for level in ("error", "warn", "debug"):
        m = harness.mount(options=[f"loglevel={level}"])
        same_work(m, emulator)
        texts[level] = m.stderr()
    # -f: the messages go to standard error (the harness captures it), in ncffs's format
    assert levels(texts["error"]) == []
    assert set(levels(texts["warn"])) == {"warning"}
    assert {"warning", "info", "debug"} <= set(levels(texts["debug"]))
    assert len(levels(texts["debug"])) > len(levels(texts["warn"])) > len(levels(texts["error"]))
    assert "skipped 2 names" in texts["warn"] and "skipped 2 names" in texts["debug"]
    assert "mounted on" in texts["debug"] and "mounted on" not in texts["warn"]
    for text in texts.values():
        assert SECRET_KEY not in text


def test_a_not_found_is_logged_once_at_debug(harness, emulator):
    m = harness.mount(options=["loglevel=debug"])
    emulator.reset()
    missing_id = absent_id(emulator, "billing", "invoice")
    missing = m.p("packages", "billing", "invoice", "activations", missing_id)
    for _ in range(3):          # the answer is remembered neg_ttl: one request, one line
        with pytest.raises(FileNotFoundError):
            os.stat(missing)
    assert run(["cat", f"{missing}/result.json"]).returncode != 0
    path = f"/api/v2/packages/billing/actions/invoice/activations/{missing_id}"
    gets = [c for c in quiet_calls(emulator) if c.target.startswith(path)]
    assert len(gets) == 1 and gets[0].status == 404
    lines = [line for line in m.stderr().splitlines() if path in line]
    assert len(lines) == 1, m.stderr()
    line = lines[0]
    assert line.startswith("ncffs: debug: ")
    assert re.search(r"\bGET " + re.escape(path) + r"\?platform=classic\b", line), line
    assert "HTTP 404" in line and "80322" in line and "errorCode" in line
    assert SECRET_KEY not in m.stderr()


def test_a_server_error_is_logged_once_with_status_and_error_code(harness, emulator_factory):
    emu = emulator_factory()
    m = harness.mount(emulator=emu, options=["retries=1"])      # default loglevel: warn
    activation = emu.ids("billing", "invoice")[2]
    path = f"/api/v2/packages/billing/actions/invoice/activations/{activation}"
    emu.config(faults=[{"path_regex": re.escape(path), "kind": "status", "status": 500,
                        "fraction": 1.0}])
    emu.reset()
    result = run(["cat", m.p("packages", "billing", "invoice", "activations", activation,
                             "result.json")])
    assert result.returncode != 0
    assert os.strerror(errno.EIO).encode() in result.stderr, result.stderr
    gets = [c for c in calls_of(emu) if c.target.startswith(path)]
    assert [c.status for c in gets] == [500, 500]           # the first try and one retry
    text = wait_until(lambda: m.stderr() if path in m.stderr() else None, 5, "the log line")
    lines = [line for line in text.splitlines() if path in line]
    assert len(lines) == 1, text
    line = lines[0]
    assert line.startswith("ncffs: warning: ")
    assert f"GET {path}?platform=classic" in line
    assert "HTTP 500" in line and "errorCode 900" in line
    assert "2 attempts" in line
    assert SECRET_KEY not in text
    emu.config(faults=[])


def test_a_failed_listing_page_is_logged_once(harness, emulator_factory):
    """Page 2 of a three-page activation listing answers 504 (errorCode 510) every time: the
    listing fails, and the one failed request is logged once, not once per page or per
    lookup."""
    emu = emulator_factory()
    m = harness.mount(emulator=emu, options=["retries=1"])
    path = "/api/v2/packages/paging/actions/many/activations"
    emu.config(faults=[{"path_regex": re.escape(path) + r"\?.*pageNo=2\b", "kind": "status",
                        "status": 504, "fraction": 1.0}])
    emu.reset()
    for _ in range(3):                  # remembered neg_ttl: asked once
        result = run(["ls", m.p("packages", "paging", "many", "activations")])
        assert result.returncode != 0
    emu.config(faults=[])
    failed = [c for c in calls_of(emu) if c.status != 200]
    assert len(failed) == 2 and all(c.page == 2 for c in failed)    # one try, one retry
    text = m.stderr()
    lines = [line for line in text.splitlines() if path in line]
    assert len(lines) == 1, text
    assert "HTTP 504" in lines[0] and "errorCode 510" in lines[0] and "pageNo=2" in lines[0]
    assert lines[0].startswith("ncffs: warning: GET ")
    assert SECRET_KEY not in text


def test_without_f_ncffs_detaches_and_stays_off_the_terminal(helper_mounts, emulator, tmp_path):
    """Without -f: exit 0 once mounted, the daemon runs on (logging to syslog), and nothing
    more reaches the terminal's standard error, even at loglevel=debug."""
    mountpoint = helper_mounts.mountpoint()
    env = helper_mounts.env(tmp_path, credentials=True)
    err = tmp_path / "stderr"
    with open(err, "wb") as stderr:
        started = subprocess.run([NCFFS, mountpoint, "-o",
                                  f"endpoint={emulator.endpoint()},loglevel=debug"],
                                 env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                 stderr=stderr, timeout=30)
    assert started.returncode == 0, err.read_text()
    assert mounted_fstype(mountpoint) == "fuse.ncffs"
    [pid] = ncffs_daemons(mountpoint)
    before = err.read_bytes()
    missing = os.path.join(mountpoint, "packages/demo/hello/activations", "0" * 32)
    with pytest.raises(FileNotFoundError):
        os.stat(missing)                        # a 404: a debug line, in syslog only
    out(["ls", os.path.join(mountpoint, "packages")])       # a warning, in syslog only
    assert err.read_bytes() == before
    assert started.stdout == b""
    _, gone = helper_mounts.umount(mountpoint)
    assert gone and not is_running(pid)
    assert err.read_bytes() == before


def test_a_clean_unmount_logs_no_failed_calls(harness, emulator_factory):
    emu = emulator_factory("--latency-ms", "100")
    m = harness.mount(emulator=emu)
    assert len(out(["ls", m.p("packages", "paging", "many", "activations")]).split()) == 251
    m.unmount()                                 # fusermount3 -u while prefetch is busy
    assert m.exit_problem is None and m.proc.returncode == 0
    assert "aborted" not in m.stderr(), m.stderr()
