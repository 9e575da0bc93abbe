#!/usr/bin/env python3
"""Prints the longest functions under src/ (lines from `fn` to its closing brace,
blank and comment-only lines not counted, as clippy's too_many_lines counts them) and
fails when one is longer than the limit, unless the line before it says
`#[allow(clippy::too_many_lines)]` (tables of data, each with a comment saying so).

usage: scripts/longest-fns.py [--top N] [--max LINES] [DIR...]
"""
import argparse
import os
import re
import sys

FN = re.compile(r"\bfn\s+([A-Za-z_][A-Za-z0-9_]*)")


def strip(text):
    """Blanks out comments, strings and char literals, keeping newlines, so braces
    and `fn` are only seen in code."""
    out = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            out.append(" " * (j - i))
            i = j
        elif text.startswith("/*", i):
            depth, j = 1, i + 2
            while j < n and depth:
                if text.startswith("/*", j):
                    depth, j = depth + 1, j + 2
                elif text.startswith("*/", j):
                    depth, j = depth - 1, j + 2
                else:
                    j += 1
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
        elif c == "r" and re.match(r'r#*"', text[i:i + 300]) and not (i and (text[i - 1].isalnum() or text[i - 1] == "_")):
            m = re.match(r'r(#*)"', text[i:])
            close = '"' + m.group(1)
            j = text.find(close, i + len(m.group(0)))
            j = n if j < 0 else j + len(close)
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
        elif c == '"':
            j = i + 1
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            j += 1
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
        elif c == "'":
            m = re.match(r"'(\\.[^']*|[^\\'])'", text[i:])
            if m:
                out.append(" " * len(m.group(0)))
                i += len(m.group(0))
            else:  # a lifetime
                out.append(c)
                i += 1
        else:
            out.append(c)
            i += 1
    return "".join(out)


def functions(path):
    raw = open(path, encoding="utf-8").read()
    code = strip(raw)
    raw_lines = raw.split("\n")
    line_of = [0] * (len(code) + 1)
    line = 1
    for k, ch in enumerate(code):
        line_of[k] = line
        if ch == "\n":
            line += 1
    line_of[len(code)] = line
    for m in FN.finditer(code):
        # The body is the first `{` at the signature's own nesting; a `;` first means
        # a declaration without a body (a trait method).
        depth, j = 0, m.end()
        while j < len(code):
            ch = code[j]
            if ch in "([<" and not (ch == "<" and code[j - 1] == "-"):
                depth += 1 if ch != "<" else 0
            if ch in ")]":
                depth -= 1
            if ch == ";" and depth == 0:
                j = -1
                break
            if ch == "{" and depth == 0:
                break
            j += 1
        if j < 0 or j >= len(code):
            continue
        start, k, braces = j, j, 0
        while k < len(code):
            if code[k] == "{":
                braces += 1
            elif code[k] == "}":
                braces -= 1
                if braces == 0:
                    break
            k += 1
        first, last = line_of[m.start()], line_of[k]
        code_lines = code.split("\n")[first - 1:last]
        counted = sum(1 for l in code_lines if l.strip())
        before = raw_lines[max(0, first - 4):first - 1]
        allowed = any("too_many_lines" in b for b in before)
        yield counted, path, first, m.group(1), allowed


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--top", type=int, default=10)
    ap.add_argument("--max", type=int, default=80)
    ap.add_argument("dirs", nargs="*", default=["src"])
    args = ap.parse_args()
    found = []
    for d in args.dirs:
        for root, _, files in os.walk(d):
            for f in files:
                if f.endswith(".rs"):
                    found.extend(functions(os.path.join(root, f)))
    found.sort(key=lambda x: -x[0])
    print(f"longest functions (lines of code, limit {args.max}):")
    for lines, path, line, name, allowed in found[: args.top]:
        note = "  (allowed: a table of data)" if allowed else ""
        print(f"{lines:5}  {path}:{line}  {name}{note}")
    over = [f for f in found if f[0] > args.max and not f[4]]
    if over:
        print(f"{len(over)} function(s) over {args.max} lines:", file=sys.stderr)
        for lines, path, line, name, _ in over:
            print(f"  {path}:{line} {name}: {lines}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
