"""What reading costs, counted in the emulator's request log (issue 3; not timed). For an action
with more activations than one listing page holds (the emulator's bench/load):

- a cold `grep -r` makes exactly one GET per listing page plus one per activation record, and
  the parent listings (/packages, /packages/bench/actions, unpaged) at most once each, counted
  apart;
- a warm second `grep -r` makes no call at all;
- 16 concurrent `cat` of one uncached result.json make exactly one call for that record;
- activations.tsv read while grep -r runs still fetches every record once."""

import collections
import json
import re
import subprocess

import pytest

from conftest import run
from unix_support import (COUNT_CALLS, kinds, listing_pages, module_emulators, pages_for,  # noqa: F401
                          quiet_calls, record_calls)

N = 230                         # > 2 pages of 100
OWNER = "bench/load"
CONCURRENT = 16


@pytest.fixture(scope="module")
def bench_emulator(module_emulators):
    return module_emulators("--bench-activations", str(N))


@pytest.fixture
def bench(harness, bench_emulator):
    """A fresh mount (nothing cached) over the bench emulator, its log reset."""
    emu = bench_emulator
    m = harness.mount(emulator=emu)
    emu.settle_and_reset()      # the start-up probe is not part of what is counted
    return m, emu


def parents_once_per_page(calls):
    """The parent listings: /packages/bench/actions once, /packages at most once (the start-up
    probe's answer usually serves it); neither is paged."""
    parents = [c for c in calls if c.kind in ("packages", "actions")]
    targets = collections.Counter(c.target for c in parents)
    assert all(n == 1 for n in targets.values()), targets
    assert {c.kind for c in parents} in ({"actions"}, {"packages", "actions"})
    assert all(c.page is None for c in parents), parents
    return len(parents)


def expected_hits(emu, ids):
    """The activations whose logs.txt has an ERROR line, from the records themselves."""
    hits = set()
    for activation in ids:
        if any("ERROR" in line for line in emu.record("bench", "load", activation)["logs"]):
            hits.add(activation)
    return hits


def grep_r(path):
    result = run(["grep", "-r", "ERROR", path])
    assert result.returncode == 0 and result.stderr == b"", result.stderr
    return result.stdout


def logs_hits(output):
    return {m.group(1) for m in re.finditer(rb"/([0-9a-f]{32})/logs\.txt:", output)}


def test_cold_grep_r_costs_pages_plus_records_and_warm_costs_nothing(bench):
    m, emu = bench
    ids = emu.ids("bench", "load")
    assert len(ids) == N
    top = m.p("packages", "bench", "load", "activations")
    cold = grep_r(top)
    calls = quiet_calls(emu)
    pages = listing_pages(calls, OWNER)
    assert pages == {p: 1 for p in range(1, pages_for(N) + 1)}       # 3 pages, each once
    assert record_calls(calls, OWNER) == {a: 1 for a in ids}         # N records, each once
    parents = parents_once_per_page(calls)
    assert len(calls) == pages_for(N) + N + parents, kinds(calls)
    assert all(c.status == 200 for c in calls)
    assert {h.decode() for h in logs_hits(cold)} == expected_hits(emu, ids)

    emu.reset()
    warm = grep_r(top)
    assert warm == cold
    assert quiet_calls(emu) == []


def test_cold_grep_r_of_the_action_adds_only_action_json_and_the_small_views(bench):
    """Over the action directory grep also reads action.json and activations.tsv, and walks
    failed/, recent/ and days/: one more call for the definition, a few small pages for
    recent/ (it does not follow links, so no record), and one window per day of days/
    (31 days, none of them holding 100 runs); the table reuses the records."""
    m, emu = bench
    ids = emu.ids("bench", "load")
    grep_r(m.p("packages", "bench", "load"))
    calls = quiet_calls(emu)
    listing = [c for c in calls if c.kind == "activations"]
    full = [c for c in listing if "pageSize=100" in c.target and "start=" not in c.target]
    days = [c for c in listing if "start=" in c.target and "end=" in c.target]
    small = [c for c in listing if c not in full and c not in days]
    assert sorted(c.page for c in full) == list(range(1, pages_for(N) + 1))
    day_starts = {c.target.split("start=", 1)[1].split("&", 1)[0] for c in days}
    assert len(day_starts) == 31 and len({c.target for c in days}) == len(days)
    assert len(small) <= 3 and all("pageSize=8" in c.target or "pageSize=20" in c.target
                                   for c in small), small
    assert record_calls(calls, OWNER) == {a: 1 for a in ids}
    assert kinds(calls)["action"] == 1
    assert kinds(calls)["count"] <= COUNT_CALLS
    parents = parents_once_per_page(calls)
    assert len(calls) == len(listing) + N + 1 + parents + kinds(calls)["count"], kinds(calls)


def test_16_concurrent_cats_of_one_uncached_record_make_one_call(bench):
    m, emu = bench
    activation = emu.ids("bench", "load")[17]
    expected = emu.record("bench", "load", activation)
    emu.reset()
    emu.config(latency_ms=150)          # a slow answer: all 16 are waiting for the same one
    path = m.p("packages", "bench", "load", "activations", activation, "result.json")
    procs = [subprocess.Popen(["cat", path], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
             for _ in range(CONCURRENT)]
    try:
        outputs = [p.communicate(timeout=60) for p in procs]
    finally:
        emu.config(latency_ms=0)
    assert all(p.returncode == 0 for p in procs), [e for _, e in outputs]
    assert len({o for o, _ in outputs}) == 1
    assert json.loads(outputs[0][0]) == expected["response"]["result"]
    calls = quiet_calls(emu)
    assert record_calls(calls) == {activation: 1}
    assert listing_pages(calls, OWNER) == {}            # no listing was needed
    parents_once_per_page(calls)


def test_tsv_and_grep_r_at_once_fetch_each_record_once(bench):
    m, emu = bench
    ids = emu.ids("bench", "load")
    action = m.p("packages", "bench", "load")
    tsv = subprocess.Popen(["cat", f"{action}/activations.tsv"], stdout=subprocess.PIPE)
    grep = subprocess.Popen(["grep", "-rc", "line 0", f"{action}/activations"],
                            stdout=subprocess.PIPE)
    table, _ = tsv.communicate(timeout=60)
    counts, _ = grep.communicate(timeout=60)
    assert tsv.returncode == 0 and grep.returncode == 0
    assert len(table.splitlines()) == N + 1
    assert counts.count(b"/logs.txt:1\n") == N
    calls = quiet_calls(emu)
    assert record_calls(calls, OWNER) == {a: 1 for a in ids}
    assert listing_pages(calls, OWNER) == {p: 1 for p in range(1, pages_for(N) + 1)}
