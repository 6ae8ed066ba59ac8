#!/usr/bin/python3
"""nodelay_emulator.py - tests/emulator/ncf_emulator.py with TCP_NODELAY on every connection.

Why: the emulator writes a response's head and body with two send() calls. On a kept-alive
connection the second, small segment waits for the ACK of the first (Nagle), and the client
delays that ACK (up to 40 ms on Linux): every reused-connection request then costs ~40 ms more
than --latency-ms, which real API gateways do not add. bench.py --tcp-nodelay runs the emulator
through this shim to measure without that artifact; the emulator itself is not changed.

Scope: import the emulator module, set TCP_NODELAY in Handler.setup(), run its main() with the
same command line. Nothing else differs.
"""

import importlib.util
import socket
import sys
from pathlib import Path

EMULATOR_PY = Path(__file__).resolve().parents[1] / "emulator" / "ncf_emulator.py"


def load_emulator():
    spec = importlib.util.spec_from_file_location("ncf_emulator", EMULATOR_PY)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main(argv=None):
    emulator = load_emulator()
    plain_setup = emulator.Handler.setup

    def setup(handler):
        plain_setup(handler)
        handler.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    emulator.Handler.setup = setup
    return emulator.main(argv)


if __name__ == "__main__":
    sys.exit(main())
