"""``python -m heartprint.service serve|worker|stack ...``: the service's commands without the main
CLI (``serve`` and ``worker`` are the parsers of ``heartprint serve`` and ``heartprint worker``;
``stack`` starts Orthanc, the API and a worker together, :mod:`heartprint.service._stack`)."""

import argparse
import sys

from heartprint.service.cli import add_subcommand


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m heartprint.service")
    sub = parser.add_subparsers(dest="command", required=True)
    add_subcommand(sub)
    from heartprint.service._stack import add_arguments, cmd_stack

    stack = sub.add_parser("stack", help="Orthanc, the API and a worker together on this machine (loopback)")
    add_arguments(stack)
    stack.set_defaults(func=cmd_stack)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
