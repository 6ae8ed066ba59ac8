"""Stale-on-error: when refreshing an expired listing fails with anything but "not found",
the old copy is served again (ncffs(1), CACHING), and cached records stay readable, for as
long as the API is down. What was never fetched fails; "not found" is not papered over.
"""

import errno
import signal
import time

from fault_support import *  # noqa: F401,F403 (fixtures and helpers)

LIST_TTL_S = 1
NEG_TTL_S = 10      # how long a stale copy is served before the next refresh attempt
FILES = ("status", "duration", "logs.txt", "result.json", "activation.json")


def test_old_listings_and_records_are_served_while_the_api_is_down(fmount, femu):
    # retries=0: each failed refresh is one quick 503 instead of a 1 s Retry-After wait;
    # retrying is test_fault_retry.py's subject, serving stale is this one's.
    m = fmount(f"list_ttl={LIST_TTL_S}", f"neg_ttl={NEG_TTL_S}", "retries=0")
    hello = m.p("packages", "demo", "hello")
    ids = femu.ids("demo", "hello")[:3]
    warm = [("list", m.p("packages")), ("list", m.p("packages", "demo")),
            ("list", f"{hello}/activations"), ("read", f"{hello}/action.json")]
    warm += [("read", f"{hello}/activations/{aid}/{f}") for aid in ids for f in FILES]
    before = fsops(warm)
    assert all(o.ok for o in before), before
    # Something changes upstream, then the API goes down (every request 503).
    added = femu.admin("POST", "/addactivation/demo/hello", {})["activationId"]
    femu.faults(fault("status", "", status=503))
    time.sleep(LIST_TTL_S + 0.3)                        # every listing has expired
    during = fsops(warm)
    for old, now in zip(before, during):
        assert now.ok, now
        assert (now.names, now.data) == (old.names, old.data), (old, now)
    assert added not in during[2].names                 # the old copy, not a fresh one
    # ncffs did try: each expired listing was asked for (and failed) before it served stale.
    refreshed = [r for r in femu.requests() if r["status"] == 503]
    for path in ("/api/v2/packages", "/api/v2/packages/demo/actions",
                 "/api/v2/packages/demo/actions/hello/activations"):
        assert any(r["path"] == path for r in refreshed), (path, refreshed)
    # Within neg_ttl the stale copies are served again without asking the API.
    femu.reset()
    again = fsops(warm)
    assert [(o.names, o.data) for o in again] == [(o.names, o.data) for o in before]
    assert femu.requests() == []
    # Never fetched before: nothing to serve, so it fails (and quickly).
    never = fsop("list", m.p("packages", "billing", "invoice", "activations"))
    assert never.errno == errno.EIO, never
    assert never.elapsed < fail_bound(attempt_s=1.0, retries=0)
    assert read_stats(m)["cache_stale_served"] >= 3
    # The API is back; SIGHUP drops the cache, so the next access (once the kernel's own
    # list_ttl has passed) refreshes and sees the new activation.
    femu.clear()
    m.proc.send_signal(signal.SIGHUP)
    time.sleep(LIST_TTL_S + 0.2)
    fresh = fsop("list", f"{hello}/activations")
    assert fresh.ok and added in fresh.names, fresh
    assert_daemon_healthy(m)


def test_cached_records_need_no_api_at_all(fmount, femu):
    """Records never expire: with every request failing, they are read without a single
    request, and ls -l style lookups of them work too."""
    m = fmount()
    base = m.p("packages", "demo", "resize-image", "activations")
    ids = femu.ids("demo", "resize-image")[:4]
    ops = [("read", f"{base}/{aid}/{f}") for aid in ids for f in FILES]
    first = fsops(ops)
    assert all(o.ok for o in first)
    femu.faults(fault("hang", "", seconds=3))       # the worst kind of down: no answer at all
    femu.reset()
    second = fsops(ops + [("stat", f"{base}/{aid}") for aid in ids])
    assert [o.data for o in second[:len(ops)]] == [o.data for o in first]
    assert all(o.ok for o in second)
    for aid in ids:
        record = femu.record("demo", "resize-image", aid)
        reads = [o for o in second if aid in o.path and o.op == "read"]
        assert expect_record_files(reads, record) == len(FILES)
    assert femu.requests() == []
    assert_daemon_healthy(m)


def test_not_found_on_refresh_is_not_served_stale(fmount, femu):
    """An action that disappears (404 ACTION_NOT_FOUND on refresh) is gone, not stale."""
    m = fmount(f"list_ttl={LIST_TTL_S}", f"neg_ttl={NEG_TTL_S}")
    path = m.p("packages", "billing", "invoice", "activations")
    assert fsop("list", path).ok
    femu.faults(fault("status", r"/actions/invoice/activations\?", status=404,
                      error_code=80301))
    time.sleep(LIST_TTL_S + 0.3)
    gone = fsop("list", path)
    assert gone.errno == errno.ENOENT, gone
    assert read_stats(m)["cache_stale_served"] == 0
    assert_daemon_healthy(m)
