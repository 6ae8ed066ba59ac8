"""Views that are never silently wrong (issue 16): each finding of that issue, reproduced on
a real mount against the emulator, with the answer it must give now.

- latest, recent/, activations.tsv and follow.log decide a list's order only on evidence (two
  distinct readable records with different starts), so one record seen from both ends of a
  list, or purged records at its old end, never make them point at old runs;
- a record not readable yet is asked again on a backoff (1, 2, 4 ... s), not on every poll;
- activations.tsv never fails whole: broken records are rows, the header always comes, and a
  reader that carries on past a failed batch gets the same bytes at the same offsets;
- recent/ numbers its pages by what a page-capping server sent.
Every wait is on a condition (wait_until), never a fixed sleep."""

import errno
import os

import pytest

from conftest import run
from unix_support import calls_of, record_calls, stats_of, wait_until

WAIT_S = 20
LOG_TIME = "2026-01-01T00:00:00.000Z"


def add(emu, pkg, action, text, visible_after_s=0):
    body = {"logs": [f"{LOG_TIME} stdout: {text}"]}
    if visible_after_s:
        body["visible_after_s"] = visible_after_s
    return emu.admin("POST", f"/addactivation/{pkg}/{action}", body)["activationId"]


def latest_of(m, pkg, action):
    try:
        return os.readlink(m.p("packages", pkg, action, "activations", "latest"))
    except OSError as e:
        return f"error {errno.errorcode[e.errno]}"


def tsv_ids(m, pkg, action):
    text = run(["cat", m.p("packages", pkg, action, "activations.tsv")], check=True).stdout
    lines = text.decode().splitlines()
    assert lines[0] == "id\tstart\tend\tduration_ms\tstatus\tsuccess"
    return [line.split("\t")[0] for line in lines[1:]]


def is_readable(emu, pkg, action, activation):
    try:
        return emu.api_get(f"/packages/{pkg}/actions/{action}/activations/{activation}")
    except AssertionError:                   # 404 while its visibility delay runs
        return None


def not_found(activation):
    return {"path_regex": f"/activations/{activation}", "kind": "status", "status": 404,
            "error_code": "80322", "fraction": 1.0}


def follow_headers(m, pkg, action):
    """The activation ids of the entry headers `cat follow.log` prints (it starts with the
    newest activation, then exits)."""
    text = run(["cat", m.p("packages", pkg, action, "follow.log")], check=True).stdout.decode()
    return [line.split(" ")[2] for line in text.splitlines() if line.startswith("== ")]


def test_one_record_seen_from_both_ends_decides_no_order(harness, emulator_factory):
    """Finding 1: oldest first, an action with one old run and one listed but not readable for
    a few seconds. latest may only point at the old run (the one readable) until the new one is
    readable; then, with three more runs, at the newest; recent/, the tsv and follow.log too."""
    emu = emulator_factory("--order", "oldest-first")
    m = harness.mount(emulator=emu, options=["list_ttl=1", "neg_ttl=1", "recent=2"])
    old = emu.ids("logs", "long")[0]
    fresh = add(emu, "logs", "long", "fresh", visible_after_s=4)
    assert latest_of(m, "logs", "long") in (old, "error EIO")
    assert tsv_ids(m, "logs", "long") == [old]           # the fresh run has no row yet
    wait_until(lambda: is_readable(emu, "logs", "long", fresh), WAIT_S,
               "the fresh run to be readable")
    newer = [add(emu, "logs", "long", f"run {i}") for i in range(3)]
    newest_first = newer[::-1] + [fresh, old]
    wait_until(lambda: latest_of(m, "logs", "long") == newer[-1], WAIT_S,
               "latest to point at the newest run")
    wait_until(lambda: sorted(os.listdir(m.p("packages", "logs", "long", "recent")))
               == sorted(newer[-2:]), WAIT_S, "recent/ to hold the two newest runs")
    wait_until(lambda: tsv_ids(m, "logs", "long") == newest_first, WAIT_S,
               "the tsv newest first")
    assert follow_headers(m, "logs", "long") == [newer[-1]]


