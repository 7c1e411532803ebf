#!/usr/bin/env python3
"""Lists the longest function bodies of the daemon's C++ (collectors/, tracking/, exporter/) and
fails when one is longer than the limit (docs/architecture.md: no function over 60 lines).

A body's length is the number of lines between its braces. Functions are found by a brace scanner
over the code with comments and literals blanked: a '{' outside any function opens a function
when the code before it ends with ')' (maybe followed by const, override, noexcept or a trailing
return type) or an initializer list, and is not an if/for/while/switch/catch.

Usage: function_lengths.py [--limit N] [--top N] [repo root]
"""
import argparse
import os
import re
import sys

ROOMS = ("collectors", "tracking", "exporter")


def blank(text):
    """`text` with comments, string and character literals replaced by spaces (newlines kept)."""
    out, i, n = [], 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            out.append(" " * (j - i))
            i = j
        elif text.startswith("/*", i):
            j = text.find("*/", i) + 2
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
        elif text.startswith('R"', i):
            m = re.match(r'R"([^(]*)\(', text[i:])
            end = ")" + m.group(1) + '"'
            j = text.find(end, i) + len(end)
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
        elif c == "'" and i > 0 and text[i - 1].isalnum() and text[i - 2:i] != "u8":
            out.append(" ")  # a digit separator: 1'000
            i += 1
        elif c in "\"'":
            j = i + 1
            while text[j] != c:
                j += 2 if text[j] == "\\" else 1
            out.append(c + " " * (j - i - 1) + c)
            i = j + 1
        else:
            out.append(c)
            i += 1
    return "".join(out)


FUNCTION_END = re.compile(r"(\)|\bconst|\boverride|\bnoexcept|->\s*[\w:<>,\s*&]+)$")
CONTROL = re.compile(r"\b(if|for|while|switch|catch)\s*\([^;{}]*\)$")


def functions(path, root):
    """(lines, path, first line, signature) of every function defined in `path`."""
    code = blank(open(path, encoding="utf-8").read())
    stack, found = [], []
    for m in re.finditer(r"[{}]", code):
        if m.group() == "{":
            before = code[:m.start()].rstrip()
            in_function = any(kind == "f" for kind, _ in stack)
            opens = not in_function and FUNCTION_END.search(before) and not CONTROL.search(before)
            stack.append(("f" if opens else "o", m.start()))
            continue
        kind, start = stack.pop()
        if kind != "f":
            continue
        first = code.count("\n", 0, start) + 1
        last = code.count("\n", 0, m.start()) + 1
        sig_start = max(code.rfind(";", 0, start), code.rfind("}", 0, start),
                        code.rfind("{", 0, start)) + 1
        signature = " ".join(code[sig_start:start].split())
        found.append((last - first - 1, os.path.relpath(path, root), first, signature))
    return found


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--limit", type=int, default=60)
    parser.add_argument("--top", type=int, default=5)
    parser.add_argument("root", nargs="?",
                        default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
    args = parser.parse_args()
    root = os.path.abspath(args.root)
    found = []
    for room in ROOMS:
        for dirpath, _, filenames in os.walk(os.path.join(root, room)):
            for name in sorted(filenames):
                if name.endswith((".cc", ".h")):
                    found += functions(os.path.join(dirpath, name), root)
    found.sort(key=lambda f: (-f[0], f[1], f[2]))
    for lines, path, line, signature in found[:args.top]:
        print(f"{lines:4d} lines  {path}:{line}  {signature[:100]}")
    over = [f for f in found if f[0] > args.limit]
    for lines, path, line, signature in over:
        print(f"{path}:{line}: {lines} lines, over the limit of {args.limit}: {signature[:100]}")
    print(f"{len(found)} functions in {', '.join(ROOMS)}; {len(over)} over {args.limit} lines")
    return 1 if over else 0


if __name__ == "__main__":
    sys.exit(main())
