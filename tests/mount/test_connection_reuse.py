"""Connections are kept alive and shared between worker threads: reading many records costs
about as many TCP connections as there are fetches in flight, not one per request."""

from conftest import out, run

PREFETCH = 16
LISTING_FETCHES = 8      # the client's parallel page fetches (client/listing.c)


def test_a_cold_grep_reuses_a_few_connections(mnt, emulator):
    top = mnt.p("packages", "paging", "many", "activations")
    run(["grep", "-r", "-c", "ERROR", top])
    emulator.settle()
    requests = emulator.requests()
    connections = {r["conn"] for r in requests}
    assert len(requests) >= 250
    # Every fetch in flight may hold its own connection; nothing more.
    assert len(connections) <= PREFETCH + LISTING_FETCHES + 2, (
        f"{len(requests)} requests over {len(connections)} connections")


def test_sequential_reads_use_one_connection(harness, emulator):
    m = harness.mount(options=["prefetch=0"])
    emulator.reset()
    ids = emulator.ids("demo", "hello")[:10]
    for activation in ids:
        out(["cat", m.p("packages", "demo", "hello", "activations", activation, "status")])
    emulator.settle()
    requests = emulator.requests()
    assert len(requests) >= 10
    assert len({r["conn"] for r in requests}) == 1