@pytest.mark.parametrize("order", ["newest-first", "oldest-first"])
def test_purged_old_records_are_not_taken_for_the_new_end(harness, emulator_factory, order):
    """Finding 2: the 4 oldest records answer 404 (purged under a reader). latest is still the
    newest run, and an open follow.log starts there and replays no old run."""
    emu = emulator_factory("--order", order)
    ids = emu.ids("demo", "hello")                       # newest first
    emu.config(faults=[not_found(a) for a in ids[-4:]])
    m = harness.mount(emulator=emu, options=["poll=1"])
    assert latest_of(m, "demo", "hello") == ids[0]
    path = m.p("packages", "demo", "hello", "follow.log")
    fd = os.open(path, os.O_RDONLY)
    try:
        first = follow_headers(m, "demo", "hello")
        assert first == [ids[0]]
        # a poll or two later, still nothing but the newest run
        wait_until(lambda: stats_of(m.p(".ncffs-stats"))["follow_poll_requests"] >= 2,
                   WAIT_S, "two polls")
        assert follow_headers(m, "demo", "hello") == [ids[0]]
    finally:
        os.close(fd)
    tsv = run(["cat", m.p("packages", "demo", "hello", "activations.tsv")],
              check=True).stdout.decode().splitlines()[1:]
    assert [line.split("\t")[0] for line in tsv][:21] == ids[:21]


def test_a_record_not_readable_yet_is_asked_on_a_backoff(harness, emulator_factory):
    """Finding 3: runs whose records answer 404 for 12 s, followed with poll=1. Each is asked
    when listed and again after 1, 2, 4, 8 s (+ jitter), about 5 times, not once a poll (12+);
    /.ncffs-stats says what the schedule deferred."""
    emu = emulator_factory()
    m = harness.mount(emulator=emu, options=["poll=1"])
    path = m.p("packages", "billing", "invoice", "follow.log")
    fd = os.open(path, os.O_RDONLY)
    try:
        wait_until(lambda: os.fstat(fd).st_size > 0, WAIT_S, "follow.log to start")
        emu.settle_and_reset()
        late = [add(emu, "billing", "invoice", f"late {i}", visible_after_s=12) for i in range(8)]
        wait_until(lambda: all(a in os.pread(fd, 1 << 20, 0).decode() for a in late),
                   45, "every late run in follow.log")
    finally:
        os.close(fd)
    asked = record_calls(calls_of(emu))
    per_run = [asked[a] for a in late]
    assert all(n >= 2 for n in per_run), per_run           # asked while 404, then readable
    assert sum(per_run) <= 6 * len(late), per_run
    stats = stats_of(m.p(".ncffs-stats"))
    assert stats["records_retries_deferred"] > 0 and stats["records_retried"] > 0, stats
    assert stats["records_readable_after_404"] >= len(late), stats


def test_tsv_shows_broken_records_as_rows_at_start_middle_and_end(harness, emulator_factory):
    """Finding 4: a malformed record (EBADMSG) first and in the middle, one too big (EFBIG)
    last: the tsv still reads whole, every record a row, the broken ones saying so with an
    empty start."""
    emu = emulator_factory()
    ids = emu.ids("demo", "hello")
    emu.config(faults=[
        {"path_regex": f"/activations/{ids[0]}", "kind": "garbage", "fraction": 1.0},
        {"path_regex": f"/activations/{ids[12]}", "kind": "garbage", "fraction": 1.0},
        {"path_regex": f"/activations/{ids[-1]}", "kind": "huge", "size_mb": 2, "fraction": 1.0},
    ])
    m = harness.mount(emulator=emu, options=["max_body=1", "retries=0"])
    result = run(["cat", m.p("packages", "demo", "hello", "activations.tsv")])
    assert result.returncode == 0, result.stderr
    rows = [line.split("\t") for line in result.stdout.decode().splitlines()]
    assert rows[0] == ["id", "start", "end", "duration_ms", "status", "success"]
    by_id = {row[0]: row for row in rows[1:]}
    assert len(rows) == 1 + len(ids) and set(by_id) == set(ids)
    assert by_id[ids[0]][1:] == ["", "", "", "malformed record", ""]
    assert by_id[ids[12]][1:] == ["", "", "", "malformed record", ""]
    assert by_id[ids[-1]][1:] == ["", "", "", "record too big", ""]
    readable = [row[0] for row in rows[1:] if row[1]]
    assert readable == [a for a in ids if a not in (ids[0], ids[12], ids[-1])]


