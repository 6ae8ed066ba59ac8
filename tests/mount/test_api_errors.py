"""What programs see when the API misbehaves (faults injected by the emulator): the errno table
of ncffs(1) TROUBLESHOOTING, retries, remembered failures, stale listings, and start-up with
an API that refuses or cannot be reached."""

import errno
import os
import socket
import time

import pytest

from conftest import PACKAGE_ENTRIES, Emulator, Harness, api_requests_to, out, query_of, run

BILLING_LIST = r"/packages/billing/actions\?"


@pytest.fixture(scope="module")
def faulty_emulator(tmp_path_factory):
    emu = Emulator(tmp_path_factory.mktemp("faulty"))
    yield emu
    emu.stop()


@pytest.fixture
def faulty(faulty_emulator):
    """The module's private emulator, with no faults and an empty log before and after."""
    faulty_emulator.config(faults=[], latency_ms=0)
    faulty_emulator.reset()
    yield faulty_emulator
    faulty_emulator.config(faults=[], latency_ms=0)


@pytest.fixture(scope="module")
def errno_mnt(tmp_path_factory, faulty_emulator):
    """One mount that remembers nothing (no retries, no TTLs): every access asks the API."""
    h = Harness(tmp_path_factory.mktemp("errno"), faulty_emulator, None)
    try:
        yield h.mount(options=["retries=0", "neg_ttl=0", "list_ttl=0", "throttle_wait=1"])
    finally:
        problems = h.teardown()
    if problems:
        pytest.fail("\n\n".join(problems), pytrace=False)


def listdir_errno(path):
    with pytest.raises(OSError) as err:
        os.listdir(path)
    return err.value.errno


ERRNO_CASES = [
    ("http-500", {"kind": "status", "status": 500}, errno.EIO),
    ("http-503", {"kind": "status", "status": 503}, errno.EIO),
    # after throttle_wait; never EAGAIN, which grep -r and find skip without a word
    ("http-429", {"kind": "status", "status": 429}, errno.EIO),
    ("http-504", {"kind": "status", "status": 504}, errno.ETIMEDOUT),
    ("http-400", {"kind": "status", "status": 400}, errno.EINVAL),
    ("http-401", {"kind": "status", "status": 401}, errno.EACCES),
    ("http-403", {"kind": "status", "status": 403, "error_code": 80002}, errno.EACCES),
    ("garbage-json", {"kind": "garbage"}, errno.EBADMSG),
    ("html-502", {"kind": "html"}, errno.EIO),
    ("connection-reset", {"kind": "reset"}, errno.EIO),
]


@pytest.mark.parametrize("fault,expected", [c[1:] for c in ERRNO_CASES],
                         ids=[c[0] for c in ERRNO_CASES])
def test_api_failure_maps_to_the_documented_errno(errno_mnt, faulty, fault, expected):
    m = errno_mnt
    faulty.config(faults=[dict(fault, path_regex=BILLING_LIST)])
    assert listdir_errno(m.p("packages", "billing")) == expected
    result = run(["ls", m.p("packages", "billing")])
    assert result.returncode != 0 and os.strerror(expected).encode() in result.stderr
    # the rest of the tree is unaffected, and the failure is not remembered (neg_ttl=0)
    assert "hello" in out(["ls", m.p("packages", "demo")]).split()
    faulty.config(faults=[])
    assert out(["ls", m.p("packages", "billing")]).split() == [*PACKAGE_ENTRIES, "invoice"]


def test_response_over_max_body_is_efbig(harness, faulty):
    m = harness.mount(emulator=faulty, options=["retries=0", "max_body=1"])
    faulty.config(faults=[{"kind": "huge", "size_mb": 2, "path_regex": BILLING_LIST}])
    assert listdir_errno(m.p("packages", "billing")) == errno.EFBIG


def test_stalled_response_times_out(harness, faulty):
    m = harness.mount(emulator=faulty, options=["retries=0", "timeout=1"])
    faulty.config(faults=[{"kind": "stall", "seconds": 5, "path_regex": BILLING_LIST}])
    started = time.monotonic()
    assert listdir_errno(m.p("packages", "billing")) == errno.ETIMEDOUT
    assert time.monotonic() - started < 4.5


def billing_list_statuses(emu):
    """Statuses of the action-list requests; that list is unpaged: no pageNo may be sent."""
    requests = api_requests_to(emu.requests(), "/packages/billing/actions")
    assert all("pageNo" not in query_of(r) for r in requests)
    return [r["status"] for r in requests]


