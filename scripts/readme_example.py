#!/usr/bin/env python3
"""Prints the code block of README.md (or of a page under docs/) whose first line is the comment naming NAME.

    scripts/readme_example.py example.py   → the ```python block starting `# example.py`
    scripts/readme_example.py example.cjs  → the ```js block starting `// example.cjs`

scripts/packaging.sh runs these blocks against the installed packages, so the README's examples
are tested exactly as written. Exits 1 when there is no such block.
"""

import re
import sys
from pathlib import Path

name = sys.argv[1]
root = Path(__file__).resolve().parent.parent
for page in [root / "README.md", *sorted((root / "docs").glob("*.md"))]:
    for block in re.findall(r"^```\w*\n(.*?)^```", page.read_text(), re.M | re.S):
        first = block.split("\n", 1)[0]
        if re.fullmatch(rf"(#|//)\s*{re.escape(name)}(\s.*)?", first.strip()):
            sys.stdout.write(block)
            sys.exit(0)
sys.exit(f"readme_example: neither README.md nor docs/*.md has a code block starting with a comment '{name}'")
