"""Names from the server that break the API's rules never appear in the tree."""

import errno
import os

import pytest

from conftest import (ACTION_ENTRIES, ACTIVATION_FILES, ID_RE, LATEST, PACKAGE_ENTRIES,
                      activation_ids, derived_links, is_valid_name, out)


@pytest.fixture
def mnt(shared_mnt):
    """These tests only look: one mount serves the whole module."""
    return shared_mnt


HOSTILE_PACKAGES = ("../etc", "x y")
HOSTILE_ACTIONS = ("..", ".", "a/b", "x" * 300, "bad name", "-leading", "ünï", "")


def test_the_server_really_lists_hostile_names(emulator):
    """Guard: the data set still carries what the tests below rely on."""
    packages = [p["name"] for p in emulator.api_get("/packages?pageSize=100")]
    assert set(HOSTILE_PACKAGES) <= set(packages)
    actions = [a["name"] for a in
               emulator.api_get("/packages/hostile/actions?pageSize=100")["actions"]]
    assert set(HOSTILE_ACTIONS) <= set(actions) and "ok" in actions
    listed = emulator.api_get("/packages/hostile/actions/ok/activations?pageSize=100")
    assert "NOT-HEX" in [a["activationId"] for a in listed["activations"]]


def test_invalid_package_names_are_skipped(mnt):
    names = set(out(["ls", "-1A", mnt.p("packages")]).splitlines())
    assert all(is_valid_name(n, package=True) for n in names), names
    assert "x y" not in names and "../etc" not in names and "etc" not in names


def test_invalid_action_names_are_skipped(mnt):
    assert out(["ls", "-1a", mnt.p("packages", "hostile")]).splitlines() == \
        [".", "..", *PACKAGE_ENTRIES, "ok"]


def test_invalid_activation_ids_are_skipped(mnt, emulator):
    names = out(["ls", "-1", mnt.p("packages", "hostile", "ok", "activations")]).split()
    assert LATEST in names and len(names) == 3
    ids = activation_ids(names)
    assert sorted(ids) == sorted(emulator.ids("hostile", "ok"))
    assert all(ID_RE.fullmatch(n) for n in ids)
    tsv = out(["cat", mnt.p("packages", "hostile", "ok", "activations.tsv")])
    assert "NOT-HEX" not in tsv and len(tsv.splitlines()) == 1 + 2


def test_find_over_the_hostile_package_sees_only_valid_names(mnt, emulator):
    found = out(["find", mnt.p("packages", "hostile")]).splitlines()
    rel = [p[len(mnt.p("packages")) + 1:] for p in found]
    assert rel[0] == "hostile"
    for path in rel[1:]:
        parts = path.split("/")
        assert parts[1] in ("ok", *PACKAGE_ENTRIES), path
        if len(parts) > 3 and parts[2] in ("activations", "recent", "failed"):
            assert ID_RE.fullmatch(parts[3]) or parts[3] == LATEST, path
        if len(parts) > 4 and parts[2] == "days":
            assert ID_RE.fullmatch(parts[4]), path
    dirs, links = derived_links(emulator, mnt.p("packages", "hostile", "ok"), "hostile", "ok")
    # hostile, its follow.log, ok, ok's entries, latest, each of the 2 runs with its files, and
    # what days/ and recent/ hold beyond their own entries
    assert len(found) == 2 + len(PACKAGE_ENTRIES) + len(ACTION_ENTRIES) + 1 + \
        2 * (1 + len(ACTIVATION_FILES)) + len(dirs) - 2 + len(links)


@pytest.mark.parametrize("path", [("x y",), ("hostile", "bad name"), ("hostile", "-leading"),
                                  ("hostile", "ünï"),
                                  ("hostile", "ok", "activations", "NOT-HEX")],
                         ids=repr)
def test_listed_hostile_names_do_not_resolve_and_cost_no_call(shared_mnt, emulator, path):
    out(["ls", shared_mnt.p("packages", *path[:-1])])     # list (and warm) the parent
    emulator.settle_and_reset()
    with pytest.raises(OSError) as err:
        os.stat(shared_mnt.p("packages", *path))
    assert err.value.errno == errno.ENOENT
    assert emulator.requests() == []
