"""``python -m heartprint.cohort run SOURCE --out DIR …``: the ``heartprint cohort`` command on its own."""

from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    from heartprint.cohort.cli import add_subcommand
    from heartprint.errors import HeartprintError

    parser = argparse.ArgumentParser(prog="python -m heartprint")
    add_subcommand(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["cohort", *(sys.argv[1:] if argv is None else argv)])
    try:
        return int(args.func(args))
    except HeartprintError as exc:
        print(f"heartprint: error: {' '.join(str(exc).split())}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
