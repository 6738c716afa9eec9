"""`python -m vidvec.stream [--drain]`: the same as `vidvec sidecar`."""

import sys

from vidvec.cli import main

if __name__ == "__main__":
    sys.argv = [sys.argv[0], "sidecar", *sys.argv[1:]]
    main()
