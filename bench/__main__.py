"""`python -m bench [--quick] [NAME...]`: run every benchmark module (or the named ones) and print tables."""

from __future__ import annotations

import importlib
import pkgutil
import sys
from pathlib import Path


def main(argv: list[str]) -> None:
    quick = "--quick" in argv
    wanted = [a for a in argv if not a.startswith("-")]
    names = sorted(m.name for m in pkgutil.iter_modules([str(Path(__file__).parent)])
                   if not m.name.startswith("_"))
    for name in wanted or names:
        module = importlib.import_module(f"bench.{name}")
        if not hasattr(module, "run"):
            print(f"\n## bench/{name}.py: no run(); run it as a script (python bench/{name}.py)")
            continue
        print(f"\n## bench/{name}.py{' (quick)' if quick else ''}")
        rows = module.run(quick=quick)
        print(module.table(rows) if hasattr(module, "table") else "\n".join(map(str, rows)))


if __name__ == "__main__":
    main(sys.argv[1:])
