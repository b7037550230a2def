"""The `evonet` command's entry point: `evonet.cli` and what it imports (numpy,
DEAP) take a few tenths of a second to load, and Ctrl-C meanwhile must end the
command like Ctrl-C at any other time, with one line and status 130, not a
traceback from inside an import."""

import sys

EXIT_INTERRUPTED = 130


def main() -> int:
    try:
        from .cli import main as cli_main
    except KeyboardInterrupt:
        print("evonet: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    return cli_main()
