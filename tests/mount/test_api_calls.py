"""What reading costs in API calls, from the emulator's request log: one GET per record for all
the files of an activation, none at all on re-reading."""

import collections
import subprocess

from conftest import ACTIVATION_FILES, OPENWHISK, api_requests_to, out, run

RECORD_PATH = "/api/v2/packages/{pkg}/actions/{action}/activations/{id}"


def record_gets(requests, pkg, action, activation):
    path = RECORD_PATH.format(pkg=pkg, action=action, id=activation)
    return [r for r in requests if r["path"] == path]


def record_paths(requests):
    """Requests for single records, as path -> count."""
    return collections.Counter(r["path"] for r in requests
                               if "/activations/" in r["path"])


def cat_all(m, pkg, action, activation):
    base = m.p("packages", pkg, action, "activations", activation)
    result = run(["cat", *(f"{base}/{name}" for name in ACTIVATION_FILES)], check=True)
    return result.stdout


def test_reading_every_file_costs_one_record_fetch(mnt, emulator):
    activation = emulator.ids("demo", "hello")[3]
    for name in ACTIVATION_FILES:     # one cat per file: one open and read each
        run(["cat", mnt.p("packages", "demo", "hello", "activations", activation, name)],
            check=True)
    emulator.settle()
    requests = emulator.requests()
    assert len(record_gets(requests, "demo", "hello", activation)) == 1
    assert record_paths(requests) == {RECORD_PATH.format(pkg="demo", action="hello",
                                                         id=activation): 1}
    assert all(r["status"] == 200 for r in requests)


def test_rereading_costs_no_call_at_all(mnt, emulator):
    activation = emulator.ids("billing", "invoice")[1]
    first = cat_all(mnt, "billing", "invoice", activation)
    emulator.settle_and_reset()
    for _ in range(3):
        assert cat_all(mnt, "billing", "invoice", activation) == first
        out(["stat", mnt.p("packages", "billing", "invoice", "activations", activation)])
        out(["ls", "-l", mnt.p("packages", "billing", "invoice", "activations", activation)])
    emulator.settle()
    assert emulator.requests() == []


def test_ls_l_then_cat_is_still_one_fetch_per_record(mnt, emulator):
    ids = emulator.ids("demo", "resize-image")
    top = mnt.p("packages", "demo", "resize-image", "activations")
    out(["ls", "-l", top])
    for activation in ids:
        out(["ls", "-l", f"{top}/{activation}"])
        cat_all(mnt, "demo", "resize-image", activation)
    emulator.settle()
    requests = emulator.requests()
    assert record_paths(requests) == {
        RECORD_PATH.format(pkg="demo", action="resize-image", id=a): 1 for a in ids}
    assert len(api_requests_to(requests, "/demo/actions/resize-image/activations")) == 1


def test_grep_r_over_an_action_fetches_each_record_once(mnt, emulator):
    """grep races the background prefetch of the listing: still one GET per record."""
    ids = emulator.ids("demo", "hello")
    run(["grep", "-r", "-c", "hello", mnt.p("packages", "demo", "hello", "activations")])
    emulator.settle()
    requests = emulator.requests()
    assert record_paths(requests) == {
        RECORD_PATH.format(pkg="demo", action="hello", id=a): 1 for a in ids}
    lists = api_requests_to(requests, "/packages/demo/actions/hello/activations")
    assert len(lists) == 1
    emulator.reset()
    run(["grep", "-r", "-c", "hello", mnt.p("packages", "demo", "hello", "activations")])
    emulator.settle()
    assert emulator.requests() == []


def test_listing_twice_within_list_ttl_is_one_call(mnt, emulator):
    listed = {path: out(["ls", path]) for path in (
        mnt.p("packages"), mnt.p("packages", "-"), mnt.p("packages", "-", "standalone"),
        mnt.p("packages", "-", "standalone", "activations"))}
    emulator.settle_and_reset()
    for path, first in listed.items():
        assert out(["ls", path]) == first
    emulator.settle()
    assert emulator.requests() == []


def test_every_request_is_signed_and_accepted(mnt, emulator):
    out(["find", mnt.p("packages", "billing")])
    emulator.settle()
    requests = emulator.requests()
    assert requests
    assert all(r["method"] == "GET" and r["status"] == 200 for r in requests), requests
    # (the emulator checks the signature, or OpenWhisk's basic auth: a 401 otherwise)
    if not OPENWHISK:
        assert all("platform=classic" in r["query"] for r in requests)


def test_concurrent_readers_share_one_fetch(harness, emulator_factory):
    """Eight programs read the files of one activation at once while its record is slow to
    come: they all wait for the one fetch (single-flight) and all see the same bytes."""
    emu = emulator_factory()
    m = harness.mount(emulator=emu, options=["prefetch=0"])
    activation = emu.ids("demo", "hello")[5]
    base = m.p("packages", "demo", "hello", "activations", activation)
    out(["stat", m.p("packages", "demo", "hello", "activations")])
    emu.config(latency_ms=300)
    emu.reset()
    readers = [subprocess.Popen(["cat", f"{base}/{name}"], stdout=subprocess.PIPE)
               for name in ACTIVATION_FILES for _ in range(2)]
    outputs = [r.communicate(timeout=30)[0] for r in readers]
    assert all(r.returncode == 0 for r in readers)
    assert outputs[0::2] == outputs[1::2]
    record = emu.record("demo", "hello", activation)
    assert outputs[ACTIVATION_FILES.index("status") * 2] == \
        (record["response"]["status"] + "\n").encode()
    emu.config(latency_ms=0)
    emu.settle()
    assert record_paths(emu.requests()) == {
        RECORD_PATH.format(pkg="demo", action="hello", id=activation): 1}
