"""Broken transfers and broken bodies: a connection reset (or closed) mid-body, a body that
stalls after the headers, a server that accepts and never answers, truncated JSON, an HTML
error page, and a response larger than max_body. Each fails the operation that needed it with
a clear errno in bounded time, with the documented number of attempts; the daemon keeps
serving everything else with the right bytes; no byte of a broken answer is ever served.
"""

import errno
import hashlib

import pytest

from fault_support import *  # noqa: F401,F403 (fixtures and helpers)

# Ids inside the emulator's broken bodies: the reset/stall sample list uses md5("fault/sample/i"),
# the garbage body starts an entry with 8c1d0e6f...; none may ever show up in the tree.
FOREIGN_IDS = {hashlib.md5(f"fault/sample/{i}".encode()).hexdigest() for i in range(60)}
FOREIGN_IDS.add("8c1d0e6f3a2b4c5d9e7f0a1b2c3d4e5f")

INVOICE_LIST = r"/actions/invoice/activations\?"
# How long stall/hang faults keep the emulator's socket open: longer than ncffs needs to give
# an attempt up (timeout=1 plus curl's once-a-second check), so ncffs is the side that gives up.
HELD_S = 2.5


class Case:
    def __init__(self, name, spec, err, retried, options=(), attempt_s=None):
        self.name, self.spec, self.err, self.retried = name, spec, err, retried
        self.options, self.attempt_s = options, attempt_s

    def __repr__(self):
        return self.name


# (fault, errno, retried?): ncffs(1) lists what is retried (dropped connections, timeouts,
# 429/5xx) and what each failure maps to (EFBIG over max_body, EBADMSG for a body that is not
# a valid answer, ETIMEDOUT for no progress, EIO otherwise).
CASES = [
    Case("reset-rst", dict(kind="reset"), errno.EIO, True, attempt_s=0.5),
    Case("reset-fin", dict(kind="reset", rst=False), errno.EIO, True, attempt_s=0.5),
    Case("stall", dict(kind="stall", seconds=HELD_S), errno.ETIMEDOUT, True),
    Case("hang", dict(kind="hang", seconds=HELD_S), errno.ETIMEDOUT, True),
    Case("garbage", dict(kind="garbage"), errno.EBADMSG, False, attempt_s=0.5),
    Case("html-502", dict(kind="html"), errno.EIO, True, attempt_s=0.5),
    Case("huge-over-max_body", dict(kind="huge", size_mb=2), errno.EFBIG, False,
         options=("max_body=1",), attempt_s=1.0),
    Case("huge-under-max_body-wrong-shape", dict(kind="huge", size_mb=0.5), errno.EBADMSG,
         False, options=("max_body=1",), attempt_s=1.0),
]
# (A hanging listing: test_fault_dead_server.py's frozen server.)
LISTING_CASES = [c for c in CASES if c.name in ("reset-rst", "garbage", "huge-over-max_body")]


def check_attempts(femu, needle, case, fetches):
    """Every attempt of the faulted fetches is in the log, and there were as many as ncffs(1)
    promises: retries + 1 for retryable failures, 1 for the others."""
    per_fetch = RETRIES + 1 if case.retried else 1
    want = fetches * per_fetch
    tried = femu.wait_logged(lambda reqs: len([r for r in reqs if needle in r["target"]]) >= want,
                             timeout=HELD_S + 5)
    tried = [r for r in tried if needle in r["target"]]
    assert len(tried) == want, (case, tried)
    assert all(r.get("fault") == case.spec["kind"] for r in tried), tried


@pytest.mark.parametrize("case", CASES, ids=repr)
def test_fault_on_one_record(fmount, femu, case):
    m = fmount(*case.options)
    aid, base = first_record_path(m, femu, index=3)
    femu.faults(fault(path_regex=aid, **case.spec))
    o = fsop("read", f"{base}/result.json")
    assert o.errno == case.err, o
    assert o.elapsed < fail_bound(attempt_s=case.attempt_s), o
    check_attempts(femu, aid, case, fetches=1)
    # Everything else is still served, with the right bytes, while the fault is on.
    assert_serves_correctly(m, femu)
    listing = fsop("list", m.p("packages", "demo", "hello", "activations"))
    assert listing.ok and sorted(listing.names) == sorted(femu.ids("demo", "hello") + ["latest"])
    femu.clear()
    healed = fsops([("read", f"{base}/{f}") for f in ("status", "logs.txt", "activation.json")])
    assert expect_record_files(healed, femu.record("demo", "hello", aid)) == 3
    assert_daemon_healthy(m)


@pytest.mark.parametrize("case", LISTING_CASES, ids=repr)
def test_fault_on_a_listing(fmount, femu, case):
    m = fmount(*case.options)
    femu.faults(fault(path_regex=INVOICE_LIST, **case.spec))
    o = fsop("list", m.p("packages", "billing", "invoice", "activations"))
    assert o.errno == case.err, o
    assert o.elapsed < fail_bound(attempt_s=case.attempt_s), o
    check_attempts(femu, "/actions/invoice/activations?", case, fetches=1)
    # Nothing from the broken body became a name; other listings are fine.
    for other in (("demo", "hello"), ("demo", "resize-image")):
        got = fsop("list", m.p("packages", *other, "activations"))
        assert got.ok and sorted(got.names) == sorted(femu.ids(*other) + ["latest"]), got
    for aid in sorted(FOREIGN_IDS)[:3]:
        stray = fsop("stat", m.p("packages", "billing", "invoice", "activations", aid))
        assert stray.errno == errno.ENOENT, stray
    femu.clear()
    healed = fsop("list", m.p("packages", "billing", "invoice", "activations"))
    assert healed.ok and not FOREIGN_IDS & set(healed.names)
    assert sorted(healed.names) == sorted(femu.ids("billing", "invoice") + ["latest"])
    assert_daemon_healthy(m)


def test_truncated_page_of_a_long_listing_fails_the_whole_listing(fmount, femu):
    """paging/many has 250 activations on three pages: when page 2 breaks, ls fails rather
    than show 150 names; once it heals, all 250 are there."""
    m = fmount()
    femu.faults(fault("reset", r"/actions/many/activations\?.*pageNo=2&"))
    o = fsop("list", m.p("packages", "paging", "many", "activations"))
    assert o.errno == errno.EIO, o
    assert o.elapsed < fail_bound(attempt_s=0.5)
    femu.clear()
    healed = fsop("list", m.p("packages", "paging", "many", "activations"))
    assert healed.ok and sorted(healed.names) == sorted(femu.ids("paging", "many") + ["latest"])
    assert_daemon_healthy(m)
