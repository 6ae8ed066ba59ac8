"""The shape of the tree at every level, as ls and find see it, against what the API lists."""

from conftest import ACTIVATION_FILES, ID_RE, is_valid_name, out

KNOWN_CLASSIC_PACKAGES = {"-", "billing", "demo", "hostile", "logs", "paging"}


def ls(path, *flags):
    """Names `ls -1` prints (no stat needed), in its order."""
    return out(["ls", "-1", *flags, path]).splitlines()


def api_packages(emulator, base="/api/v2"):
    return [p["name"] for p in emulator.api_get("/packages?pageSize=100", base)]


def api_actions(emulator, pkg):
    return [a["name"] for a in emulator.api_get(f"/packages/{pkg}/actions?pageSize=100")["actions"]]


def expected_packages(emulator):
    return {n for n in api_packages(emulator) if is_valid_name(n)} | {"-"}


def test_root_holds_only_packages(mnt):
    assert ls(mnt.path, "-a") == [".", "..", "packages"]


def test_packages_lists_every_valid_package_and_dash(mnt, emulator):
    names = ls(mnt.p("packages"))
    assert len(names) == len(set(names))
    assert set(names) == expected_packages(emulator)
    assert set(names) == KNOWN_CLASSIC_PACKAGES     # the test data set, spelled out
    assert "vpcpkg" not in names                    # a vpc package is not on classic


def test_each_package_lists_its_actions(mnt, emulator):
    for pkg in sorted(KNOWN_CLASSIC_PACKAGES):
        names = ls(mnt.p("packages", pkg))
        expected = {n for n in api_actions(emulator, pkg) if is_valid_name(n)}
        assert names and set(names) == expected and len(names) == len(expected), pkg
    assert ls(mnt.p("packages", "demo")) == ["hello", "resize-image"]
    assert ls(mnt.p("packages", "-")) == ["standalone"]


def test_action_dir_holds_action_json_and_activations(mnt):
    for action in ("demo/hello", "-/standalone", "paging/many", "logs/long"):
        assert ls(mnt.p("packages", *action.split("/")), "-a") == \
            [".", "..", "action.json", "activations"], action


def test_activations_lists_every_id_of_the_action(mnt, emulator):
    for pkg, action in (("demo", "hello"), ("demo", "resize-image"), ("-", "standalone"),
                        ("billing", "invoice"), ("logs", "empty")):
        names = ls(mnt.p("packages", pkg, action, "activations"))
        ids = emulator.ids(pkg, action)
        assert all(ID_RE.fullmatch(n) for n in names)
        assert sorted(names) == sorted(ids), f"{pkg}/{action}"


def test_activation_dir_holds_the_five_files(mnt, emulator):
    for activation in emulator.ids("demo", "hello")[:3]:
        assert ls(mnt.p("packages", "demo", "hello", "activations", activation), "-a") == \
            [".", "..", *ACTIVATION_FILES]


def test_find_walks_the_whole_action(mnt, emulator):
    top = mnt.p("packages", "demo", "resize-image")
    ids = emulator.ids("demo", "resize-image")
    expected = {top, f"{top}/action.json", f"{top}/activations"}
    for activation in ids:
        expected.add(f"{top}/activations/{activation}")
        expected.update(f"{top}/activations/{activation}/{f}" for f in ACTIVATION_FILES)
    found = out(["find", top]).splitlines()
    assert len(found) == len(set(found)) == len(expected) == 3 + 6 * len(ids)
    assert set(found) == expected
    dirs = out(["find", top, "-type", "d"]).splitlines()
    files = out(["find", top, "-type", "f"]).splitlines()
    assert len(dirs) == 2 + len(ids) and len(files) == 1 + 5 * len(ids)


def test_find_over_a_package_shows_only_valid_names(mnt):
    for path in out(["find", mnt.p("packages", "billing"), mnt.p("packages", "-")]).splitlines():
        rel = path.split("/packages/", 1)[1].split("/")
        assert is_valid_name(rel[0], package=True)
        if len(rel) > 1:
            assert is_valid_name(rel[1])
