"""Activation listings page through pageNo/pageSize until everything is listed, once, without
duplicates, also when the server caps pageSize far below what ncffs asks for; package and
action lists, which the API does not page, cost one request."""

import math

import pytest

from conftest import (LATEST, OPENWHISK, PACKAGE_ENTRIES, activation_ids, api_requests_to,
                      is_valid_name, out, query_of)

MANY = 250
CAP = 5
LIST_PATH = "/api/v2/packages/paging/actions/many/activations"


def list_pages(requests, path):
    """pageNo of each list request for path, in the order they were sent."""
    return [int(query_of(r)["pageNo"]) for r in requests if r["path"] == path]


def test_all_250_activations_are_listed_once(mnt, emulator):
    top = mnt.p("packages", "paging", "many", "activations")
    names = out(["ls", "-1", top]).splitlines()
    assert LATEST in names
    names = activation_ids(names)
    assert len(names) == MANY
    assert len(set(names)) == MANY
    assert set(names) == set(emulator.ids("paging", "many"))
    assert out(["sh", "-c", 'ls -1 "$1" | wc -l', "sh", top]).strip() == str(MANY + 1)
    assert out(["find", top, "-mindepth", "1", "-maxdepth", "1", "-type", "d"]).count("\n") \
        == MANY


def test_pages_requested_are_exactly_the_needed_ones(mnt, emulator):
    out(["ls", mnt.p("packages", "paging", "many", "activations")])
    emulator.settle()
    lists = [r for r in emulator.requests() if r["path"] == LIST_PATH]
    assert all(r["status"] == 200 for r in lists)
    page_size = int(query_of(lists[0])["pageSize"])
    assert page_size >= 1
    assert {int(query_of(r)["pageSize"]) for r in lists} == {page_size}
    assert sorted(list_pages(lists, LIST_PATH)) == \
        list(range(1, math.ceil(MANY / min(page_size, 100)) + 1))


@pytest.mark.skipif(OPENWHISK, reason="NCP only: a server cap of pageSize (OpenWhisk's is 200, documented)")
def test_server_page_cap_below_the_asked_size(harness, emulator_factory):
    """With --page-cap 5 every page is shorter than asked: ncffs must keep paging (totalCount
    says how far) and still list every package, action and activation exactly once."""
    emu = emulator_factory("--page-cap", str(CAP))     # a cap on activation pages only
    m = harness.mount(emulator=emu)
    emu.reset()
    top = m.p("packages", "paging", "many", "activations")
    names = activation_ids(out(["ls", "-1", top]).splitlines())
    assert len(names) == len(set(names)) == MANY
    assert set(names) == set(emu.ids("paging", "many"))
    emu.settle()
    pages = list_pages(emu.requests(), LIST_PATH)
    assert sorted(pages) == list(range(1, math.ceil(MANY / CAP) + 1)), pages

    # The package and action lists are not paged (the API takes only platform for them):
    # one request each, whatever the cap, and no paging parameters sent.
    emu.reset()
    packages = out(["ls", "-1", m.p("packages")]).split()
    hostile = out(["ls", "-1", m.p("packages", "hostile")]).split()
    lists = [r for r in emu.requests() if r["path"] in ("/api/v2/packages",
                                                         "/api/v2/packages/hostile/actions")]
    assert [query_of(r) for r in lists] == [{"platform": "classic"}] * len(lists)
    assert len(lists) <= 2
    raw = [p["name"] for p in emu.api_get("/packages")]
    assert set(packages) == {n for n in raw if is_valid_name(n)} | {"-"}
    assert len(packages) == len(set(packages))
    assert hostile == [*PACKAGE_ENTRIES, "ok"]
    assert out(["ls", "-1", m.p("packages", "demo")]).split() == \
        [*PACKAGE_ENTRIES, "hello", "resize-image"]


def test_a_big_listing_then_find_fetches_no_record_twice(mnt, emulator):
    """ls then find -type f over 250 activations: whatever ncffs fetches in the background
    after the listing, each record is fetched at most once, and every record path it asks
    for is one that was listed."""
    top = mnt.p("packages", "paging", "many", "activations")
    out(["ls", top])
    files = out(["find", top, "-type", "f", "-name", "status"]).splitlines()
    assert len(files) == MANY
    emulator.settle()
    requests = emulator.requests()
    assert len(api_requests_to(requests, "/paging/actions/many/activations")) <= 3
    record_gets = [r["path"] for r in requests if r["path"].startswith(LIST_PATH + "/")]
    assert len(record_gets) == len(set(record_gets)) == MANY, "a record fetched twice"
    assert {p.rsplit("/", 1)[1] for p in record_gets} == set(emulator.ids("paging", "many"))
