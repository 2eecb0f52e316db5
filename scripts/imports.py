#!/usr/bin/env python3
"""Which file of src/ imports which, and the circles among them.

    scripts/imports.py            # circles between files and between folders
    scripts/imports.py --edges    # every edge, file -> file

A file imports another when it names an item defined there: by a `use`
line or a path in its code (`crate::…`, `super::…`, `self::…`, a child
module by name), followed through the `pub use` re-exports of a module to
the file that defines the item. Exits 1 when two files reach each other.
"""

import os
import re
import sys

ROOT = os.getcwd() if os.environ.get("HERE") else os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
SRC = os.path.join(ROOT, "src")
IDENT = r"[A-Za-z_][A-Za-z0-9_]*"


def strip(text):
    """The code without comments and string literals."""
    text = re.sub(r"//[^\n]*", "", text)
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    text = re.sub(r'r(#+)".*?"\1', '""', text, flags=re.S)
    text = re.sub(r'"(\\.|[^"\\])*"', '""', text, flags=re.S)
    return text


def modules():
    """Module path (tuple) -> file, for the library."""
    found = {}
    for folder, _, files in os.walk(SRC):
        for name in files:
            if not name.endswith(".rs"):
                continue
            path = os.path.relpath(os.path.join(folder, name), SRC)
            if path.startswith("bin/"):
                continue
            parts = path[:-3].split("/")
            if parts[-1] in ("mod", "lib"):
                parts = parts[:-1]
            found[tuple(parts)] = path
    return found


def use_leaves(tree):
    tree = " ".join(tree.split())
    depth = 0
    for i, ch in enumerate(tree):
        if ch == "{":
            prefix = tree[:i].rstrip(":").strip()
            inner = tree[i + 1:tree.rindex("}")]
            parts, d, start = [], 0, 0
            for j, c in enumerate(inner):
                if c == "{":
                    d += 1
                elif c == "}":
                    d -= 1
                elif c == "," and d == 0:
                    parts.append(inner[start:j])
                    start = j + 1
            parts.append(inner[start:])
            leaves = []
            for part in parts:
                if part.strip():
                    for leaf in use_leaves(part):
                        leaf = leaf.split(" as ")[0].strip()
                        leaves.append(prefix if leaf == "self" else (prefix + "::" + leaf if prefix else leaf))
            return leaves
    return [tree.split(" as ")[0].strip()]


