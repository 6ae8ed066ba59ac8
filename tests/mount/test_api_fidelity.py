"""ncffs against servers that follow the API pages to the letter, and against servers that bend
them (issue 9): unpaged package/action/trigger lists cost one request each; paged activation
walks cost at most ceil(totalCount / page) + 1 requests whatever the server repeats or ignores;
a refused pageSize falls back to the documented 20; regions imply their platform; an outage is
an error, never "no such file". Request counts come from the emulator's log."""

import errno
import math
import os

import pytest

from conftest import LATEST, OPENWHISK, PACKAGE_ENTRIES, activation_ids, out, query_of, run
from unix_support import calls_of, listing_pages, module_emulators, quiet_calls  # noqa: F401

MANY = 250                      # paging/many
MANY_LIST = "/api/v2/packages/paging/actions/many/activations"
UNPAGED = ("/api/v2/packages", "/api/v2/packages/demo/actions", "/api/v2/triggers")


def requests_to(emu, path):
    return [r for r in emu.requests() if r["path"] == path]


def tree_snapshot(m):
    """What a user sees of a few corners of the tree, in ls order."""
    top = m.p("packages", "paging", "many")
    return {
        "packages": out(["ls", m.p("packages")]).split(),
        "demo": out(["ls", m.p("packages", "demo")]).split(),
        "triggers": out(["ls", m.p("triggers")]).split(),
        "many": out(["ls", f"{top}/activations"]).split(),
        # times differ between emulators started apart; ids, order and outcomes may not
        "tsv": [(f[0], f[3], f[4], f[5]) for f in
                (line.split("\t") for line in
                 out(["cat", f"{top}/activations.tsv"]).splitlines())],
        "failed": out(["ls", f"{top}/failed"]).split(),
        "latest": os.readlink(f"{top}/activations/{LATEST}"),
    }


@pytest.fixture(scope="module")
def documented(module_emulators):
    return module_emulators()


@pytest.mark.skipif(OPENWHISK, reason="NCP only: OpenWhisk pages every list (limit/skip)")
def test_unpaged_lists_cost_one_request_without_paging_parameters(harness, documented):
    emu = documented
    emu.reset()
    m = harness.mount(emulator=emu)
    for path in (m.p("packages"), m.p("packages", "demo"), m.p("triggers")):
        assert out(["ls", path]).split()
    emu.settle()
    for path in UNPAGED:
        sent = requests_to(emu, path)
        # /packages: the start-up probe's answer serves the first listing
        assert len(sent) == 1, (path, sent)
        assert query_of(sent[0]) == {"platform": "classic"}, sent[0]


def test_a_package_of_invalid_action_names_lists_empty(harness, documented):
    emu = documented
    m = harness.mount(emulator=emu)
    emu.settle_and_reset()
    assert os.listdir(m.p("packages", "allbad")) == list(PACKAGE_ENTRIES)  # no action
    calls = quiet_calls(emu)
    assert len(calls) <= 2, calls       # at most the package list and the action list
    assert len(requests_to(emu, "/api/v2/packages/allbad/actions")) == 1


def test_a_server_that_repeats_every_item_gives_the_same_tree(harness, documented,
                                                               module_emulators):
    want = tree_snapshot(harness.mount(emulator=documented))
    repeating = module_emulators("--repeat-items", "3")
    m = harness.mount(emulator=repeating)
    repeating.settle_and_reset()
    got = tree_snapshot(m)
    assert got == want
    assert len(activation_ids(got["many"])) == MANY
    pages = listing_pages(calls_of(repeating), "paging/many")
    assert sum(pages.values()) <= math.ceil(MANY / 100) + 1, pages


@pytest.mark.skipif(OPENWHISK, reason="NCP only: an emulator flag of pageNo")
def test_a_server_that_ignores_page_no_cannot_stretch_the_walk(harness, module_emulators):
    emu = module_emulators("--ignore-page-no")
    m = harness.mount(emulator=emu)
    emu.settle_and_reset()
    names = activation_ids(os.listdir(m.p("packages", "paging", "many", "activations")))
    assert len(names) == len(set(names)) == 100         # page 1, as often as it was sent
    assert len(requests_to(emu, MANY_LIST)) <= math.ceil(MANY / 100) + 1


def test_an_overstated_total_count_costs_one_wave_at_most(harness, module_emulators):
    emu = module_emulators("--total-count-lie", "1000000")
    m = harness.mount(emulator=emu)
    emu.settle_and_reset()
    names = activation_ids(os.listdir(m.p("packages", "paging", "many", "activations")))
    assert sorted(names) == sorted(emu.ids("paging", "many"))
    assert len(requests_to(emu, MANY_LIST)) <= 1 + 8


