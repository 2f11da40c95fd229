"""``python -m agent.server --port N [--host 127.0.0.1]``: serve the agent with uvicorn."""

from __future__ import annotations

import argparse
import logging
import sys

import agent.adapters.offline  # noqa: F401  (before litellm anywhere)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m agent.server", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    parser.add_argument("--log-level", default="info")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)

    import uvicorn

    from agent.config import load_settings
    from agent.server import create_app

    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    uvicorn.run(create_app(load_settings()), host=args.host, port=args.port, log_level=args.log_level)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
