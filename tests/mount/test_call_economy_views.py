"""What a look costs follows what is looked at, not how many activations there are (issue 10),
counted in the emulator's request log (not timed), for an action with more activations than ten
pages hold, spread over ten days:

- `cat activations/latest/status`: at most 4 requests on first sight (the first and the last
  page of 8 items, the records at the two ends), at most 3 once the list order is known;
- `ls activations/`: the listing's pages, plus at most one readahead window of records;
- `ls -l` of the action directory: no activation page, no record;
- `ls recent/`: one page of -o recent=N once the order is known;
- `ls days/`: nothing; `ls days/<day>/`: that day's pages only (start/end sent);
  `grep -R ERROR days/<day>/`: those pages and that day's records, each once;
- `wc -l activations.tsv`: the listing and every record once, memory bounded by cache_size;
- a lookup of an id not in a fresh listing: one record request, never the listing.
The core mount suite runs this file against both list orders."""

import collections
import datetime
import math
import os

import pytest

from conftest import WRAPPER, LATEST, activation_ids, is_sanitized_build, out, query_of, run
from unix_support import (COUNT_CALLS, calls_of, module_emulators, quiet_calls,  # noqa: F401
                          record_calls, walk_pages)

N = 1200                        # 12 pages of 100
DAYS = 10
OWNER = "bench/load"
FIRST_WINDOW = 64               # prefetch.h: PREFETCH_FIRST_WINDOW
RECENT = 20                     # -o recent default


@pytest.fixture(scope="module")
def spread(module_emulators):
    return module_emulators("--bench-activations", str(N), "--spread-days", str(DAYS))


@pytest.fixture
def look(harness, spread):
    """A fresh mount over the spread emulator, the action's directory reached, the log reset."""
    m = harness.mount(emulator=spread)
    top = m.p("packages", "bench", "load")
    assert os.path.isdir(top)
    spread.settle_and_reset()
    return m, top, spread


def owner_calls(calls):
    """The calls below the action: its activation pages and records (no parents)."""
    return [c for c in calls if c.owner == OWNER]


def pages(calls):
    return [c for c in owner_calls(calls) if c.kind == "activations"]


def records(calls):
    return record_calls(calls, OWNER)


def test_latest_costs_a_constant_few_requests(harness, spread):
    m = harness.mount(emulator=spread, options=["list_ttl=1"])
    link = m.p("packages", "bench", "load", "activations", LATEST)
    assert os.path.isdir(m.p("packages", "bench", "load"))
    spread.settle_and_reset()
    ids = spread.ids("bench", "load")
    assert out(["cat", f"{link}/status"]).strip()
    assert os.readlink(link) == ids[0]
    first = owner_calls(quiet_calls(spread))
    assert len(first) <= 4 + COUNT_CALLS, first
    assert all(query_of({"query": c.target.split("?", 1)[1]})["pageSize"] == "8"
               for c in pages(first))
    # once the order is known, and the pages expired: at most 3
    run(["sleep", "1.2"])
    spread.reset()
    assert os.readlink(link) == ids[0]
    assert out(["cat", f"{link}/status"]).strip()
    again = owner_calls(quiet_calls(spread))
    assert len(again) <= 3, again


def test_ls_activations_costs_the_pages_and_one_window(look):
    m, top, emu = look
    names = activation_ids(os.listdir(f"{top}/activations"))
    assert len(names) == N
    run(["sleep", "2"])             # what the listing started in the background
    calls = quiet_calls(emu)
    assert len(pages(calls)) == walk_pages(N)
    assert 0 < len(records(calls)) <= FIRST_WINDOW
    assert set(records(calls)) <= set(emu.ids("bench", "load")[:FIRST_WINDOW]) | \
        set(emu.ids("bench", "load")[-FIRST_WINDOW:])


def test_ls_l_of_the_action_costs_no_activation_request(look):
    m, top, emu = look
    listing = out(["ls", "-l", top])
    assert "activations.tsv" in listing and "recent" in listing and "days" in listing
    calls = quiet_calls(emu)
    assert pages(calls) == [] and records(calls) == {}
    assert os.stat(f"{top}/activations.tsv").st_size == 0


