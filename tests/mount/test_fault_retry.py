"""Retries: a failure on the first attempt followed by success gives exactly the right bytes;
the emulator's request log shows each attempt and when it came; Retry-After is honoured and
plain failures back off briefly; retries=0 means one attempt; non-retryable failures are not
retried.
"""

import errno

import pytest

from fault_support import *  # noqa: F401,F403 (fixtures and helpers)

FILES = ("status", "duration", "logs.txt", "result.json", "activation.json")
BACKOFF_JITTER_S = 0.5      # scheduling slack on top of client.c's 100-200 ms first backoff


def attempts_at(femu, aid):
    """The logged attempts at one record, oldest first: [(status, ts ms, fault kind)]."""
    return [(r["status"], r["ts"], r.get("fault")) for r in femu.to(aid)]


def read_record(m, femu, aid, pkg="demo", action="hello"):
    base = m.p("packages", pkg, action, "activations", aid)
    outs = fsops([("read", f"{base}/{f}") for f in FILES])
    assert expect_record_files(outs, femu.record(pkg, action, aid)) == len(FILES), outs
    return outs


@pytest.mark.parametrize("status,retry_after,min_gap_s,max_gap_s", [
    (503, RETRY_AFTER_S, RETRY_AFTER_S - 0.05, RETRY_AFTER_S + BACKOFF_JITTER_S),
    (429, RETRY_AFTER_S, RETRY_AFTER_S - 0.05, RETRY_AFTER_S + BACKOFF_JITTER_S),
    # an HTTP date 2 s ahead: whole seconds, so the wait is between 1 and 2 s
    (503, "date:2", 0.95, 2 + BACKOFF_JITTER_S),
    (500, None, 0.09, BACKOFF_S + BACKOFF_JITTER_S),                 # no Retry-After
], ids=["503-retry-after", "429-retry-after", "503-retry-after-date", "500-backoff"])
def test_one_failure_then_success_gives_the_right_bytes(fmount, femu, status, retry_after,
                                                         min_gap_s, max_gap_s):
    m = fmount()
    aid = femu.ids("demo", "hello")[6]
    extra = {} if retry_after is None else {"retry_after": retry_after}
    femu.faults(fault("status", aid, status=status, count=1, **extra))
    outs = read_record(m, femu, aid)
    tried = attempts_at(femu, aid)
    assert [t[0] for t in tried] == [status, 200], tried
    gap_s = (tried[1][1] - tried[0][1]) / 1000
    assert min_gap_s <= gap_s <= max_gap_s, (gap_s, tried)
    assert outs[0].elapsed >= min_gap_s                  # the reader waited for the retry
    assert read_stats(m)["api_retries"] == 1
    assert_daemon_healthy(m)


@pytest.mark.parametrize("spec", [dict(kind="reset"), dict(kind="reset", rst=False),
                                  dict(kind="stall", seconds=3), dict(kind="hang", seconds=3),
                                  dict(kind="html")],
                         ids=["reset", "close", "stall", "hang", "html-502"])
def test_broken_first_attempt_then_success_gives_the_right_bytes(fmount, femu, spec):
    """The retry starts from an empty body: nothing of the broken attempt leaks into the
    file (reset and stall send the head and part of a different, valid-looking body)."""
    m = fmount()
    aid = femu.ids("demo", "hello")[7]
    femu.faults(fault(path_regex=aid, count=1, **spec))
    outs = read_record(m, femu, aid)
    assert outs[0].elapsed < fail_bound(), outs[0]
    tried = femu.wait_logged(lambda reqs: len([r for r in reqs if aid in r["target"]]) >= 2)
    # A hung request is logged when its thread ends, after the retry: order by arrival.
    tried = sorted((r for r in tried if aid in r["target"]), key=lambda r: r["ts"])
    assert len(tried) == 2 and tried[0].get("fault") == spec["kind"], tried
    assert tried[1]["status"] == 200 and not tried[1].get("fault"), tried
    assert_daemon_healthy(m)


def test_retries_zero_means_one_attempt(fmount, femu):
    m = fmount("retries=0")
    aid = femu.ids("demo", "hello")[8]
    femu.faults(fault("status", aid, status=503, count=1))
    base = m.p("packages", "demo", "hello", "activations", aid)
    o = fsop("read", f"{base}/status")
    assert o.errno == errno.EIO and o.elapsed < 0.9, o       # no Retry-After wait either
    assert [t[0] for t in attempts_at(femu, aid)] == [503]
    read_record(m, femu, aid)                                 # neg_ttl=0: asks again, fine
    assert_daemon_healthy(m)


def test_more_retries_outlast_more_failures(fmount, femu):
    """retries=3 with three 500s in a row: the fourth attempt succeeds, after backoffs that
    grow (about 0.1-0.2 s, 0.2-0.4 s, 0.4-0.8 s)."""
    m = fmount("retries=3")
    aid = femu.ids("demo", "hello")[9]
    femu.faults(fault("status", aid, status=500, count=3))
    read_record(m, femu, aid)
    tried = attempts_at(femu, aid)
    assert [t[0] for t in tried] == [500, 500, 500, 200], tried
    gaps = [(b[1] - a[1]) / 1000 for a, b in zip(tried, tried[1:])]
    for gap, ceiling in zip(gaps, (0.2, 0.4, 0.8)):
        assert ceiling / 2 - 0.01 <= gap <= ceiling + BACKOFF_JITTER_S, gaps
    assert_daemon_healthy(m)


@pytest.mark.parametrize("status", [400, 401, 403, 404])
def test_client_errors_are_not_retried(fmount, femu, status):
    m = fmount()
    aid = femu.ids("demo", "hello")[10]
    femu.faults(fault("status", aid, status=status))
    o = fsop("read", m.p("packages", "demo", "hello", "activations", aid, "status"))
    want = {400: errno.EINVAL, 401: errno.EACCES, 403: errno.EACCES, 404: errno.ENOENT}
    assert o.errno == want[status], o
    assert [t[0] for t in attempts_at(femu, aid)] == [status]
    assert_daemon_healthy(m)
