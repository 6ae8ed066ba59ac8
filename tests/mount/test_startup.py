"""Start-up: credentials (env, file, profile, permissions), rejected keys and bad options all
fail before mounting with a clear message; good ones mount."""

import os
import re
import time

import pytest

from conftest import (ACCESS_KEY, NCFFS, SECRET_KEY, Mount, mounted_fstype, out, run,
                      sanitizer_reports)

REJECTED = re.compile(r"reject\w*.*credential|credential.*reject", re.I | re.S)


def write_creds(path, sections, mode=0o600):
    """sections: {name: (access key, secret key)} in the ~/.ncloud/configure format."""
    lines = ["# written by the mount tests"]
    for name, (key, secret) in sections.items():
        lines += [f"[{name}]", f"ncloud_access_key_id = {key}",
                  f"ncloud_secret_access_key = {secret}", ""]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines))
    os.chmod(path, mode)
    return path


def assert_not_mounted(path):
    assert mounted_fstype(path) is None
    assert os.listdir(path) == []


def assert_works(m):
    assert "demo" in out(["ls", m.p("packages")]).split()


# ---- rejected credentials ------------------------------------------------------------------

@pytest.mark.parametrize("foreground", [True, False], ids=["foreground", "daemon"])
def test_wrong_secret_fails_before_mounting(harness, emulator, foreground):
    env = harness.env(extra={"NCLOUD_SECRET_ACCESS_KEY": "not-the-secret"})
    emulator.reset()
    result, path = harness.start(env=env, foreground=foreground)
    err = result.stderr.decode()
    assert result.returncode != 0
    assert REJECTED.search(err), err
    assert_not_mounted(path)
    assert [r["status"] for r in emulator.requests()] == [401]


def test_unknown_access_key_fails_before_mounting(harness, emulator):
    env = harness.env(extra={"NCLOUD_ACCESS_KEY_ID": "somebody-else"})
    result, path = harness.start(env=env)
    assert result.returncode != 0
    assert REJECTED.search(result.stderr.decode()), result.stderr
    assert_not_mounted(path)


def test_no_credentials_at_all_fails_clearly(harness):
    result, path = harness.start(env=harness.env(credentials=False))
    err = result.stderr.decode()
    assert result.returncode != 0
    assert "credentials" in err and "NCLOUD_ACCESS_KEY_ID" in err, err
    assert_not_mounted(path)


# ---- options ---------------------------------------------------------------------------------

BAD_OPTIONS = ["list_ttl=abc", "list_ttl=-1", "list_ttl=", "neg_ttl=x", "neg_ttl=1e3",
               "cache_size=0", "cache_size=lots", "timeout=0", "timeout=99999999999999999999",
               "retries=x", "retries=11", "max_body=abc", "max_body=0", "api=v3", "api=",
               "platform=foo", "platform=CLASSIC", "region=us", "loglevel=loud",
               "endpoint=ftp://127.0.0.1/api/v2", "endpoint=not a url"]


@pytest.mark.parametrize("option", BAD_OPTIONS)
def test_bad_option_value_fails_naming_the_option(harness, emulator, option):
    emulator.reset()
    result, path = harness.start(options=[option])
    err = result.stderr.decode()
    name = option.split("=", 1)[0]
    assert result.returncode != 0
    assert re.search(rf"\b{name}\b", err), err
    assert_not_mounted(path)
    assert emulator.requests() == []        # refused before any network use


@pytest.mark.parametrize("option", ["bogus=1", "no_such_option", "list-ttl=5"])
def test_unknown_option_fails_naming_it(harness, option):
    result, path = harness.start(options=[option])
    assert result.returncode == 1
    assert option.split("=")[0] in result.stderr.decode(), result.stderr
    assert_not_mounted(path)


def test_unknown_option_is_refused_before_any_request(harness, emulator):
    emulator.reset()
    result, path = harness.start(options=["bogus=1"])
    assert result.returncode == 1
    assert emulator.requests() == []


@pytest.mark.parametrize("option", ["endpoint=http://127.0.0.1:1/api/v2?x=1",
                                    "endpoint=http://127.0.0.1:1/api/v2#frag"])
def test_disallowed_endpoints_are_refused(harness, option):
    result, path = harness.start(options=[option])
    assert result.returncode == 1 and b"endpoint" in result.stderr, result.stderr
    assert_not_mounted(path)


def test_missing_mountpoint_fails(harness):
    result = run([NCFFS], env=harness.env())
    assert result.returncode == 1
    assert b"mountpoint" in result.stderr


