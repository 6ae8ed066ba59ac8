"""/.ncffs-stats (issue 6): a dot file, so `ls` hides it and `ls -a` shows it; "name value"
lines; reading it costs no API call, and re-reading it shows the counters moved by the API
calls made in between, per endpoint exactly as the emulator saw them."""

import collections
import re

from conftest import out, run
from unix_support import quiet_calls, stats_of

LINE = re.compile(r"[a-z0-9_]+(:[a-z*/]+:\d{3})? \d+(\.\d+)?")
COUNTERS = ("api_requests", "api_retries", "api_in_flight", "api_latency_ms_p50",
            "api_latency_ms_p90", "api_latency_ms_p99", "api_latency_ms_max", "cache_hits",
            "cache_misses", "cache_loads", "cache_evictions", "cache_stale_served",
            "cache_entries", "cache_bytes", "cache_limit_bytes")


def shape(path):
    """/api/v2/packages/p/actions/a -> packages/*/actions/* (how the stats name endpoints)."""
    parts = path.split("/")[3:]
    return "/".join("*" if i % 2 else p for i, p in enumerate(parts))


def test_hidden_from_ls_shown_by_ls_a(mnt):
    assert out(["ls", mnt.p()]).split() == ["packages", "triggers"]
    assert ".ncffs-stats" in out(["ls", "-a", mnt.p()]).split()
    assert out(["ls", "-A", mnt.p()]).split() == [".ncffs-stats", "packages", "triggers"]
    mode = out(["stat", "-c", "%A %s", mnt.p(".ncffs-stats")]).split()
    assert mode[0] == "-r--r--r--" and int(mode[1]) > 0


def test_name_value_lines_and_reading_costs_nothing(mnt, emulator):
    text = out(["cat", mnt.p(".ncffs-stats")])
    lines = text.splitlines()
    assert text.endswith("\n") and lines
    for line in lines:
        assert LINE.fullmatch(line), line
    names = [line.split(" ")[0] for line in lines]
    assert len(names) == len(set(names))
    assert set(COUNTERS) <= set(names)
    for _ in range(5):
        stats_of(mnt.p(".ncffs-stats"))
    run(["grep", "-c", "api_", mnt.p(".ncffs-stats")], check=True)
    assert quiet_calls(emulator) == []


def test_counters_grow_with_the_api_calls_made_between_reads(harness, emulator_factory):
    emu = emulator_factory()
    m = harness.mount(emulator=emu)
    emu.settle()
    path = m.p(".ncffs-stats")
    first = stats_of(path)
    assert first["api_requests"] == len(emu.requests())        # the start-up probe
    activation = emu.ids("billing", "invoice")[1]
    out(["cat", m.p("packages", "billing", "invoice", "activations", activation, "result.json")])
    out(["ls", m.p("packages", "demo", "hello", "activations")])      # + background prefetch
    emu.settle()
    second = stats_of(path)                                     # the same path, re-read
    logged = emu.requests()
    assert second["api_requests"] == len(logged) > first["api_requests"]
    assert second["api_in_flight"] == 0 and second["api_retries"] == 0
    assert second["cache_loads"] > first["cache_loads"]
    assert second["cache_bytes"] <= second["cache_limit_bytes"]
    # per endpoint and status, exactly what the emulator logged since ncffs started
    seen = collections.Counter(f"api_calls:{shape(r['path'])}:{r['status']}" for r in logged)
    shown = {k: v for k, v in second.items() if k.startswith("api_calls:")}
    assert shown == dict(seen)
    # nothing new: the same numbers on the next read
    assert stats_of(path)["api_requests"] == second["api_requests"]
