"""Run one bench module in this process and write its rows, wall time and peak RSS as JSON."""

from __future__ import annotations

import importlib
import json
import resource
import sys
import time


def main(name: str, out: str, quick: bool) -> None:
    start = time.perf_counter()
    rows = importlib.import_module(f"bench.{name}").run(quick=quick)
    seconds = time.perf_counter() - start
    # KiB on Linux; a module that measures in child processes reports their peak too
    peak_mb = max(resource.getrusage(who).ru_maxrss
                  for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)) / 1024
    with open(out, "w") as f:
        json.dump({"rows": rows, "seconds": seconds, "peak_rss_mb": peak_mb}, f)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], "--quick" in sys.argv)