class Crate:
    def __init__(self):
        self.modules = modules()
        self.texts = {m: strip(open(os.path.join(SRC, f)).read()) for m, f in self.modules.items()}
        self.reexports = {}
        self.why = {}
        for module, text in self.texts.items():
            names = {}
            for m in re.finditer(r"\bpub(?:\([^)]*\))?\s+use\s+([^;]+);", text):
                for leaf in use_leaves(m.group(1)):
                    last = leaf.split("::")[-1]
                    alias = re.search(r"\bas\s+(" + IDENT + r")", m.group(1))
                    names[last] = leaf
                    if alias and leaf.endswith(last):
                        pass
            self.reexports[module] = names

    def is_child(self, module, leaf):
        """Whether `leaf`, named in `module`, is an item of a child module."""
        target = self.absolute(module, leaf)
        return target is not None and len(target) > len(module) and tuple(target[:len(module)]) == module and module + (target[len(module)],) in self.modules

    def absolute(self, module, path):
        """`path` as seen from `module`, as a tuple from the crate's root."""
        parts = path.split("::")
        if parts[0] == "crate":
            return tuple(parts[1:])
        if parts[0] in ("self", "super"):
            here = list(module)
            while parts and parts[0] in ("self", "super"):
                if parts[0] == "super":
                    if not here:
                        return None
                    here.pop()
                parts = parts[1:]
            return tuple(here + parts)
        if module + (parts[0],) in self.modules:
            return module + tuple(parts)
        return None

    def file_of(self, target, seen=()):
        """The file defining what `target` names."""
        if target is None:
            return None
        for cut in range(len(target), -1, -1):
            module = tuple(target[:cut])
            if module not in self.modules:
                continue
            rest = target[cut:]
            if rest and rest[0] in self.reexports.get(module, {}) and (module, rest[0]) not in seen:
                via = self.absolute(module, self.reexports[module][rest[0]])
                if via is not None:
                    found = self.file_of(via + tuple(rest[1:]), seen + ((module, rest[0]),))
                    if found:
                        return found
            return self.modules[module]
        return None

    def edges(self):
        edges = set()
        for module, whole in self.texts.items():
            here = self.modules[module]
            # An inline `mod NAME { … }` is seen from one module lower.
            for context, text in inline_parts(module, whole):
                self.scan(here, context, text, edges)
        return edges

    def scan(self, here, module, text, edges):
        if True:
            paths = []
            for m in re.finditer(r"\b(pub(?:\([^)]*\))?\s+)?use\s+([^;]+);", text):
                leaves = use_leaves(m.group(2))
                if m.group(1):
                    # A module's interface: its children's items, re-exported.
                    leaves = [l for l in leaves if not self.is_child(module, l)]
                paths.extend(leaves)
            code = re.sub(r"\buse\s+[^;]+;", "", text)
            for m in re.finditer(r"\b((?:crate|super|self)(?:::" + IDENT + r")+)", code):
                paths.append(m.group(1))
            for path in paths:
                # A glob is a test module's `use super::*` of its own file.
                if path.startswith(("std", "core", "alloc")) or path.endswith("*"):
                    continue
                target = self.file_of(self.absolute(module, path))
                if target and target != here:
                    edges.add((here, target))
                    self.why.setdefault((here, target), set()).add(path)


def inline_parts(module, text):
    """`text` cut into (module, code) pieces: the file's own, and each
    inline module's (its braces matched in code without strings)."""
    parts, last = [], 0
    for m in re.finditer(r"(?m)^(?:pub(?:\([^)]*\))?\s+)?mod (" + IDENT + r") \{", text):
        if m.start() < last:
            continue
        depth, i = 0, m.end() - 1
        while i < len(text):
            if text[i] == "{":
                depth += 1
            elif text[i] == "}":
                depth -= 1
                if depth == 0:
                    break
            i += 1
        parts.append((module, text[last:m.start()]))
        parts.extend(inline_parts(module + (m.group(1),), text[m.end():i]))
        last = i + 1
    parts.append((module, text[last:]))
    return parts


def cycles(edges):
    graph = {}
    for a, b in edges:
        graph.setdefault(a, set()).add(b)
    index, low, stack, on, result = {}, {}, [], set(), []
    counter = [0]
    sys.setrecursionlimit(10000)

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                result.append(sorted(component))

    for v in list(graph):
        if v not in index:
            visit(v)
    return result


def folder(path):
    parts = path.split("/")
    return parts[0] if len(parts) > 1 else parts[0][:-3]


def main():
    crate = Crate()
    edges = crate.edges()
    if "--edges" in sys.argv:
        for a, b in sorted(edges):
            print(f"{a} -> {b}")
        return 0
    file_cycles = cycles(edges)
    folder_edges = {(folder(a), folder(b)) for a, b in edges if folder(a) != folder(b)}
    folder_cycles = cycles(folder_edges)
    print(f"{len(crate.modules)} files, {len(edges)} imports between them")
    for component in file_cycles:
        print("files in a circle: " + ", ".join(component))
        for a, b in sorted(edges):
            if a in component and b in component:
                print(f"    {a} -> {b}")
    for component in folder_cycles:
        print("folders in a circle: " + ", ".join(component))
        for a, b in sorted(edges):
            if folder(a) in component and folder(b) in component and folder(a) != folder(b):
                print(f"    {a} -> {b}  ({', '.join(sorted(crate.why[(a, b)]))})")
    if not file_cycles:
        print("no circle between files")
    if not folder_cycles:
        print("no circle between folders")
    return 1 if file_cycles else 0


if __name__ == "__main__":
    sys.exit(main())
