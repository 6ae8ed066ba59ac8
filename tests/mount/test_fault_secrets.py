"""Secrets: a credentials file that group or others may read is refused, with a message that
names the file and says chmod 600; the secret key never shows in argv (/proc/PID/cmdline),
in ncffs's output with -d and -o loglevel=debug (also while requests fail in every way), in
any start-up error message, or anywhere the emulator wrote.
"""

import os
import secrets as pysecrets

import pytest

from conftest import NCFFS, Emulator, Mount, mounted_fstype, sanitizer_reports
from fault_support import *  # noqa: F401,F403 (fixtures and helpers)

CORE = pysecrets.token_hex(16)              # the part a leak would show; random per run
SECRET = f"sEcReT-{CORE}-canary"
ACCESS = "canary-access-key"


def assert_no_secret(text, where):
    assert CORE not in text, f"the secret key leaked into {where}:\n{text}"


def write_creds(path, key=ACCESS, secret=SECRET, mode=0o600, section="DEFAULT"):
    path.write_text(f"# test credentials\n[{section}]\nncloud_access_key_id = {key}\n"
                    f"ncloud_secret_access_key = {secret}\n")
    os.chmod(path, mode)
    return path


@pytest.fixture(scope="module")
def canary_module_emulator(tmp_path_factory):
    emu = Emulator(tmp_path_factory.mktemp("canary-emulator"),
                   ("--access-key", ACCESS, "--secret-key", SECRET))
    yield emu
    emu.stop()
    assert "Traceback" not in emu.stderr()


@pytest.fixture
def canary_emulator(canary_module_emulator):
    """The module's emulator, which accepts exactly ACCESS/SECRET; no faults, empty log."""
    canary_module_emulator.config(faults=[], latency_ms=0)
    canary_module_emulator.reset()
    yield canary_module_emulator
    canary_module_emulator.config(faults=[], latency_ms=0)


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o644, 0o660, 0o606, 0o610, 0o601, 0o666])
def test_credentials_file_open_to_group_or_others_is_refused(harness, canary_emulator, mode):
    creds = write_creds(harness.tmp / "configure", mode=mode)
    canary_emulator.reset()
    result, path = harness.start(options=[f"credentials={creds}"],
                                 env=harness.env(credentials=False), emulator=canary_emulator)
    err = result.stderr.decode()
    assert result.returncode != 0
    assert str(creds) in err and "chmod 600" in err, err
    assert_no_secret(err, "the refusal message")
    assert mounted_fstype(path) is None and os.listdir(path) == []
    assert canary_emulator.requests() == []         # refused before any request


@pytest.mark.parametrize("source", ["environment", "file"])
def test_secret_never_in_argv_debug_output_or_logs(harness, canary_emulator, source):
    creds = write_creds(harness.tmp / "configure")
    env = harness.env(credentials=False)
    options = [f"endpoint={canary_emulator.endpoint()}", "loglevel=debug"] + list(FAST)
    if source == "environment":
        env.update(NCLOUD_ACCESS_KEY_ID=ACCESS, NCLOUD_SECRET_ACCESS_KEY=SECRET)
    else:
        options.append(f"credentials={creds}")
    path = harness.mountpoint()
    argv = [NCFFS, str(path), "-d", "-o", ",".join(options)]
    m = Mount(path, argv, env, harness.tmp / "debug.stderr")
    harness.mounts.append(m)
    m.wait_live()
    with open(f"/proc/{m.proc.pid}/cmdline", "rb") as f:
        cmdline = f.read().decode(errors="replace")
    assert_no_secret(cmdline, "/proc/PID/cmdline")
    if source == "file":
        with open(f"/proc/{m.proc.pid}/environ", "rb") as f:
            assert_no_secret(f.read().decode(errors="replace"), "/proc/PID/environ")
    # Work, and fail in every way, so every log path runs.
    ids = canary_emulator.ids("demo", "hello")
    base = m.p("packages", "demo", "hello", "activations")
    canary_emulator.config(faults=[
        fault("status", ids[1], status=401), fault("status", ids[2], status=403),
        fault("status", ids[3], status=503), fault("html", ids[4]),
        fault("garbage", ids[5]), fault("reset", ids[6]), fault("status", ids[7], status=404),
    ])
    outs = fsops([("list", base)] + [("read", f"{base}/{aid}/status") for aid in ids[:8]])
    assert outs[0].ok and outs[1].ok and not any(o.ok for o in outs[2:]), outs
    m.unmount()
    text = m.stderr()
    assert "unique:" in text and "GET /api/v2/" in text, "-d / loglevel=debug printed nothing?"
    assert "HTTP 401" in text and "HTTP 503" in text and "malformed" in text
    assert_no_secret(text, "ncffs's -d / loglevel=debug output")
    for name in ("requests.jsonl", "emulator.stderr", "emulator.stdout"):
        assert_no_secret((canary_emulator.dir / name).read_text(errors="replace"),
                         f"the emulator's {name}")
    assert not sanitizer_reports(text), text


def start_failures(tmp):
    """(name, options, env additions, credentials file or None) of start-ups that must fail."""
    long_secret = SECRET * 200
    link = tmp / "link"
    link.symlink_to(write_creds(tmp / "target"))
    return {
        "wrong-secret-env": ([], {"NCLOUD_ACCESS_KEY_ID": ACCESS,
                                  "NCLOUD_SECRET_ACCESS_KEY": SECRET + "x"}),
        "unknown-key-env": ([], {"NCLOUD_ACCESS_KEY_ID": "nobody",
                                 "NCLOUD_SECRET_ACCESS_KEY": SECRET}),
        "only-secret-env": ([], {"NCLOUD_SECRET_ACCESS_KEY": SECRET}),
        "too-long-secret-env": ([], {"NCLOUD_ACCESS_KEY_ID": ACCESS,
                                     "NCLOUD_SECRET_ACCESS_KEY": long_secret}),
        "wrong-secret-file": ([f"credentials={write_creds(tmp / 'c1', secret=SECRET + 'y')}"],
                              {}),
        "no-access-key-file": ([f"credentials={write_creds(tmp / 'c2', key='')}"], {}),
        "too-long-secret-file": ([f"credentials={write_creds(tmp / 'c3', secret=long_secret)}"],
                                 {}),
        "other-profile-file": ([f"credentials={write_creds(tmp / 'c4', section='prod')}"], {}),
        "world-readable-file": ([f"credentials={write_creds(tmp / 'c5', mode=0o644)}"], {}),
        "symlinked-file": ([f"credentials={link}"], {}),
    }


@pytest.mark.parametrize("name", ["wrong-secret-env", "unknown-key-env", "only-secret-env",
                                  "too-long-secret-env", "wrong-secret-file",
                                  "no-access-key-file", "too-long-secret-file",
                                  "other-profile-file", "world-readable-file",
                                  "symlinked-file"])
def test_start_up_errors_never_show_the_secret(harness, canary_emulator, name):
    options, extra = start_failures(harness.tmp)[name]
    env = harness.env(credentials=False, extra=extra)
    result, path = harness.start(options=options + ["loglevel=debug"] + list(FAST), env=env,
                                 emulator=canary_emulator)
    err = result.stderr.decode(errors="replace")
    assert result.returncode != 0 and err.strip(), (name, err)
    assert mounted_fstype(path) is None
    assert_no_secret(err + result.stdout.decode(errors="replace"), f"the {name} message")
