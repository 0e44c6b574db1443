"""``python -m skbrainmusic``: the command line (see :mod:`skbrainmusic.cli`)."""

from .cli import main

if __name__ == "__main__":
    raise SystemExit(main())
