"""``python -m umami_sim --host 127.0.0.1 --port 3000``: run a simulator in the foreground."""

from __future__ import annotations

import argparse
import json

from .app import VERSIONS
from .faults import Fault
from .simulator import serve


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m umami_sim", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=3000, help="0 picks a free port")
    parser.add_argument("--db", dest="db_path", help="SQLite file (default: in memory)")
    parser.add_argument("--version", "--umami-version", dest="version", default="3.1.0", choices=VERSIONS,
                        help="the Umami version to emulate")  # fmt: skip
    parser.add_argument("--cloud", action="store_true", help="Umami Cloud mode: /v1 and x-umami-api-key")
    parser.add_argument("--api-key", help="the API key in cloud mode")
    parser.add_argument("--seed", type=int, help="reproducible ids and tie orders")
    parser.add_argument("--username", default="admin")
    parser.add_argument("--password", default="umami")
    parser.add_argument(
        "--fault",
        action="append",
        default=[],
        metavar="JSON",
        help='a fault active from the start, e.g. \'{"kind": "latency", "latency_ms": 50, '
        '"count": null}\' (repeatable)',
    )
    args = parser.parse_args(argv)
    if args.cloud and not args.api_key:
        parser.error("--cloud needs --api-key")
    faults = [Fault.from_dict(json.loads(text)) for text in args.fault]
    serve(
        host=args.host,
        port=args.port,
        db_path=args.db_path,
        version=args.version,
        cloud=args.cloud,
        api_key=args.api_key,
        seed=args.seed,
        faults=faults,
        username=args.username,
        password=args.password,
    )


if __name__ == "__main__":
    main()
