"""The shape of the tree at every level, as ls and find see it, against what the API lists."""

import pytest

from conftest import (ACTION_ENTRIES, ACTIVATION_FILES, ID_RE, LATEST, PACKAGE_ENTRIES,
                      ROOT_ENTRIES, activation_ids, derived_links, is_valid_name, out)


@pytest.fixture
def mnt(shared_mnt):
    """These tests only look: one mount serves the whole module."""
    return shared_mnt


KNOWN_CLASSIC_PACKAGES = {"-", "allbad", "billing", "demo", "hostile", "logs", "paging", "window"}


def ls(path, *flags):
    """Names `ls -1` prints (no stat needed), in its order (C locale)."""
    return out(["ls", "-1", *flags, path]).splitlines()


def api_packages(emulator, base="/api/v2"):
    return [p["name"] for p in emulator.api_get("/packages", base)]


def api_actions(emulator, pkg):
    return [a["name"] for a in emulator.api_get(f"/packages/{pkg}/actions")["actions"]]


def expected_packages(emulator):
    return {n for n in api_packages(emulator) if is_valid_name(n)} | {"-"}


def failed_ids(emulator, pkg, action):
    return {a for a in emulator.ids(pkg, action)
            if emulator.record(pkg, action, a)["response"]["status"] != "success"}


def test_root_holds_packages_triggers_and_stats(mnt):
    assert ls(mnt.path, "-a") == [".", "..", *ROOT_ENTRIES]


def test_packages_lists_every_valid_package_and_dash(mnt, emulator):
    names = ls(mnt.p("packages"))
    assert len(names) == len(set(names))
    assert set(names) == expected_packages(emulator)
    assert set(names) == KNOWN_CLASSIC_PACKAGES     # the test data set, spelled out
    assert "vpcpkg" not in names                    # a vpc package is not on classic


def test_each_package_lists_its_actions(mnt, emulator):
    for pkg in sorted(KNOWN_CLASSIC_PACKAGES):
        names = ls(mnt.p("packages", pkg))
        expected = {n for n in api_actions(emulator, pkg) if is_valid_name(n)} | \
            set(PACKAGE_ENTRIES)
        assert set(names) == expected and len(names) == len(expected), pkg
        # allbad: every action name invalid
        assert (names == list(PACKAGE_ENTRIES)) == (pkg == "allbad"), pkg
    assert ls(mnt.p("packages", "demo")) == [*PACKAGE_ENTRIES, "hello", "resize-image"]
    assert ls(mnt.p("packages", "-")) == [*PACKAGE_ENTRIES, "standalone"]


def test_action_dir_holds_its_documented_entries(mnt):
    for action in ("demo/hello", "-/standalone", "paging/many", "logs/long"):
        assert ls(mnt.p("packages", *action.split("/")), "-a") == [".", "..", *ACTION_ENTRIES]


def test_activations_lists_every_id_of_the_action_and_latest(mnt, emulator):
    for pkg, action in (("demo", "hello"), ("demo", "resize-image"), ("-", "standalone"),
                        ("billing", "invoice"), ("logs", "empty")):
        names = ls(mnt.p("packages", pkg, action, "activations"))
        ids = emulator.ids(pkg, action)
        assert LATEST in names
        assert all(ID_RE.fullmatch(n) for n in activation_ids(names))
        assert sorted(activation_ids(names)) == sorted(ids), f"{pkg}/{action}"


def test_activation_dir_holds_its_files(mnt, emulator):
    for activation in emulator.ids("demo", "hello")[:3]:
        assert ls(mnt.p("packages", "demo", "hello", "activations", activation), "-a") == \
            [".", "..", *ACTIVATION_FILES]


def test_find_walks_the_whole_action(mnt, emulator):
    top = mnt.p("packages", "demo", "resize-image")
    ids = emulator.ids("demo", "resize-image")
    failed = failed_ids(emulator, "demo", "resize-image")
    assert len(failed) == 2
    dirs = {top, f"{top}/activations", f"{top}/failed"} | {f"{top}/activations/{a}" for a in ids}
    files = {f"{top}/action.json", f"{top}/activations.tsv", f"{top}/follow.log"} | \
        {f"{top}/activations/{a}/{f}" for a in ids for f in ACTIVATION_FILES}
    links = {f"{top}/activations/{LATEST}"} | {f"{top}/failed/{a}" for a in failed}
    more_dirs, more_links = derived_links(emulator, top, "demo", "resize-image")
    dirs |= more_dirs
    links |= more_links
    found = out(["find", top]).splitlines()
    assert len(found) == len(set(found)) == len(dirs) + len(files) + len(links)
    assert set(found) == dirs | files | links
    assert set(out(["find", top, "-type", "d"]).splitlines()) == dirs
    assert set(out(["find", top, "-type", "f"]).splitlines()) == files
    assert set(out(["find", top, "-type", "l"]).splitlines()) == links


def test_find_over_packages_shows_only_valid_names(mnt):
    for path in out(["find", mnt.p("packages", "billing"), mnt.p("packages", "-")]).splitlines():
        rel = path.split("/packages/", 1)[1].split("/")
        assert is_valid_name(rel[0], package=True)
        if len(rel) > 1:
            assert is_valid_name(rel[1]) or (len(rel) == 2 and rel[1] in PACKAGE_ENTRIES)
        if len(rel) > 3 and rel[2] in ("activations", "failed"):
            assert ID_RE.fullmatch(rel[3]) or rel[3] == LATEST
