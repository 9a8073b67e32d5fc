"""The ``nasvec`` command line: ``nasvec book --profile quick|standard|paper [--only CH] [--force]``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="nasvec", description="Build and run the nasvec book.")
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser("book", help="execute the chapter notebooks (cached) and build the HTML book")
    b.add_argument("--profile", default="quick", help="profile name: a file profiles/<name>.yml (default: quick)")
    b.add_argument("--only", action="append", metavar="CHAPTER",
                   help="execute only this chapter (notebook stem); may be repeated or comma-separated")
    b.add_argument("--force", action="store_true", help="re-execute even if cached, and retrain cached models")
    b.add_argument("--no-html", action="store_true", help="execute the notebooks but skip jupyter-book")
    b.add_argument("--root", type=Path, default=None, help="the book's root folder (default: found from here)")
    args = parser.parse_args(argv)

    from ..errors import BookError
    from .pipeline import build

    only = [c for arg in args.only or [] for c in arg.split(",") if c] or None
    try:
        build(args.root, args.profile, only, args.force, html=not args.no_html)
    except BookError as err:
        print(f"nasvec book: error: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("nasvec book: interrupted; finished chapters are kept, re-run to resume", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