def test_a_tsv_reader_that_carries_on_past_a_failed_batch_loses_nothing(harness,
                                                                        emulator_factory):
    """Finding 4, the reader's side: a record that fails (HTTP 500) ends a read after the
    header; the same offset read again, once the server answers, gives the rows, and the
    whole file equals a clean read."""
    emu = emulator_factory()
    ids = emu.ids("demo", "hello")
    m = harness.mount(emulator=emu, options=["retries=0", "neg_ttl=1", "list_ttl=60"])
    path = m.p("packages", "demo", "hello", "activations.tsv")
    emu.config(faults=[{"path_regex": f"/activations/{ids[12]}", "kind": "status",
                        "status": 500, "fraction": 1.0}])
    fd = os.open(path, os.O_RDONLY)
    try:
        head = os.pread(fd, 1 << 16, 0)
        assert head == b"id\tstart\tend\tduration_ms\tstatus\tsuccess\n"
        with pytest.raises(OSError) as failed:
            os.pread(fd, 1 << 16, len(head))
        assert failed.value.errno == errno.EIO
        emu.config(faults=[])

        def rest():
            try:
                return os.pread(fd, 1 << 20, len(head))
            except OSError:
                return None                  # the error is remembered neg_ttl
        body = wait_until(rest, WAIT_S, "the rows after the failed batch")
    finally:
        os.close(fd)
    whole = run(["cat", path], check=True).stdout
    assert head + body == whole
    assert [line.split(b"\t")[0].decode() for line in body.splitlines()] == ids


def test_recent_of_a_page_capping_server_holds_the_newest(harness, emulator_factory):
    """Finding 5: a server that caps pages at 100, an oldest-first list of 250, recent=200:
    recent/ is the newest 200, counted in the pages the server sent."""
    emu = emulator_factory("--order", "oldest-first", "--page-cap", "100")
    m = harness.mount(emulator=emu, options=["recent=200"])
    ids = emu.ids("paging", "many")
    shown = os.listdir(m.p("packages", "paging", "many", "recent"))
    assert sorted(shown) == sorted(ids[:200])


def test_with_no_evidence_of_the_order_the_views_say_so(harness, emulator_factory):
    """250 runs whose 70 newest and 70 oldest records all answer 404: nothing near either end
    tells which end is the newest. latest and recent/ fail with EIO and say why in the log
    rather than guess; follow.log opens, empty, from now; the tsv still reads, with a row for
    every readable run."""
    emu = emulator_factory()
    ids = emu.ids("paging", "many")                      # newest first
    hidden = ids[:70] + ids[-70:]
    emu.config(faults=[not_found(a) for a in hidden])
    m = harness.mount(emulator=emu, options=["poll=1"])
    assert latest_of(m, "paging", "many") == "error EIO"
    with pytest.raises(OSError) as listing:
        os.listdir(m.p("packages", "paging", "many", "recent"))
    assert listing.value.errno == errno.EIO
    assert "cannot be told yet" in m.stderr()
    assert follow_headers(m, "paging", "many") == []
    rows = tsv_ids(m, "paging", "many")
    assert sorted(rows) == sorted(ids[70:-70])