@pytest.mark.parametrize("status", [500, 502, 504])
def test_retryable_failures_are_retried(harness, faulty, status):
    m = harness.mount(emulator=faulty, options=["retries=3"])
    faulty.config(faults=[{"kind": "status", "status": status, "count": 2,
                           "path_regex": BILLING_LIST}])
    faulty.reset()
    assert out(["ls", m.p("packages", "billing")]).split() == [*PACKAGE_ENTRIES, "invoice"]
    assert billing_list_statuses(faulty) == [status, status, 200]


def test_retries_give_up_after_the_limit(harness, faulty):
    m = harness.mount(emulator=faulty, options=["retries=2"])
    faulty.config(faults=[{"kind": "status", "status": 500, "path_regex": BILLING_LIST}])
    faulty.reset()
    assert listdir_errno(m.p("packages", "billing")) == errno.EIO
    assert billing_list_statuses(faulty) == [500, 500, 500]


def test_non_retryable_failure_is_not_retried(harness, faulty):
    m = harness.mount(emulator=faulty, options=["retries=3"])
    faulty.config(faults=[{"kind": "status", "status": 400, "path_regex": BILLING_LIST}])
    faulty.reset()
    assert listdir_errno(m.p("packages", "billing")) == errno.EINVAL
    assert billing_list_statuses(faulty) == [400]


def test_a_failure_is_remembered_for_neg_ttl(harness, faulty):
    m = harness.mount(emulator=faulty, options=["retries=0", "neg_ttl=1"])
    faulty.config(faults=[{"kind": "status", "status": 500, "count": 1,
                           "path_regex": BILLING_LIST}])
    faulty.reset()
    assert listdir_errno(m.p("packages", "billing")) == errno.EIO
    assert listdir_errno(m.p("packages", "billing")) == errno.EIO     # from memory
    assert billing_list_statuses(faulty) == [500]
    time.sleep(1.2)
    assert out(["ls", m.p("packages", "billing")]).split() == [*PACKAGE_ENTRIES, "invoice"]


def test_expired_listing_is_served_stale_when_refresh_fails(harness, faulty):
    m = harness.mount(emulator=faulty, options=["retries=0", "list_ttl=1"])
    assert out(["ls", m.p("packages", "billing")]).split() == [*PACKAGE_ENTRIES, "invoice"]
    faulty.config(faults=[{"kind": "status", "status": 500, "path_regex": BILLING_LIST}])
    time.sleep(1.2)
    faulty.reset()
    assert out(["ls", m.p("packages", "billing")]).split() == [*PACKAGE_ENTRIES, "invoice"]
    assert billing_list_statuses(faulty) == [500]
    stale = dict(line.split(" ", 1) for line in out(["cat", m.p(".ncffs-stats")]).splitlines())
    assert int(stale["cache_stale_served"]) >= 1


def test_record_not_found_yet_is_enoent_and_left_out_of_the_tsv(harness, faulty):
    """A freshly listed activation whose record still answers 404 (80322)."""
    m = harness.mount(emulator=faulty, options=["retries=0"])
    ids = faulty.ids("billing", "invoice")
    missing = ids[0]
    faulty.config(faults=[{"kind": "status", "status": 404, "error_code": 80322,
                           "path_regex": f"/activations/{missing}"}])
    top = m.p("packages", "billing", "invoice")
    assert missing in out(["ls", f"{top}/activations"]).split()     # listed ...
    with pytest.raises(FileNotFoundError):                          # ... but not readable
        os.stat(f"{top}/activations/{missing}/status")
    tsv = out(["cat", f"{top}/activations.tsv"]).splitlines()
    assert [line.split("\t")[0] for line in tsv[1:]] == ids[1:]


# ---- start-up against a refusing or absent API ----------------------------------------------

def test_http_403_at_start_up_is_rejected_credentials(harness, faulty):
    faulty.config(faults=[{"kind": "status", "status": 403, "error_code": 80002,
                           "path_regex": r"/packages\?"}])
    result, path = harness.start(emulator=faulty)
    assert result.returncode == 1
    assert b"rejected the credentials" in result.stderr, result.stderr
    assert os.listdir(path) == []


def free_loopback_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_unreachable_api_warns_and_mounts_anyway(harness):
    endpoint = f"http://127.0.0.1:{free_loopback_port()}/api/v2"
    m = harness.mount(endpoint=endpoint, options=["retries=0", "timeout=2"])
    assert "mounting anyway" in m.stderr()
    assert sorted(os.listdir(m.p())) == [".ncffs-stats", "packages", "triggers"]
    assert listdir_errno(m.p("packages")) == errno.ECONNREFUSED
