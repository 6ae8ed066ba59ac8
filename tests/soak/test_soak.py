"""The soak (soak.py) as a pytest test: SOAK_SECONDS (default 60) of 10 readers against a
flaky emulator. Run it on its own; it is not part of `make mount-test`:

    NCFFS_BIN=$PWD/build-san/ncffs SOAK_SECONDS=60 /usr/bin/python3 -m pytest -s tests/soak

It fails on any wrong byte, hang, fd growth, RSS beyond cache_size + a constant, unclean
exit or sanitizer report; the JSON report (printed with -s) has the counts.
"""

import json
import os
import shutil
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
import soak  # noqa: E402

NCFFS = os.environ.get("NCFFS_BIN") or str(soak.REPO / "ncffs")


def test_soak_with_ten_readers_and_a_flaky_api():
    assert os.access(NCFFS, os.X_OK), f"no executable ncffs at {NCFFS} (set NCFFS_BIN)"
    assert shutil.which("fusermount3"), "fusermount3 is needed"
    seconds = float(os.environ.get("SOAK_SECONDS", "60"))
    # soak.py's own /tmp/ncffs-soak-* directory, kept only when the run failed (pytest's
    # tmp_path would be rotated away by later pytest runs before anyone looked).
    passed, report = soak.run(seconds=seconds, ncffs=NCFFS,
                              log=lambda msg: print(msg, file=sys.stderr))
    print(json.dumps(report, indent=2))
    if not passed:
        pytest.fail("soak failed:\n" + "\n".join(report["problems"]) +
                    f"\n(report, emulator log and ncffs's stderr in {report.get('workdir')})",
                    pytrace=False)
