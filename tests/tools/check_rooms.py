#!/usr/bin/env python3
"""Checks that the code's rooms include only what their CMake targets link (docs/architecture.md).

A room is a directory whose CMakeLists.txt defines a podmeter_* library (collectors/base,
collectors/readers, tracking, exporter, lab, ...). Its files may include headers of their own room
and of the podmeter_* libraries the directory's targets link; a header (.h) only those linked
PUBLIC, since whoever includes it must see them too. The rooms' link graph must have no cycle.
Prints one line per violation and exits 1; prints a summary and exits 0 when clean.

Usage: check_rooms.py [repo root]   (default: the repository this file is in)
"""
import os
import re
import sys

ROOT = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else
                       os.path.join(os.path.dirname(__file__), "..", ".."))
SKIP = {"build", "build-asan", "build-fuzz", "tests", "bench", "servers", "node_modules", ".git"}


def cmake_calls(text, command):
    """The argument lists of every `command(...)` call in a CMakeLists text, comments dropped."""
    text = re.sub(r"#[^\n]*", "", text)
    for m in re.finditer(command + r"\s*\(([^)]*)\)", text):
        yield m.group(1).split()


def rooms():
    """{room dir (relative): {"target": name, "public": set, "private": set}}"""
    out = {}
    for dirpath, dirnames, filenames in os.walk(ROOT):
        rel = os.path.relpath(dirpath, ROOT)
        dirnames[:] = [d for d in dirnames if d not in SKIP and not d.startswith(".")]
        if "CMakeLists.txt" not in filenames or rel == ".":
            continue
        text = open(os.path.join(dirpath, "CMakeLists.txt")).read()
        libs = [args[0] for args in cmake_calls(text, "add_library")
                if args and args[0].startswith("podmeter_")]
        if not libs:
            continue
        public, private = set(), set()
        for args in cmake_calls(text, "target_link_libraries"):
            into = public
            for word in args[1:]:
                if word in ("PUBLIC", "INTERFACE"):
                    into = public
                elif word == "PRIVATE":
                    into = private
                elif word.startswith("podmeter_") and word not in libs:
                    into.add(word)
        out[rel] = {"target": libs[0], "public": public, "private": private - public}
    return out


def owner(path, room_dirs):
    """The room a repository-relative path belongs to (the longest matching room dir), or None."""
    best = None
    for d in room_dirs:
        if path.startswith(d + "/") and (best is None or len(d) > len(best)):
            best = d
    return best


def main():
    all_rooms = rooms()
    by_target = {r["target"]: d for d, r in all_rooms.items()}
    problems = []
    for d, r in sorted(all_rooms.items()):
        for dep in sorted(r["public"] | r["private"]):
            if dep not in by_target:
                problems.append(f"{d}/CMakeLists.txt: links {dep}, which no room defines")
    # No cycles in the link graph.
    state = {}

    def visit(target, stack):
        if state.get(target) == "done":
            return
        if state.get(target) == "open":
            problems.append("link cycle: " + " -> ".join(stack + [target]))
            return
        state[target] = "open"
        r = all_rooms.get(by_target.get(target, ""), {"public": set(), "private": set()})
        for dep in sorted(r["public"] | r["private"]):
            visit(dep, stack + [target])
        state[target] = "done"

    for target in sorted(by_target):
        visit(target, [])

    include_re = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)
    checked = 0
    for d, r in sorted(all_rooms.items()):
        for dirpath, dirnames, filenames in os.walk(os.path.join(ROOT, d)):
            for name in sorted(filenames):
                if not name.endswith((".cc", ".h")):
                    continue
                path = os.path.relpath(os.path.join(dirpath, name), ROOT)
                if owner(path, all_rooms) != d:
                    continue  # a sub-room's file, checked as that room's
                checked += 1
                allowed = r["public"] if name.endswith(".h") else r["public"] | r["private"]
                for inc in include_re.findall(open(os.path.join(ROOT, path)).read()):
                    target_room = owner(inc, all_rooms)
                    if target_room is None:
                        problems.append(f"{path}: includes \"{inc}\", which is in no room")
                    elif target_room != d and all_rooms[target_room]["target"] not in allowed:
                        how = "PUBLIC" if name.endswith(".h") else "PUBLIC or PRIVATE"
                        problems.append(
                            f"{path}: includes \"{inc}\" but {r['target']} does not link "
                            f"{all_rooms[target_room]['target']} {how}")
    for p in problems:
        print(p)
    if problems:
        return 1
    print(f"rooms: {len(all_rooms)} rooms, {checked} files, includes follow the CMake links")
    return 0


if __name__ == "__main__":
    sys.exit(main())
