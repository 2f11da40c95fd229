"""``python -m sandbox --port 8765``: serve the FGTS consultation simulator until Ctrl-C."""

from __future__ import annotations

import argparse
import os
import sys
from datetime import date
from decimal import Decimal

from sandbox.server import DEFAULT_MONTHLY_RATE
from sandbox.fixtures import FAULTS
from sandbox.server import SandboxConfig, SandboxServer


def main(argv: list[str] | None = None) -> int:
    """Parse options (environment variables give the defaults) and serve in the foreground."""
    parser = argparse.ArgumentParser(prog="python -m sandbox", description=__doc__)
    parser.add_argument("--host", default=os.environ.get("SANDBOX_HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("SANDBOX_PORT", "8765")))
    parser.add_argument(
        "--delay-ms",
        type=int,
        default=int(os.environ.get("SANDBOX_DELAY_MS", "0")),
        help="wait before every /consulta answer (env SANDBOX_DELAY_MS)",
    )
    parser.add_argument(
        "--fail",
        choices=FAULTS,
        default=os.environ.get("SANDBOX_FAIL") or None,
        help="fault for every /consulta (env SANDBOX_FAIL)",
    )
    parser.add_argument(
        "--fail-times",
        type=int,
        default=None,
        help="apply --fail to the first N requests only",
    )
    parser.add_argument("--hang-s", type=float, default=30.0, help="how long the 'timeout' fault hangs")
    parser.add_argument(
        "--quote-on",
        type=date.fromisoformat,
        default=None,
        help="also quote available_advance under the FGTS rules of this date (AAAA-MM-DD); default: facts only",
    )
    parser.add_argument("--advance-years", type=int, default=None, help="the bank's limit for the quote")
    parser.add_argument(
        "--monthly-rate",
        type=Decimal,
        default=DEFAULT_MONTHLY_RATE,
        help="discount rate per month, e.g. 0.0179",
    )
    args = parser.parse_args(argv)
    config = SandboxConfig(
        delay_ms=args.delay_ms,
        fail=args.fail,
        fail_times=args.fail_times,
        hang_s=args.hang_s,
        quote_on=args.quote_on,
        advance_years=args.advance_years,
        monthly_rate=args.monthly_rate,
    )
    server = SandboxServer(args.host, args.port, config=config)
    print(
        f"FGTS sandbox on {server.url} — try {server.url}/consulta?cpf=073.602.846-35 · docs {server.url}/docs",
        file=sys.stderr,
        flush=True,
    )
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
