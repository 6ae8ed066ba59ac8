"""activations.tsv (issues 6 and 10): a header and one tab-separated line per activation, newest
first, ISO 8601 UTC times with milliseconds that match the records, fit for sort/cut/awk; its
size is not known ahead (0, as /proc files, read to the end through direct I/O), so a stat
costs nothing, and reading it costs the listing (one GET per page) and each record once."""

import os
import re

import pytest

from conftest import out, run
from unix_support import (iso_ms, listing_pages, pages_for, quiet_calls, record_calls,
                          wait_until)

HEADER = ["id", "start", "end", "duration_ms", "status", "success"]
ISO_MS = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")


def expected_row(record):
    end = record["end"] if record["end"] else record["start"]
    return [record["activationId"], iso_ms(record["start"]), iso_ms(end),
            str(int(record["duration"])), record["response"]["status"],
            "true" if record["response"]["success"] else "false"]


@pytest.mark.parametrize("pkg,action", [("demo", "hello"), ("paging", "many"),
                                        ("logs", "empty"), ("hostile", "ok")], ids=lambda v: v)
def test_tsv_rows_newest_first_with_record_times_and_no_size(mnt, emulator, pkg, action):
    ids = emulator.ids(pkg, action)
    path = mnt.p("packages", pkg, action, "activations.tsv")
    assert os.stat(path).st_size == 0              # stat first: ls -l costs no record
    assert record_calls(quiet_calls(emulator)) == {}
    assert listing_pages(quiet_calls(emulator), f"{pkg}/{action}") == {}
    data = run(["cat", path], check=True).stdout
    calls = quiet_calls(emulator)
    # the listing, each page once, and every record once; nothing else below the action
    assert listing_pages(calls, f"{pkg}/{action}") == \
        {p: 1 for p in range(1, pages_for(len(ids)) + 1)}
    assert record_calls(calls) == {a: 1 for a in ids}
    text = data.decode("utf-8")
    assert text.endswith("\n") and "\r" not in text
    rows = [line.split("\t") for line in text[:-1].split("\n")]
    assert rows[0] == HEADER
    assert all(len(row) == 6 for row in rows)
    assert [row[0] for row in rows[1:]] == ids            # newest first, as listed
    for row in rows[1:]:
        assert ISO_MS.fullmatch(row[1]) and ISO_MS.fullmatch(row[2]), row
        assert row == expected_row(emulator.record(pkg, action, row[0]))
    # read again: the same bytes, no call (list_ttl has not passed)
    emulator.reset()
    assert run(["cat", path], check=True).stdout == data
    assert os.stat(path).st_size == 0
    assert quiet_calls(emulator) == []


def test_sort_by_duration_and_other_text_tools(mnt, emulator):
    path = mnt.p("packages", "paging", "many", "activations.tsv")
    records = {a: emulator.record("paging", "many", a) for a in emulator.ids("paging", "many")}
    durations = {a: int(r["duration"]) for a, r in records.items()}
    slowest = out(["bash", "-c", "sort -t$'\\t' -k4 -n \"$1\" | tail -n 5 | cut -f1,4",
                   "bash", path]).split("\n")[:-1]
    got = [(a, int(d)) for a, d in (line.split("\t") for line in slowest)]
    assert [d for _, d in got] == sorted(durations.values())[-5:]
    assert all(durations[a] == d for a, d in got)
    # awk: the failures; wc: one line per run and the header; head: the header
    failures = out(["awk", "-F", "\t", "NR > 1 && $6 == \"false\" {print $1}", path]).split()
    assert sorted(failures) == sorted(a for a, r in records.items()
                                      if not r["response"]["success"])
    assert out(["wc", "-l", path]).split()[0] == str(len(records) + 1)
    assert out(["head", "-n", "1", path]) == "\t".join(HEADER) + "\n"


def test_tsv_of_a_trigger_does_not_exist(mnt):
    """ncffs(1): a trigger has no failed/ and no activations.tsv."""
    for name in ("activations.tsv", "failed"):
        assert run(["stat", mnt.p("triggers", "tick", name)]).returncode == 1


def test_tsv_leaves_out_a_record_not_found_yet_and_fails_on_other_errors(harness,
                                                                        emulator_factory):
    emu = emulator_factory()
    m = harness.mount(emulator=emu, options=["retries=0", "neg_ttl=1", "list_ttl=1"])
    ids = emu.ids("demo", "resize-image")
    fresh, broken = ids[1], ids[3]
    path = m.p("packages", "demo", "resize-image", "activations.tsv")
    not_yet = {"path_regex": f"/activations/{fresh}", "kind": "status", "status": 404,
               "error_code": 80322, "fraction": 1.0}
    failing = {"path_regex": f"/activations/{broken}", "kind": "status", "status": 500,
               "fraction": 1.0}

    def listed_ids():
        result = run(["cat", path])
        if result.returncode != 0:      # an error remembered neg_ttl
            return None
        data = result.stdout
        assert os.stat(path).st_size == 0
        return [line.split(b"\t")[0].decode() for line in data.splitlines()[1:]]

    # a record that fails with anything but "not found" makes reading the file fail,
    # after the header and the rows before it
    emu.config(faults=[not_yet, failing])
    result = run(["cat", path])
    assert result.returncode != 0 and b"Input/output error" in result.stderr, result.stderr
    assert result.stdout.startswith(b"id\tstart\t"), result.stdout[:80]
    # a freshly listed run whose record answers 404 (80322) for a while: no line for it
    emu.config(faults=[not_yet])
    without = [a for a in ids if a != fresh]
    wait_until(lambda: listed_ids() == without, 10, "every row but the fresh run's")
    # once it is readable, its line is there (asked again on the backoff's schedule)
    emu.config(faults=[])
    wait_until(lambda: listed_ids() == ids, 15, "the fresh run's row")