@pytest.mark.skipif(OPENWHISK, reason="NCP only: pageSize and service code 80000")
def test_a_refused_page_size_falls_back_to_twenty_once(harness, module_emulators):
    emu = module_emulators("--max-page-size", "20")
    m = harness.mount(emulator=emu, options=["loglevel=warn"])
    emu.settle_and_reset()
    top = m.p("packages", "paging", "many", "activations")
    names = activation_ids(os.listdir(top))
    assert sorted(names) == sorted(emu.ids("paging", "many"))
    assert sorted(activation_ids(os.listdir(m.p("packages", "demo", "hello", "activations")))) \
        == sorted(emu.ids("demo", "hello"))
    emu.settle()
    lists = [r for r in emu.requests() if r["path"].endswith("/activations")]
    assert [(query_of(r)["pageSize"], r["status"]) for r in lists[:1]] == [("100", 400)]
    assert {query_of(r)["pageSize"] for r in lists[1:]} == {"20"}
    hello = len(emu.ids("demo", "hello"))
    assert len(lists) == 1 + math.ceil(MANY / 20) + math.ceil(hello / 20)   # the 400 and pages
    log = m.stderr()
    assert log.count("refused pageSize=100") == 1, log
    assert "HTTP 400" not in log, log


@pytest.mark.skipif(OPENWHISK, reason="NCP only: regions and platforms")
@pytest.mark.parametrize("options,platform", [
    (["region=sg"], "vpc"),
    (["region=jp"], "vpc"),
    (["region=kr"], "classic"),
    (["region=sg", "platform=classic"], "classic"),
])
def test_singapore_and_japan_imply_the_vpc_platform(harness, documented, options, platform):
    emu = documented
    emu.reset()
    m = harness.mount(emulator=emu, options=options)
    packages = out(["ls", m.p("packages")]).split()
    assert ("vpcpkg" in packages) == (platform == "vpc")
    sent = emu.requests()
    assert sent and {query_of(r)["platform"] for r in sent} == {platform}


def errno_of(fn, *args):
    with pytest.raises(OSError) as err:
        fn(*args)
    return err.value.errno


def test_an_outage_is_an_error_not_a_missing_file(harness, module_emulators):
    emu = module_emulators()
    m = harness.mount(emulator=emu, options=["retries=0", "neg_ttl=1"])
    top = m.p("packages", "demo", "resize-image")
    failing = [a for a in emu.ids("demo", "resize-image")
               if not emu.record("demo", "resize-image", a)["response"]["success"]]
    assert os.listdir(m.p("packages", "demo"))          # the parents are cached
    emu.config(faults=[{"kind": "status", "status": 503, "path_regex": "/activations"}])
    try:
        assert errno_of(os.lstat, f"{top}/failed/{failing[0]}") == errno.EIO
        assert errno_of(os.listdir, f"{top}/failed") == errno.EIO
        assert errno_of(os.readlink, f"{top}/activations/{LATEST}") == errno.EIO
        assert run(["cat", f"{top}/activations.tsv"]).returncode == 1
    finally:
        emu.config(faults=[])
    # once the API is back, the same paths answer (after neg_ttl)
    run(["sleep", "1.2"])
    assert os.readlink(f"{top}/failed/{failing[0]}") == f"../activations/{failing[0]}"


def test_latest_is_the_newest_readable_during_a_burst_of_fresh_runs(harness, module_emulators):
    """Fresh activations are listed before their records are readable (404 for a while on
    NCP): a burst of them fills one end of the list. latest is then the newest readable one,
    whatever the list order, not the other end of the list."""
    emu = module_emulators()
    m = harness.mount(emulator=emu, options=["list_ttl=1", "neg_ttl=1"])
    link = m.p("packages", "billing", "invoice", "activations", LATEST)
    before = emu.ids("billing", "invoice")
    assert os.readlink(link) == before[0]
    burst = [emu.admin("POST", "/addactivation/billing/invoice",
                       {"visible_after_s": 120})["activationId"] for _ in range(6)]
    run(["sleep", "1.5"])                            # the listing expires and shows the burst
    assert set(burst) <= set(os.listdir(m.p("packages", "billing", "invoice", "activations")))
    assert os.readlink(link) == before[0]
    assert out(["cat", f"{link}/status"]).strip() in ("success", "application error",
                                                      "action developer error",
                                                      "whisk internal error")
