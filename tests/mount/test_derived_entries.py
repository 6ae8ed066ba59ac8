"""The entries ncffs(1) documents beyond the raw records: activations/latest, failed/,
activations.tsv, /triggers, /.ncffs-stats and SIGHUP's cache drop."""

import json
import os
import signal
import time

from conftest import (ACTIVATION_FILES, LATEST, TRIGGER_ENTRIES, activation_ids, api_requests_to,
                      out, run)


def iso_ms(ms):
    """Epoch ms -> ISO 8601 UTC with milliseconds, as activations.tsv writes times."""
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms // 1000)) + f".{ms % 1000:03d}Z"


def stats(m):
    """/.ncffs-stats as {name: value}."""
    pairs = (line.split(" ", 1) for line in out(["cat", m.p(".ncffs-stats")]).splitlines())
    return {k: float(v) if "." in v else int(v) for k, v in pairs}


# ---- latest and failed/ ----------------------------------------------------------------------

def test_latest_points_at_the_newest_activation(mnt, emulator):
    for pkg, action in (("demo", "hello"), ("paging", "many"), ("-", "standalone")):
        top = mnt.p("packages", pkg, action, "activations")
        newest = emulator.ids(pkg, action)[0]
        assert os.readlink(f"{top}/{LATEST}") == newest
        assert out(["readlink", f"{top}/{LATEST}"]).strip() == newest
        record = emulator.record(pkg, action, newest)
        assert out(["cat", f"{top}/{LATEST}/status"]) == record["response"]["status"] + "\n"
        assert json.loads(out(["jq", "-c", ".", f"{top}/{LATEST}/activation.json"])) == record


def test_failed_links_every_failing_activation(mnt, emulator):
    for pkg, action in (("demo", "hello"), ("demo", "resize-image"), ("billing", "invoice")):
        records = {a: emulator.record(pkg, action, a) for a in emulator.ids(pkg, action)}
        failing = {a for a, r in records.items() if r["response"]["status"] != "success"}
        top = mnt.p("packages", pkg, action)
        names = out(["ls", f"{top}/failed"]).split()
        assert set(names) == failing and len(names) == len(failing), f"{pkg}/{action}"
        for activation in names:
            assert os.readlink(f"{top}/failed/{activation}") == f"../activations/{activation}"
    # the man page's example: the errors of the failed runs, through the links
    top = mnt.p("packages", "demo", "resize-image")
    errors = out(["sh", "-c", 'cd "$1" && jq -c .error failed/*/result.json', "sh", top])
    expected = sorted(json.dumps(emulator.record("demo", "resize-image", a)["response"]
                                 ["result"]["error"]) for a in os.listdir(f"{top}/failed"))
    assert sorted(errors.splitlines()) == expected


def test_grep_r_does_not_follow_latest_or_failed(mnt, emulator):
    top = mnt.p("packages", "demo", "resize-image")
    hits = out(["grep", "-rl", "--include=status", "", top]).splitlines()
    ids = emulator.ids("demo", "resize-image")
    assert sorted(hits) == sorted(f"{top}/activations/{a}/status" for a in ids)


# ---- activations.tsv -------------------------------------------------------------------------

def tsv_line(record):
    status = record["response"]["status"]
    return "\t".join([record["activationId"], iso_ms(record["start"]), iso_ms(record["end"]),
                      str(record["duration"]), status,
                      "true" if record["response"]["success"] else "false"])


def test_activations_tsv_is_the_table_of_runs_newest_first(mnt, emulator):
    for pkg, action in (("demo", "hello"), ("logs", "empty"), ("demo", "resize-image")):
        path = mnt.p("packages", pkg, action, "activations.tsv")
        data = run(["cat", path], check=True).stdout.decode()
        expected = ["id\tstart\tend\tduration_ms\tstatus\tsuccess"] + \
            [tsv_line(emulator.record(pkg, action, a)) for a in emulator.ids(pkg, action)]
        assert data == "\n".join(expected) + "\n"
        assert os.stat(path).st_size == 0         # not known ahead: read to the end
    slowest = out(["sh", "-c", 'sort -t "$(printf \'\\t\')" -k4,4n "$1" | tail -n 1 | cut -f1',
                   "sh", mnt.p("packages", "demo", "hello", "activations.tsv")]).strip()
    durations = {a: emulator.record("demo", "hello", a)["duration"]
                 for a in emulator.ids("demo", "hello")}
    assert durations[slowest] == max(durations.values())


