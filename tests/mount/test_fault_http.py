"""HTTP error statuses from a hostile or overloaded API: 500, 502, 503, 504 and 429, on chosen
paths and on a fraction of all requests. The affected operation fails with the errno ncffs(1)
documents, within timeout x (retries + 1) + backoff + slack, after exactly retries + 1
attempts; everything else keeps being served with the right bytes; nothing wrong is served.
"""

import errno

import pytest

from fault_support import *  # noqa: F401,F403 (fixtures and helpers)

# ncffs(1), TROUBLESHOOTING: 504 -> ETIMEDOUT, any other failure -> EIO; a 429 too, once
# throttle_wait is over (never EAGAIN, which tree walkers skip without a word).
STATUS_ERRNO = {500: errno.EIO, 502: errno.EIO, 503: errno.EIO, 504: errno.ETIMEDOUT,
                429: errno.EIO}
# The emulator sends Retry-After: 1 with 429 and 503; ncffs waits that long between attempts.
WAIT = {s: RETRY_AFTER_S if s in (429, 503) else BACKOFF_S for s in STATUS_ERRNO}
FILES = ("status", "duration", "logs.txt", "result.json", "activation.json")
INVOICE_LIST = r"/actions/invoice/activations\?"
MAX_PASSES = 6
# Per status; 429 and 503 cost a 1 s Retry-After each, so they come up less often.
FRACTION = {500: 0.08, 502: 0.08, 504: 0.08, 503: 0.05, 429: 0.05}


@pytest.mark.parametrize("status", sorted(STATUS_ERRNO))
def test_status_on_chosen_paths_fails_only_those(fmount, femu, status):
    """One activation record and one listing answer `status`; nothing else does."""
    m = fmount()
    aid, base = first_record_path(m, femu, index=1)
    femu.faults(fault("status", aid, status=status),
                fault("status", INVOICE_LIST, status=status))
    outs = fsops([("read", f"{base}/status"),
                  ("list", m.p("packages", "billing", "invoice", "activations"))])
    bound = fail_bound(attempt_s=1.0, wait_per_retry=WAIT[status])
    if status == 429:       # retried free of charge for throttle_wait first
        bound += THROTTLE_WAIT_S
    for o in outs:
        assert o.errno == STATUS_ERRNO[status], o
        assert o.elapsed < bound, (o, bound)
    # Each operation made one fetch of retries + 1 attempts, all answered `status` (429s:
    # as many more as throttle_wait let the scheduler's pace send).
    tried = femu.to(aid) + femu.to("/actions/invoice/activations?")
    if status == 429:
        assert len(tried) >= 2 * (RETRIES + 1), tried
    else:
        assert len(tried) == 2 * (RETRIES + 1), tried
    assert {r["status"] for r in tried} == {status}
    # The rest of the tree, other records of the same action included, is untouched.
    other = femu.ids("demo", "hello")[2]
    other_outs = fsops([("read", m.p("packages", "demo", "hello", "activations", other, f))
                        for f in FILES])
    assert expect_record_files(other_outs, femu.record("demo", "hello", other)) == len(FILES)
    listing = fsop("list", m.p("packages", "demo", "hello", "activations"))
    assert listing.ok and sorted(listing.names) == sorted(femu.ids("demo", "hello") + ["latest"])
    # The API recovers: so do the record and the listing, with the right bytes.
    femu.clear()
    healed = fsops([("read", f"{base}/{f}") for f in FILES])
    assert expect_record_files(healed, femu.record("demo", "hello", aid)) == len(FILES)
    assert_serves_correctly(m, femu)
    assert read_stats(m)["api_retries"] >= 2 * RETRIES
    assert_daemon_healthy(m)


def test_every_status_on_a_fraction_never_serves_wrong_bytes(fmount, femu):
    """A third of all API requests fail, with each of the five statuses. Every operation
    either gives exactly the emulator's bytes or fails with one of their errnos, in bounded
    time. Each pass reads records not read before, so each pass asks the API again."""
    m = fmount()
    femu.faults(*[fault("status", "", status=s, fraction=FRACTION[s]) for s in sorted(FRACTION)])
    pairs = [("demo", "hello"), ("paging", "many")]
    ok = failed = passes = 0
    injected = set()
    # Passes until the coin has hit every status (at least two, at most MAX_PASSES): the
    # request order, and so the seeded coin's effect, differs between builds.
    while passes < 2 or (injected != set(STATUS_ERRNO) and passes < MAX_PASSES):
        ids = {pair: femu.ids(*pair)[4 * passes:4 * passes + 4] for pair in pairs}
        passes += 1
        ops = [("list", m.p("packages", p, a, "activations")) for p, a in pairs]
        ops += [("read", m.p("packages", p, a, "activations", aid, f))
                for (p, a), aids in ids.items() for aid in aids for f in ("status", "logs.txt")]
        outs = fsops(ops)
        for o in outs:
            assert o.elapsed < fail_bound(attempt_s=1.0, wait_per_retry=RETRY_AFTER_S), o
            if not o.ok:
                assert o.errno in STATUS_ERRNO.values(), o
                failed += 1
            elif o.op == "list":
                pkg, action = o.path.split("/")[-3:-1]
                assert sorted(o.names) == sorted(femu.ids(pkg, action) + ["latest"]), o
                ok += 1
        for (p, a), aids in ids.items():
            for aid in aids:
                ok += expect_record_files([o for o in outs if aid in o.path],
                                          femu.record(p, a, aid))
        injected = {r["status"] for r in femu.requests() if r.get("fault")}
    assert injected == set(STATUS_ERRNO), injected
    assert ok > failed, (ok, failed)
    femu.clear()
    assert_serves_correctly(m, femu)
    assert_daemon_healthy(m)
