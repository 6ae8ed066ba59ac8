"""activations/latest and failed/ (issues 6 and 9), with what they cost from the emulator's
request log: latest is the newest activation (the emulator's ids, index 0 = newest, whatever
order the emulator lists in), failed/ holds a link ../activations/ID for exactly the
activations whose success is false, and neither costs more than the activation listing (one
GET per page) plus the records at the two ends of the list, which tell its order."""

import json
import os

import pytest

from conftest import LATEST, activation_ids, out, run
from unix_support import (listing_pages, module_emulators, pages_for, quiet_calls,  # noqa: F401
                          record_calls, wait_until)

OWNERS = (("demo", "hello"), ("paging", "many"), ("-", "standalone"))


def the_listing_and_its_ends(calls, owner, ids):
    """Assert that calls hold the activation listing of owner, each page once, and the records
    of the newest and the oldest activation (the ends of the list, whichever order it has)
    once each: no other record."""
    assert listing_pages(calls, owner) == {p: 1 for p in range(1, pages_for(len(ids)) + 1)}
    ends = {ids[0], ids[-1]} if len(ids) > 1 else set()
    assert record_calls(calls) == {a: 1 for a in ends}
    assert {c.kind for c in calls} <= {"packages", "actions", "activations", "record"}, calls


END_PAGE = 8                    # latest reads the list's ends as pages of this many items


def the_ends_of_the_list(calls, owner, ids):
    """Assert that calls hold, of owner's activation list, no more than its first and its last
    page of END_PAGE items and the records at its two ends (whichever order it has), each
    once: at most four requests, whatever the list's length."""
    lists = [c for c in calls if c.kind == "activations" and c.owner == owner]
    last = -(-len(ids) // END_PAGE)
    assert sorted(c.page for c in lists) == sorted({1, last}), lists
    assert all("pageSize=8" in c.target for c in lists), lists
    ends = {ids[0], ids[-1]} if len(ids) > 1 else set()
    assert record_calls(calls) == {a: 1 for a in ends}
    assert len(lists) + len(ends) <= 4


@pytest.mark.parametrize("pkg,action", OWNERS, ids=lambda v: v)
def test_latest_is_the_newest_id_and_costs_the_ends_of_the_list(mnt, emulator, pkg, action):
    ids = emulator.ids(pkg, action)
    link = mnt.p("packages", pkg, action, "activations", LATEST)
    assert os.readlink(link) == ids[0]
    assert out(["readlink", link]).strip() == ids[0]
    assert out(["ls", "-l", link]).rstrip().endswith(f"/{LATEST} -> {ids[0]}")
    the_ends_of_the_list(quiet_calls(emulator), f"{pkg}/{action}", ids)
    # following the link reaches the activation directory, fetching nothing more
    emulator.reset()
    assert os.path.realpath(link) == mnt.p("packages", pkg, action, "activations", ids[0])
    assert os.listdir(link)
    assert record_calls(quiet_calls(emulator)) == {}


def test_cat_latest_logs_is_the_newest_record(mnt, emulator):
    ids = emulator.ids("demo", "hello")
    record = emulator.record("demo", "hello", ids[0])
    top = mnt.p("packages", "demo", "hello", "activations")
    assert out(["cat", f"{top}/latest/logs.txt"]) == "".join(l + "\n" for l in record["logs"])
    assert out(["cat", f"{top}/latest/logs.txt"]) == out(["cat", f"{top}/{ids[0]}/logs.txt"])
    assert json.loads(out(["cat", f"{top}/latest/activation.json"])) == record
    calls = quiet_calls(emulator)
    # the ends of the list (for the link) and their records, the newest among them
    the_ends_of_the_list(calls, "demo/hello", ids)


@pytest.fixture(scope="module")
def changing(module_emulators):
    """An emulator the tests of this module add activations to."""
    return module_emulators()


def test_latest_follows_a_new_activation(harness, changing):
    emu = changing
    m = harness.mount(emulator=emu, options=["list_ttl=1"])
    link = m.p("packages", "billing", "invoice", "activations", LATEST)
    assert os.readlink(link) == emu.ids("billing", "invoice")[0]
    added = emu.admin("POST", "/addactivation/billing/invoice",
                      {"logs": ["2026-01-01T00:00:00.000Z stdout: the newest run"]})
    assert emu.ids("billing", "invoice")[0] == added["activationId"]
    wait_until(lambda: os.readlink(link) == added["activationId"], 10, "latest to move")
    assert out(["cat", f"{link}/logs.txt"]) == \
        "2026-01-01T00:00:00.000Z stdout: the newest run\n"


# ---- failed/ -----------------------------------------------------------------------------------

FAILED_OWNERS = (("demo", "hello"), ("demo", "resize-image"), ("paging", "many"),
                 ("billing", "invoice"))


@pytest.mark.parametrize("pkg,action", FAILED_OWNERS, ids=lambda v: v)
def test_failed_lists_exactly_the_unsuccessful_runs_for_the_listing_and_its_ends(mnt, emulator, pkg,
                                                                         action):
    ids = emulator.ids(pkg, action)
    emulator.reset()
    top = mnt.p("packages", pkg, action)
    names = out(["ls", f"{top}/failed"]).split()
    long_listing = out(["ls", "-l", f"{top}/failed"])
    calls = quiet_calls(emulator)
    the_listing_and_its_ends(calls, f"{pkg}/{action}", ids)
    failing = [a for a in ids
               if not emulator.record(pkg, action, a)["response"]["success"]]
    assert sorted(names) == sorted(failing) and len(names) == len(set(names))
    assert os.listdir(f"{top}/failed") == failing     # newest first, whatever the list order
    assert bool(failing) == (pkg != "billing")      # billing/invoice: an empty failed/
    for activation in names:
        assert f"{activation} -> ../activations/{activation}\n" in long_listing
        assert long_listing.count(" -> ") == len(failing)
        link = f"{top}/failed/{activation}"
        assert os.readlink(link) == f"../activations/{activation}"
        assert os.path.islink(link)
        assert os.path.realpath(link) == f"{top}/activations/{activation}"


def test_failed_links_lead_to_the_failed_records(mnt, emulator):
    top = mnt.p("packages", "demo", "resize-image")
    statuses = out(["sh", "-c", 'cd "$1" && cat failed/*/status', "sh", top]).split("\n")
    failing = [a for a in emulator.ids("demo", "resize-image")
               if not emulator.record("demo", "resize-image", a)["response"]["success"]]
    assert sorted(s for s in statuses if s) == sorted(
        emulator.record("demo", "resize-image", a)["response"]["status"] for a in failing)
    # a successful id is not in failed/, and asking costs nothing beyond the (cached) listing
    ok_id = next(a for a in emulator.ids("demo", "resize-image") if a not in failing)
    emulator.settle_and_reset()
    assert run(["ls", f"{top}/failed/{ok_id}"]).returncode == 2
    assert quiet_calls(emulator) == []


def test_failed_follows_an_added_failure(harness, changing):
    emu = changing
    m = harness.mount(emulator=emu, options=["list_ttl=1"])
    top = m.p("packages", "billing", "invoice", "failed")
    before = set(os.listdir(top))
    added = emu.admin("POST", "/addactivation/billing/invoice",
                      {"status": "application error", "result": {"error": "boom"}})
    wait_until(lambda: set(os.listdir(top)) == before | {added["activationId"]}, 10,
               "failed/ to show the new failure")
    assert json.loads(out(["cat", f"{top}/{added['activationId']}/result.json"])) == \
        {"error": "boom"}
    assert activation_ids(os.listdir(m.p("packages", "billing", "invoice", "activations")))
