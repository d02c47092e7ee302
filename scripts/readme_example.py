#!/usr/bin/env python3
"""Prints the README code block whose first line is the comment naming NAME.

    scripts/readme_example.py example.py   → the ```python block starting `# example.py`
    scripts/readme_example.py example.cjs  → the ```js block starting `// example.cjs`

scripts/packaging.sh runs these blocks against the installed packages, so the README's examples
are tested exactly as written. Exits 1 when there is no such block.
"""

import re
import sys
from pathlib import Path

name = sys.argv[1]
readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
for block in re.findall(r"^```\w*\n(.*?)^```", readme, re.M | re.S):
    first = block.split("\n", 1)[0]
    if re.fullmatch(rf"(#|//)\s*{re.escape(name)}(\s.*)?", first.strip()):
        sys.stdout.write(block)
        sys.exit(0)
sys.exit(f"readme_example: README.md has no code block starting with a comment '{name}'")