def test_extra_argument_fails(harness):
    a, b = harness.mountpoint(), harness.mountpoint()
    result = run([NCFFS, "ncffs", a, b, "-f"], env=harness.env(), timeout=20)
    assert result.returncode == 1 and str(b).encode() in result.stderr, result.stderr
    assert_not_mounted(a)
    assert_not_mounted(b)


def test_help_and_version_exit_zero():
    help_text = run([NCFFS, "--help"], check=True).stdout.decode()
    for option in ("endpoint=", "api=", "platform=", "profile=", "credentials=", "list_ttl=",
                   "neg_ttl=", "cache_size=", "cafile=", "timeout=", "retries=", "max_body=",
                   "loglevel="):
        assert option in help_text
    assert run([NCFFS, "--version"], check=True).stdout.strip()


def test_good_numeric_options_mount(harness):
    m = harness.mount(options=["list_ttl=0", "neg_ttl=0", "cache_size=1", "timeout=5",
                               "retries=0", "max_body=2", "loglevel=debug"])
    assert_works(m)


# ---- credentials file -----------------------------------------------------------------------

def test_credentials_file_readable_by_others_is_refused(harness, emulator):
    creds = write_creds(harness.tmp / "configure", {"DEFAULT": (ACCESS_KEY, SECRET_KEY)}, 0o644)
    emulator.reset()
    result, path = harness.start(options=[f"credentials={creds}"],
                                 env=harness.env(credentials=False))
    err = result.stderr.decode()
    assert result.returncode != 0
    assert str(creds) in err and re.search(r"600|permission|accessible", err), err
    assert_not_mounted(path)
    assert emulator.requests() == []


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o660])
def test_credentials_file_with_any_group_or_other_bit_is_refused(harness, mode):
    creds = write_creds(harness.tmp / "configure", {"DEFAULT": (ACCESS_KEY, SECRET_KEY)}, mode)
    result, path = harness.start(options=[f"credentials={creds}"],
                                 env=harness.env(credentials=False))
    assert result.returncode != 0 and str(creds) in result.stderr.decode()
    assert_not_mounted(path)


def test_credentials_file_0600_is_accepted(harness):
    creds = write_creds(harness.tmp / "configure", {"DEFAULT": (ACCESS_KEY, SECRET_KEY)})
    env = harness.env(credentials=False)
    assert not any(k.startswith("NCLOUD_") for k in env)
    m = harness.mount(options=[f"credentials={creds}"], env=env)
    assert_works(m)


def test_home_ncloud_configure_is_the_fallback(harness):
    write_creds(harness.home / ".ncloud" / "configure", {"DEFAULT": (ACCESS_KEY, SECRET_KEY)})
    m = harness.mount(env=harness.env(credentials=False))
    assert_works(m)


def test_env_u_drops_the_variables_for_real(harness, emulator, tmp_path):
    """Through env(1) -u, as a user would run it, with a 0600 file."""
    creds = write_creds(tmp_path / "c" / "configure", {"DEFAULT": (ACCESS_KEY, SECRET_KEY)})
    mountpoint = harness.mountpoint()
    env = harness.env(credentials=True)
    argv = ["env", "-u", "NCLOUD_ACCESS_KEY_ID", "-u", "NCLOUD_SECRET_ACCESS_KEY", NCFFS,
            str(mountpoint), "-f", "-o", f"endpoint={emulator.endpoint()},credentials={creds}"]
    m = Mount(mountpoint, argv, env, harness.tmp / "env-u.stderr")
    harness.mounts.append(m)
    m.wait_live()
    assert_works(m)


def test_profile_selects_a_section(harness):
    creds = write_creds(harness.tmp / "configure", {
        "DEFAULT": (ACCESS_KEY, "wrong-secret"), "work": (ACCESS_KEY, SECRET_KEY)})
    env = harness.env(credentials=False)
    m = harness.mount(options=[f"credentials={creds}", "profile=work"], env=env)
    assert_works(m)
    result, path = harness.start(options=[f"credentials={creds}"], env=env)
    assert result.returncode != 0 and REJECTED.search(result.stderr.decode())
    assert_not_mounted(path)


def test_missing_profile_fails_clearly(harness):
    creds = write_creds(harness.tmp / "configure", {"DEFAULT": (ACCESS_KEY, SECRET_KEY)})
    result, path = harness.start(options=[f"credentials={creds}", "profile=nosuch"],
                                 env=harness.env(credentials=False))
    assert result.returncode != 0
    assert "nosuch" in result.stderr.decode(), result.stderr
    assert_not_mounted(path)