def test_recent_is_one_page_once_the_order_is_known(look):
    m, top, emu = look
    ids = emu.ids("bench", "load")
    assert os.readlink(f"{top}/activations/{LATEST}") == ids[0]    # learns the order
    emu.settle_and_reset()
    names = os.listdir(f"{top}/recent")
    assert names == ids[:RECENT]                                   # newest first
    assert os.readlink(f"{top}/recent/{ids[0]}") == f"../activations/{ids[0]}"
    assert os.path.realpath(f"{top}/recent/{ids[3]}") == f"{top}/activations/{ids[3]}"
    calls = owner_calls(quiet_calls(emu))
    listed = [c for c in calls if c.kind == "activations"]
    assert len(listed) <= 2, listed       # newest first: one page; oldest first: two
    assert all(f"pageSize={RECENT}" in c.target for c in listed)
    assert not os.path.lexists(f"{top}/recent/{ids[RECENT]}")


def day_of(emu, activation):
    """The local date of an activation's start, as days/ names it."""
    start = emu.record("bench", "load", activation)["start"] / 1000
    return datetime.datetime.fromtimestamp(start).strftime("%Y-%m-%d")


def test_days_cost_nothing_and_a_day_costs_its_pages(look):
    m, top, emu = look
    days = os.listdir(f"{top}/days")
    today = datetime.date.today()
    assert sorted(days) == [(today - datetime.timedelta(d)).isoformat() for d in range(30, -1, -1)]
    assert owner_calls(quiet_calls(emu)) == []
    ids = emu.ids("bench", "load")
    by_day = collections.defaultdict(list)
    for activation in ids[::7]:
        by_day[day_of(emu, activation)].append(activation)
    day = sorted(by_day)[len(by_day) // 2]
    members = [a for a in ids if day_of(emu, a) == day]
    names = os.listdir(f"{top}/days/{day}")
    assert sorted(names) == sorted(members)
    calls = owner_calls(quiet_calls(emu))
    assert len(pages(calls)) == math.ceil(len(members) / 100) and records(calls).keys() <= \
        set(members)
    assert all("start=" in c.target and "end=" in c.target for c in pages(calls))
    assert os.readlink(f"{top}/days/{day}/{members[0]}") == f"../../activations/{members[0]}"
    # grep -R follows the links: the day's records, each once, and no other page
    emu.reset()
    hits = run(["grep", "-R", "-l", "ERROR", f"{top}/days/{day}"]).stdout.decode().split()
    assert all(h.startswith(f"{top}/days/{day}/") for h in hits)
    calls = owner_calls(quiet_calls(emu))
    assert records(calls).keys() <= set(members) and all(n == 1 for n in records(calls).values())
    assert pages(calls) == []
    for bad in ("2025-01-01", "2026-13-01", (today + datetime.timedelta(1)).isoformat()):
        assert not os.path.exists(f"{top}/days/{bad}"), bad


def test_a_lookup_of_an_unlisted_id_costs_one_record(look):
    m, top, emu = look
    activation = emu.ids("bench", "load")[500]
    assert out(["cat", f"{top}/activations/{activation}/status"]).strip()
    calls = owner_calls(quiet_calls(emu))
    assert pages(calls) == [] and records(calls) == {activation: 1}


def daemon_peak_kib(m):
    with open(f"/proc/{m.proc.pid}/status") as f:
        return next(int(l.split()[1]) for l in f if l.startswith("VmHWM:"))


def test_tsv_reads_every_record_once_within_cache_size(harness, spread):
    m = harness.mount(emulator=spread, options=["cache_size=4"])
    top = m.p("packages", "bench", "load")
    assert os.path.isdir(top)
    spread.settle_and_reset()
    lines = out(["wc", "-l", f"{top}/activations.tsv"]).split()[0]
    assert int(lines) == N + 1
    calls = quiet_calls(spread)
    assert len(pages(calls)) == walk_pages(N)
    # every record, and only the two whose start told the list order at open may come
    # twice (a 4 MiB cache drops them before the stream gets to them)
    assert records(calls).keys() == set(spread.ids("bench", "load"))
    assert sum(records(calls).values()) <= N + 2
    rows = out(["cut", "-f1", f"{top}/activations.tsv"]).split()[1:]
    assert rows[:5] == spread.ids("bench", "load")[:5]          # newest first
    if not WRAPPER and not is_sanitized_build():      # their own memory dwarfs ours
        assert daemon_peak_kib(m) < 64 * 1024                   # 4 MiB cache, not N records