def test_activations_tsv_fetches_each_record_once(mnt, emulator):
    out(["cat", mnt.p("packages", "billing", "invoice", "activations.tsv")])
    out(["grep", "-rl", "ncfemu01", mnt.p("packages", "billing", "invoice", "activations")])
    emulator.settle()
    gets = [r["path"] for r in emulator.requests() if "/invoice/activations/" in r["path"]]
    assert len(gets) == len(set(gets)) == len(emulator.ids("billing", "invoice"))


# ---- triggers --------------------------------------------------------------------------------

def test_triggers_and_their_activations(mnt, emulator):
    listed = {t["name"] for t in emulator.api_get("/triggers?pageSize=100")["triggers"]}
    assert set(out(["ls", mnt.p("triggers")]).split()) == listed == {"tick", "on-upload"}
    for trigger in sorted(listed):
        top = mnt.p("triggers", trigger)
        assert out(["ls", "-A", top]).split() == list(TRIGGER_ENTRIES)
        assert json.loads(out(["jq", "-c", ".", f"{top}/trigger.json"])) == \
            emulator.api_get(f"/triggers/{trigger}")
        ids = emulator.admin("GET", f"/trigger-ids/{trigger}")["ids"]
        names = out(["ls", f"{top}/activations"]).split()
        assert sorted(activation_ids(names)) == sorted(ids) and LATEST in names
        for activation in ids:
            record = emulator.trigger_record(trigger, activation)
            base = f"{top}/activations/{activation}"
            assert out(["ls", base]).split() == list(ACTIVATION_FILES)
            assert json.loads(out(["jq", "-c", ".", f"{base}/activation.json"])) == record
            assert out(["cat", f"{base}/logs.txt"]) == "".join(l + "\n" for l in record["logs"])
            # end is 0 for trigger activations: the time shown is the start
            assert record["end"] == 0
            assert os.stat(base).st_mtime_ns == record["start"] * 1_000_000


# ---- statistics and SIGHUP -------------------------------------------------------------------

def test_stats_count_the_requests_the_server_saw(mnt, emulator):
    before = stats(mnt)
    out(["ls", "-l", mnt.p("packages", "demo", "hello", "activations")])
    out(["cat", mnt.p("packages", "demo", "hello", "action.json")])
    emulator.settle()
    after = stats(mnt)
    assert after["api_requests"] - before["api_requests"] == len(emulator.requests())
    assert after["api_in_flight"] == 0
    assert after["api_retries"] == before["api_retries"]
    assert after["cache_bytes"] <= after["cache_limit_bytes"]


def test_stats_show_the_cache_limit(harness):
    m = harness.mount(options=["cache_size=3"])
    assert stats(m)["cache_limit_bytes"] == 3 * 1024 * 1024


def test_sighup_drops_the_cache(mnt, emulator):
    path = mnt.p("packages", "billing")
    out(["ls", path])
    out(["ls", path])
    assert len(api_requests_to(emulator.requests(), "/packages/billing/actions")) >= 1
    emulator.reset()
    out(["ls", path])
    assert emulator.requests() == []
    mnt.proc.send_signal(signal.SIGHUP)
    deadline = time.monotonic() + 5
    while not api_requests_to(emulator.requests(), "/packages/billing/actions"):
        assert time.monotonic() < deadline, "SIGHUP did not make ncffs ask again"
        out(["ls", path])
        time.sleep(0.05)
    assert mnt.proc.poll() is None and mnt.is_mounted()