def test_ncloud_profile_env_selects_a_section(harness):
    creds = write_creds(harness.tmp / "configure", {
        "DEFAULT": (ACCESS_KEY, "wrong-secret"), "staging": (ACCESS_KEY, SECRET_KEY)})
    env = harness.env(credentials=False, extra={"NCLOUD_PROFILE": "staging"})
    m = harness.mount(options=[f"credentials={creds}"], env=env)
    assert_works(m)


def test_fallback_variable_names(harness):
    env = harness.env(credentials=False, extra={"NCLOUD_ACCESS_KEY": ACCESS_KEY,
                                                "NCLOUD_SECRET_KEY": SECRET_KEY})
    assert_works(harness.mount(env=env))


@pytest.mark.parametrize("present", ["NCLOUD_ACCESS_KEY_ID", "NCLOUD_SECRET_ACCESS_KEY"])
def test_half_set_environment_is_an_error(harness, present):
    """Only one key in the environment: an error, not a silent fall back to the file."""
    write_creds(harness.home / ".ncloud" / "configure", {"DEFAULT": (ACCESS_KEY, SECRET_KEY)})
    value = ACCESS_KEY if present.endswith("KEY_ID") else SECRET_KEY
    result, path = harness.start(env=harness.env(credentials=False, extra={present: value}))
    assert result.returncode == 1
    assert b"NCLOUD_" in result.stderr, result.stderr
    assert_not_mounted(path)


def test_credentials_symlink_is_refused(harness):
    real = write_creds(harness.tmp / "real-configure", {"DEFAULT": (ACCESS_KEY, SECRET_KEY)})
    link = harness.tmp / "configure-link"
    link.symlink_to(real)
    result, path = harness.start(options=[f"credentials={link}"],
                                 env=harness.env(credentials=False))
    assert result.returncode == 1 and str(link).encode() in result.stderr, result.stderr
    assert_not_mounted(path)


def test_environment_wins_over_the_file(harness):
    creds = write_creds(harness.tmp / "configure", {"DEFAULT": (ACCESS_KEY, "wrong-secret")})
    m = harness.mount(options=[f"credentials={creds}"], env=harness.env(credentials=True))
    assert_works(m)


def test_missing_credentials_file_fails_clearly(harness):
    missing = harness.tmp / "nope" / "configure"
    result, path = harness.start(options=[f"credentials={missing}"],
                                 env=harness.env(credentials=False))
    assert result.returncode != 0 and str(missing) in result.stderr.decode()
    assert_not_mounted(path)


# ---- the mount itself ------------------------------------------------------------------------

def test_mount_shows_up_as_fuse_ncffs_read_only(harness):
    m = harness.mount()
    with open("/proc/self/mountinfo", encoding="utf-8") as f:
        (line,) = [l for l in f if f" {m.path} " in l]
    assert " - fuse.ncffs " in line
    assert line.split()[5].split(",")[0] == "ro"


def processes_serving(path):
    """PIDs whose command line names path (the daemonized ncffs has no parent to ask)."""
    pids = []
    for entry in os.listdir("/proc"):
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                argv = f.read().split(b"\0")
        except OSError:
            continue
        if entry.isdigit() and str(path).encode() in argv:
            pids.append(int(entry))
    return pids


def test_daemon_mode_mounts_and_unmounts(harness, emulator):
    """Without -f ncffs daemonizes; fusermount3 -u must still end it. Its stderr is gone
    after daemonizing, so sanitizer reports are sent to files (log_path) and checked."""
    path = harness.mountpoint()
    logs = harness.tmp / "daemon-san"
    env = harness.env(extra={
        "ASAN_OPTIONS": ":".join(filter(None, [os.environ.get("ASAN_OPTIONS"),
                                               f"log_path={logs}"])),
        "UBSAN_OPTIONS": ":".join(filter(None, [os.environ.get("UBSAN_OPTIONS"),
                                                f"log_path={logs}"]))})
    result = run(harness.argv(path, [], None, None, foreground=False), env=env)
    try:
        assert result.returncode == 0, result.stderr
        assert mounted_fstype(path) == "fuse.ncffs"
        assert processes_serving(path), "no daemon left running"
        assert "demo" in os.listdir(os.path.join(path, "packages"))
    finally:
        run(["fusermount3", "-u", path])
        if mounted_fstype(path) is not None:
            run(["fusermount3", "-uz", path])
    assert mounted_fstype(path) is None
    deadline = time.monotonic() + 15
    while processes_serving(path):
        assert time.monotonic() < deadline, "the daemon did not exit after fusermount3 -u"
        time.sleep(0.05)
    reports = [p.read_text(errors="replace") for p in harness.tmp.glob("daemon-san*")]
    assert not any(sanitizer_reports(text) for text in reports), "\n".join(reports)
