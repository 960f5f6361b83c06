"""``heartprint serve`` and ``heartprint worker``: the service's two commands, added to the main
parser by :func:`add_subcommand` (``heartprint.cli`` calls it).

``heartprint serve [--host 127.0.0.1] [--port 8080] --registry URL --data DIR --token-file F``
runs the API under uvicorn (loopback unless ``--host`` says otherwise);
``heartprint serve --token-file F --issue-token NAME --role ROLE`` adds a token to the file and
prints it once; ``heartprint worker --registry URL --data DIR`` runs a worker
(:mod:`heartprint.service.worker`).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

__all__ = ["add_subcommand", "cmd_serve", "cmd_worker"]


def cmd_serve(args: argparse.Namespace) -> int:
    from heartprint.service._auth import ROLES, TokenStore
    from heartprint.service._settings import Settings

    if args.issue_token:
        if not args.token_file:
            print("heartprint serve: error: --issue-token needs --token-file", file=sys.stderr)
            return 2
        if args.role not in ROLES:
            print(f"heartprint serve: error: --role {args.role!r}: expected one of {', '.join(ROLES)}", file=sys.stderr)
            return 2
        print(TokenStore.add_to_file(args.token_file, args.issue_token, args.role))
        return 0
    if not args.registry or not args.data:
        print("heartprint serve: error: --registry and --data are needed", file=sys.stderr)
        return 2
    try:
        import uvicorn

        from heartprint.service.app import create_app
    except ImportError as exc:
        from heartprint.errors import InvalidInputError

        raise InvalidInputError(f"heartprint serve needs the service extra (pip install 'heartprint[service]'): "
                                f"{exc}") from None

    settings = Settings(registry=args.registry, data_dir=Path(args.data), token_file=args.token_file,
                        host=args.host, port=args.port, max_upload_bytes=args.max_upload_mb << 20,
                        rate_limit=args.rate_limit, viewer_rate_limit=args.viewer_rate_limit, risk_model=args.risk_model, orthanc_url=args.orthanc)
    app = create_app(settings)
    print(f"heartprint service on http://{args.host}:{args.port} (OpenAPI at /openapi.json)", file=sys.stderr)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    from heartprint.service.worker import run_worker

    return run_worker(args)


def add_subcommand(subparsers: argparse._SubParsersAction) -> None:
    """Add ``serve`` and ``worker`` to the ``heartprint`` parser's subcommands."""
    p = subparsers.add_parser("serve", help="run the HTTP API (loopback by default)",
                              description="Run heartprint's HTTP API: submit studies, follow jobs, read results "
                              "(OpenAPI at /openapi.json). Research use only.")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this machine only)")
    p.add_argument("--port", type=int, default=8080)
    p.add_argument("--registry", metavar="URL", help="registry database (SQLite path or URL, postgresql://…)")
    p.add_argument("--data", metavar="DIR", help="the service's data folder (uploads and results)")
    p.add_argument("--token-file", metavar="F", help="hashed API tokens (heartprint.service-tokens/1)")
    p.add_argument("--issue-token", metavar="NAME", help="add a token for NAME to --token-file, print it once, exit")
    p.add_argument("--role", default="reader", help="role of the issued token: reader, submitter or admin")
    p.add_argument("--max-upload-mb", type=int, default=512, metavar="MB", help="largest upload (default 512 MiB)")
    p.add_argument("--rate-limit", type=int, default=600, metavar="N", help="requests per token per minute")
    p.add_argument("--viewer-rate-limit", type=int, default=6000, metavar="N",
                   help="the viewer's DICOMweb reads per token per minute, counted apart (default 6000)")
    p.add_argument("--risk-model", type=Path, metavar="FILE", help="a saved heartprint.risk model for /patients/{id}/risk")
    p.add_argument("--orthanc", metavar="URL", help="an Orthanc server that POST /archive-studies queues studies from")
    p.set_defaults(func=cmd_serve)
    from heartprint.service.worker import add_arguments

    w = subparsers.add_parser("worker", help="run a job worker on the service's queue",
                              description="Claim queued studies from the registry database, analyse them as "
                              "'heartprint analyze' does and write their results. Research use only.")
    add_arguments(w)
    w.set_defaults(func=cmd_worker)
