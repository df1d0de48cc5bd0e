#!/usr/bin/env python3
"""Checks pollnotify's memory-order labels (docs/architecture.md, "Conventions").

Every acquire/release pair carries labels like `POLL-R3`: a component prefix, a letter, a number.
A label is defined where a comment starts with it (`// POLL-R3: ...` or `// POLL-R3 (seq_cst):`)
and may be mentioned anywhere else. The check fails when
  - a label is defined more than once in the project,
  - a label is mentioned (or named in "pairs with X") but defined nowhere,
  - a "pairs with" names a label without a component prefix.
Usage: check_memory_order_labels.py [REPO_ROOT]; exit 1 with one line per problem."""
import pathlib
import re
import subprocess
import sys

LABEL = r"[A-Z]{2,5}-[A-Z]{1,2}\d+"
DEFINITION = re.compile(r"(?://|/\*|^\s*\*)\s*(" + LABEL + r")(?:\s*\([^)]*\))?:")
MENTION = re.compile(r"(?<![\w-])(" + LABEL + r")\b")
PAIRS_WITH = re.compile(r"pairs with ((?:the )?[^.;:)]*)")
BARE = re.compile(r"^(?:the )?(?:[A-Z]{1,2}\d+)\b")


def comment_of(line):
    """The comment part of a C/C++ line (good enough for this code base's style)."""
    for marker in ("//", "/*"):
        at = line.find(marker)
        if at >= 0:
            return line[at:]
    return line if line.lstrip().startswith("*") else ""


def main():
    root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else ".")
    files = subprocess.run(["git", "ls-files", "*.c", "*.h", "*.cpp", "*.hpp"], cwd=root,
                           capture_output=True, text=True, check=True).stdout.split()
    definitions, mentions, problems = {}, [], []
    for name in files:
        for number, line in enumerate((root / name).read_text().splitlines(), 1):
            comment = comment_of(line)
            if not comment:
                continue
            where = f"{name}:{number}"
            for match in DEFINITION.finditer(comment):
                definitions.setdefault(match.group(1), []).append(where)
            for match in MENTION.finditer(comment):
                mentions.append((match.group(1), where))
            for match in PAIRS_WITH.finditer(comment):
                if BARE.match(match.group(1).strip()):
                    problems.append(f"{where}: 'pairs with {match.group(1).strip()}' has no "
                                    "component prefix")
    for label, places in sorted(definitions.items()):
        if len(places) > 1:
            problems.append(f"{label} is defined {len(places)} times: {', '.join(places)}")
    for label, where in mentions:
        if label not in definitions:
            problems.append(f"{where}: {label} is mentioned but defined nowhere")
    for problem in problems:
        print(problem)
    print(f"check_memory_order_labels: {len(definitions)} labels, {len(mentions)} mentions, "
          f"{len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
