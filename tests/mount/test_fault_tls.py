"""TLS against an HTTPS emulator with a self-signed certificate (CN and SAN 127.0.0.1 and
localhost): without -o cafile ncffs refuses to mount with a message that says TLS and how to
fix it (nothing is mounted, no HTTP request is ever sent); with -o cafile it works, by IP and
by name; a certificate for another host is refused even when trusted; and the fault kinds
behave over TLS as over plain HTTP.
"""

import errno

import pytest

from conftest import mounted_fstype
from fault_support import *  # noqa: F401,F403 (fixtures and helpers)

TLS_MESSAGE = ("TLS", "cafile")


@pytest.fixture(scope="module")
def tls(tmp_path_factory):
    """(emulator over HTTPS, its certificate)."""
    tmp = tmp_path_factory.mktemp("tls")
    cert, key = make_self_signed(tmp / "pki")
    emu = TlsEmulator(tmp / "emulator", cert, key)
    yield emu, cert
    emu.stop()
    emu.check_stderr()


@pytest.fixture
def tls_emu(tls):
    emu, _ = tls
    emu.clear()
    emu.reset()
    yield emu
    emu.clear()


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_untrusted_certificate_fails_the_mount_clearly(harness, tls_emu, host):
    result, path = harness.start(endpoint=tls_emu.endpoint(host=host), emulator=tls_emu)
    err = result.stderr.decode()
    assert result.returncode != 0, err
    assert all(word in err for word in TLS_MESSAGE), err
    assert tls_emu.endpoint(host=host) in err, err
    assert mounted_fstype(path) is None
    assert tls_emu.requests() == []                 # refused before any HTTP request


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_trusted_certificate_works(harness, tls, tls_emu, host):
    _, cert = tls
    m = harness.mount(options=list(FAST) + [f"cafile={cert}"],
                      endpoint=tls_emu.endpoint(host=host), emulator=tls_emu)
    tls_emu.reset()
    listing = fsop("list", m.p("packages", "demo", "hello", "activations"))
    assert listing.ok and sorted(listing.names) == sorted(tls_emu.ids("demo", "hello") + ["latest"])
    assert_serves_correctly(m, tls_emu)
    assert tls_emu.requests()                       # really over the HTTPS emulator
    assert_daemon_healthy(m)


def test_certificate_for_another_host_is_refused_even_if_trusted(harness, tmp_path):
    cert, key = make_self_signed(tmp_path / "other", cn="other.invalid",
                                 san="DNS:other.invalid")
    emu = TlsEmulator(tmp_path / "emulator", cert, key)
    try:
        result, path = harness.start(options=[f"cafile={cert}"], endpoint=emu.endpoint(),
                                     emulator=emu)
        err = result.stderr.decode()
        assert result.returncode != 0 and "TLS" in err, err
        assert mounted_fstype(path) is None
        assert emu.requests() == []
    finally:
        emu.stop()


def test_unusable_cafile_fails_clearly(harness, tls_emu, tmp_path):
    bogus = tmp_path / "not-a-cert.pem"
    bogus.write_text("-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n")
    for cafile in (bogus, tmp_path / "missing.pem"):
        result, path = harness.start(options=[f"cafile={cafile}"], endpoint=tls_emu.endpoint(),
                                     emulator=tls_emu)
        err = result.stderr.decode()
        assert result.returncode != 0 and "TLS" in err, err
        assert mounted_fstype(path) is None


@pytest.mark.parametrize("spec,err", [(dict(kind="reset"), errno.EIO),
                                      (dict(kind="status", status=503), errno.EIO)],
                         ids=["reset", "503"])
def test_faults_over_tls(harness, tls, tls_emu, spec, err):
    _, cert = tls
    m = harness.mount(options=list(FAST) + [f"cafile={cert}"], endpoint=tls_emu.endpoint(),
                      emulator=tls_emu)
    aid, base = first_record_path(m, tls_emu, index=1)
    tls_emu.faults(fault(path_regex=aid, **spec))
    o = fsop("read", f"{base}/status")
    assert o.errno == err and o.elapsed < fail_bound(wait_per_retry=RETRY_AFTER_S), o
    assert_serves_correctly(m, tls_emu)
    tls_emu.clear()
    healed = fsops([("read", f"{base}/{f}") for f in ("status", "logs.txt")])
    assert expect_record_files(healed, tls_emu.record("demo", "hello", aid)) == 2
    assert_daemon_healthy(m)
