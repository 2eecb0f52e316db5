#!/usr/bin/env python3
"""Moves the crate's files into the layout of one folder per concept.

    scripts/restructure.py            # move files and rewrite every path
    scripts/restructure.py --paths    # rewrite paths only (a branch made
                                      # before the move, rebased onto it)

Repeatable: it reads the tree as it is (whatever others changed in the
moved files travels with them), `git mv`s the files that move, then
rewrites every module path that changed, in `use` lines, expression paths,
intra-doc links, `mod` declarations, `#[path]`/`include_str!` paths and
the prose that names a moved file. With `--paths` it only rewrites, so a
file written against the old layout can be brought to the new one.

Where the files went (old module -> new module):
    acceptance::contract      -> protocol::contract
    acceptance::runner        -> run
    acceptance::interrupt     -> run::interrupt
    acceptance::shard         -> run::shard
    acceptance::report        -> report
    acceptance::report::snippet -> authoring::snippet
    acceptance::catalogue     -> authoring::catalogue
    acceptance::dry_run       -> authoring::dry_run
    orchestration::broker     -> events::rabbitmq
"""

import os
import re
import subprocess
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))

# (old file, new file), directories moved whole first.
MOVES = [
    ("src/acceptance/report", "src/report"),
    ("src/report/snippet.rs", "src/authoring/snippet.rs"),
    ("src/acceptance/catalogue.rs", "src/authoring/catalogue.rs"),
    ("src/acceptance/catalogue", "src/authoring/catalogue"),
    ("src/acceptance/dry_run.rs", "src/authoring/dry_run.rs"),
    ("src/acceptance/contract.rs", "src/protocol/contract.rs"),
    ("src/acceptance/runner.rs", "src/run/mod.rs"),
    ("src/acceptance/interrupt.rs", "src/run/interrupt.rs"),
    ("src/acceptance/shard.rs", "src/run/shard.rs"),
    ("src/orchestration/broker.rs", "src/events/rabbitmq.rs"),
    ("src/system.rs", "src/system/mod.rs"),
]

# Old module path -> new module path (longest prefix wins).
MODULES = {
    "acceptance::report::snippet": "authoring::snippet",
    "acceptance::report": "report",
    "acceptance::contract": "protocol::contract",
    "acceptance::runner": "run",
    "acceptance::interrupt": "run::interrupt",
    "acceptance::shard": "run::shard",
    "acceptance::catalogue": "authoring::catalogue",
    "acceptance::dry_run": "authoring::dry_run",
    "orchestration::broker": "events::rabbitmq",
}

# Items reached through a parent's re-export that now live elsewhere.
ITEMS = {
    "report::Snippet": "authoring::Snippet",
    "acceptance::report::Snippet": "authoring::Snippet",
    "client::escape_line": "protocol::escape_line",
}
for _name in ["Broker", "BrokerConnection", "RabbitMq", "RABBITMQ_INSTALL_HINT",
              "BROKER_START_LIMIT"]:
    ITEMS["orchestration::" + _name] = "events::" + _name

# Inside the library, the runner's and the report's items are named where
# they live, not through `acceptance`'s re-exports kept for other crates.
INTERNAL_ITEMS = {
    "acceptance::Report": "report::Report",
    "acceptance::Status": "report::Status",
    "acceptance::main": "run::main",
    "acceptance::main_with": "run::main_with",
    "acceptance::run": "run::run",
    "acceptance::run_quietly": "run::run_quietly",
    "acceptance::Options": "run::Options",
    "acceptance::Outcome": "run::Outcome",
    "acceptance::RunArgs": "run::RunArgs",
    "acceptance::EXCLUDED_BY_DEFAULT": "run::EXCLUDED_BY_DEFAULT",
    "acceptance::default_concurrency": "run::default_concurrency",
    "acceptance::DiscosWorld": "acceptance::world::DiscosWorld",
    "acceptance::Settings": "acceptance::settings::Settings",
    "acceptance::Target": "acceptance::target::Target",
}

IDENT = r"[A-Za-z_][A-Za-z0-9_]*"


def git(*args):
    subprocess.run(["git", *args], cwd=ROOT, check=True)


def module_of(path):
    """The module path (without `crate`) of a library file, as a list, or
    None for a file of another crate (a test, a binary)."""
    if not path.startswith("src/") or path.startswith("src/bin/") or not path.endswith(".rs"):
        return None
    rest = path[len("src/"):-len(".rs")]
    parts = rest.split("/")
    if parts[-1] in ("mod", "lib"):
        parts = parts[:-1]
    return parts


def map_module(old):
    """The new path of the module (or item) at old path `old`."""
    best = None
    for prefix in MODULES:
        if old == prefix or old.startswith(prefix + "::"):
            if best is None or len(prefix) > len(best):
                best = prefix
    if best is None:
        return old
    return MODULES[best] + old[len(best):]


# Private modules whose items a moved file reached as a sibling; from
# outside, their parent's re-exports name them.
PRIVATE = ["orchestration::error", "orchestration::executor", "orchestration::readiness",
           "orchestration::service", "orchestration::group", "orchestration::orchestrator"]


def map_path(old, internal):
    """The new path of `old` (no root), items included."""
    # Within acceptance/, its own items keep their short names.
    inside = CURRENT[0].startswith("acceptance/")
    internal_items = {k: v for k, v in INTERNAL_ITEMS.items()
                      if not (inside and v.startswith("acceptance::"))}
    tables = [ITEMS] + ([internal_items] if internal else [])
    for table in tables:
        for prefix in sorted(table, key=len, reverse=True):
            if old == prefix or old.startswith(prefix + "::"):
                return table[prefix] + old[len(prefix):]
    new = map_module(old)
    for private in PRIVATE:
        parent = private.rsplit("::", 1)[0]
        if new.startswith(private + "::") and not CURRENT[0].startswith(parent + "/"):
            new = private.rsplit("::", 1)[0] + new[len(private):]
    return new


CURRENT = [""]  # the file being rewritten, for PRIVATE


# ------------------------------------------------------------------ lexing

def code_mask(text):
    """For each character: 'c' code, 's' string/char literal, 'm' comment."""
    mask = ["c"] * len(text)
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            for k in range(i, j):
                mask[k] = "m"
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
            for k in range(i, j):
                mask[k] = "m"
            i = j
        elif ch == "r" and re.match(r'r#*"', text[i:i + 10]) and (i == 0 or not re.match(r"[A-Za-z0-9_]", text[i - 1])):
            hashes = re.match(r'r(#*)"', text[i:]).group(1)
            end = text.find('"' + hashes, i + 2 + len(hashes))
            end = n if end < 0 else end + 1 + len(hashes)
            for k in range(i, end):
                mask[k] = "s"
            i = end
        elif ch == "b" and text.startswith('b"', i) and (i == 0 or not re.match(r"[A-Za-z0-9_]", text[i - 1])):
            i += 1
            continue
        elif ch == '"':
            j = i + 1
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            for k in range(i, min(j + 1, n)):
                mask[k] = "s"
            i = j + 1
        elif ch == "'":
            m = re.match(r"'(\\(x[0-9a-fA-F]{2}|u\{[0-9a-fA-F]+\}|.)|[^\\'])'", text[i:i + 14])
            if m:
                for k in range(i, i + len(m.group(0))):
                    mask[k] = "s"
                i += len(m.group(0))
            else:
                i += 1
        else:
            i += 1
    return mask


def inline_modules(text, mask):
    """For each character, the names of the inline `mod NAME { }` blocks
    around it, outermost first (as a tuple)."""
    stack = []  # each entry: module name or None for a plain brace
    result = [()] * len(text)
    current = ()
    for i, ch in enumerate(text):
        if mask[i] == "c":
            if ch == "{":
                back = "".join(c for c, m in zip(text[max(0, i - 80):i], mask[max(0, i - 80):i]) if m == "c")
                m = re.search(r"\bmod\s+(" + IDENT + r")\s*$", back)
                stack.append(m.group(1) if m else None)
                current = tuple(s for s in stack if s is not None)
            elif ch == "}" and stack:
                stack.pop()
                current = tuple(s for s in stack if s is not None)
        result[i] = current
    return result


# --------------------------------------------------------------- rewriting

def absolute(segments_up, module):
    """`super::` taken `segments_up` times from `module` (a list)."""
    if segments_up > len(module):
        return None
    return module[:len(module) - segments_up]


def new_module_of(old_module):
    return map_module("::".join(old_module)).split("::") if old_module else []


def rewrite_super(chain_ups, rest, file_old, file_new, inline):
    """A `super::…` path seen in a file whose module was `file_old` (list)
    and is now `file_new`, inside inline modules `inline`. Returns the
    text to put in its place, or None to leave it."""
    here_old = file_old + list(inline)
    here_new = file_new + list(inline)
    target_old = absolute(chain_ups, here_old)
    if target_old is None:
        return None
    full_old = "::".join(target_old + ([rest] if rest else []))
    full_new = map_path(full_old, True)
    # Kept relative when the relation still holds.
    relative_new = absolute(chain_ups, here_new)
    # `super::` up to the crate's root reads better as `crate::`.
    if relative_new:
        as_relative = "::".join(relative_new + ([rest] if rest else []))
        if as_relative == full_new:
            return None
    return "crate::" + full_new if full_new else "crate"


PATH_RE = re.compile(r"\b(crate|discos_acceptance|(?:super::)+)(::)?((?:" + IDENT + r"::)*" + IDENT + r"|\*)?")


def split_use_tree(tree):
    """Leaves of a use tree text (`a::{b, c::{d, e as f}}`) as paths."""
    tree = tree.strip()
    depth = 0
    for i, ch in enumerate(tree):
        if ch == "{":
            if depth == 0:
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
                        for leaf in split_use_tree(part):
                            if leaf == "self":
                                leaves.append(prefix)
                            elif leaf.startswith("self as "):
                                leaves.append(prefix + leaf[len("self"):])
                            else:
                                leaves.append(prefix + "::" + leaf if prefix else leaf)
                return leaves
            depth += 1
    return [" ".join(tree.split())]


def join_use_tree(leaves):
    """The shortest use tree for these leaf paths."""
    tree = {}
    for leaf in leaves:
        alias = ""
        if " as " in leaf:
            leaf, alias = leaf.split(" as ", 1)
            alias = " as " + alias.strip()
        node = tree
        parts = leaf.strip().split("::")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node.setdefault(parts[-1] + alias, {})["\0self"] = {}

    def show(node):
        items = []
        for name in sorted(node, key=lambda n: (n.lower() != "self", n != "*", n)):
            if name == "\0self":
                continue
            child = node[name]
            subs = {k: v for k, v in child.items() if k != "\0self"}
            here = "\0self" in child
            if not subs:
                items.append(name)
            elif here or len(subs) > 1:
                inner = (["self"] if here else []) + [show_one(k, v) for k, v in sorted(subs.items())]
                items.append(name + "::{" + ", ".join(inner) + "}")
            else:
                (k, v), = subs.items()
                items.append(name + "::" + show_one(k, v))
        return items

    def show_one(name, child):
        subs = {k: v for k, v in child.items() if k != "\0self"}
        here = "\0self" in child
        if not subs:
            return name
        inner = (["self"] if here else []) + [show_one(k, v) for k, v in sorted(subs.items())]
        if len(inner) == 1 and not here:
            return name + "::" + inner[0]
        return name + "::{" + ", ".join(inner) + "}"

    items = show(tree)
    return items[0] if len(items) == 1 else "{" + ", ".join(items) + "}"


def rewrite_leaf(leaf, file_old, file_new, inline, internal):
    """One leaf path of a use tree, or of an expression."""
    alias = ""
    if " as " in leaf:
        leaf, alias = leaf.split(" as ", 1)
        alias = " as " + alias
    m = re.match(r"^((?:super::)+|super$)(.*)$", leaf)
    if m and file_old is not None:
        ups = m.group(1).count("super")
        rest = m.group(2)
        new = rewrite_super(ups, rest, file_old, file_new, inline)
        return (new if new is not None else leaf) + alias
    for root in ("crate", "discos_acceptance"):
        if leaf == root or leaf.startswith(root + "::"):
            rest = leaf[len(root) + 2:]
            if not rest:
                return leaf + alias
            internal_here = internal and root == "crate"
            return root + "::" + map_path(rest, internal_here) + alias
    return leaf + alias


MODULE_SET = set()  # every module after the move, as tuples


def own_child(leaf, file_new, inline):
    """A path into the file's own module, as a path from it: a child
    module named by `crate::…` from its parent is in scope already."""
    if file_new is None or inline:
        return leaf
    own = "crate::" + "::".join(file_new) if file_new else "crate"
    path = leaf.split(" as ")[0]
    if not path.startswith(own + "::"):
        return leaf
    rest = leaf[len(own) + 2:]
    if " as " not in rest and "::" not in rest and tuple(file_new) + (rest,) in MODULE_SET:
        return None
    return rest


USE_RE = re.compile(r"(?m)^([ \t]*)((?:pub(?:\([^)]*\))?\s+)?use\s+)((?:crate|super|discos_acceptance)\b[^;]*);")


def rewrite_text(text, path, file_old, file_new):
    internal = path.startswith("src/") and not path.startswith("src/bin/")
    mask = code_mask(text)
    inline = inline_modules(text, mask) if file_old is not None else None
    out = []
    last = 0
    # `use` statements first: a tree may need regrouping.
    spans = []
    for m in USE_RE.finditer(text):
        if mask[m.start(3)] != "c":
            continue
        tree = m.group(3)
        ctx = inline[m.start(3)] if inline else ()
        leaves = split_use_tree(tree)
        new_leaves = [rewrite_leaf(l, file_old, file_new, ctx, internal) for l in leaves]
        new_leaves = [l for l in (own_child(l, file_new, ctx) for l in new_leaves) if l]
        if new_leaves != leaves and not new_leaves:
            spans.append((m.start(), m.end() + 1 if text[m.end():m.end() + 1] == "\n" else m.end(), ""))
            continue
        if new_leaves != leaves:
            # One statement per module, unless an attribute before it
            # must keep applying to all of them.
            line_start = text.rfind("\n", 0, m.start())
            previous = text[text.rfind("\n", 0, max(line_start, 0)) + 1:line_start].strip()
            if previous.startswith("#["):
                key = lambda l: l.split("::")[0]
            else:
                key = lambda l: "::".join(l.split(" as ")[0].split("::")[:-1]) or l
            groups = []
            for leaf in new_leaves:
                if key(leaf) not in groups:
                    groups.append(key(leaf))
            pieces = []
            for group in groups:
                members = [l for l in new_leaves if key(l) == group]
                pieces.append(m.group(1) + m.group(2) + join_use_tree(members) + ";")
            replacement = "\n".join(pieces)
            spans.append((m.start(), m.end(), replacement))
    for start, end, replacement in spans:
        out.append(text[last:start])
        out.append(replacement)
        last = end
    out.append(text[last:])
    text = "".join(out)

    # Then every other path: expressions, types, attributes, doc links.
    mask = code_mask(text)
    inline = inline_modules(text, mask) if file_old is not None else None
    in_use = [False] * len(text)
    for m in USE_RE.finditer(text):
        for k in range(m.start(), m.end()):
            in_use[k] = True
    out, last = [], 0
    for m in PATH_RE.finditer(text):
        if in_use[m.start()] or mask[m.start()] == "s":
            continue
        root, sep, rest = m.group(1), m.group(2), m.group(3)
        if root.startswith("super"):
            if file_old is None:
                continue
            leaf = root + (rest or "")
            leaf = leaf[:-2] if leaf.endswith("::") else leaf
        else:
            if not sep or not rest:
                continue
            leaf = root + "::" + rest
        ctx = inline[m.start()] if inline else ()
        # An item path ends where a lower-case segment after an upper-case
        # one would be a method; a path to a module stops at its items.
        new = rewrite_leaf(leaf, file_old, file_new, ctx, internal)
        if new != leaf:
            out.append(text[last:m.start()])
            out.append(new + ("::" if root.startswith("super") and not rest else ""))
            last = m.end()
    out.append(text[last:])
    text = "".join(out)
    # Another crate's file that imported `acceptance` itself names the
    # moved modules through it: `acceptance::report::scenario_id`.
    if not internal and re.search(r"use discos_acceptance::acceptance(::\{self|;)", text):
        def alias(m):
            new = map_path("acceptance::" + m.group(1), False)
            return m.group(0) if new.startswith("acceptance::") else "discos_acceptance::" + new
        text = re.sub(r"(?<![:\w])acceptance::((?:" + IDENT + r"::)*" + IDENT + ")", alias, text)
    return text


REL_RE = re.compile(r'(#\[path\s*=\s*"|include_str!\(\s*"|include_bytes!\(\s*"|concat!\(\s*")(\.\./[^"]*|[^"/][^"]*/[^"]*)"')


def rewrite_relative(text, old_path, new_path):
    """Paths relative to a moved file's folder, re-based on its new one."""
    old_dir = os.path.dirname(old_path)
    new_dir = os.path.dirname(new_path)
    if old_dir == new_dir:
        return text

    def fix(m):
        rel = m.group(2)
        if not rel.startswith("."):
            # A file beside the source (assets/…): moves with it.
            return m.group(0)
        target = os.path.normpath(os.path.join(old_dir, rel))
        new_rel = os.path.relpath(target, new_dir)
        if rel.endswith("/"):
            new_rel += "/"
        return m.group(1) + new_rel + '"'

    return REL_RE.sub(fix, text)


# ---------------------------------------------------------- mod declarations

def edit(path, change):
    full = os.path.join(ROOT, path)
    with open(full) as f:
        text = f.read()
    new = change(text)
    if new != text:
        with open(full, "w") as f:
            f.write(new)


def remove_mod(text, name):
    return re.sub(r"(?m)^(pub(\([^)]*\))? )?mod " + name + r";\n", "", text)


def add_mod_after_docs(text, line):
    if re.search(r"(?m)^" + re.escape(line) + "$", text):
        return text
    lines = text.split("\n")
    # After the last `mod`/`pub mod` declaration, else after the doc comment.
    last_mod = None
    for i, l in enumerate(lines):
        if re.match(r"^(pub(\([^)]*\))? )?mod " + IDENT + ";$", l):
            last_mod = i
    if last_mod is not None:
        lines.insert(last_mod + 1, line)
        # Keep declarations sorted the way rustfmt leaves them.
        start = last_mod + 1
        while start > 0 and re.match(r"^(pub(\([^)]*\))? )?mod " + IDENT + ";$", lines[start - 1]):
            start -= 1
        end = last_mod + 2
        block = sorted(lines[start:end], key=lambda l: re.sub(r"^(pub(\([^)]*\))? )?mod ", "", l))
        lines[start:end] = block
    else:
        i = 0
        while i < len(lines) and lines[i].startswith("//!"):
            i += 1
        lines[i:i] = ["", line]
    return "\n".join(lines)


def declarations():
    def acceptance(text):
        for name in ["catalogue", "contract", "dry_run", "interrupt", "report", "runner", "shard"]:
            text = remove_mod(text, name)
        # Kept for other crates' steps: the run's and the report's items.
        text = re.sub(r"(?m)^pub use report::", "pub use crate::report::", text)
        return re.sub(r"(?m)^pub use runner::", "pub use crate::run::", text)

    edit("src/acceptance/mod.rs", acceptance)

    def lib(text):
        for line in ["pub mod authoring;", "pub mod report;", "pub mod run;"]:
            text = add_mod_after_docs(text, line)
        return text

    edit("src/lib.rs", lib)

    def run(text):
        for line in ["pub mod interrupt;", "pub mod shard;"]:
            text = add_mod_after_docs(text, line)
        return text

    edit("src/run/mod.rs", run)
    edit("src/protocol/mod.rs", lambda t: add_mod_after_docs(t, "pub mod contract;"))

    def report(text):
        text = remove_mod(text, "snippet")
        return re.sub(r"(?m)^pub use snippet::Snippet;\n", "", text)

    edit("src/report/mod.rs", report)

    def orchestration(text):
        text = remove_mod(text, "broker")
        return re.sub(r"(?ms)^pub use broker::\{[^}]*\};\n|^pub use broker::[^;]*;\n", "", text)

    edit("src/orchestration/mod.rs", orchestration)

    def events(text):
        text = add_mod_after_docs(text, "mod rabbitmq;")
        if "pub use rabbitmq::" not in text:
            text = text.rstrip("\n") + (
                "\npub use rabbitmq::{BROKER_START_LIMIT, Broker, BrokerConnection, "
                "RABBITMQ_INSTALL_HINT, RabbitMq};\n")
        return text

    edit("src/events/mod.rs", events)

    authoring = os.path.join(ROOT, "src/authoring/mod.rs")
    if not os.path.exists(authoring):
        with open(authoring, "w") as f:
            f.write(AUTHORING_MOD)
        git("add", "src/authoring/mod.rs")


AUTHORING_MOD = '''//! For people who write scenarios: the step library's catalogue (every
//! sentence a scenario can say, `discos-sim steps`), "did you mean" for a
//! sentence no step says, the code to start a step definition from, and
//! the dry run that checks a suite's steps without starting anything.

pub mod catalogue;
pub(crate) mod dry_run;
pub mod snippet;

pub use snippet::Snippet;
'''


# ------------------------------------------------------------ moved items

def cut_item(text, name):
    """Cuts the top-level item `fn name` / `struct name`… with its doc
    comment and attributes; returns (rest, item)."""
    mask = code_mask(text)
    m = None
    for m in re.finditer(r"(?m)^(pub(\([^)]*\))? )?(async )?(fn|struct|enum|const|static|type|trait) " + name + r"\b", text):
        if mask[m.start()] == "c":
            break
    else:
        return text, None
    start = m.start()
    # Doc comments and attributes above it.
    lines_before = text[:start].split("\n")[:-1]
    while lines_before and (lines_before[-1].startswith("///") or lines_before[-1].startswith("#[")):
        start -= len(lines_before.pop()) + 1
    depth, i = 0, m.end()
    while i < len(text):
        if mask[i] == "c":
            if text[i] == "{":
                depth += 1
            elif text[i] == "}":
                depth -= 1
                if depth == 0:
                    i += 1
                    break
            elif text[i] == ";" and depth == 0:
                i += 1
                break
        i += 1
    end = i + 1 if text[i:i + 1] == "\n" else i
    if text[end:end + 1] == "\n":
        end += 1
    return text[:start] + text[end:], text[start:i] + "\n"


def move_items():
    """`client::escape_line` is wire formatting: it goes to `protocol`."""
    path = os.path.join(ROOT, "src/client.rs")
    with open(path) as f:
        text = f.read()
    text, item = cut_item(text, "escape_line")
    if item is None:
        return
    text = re.sub(r"(?m)^(use crate::protocol::)", r"use crate::protocol::escape_line;\n\1", text, count=1)
    with open(path, "w") as f:
        f.write(text)
    with open(os.path.join(ROOT, "src/protocol/escape.rs"), "w") as f:
        f.write("//! Lines as a person reads them in a transcript, a log or a message.\n\n" + item)
    git("add", "src/protocol/escape.rs")

    def protocol(text):
        text = add_mod_after_docs(text, "mod escape;")
        return re.sub(r"(?m)^(pub use codec::)", r"pub use escape::escape_line;\n\1", text, count=1)

    edit("src/protocol/mod.rs", protocol)


# ------------------------------------------------------------------ files

def tracked_files():
    out = subprocess.run(["git", "ls-files"], cwd=ROOT, check=True,
                         capture_output=True, text=True).stdout.split("\n")
    return [f for f in out if f and os.path.exists(os.path.join(ROOT, f))]


FILE_NAMES = []  # (old file path, new file path) for prose


def file_moves():
    pairs = []
    for old, new in MOVES:
        pairs.append((old, new))
    return pairs


def prose(text):
    for old, new in FILE_NAMES:
        text = re.sub(r"\b" + re.escape(old) + r"\b", new, text)
    return text


def main():
    only_paths = "--paths" in sys.argv[1:]
    moved_from = {}  # new path -> old path
    if not only_paths:
        for old, new in MOVES:
            src = os.path.join(ROOT, old)
            if not os.path.exists(src):
                sys.exit(f"nothing at {old}: is the move already done?")
            os.makedirs(os.path.dirname(os.path.join(ROOT, new)), exist_ok=True)
            before = set(tracked_files())
            git("mv", old, new)
            after = set(tracked_files())
            for gone in before - after:
                came = new + gone[len(old):] if os.path.isdir(os.path.join(ROOT, new)) else new
                origin = moved_from.pop(gone, gone)
                moved_from[came] = origin
        declarations()
        move_items()
    # Prose names files by their path: every moved file's new path.
    for new, old in sorted(moved_from.items()):
        FILE_NAMES.append((old, new))
    FILE_NAMES.extend([("src/acceptance/report/", "src/report/"),
                       ("src/acceptance/catalogue/", "src/authoring/catalogue/")])
    for path in tracked_files():
        if path.endswith(".rs") and module_of(path) is not None:
            MODULE_SET.add(tuple(module_of(path)))
    for path in tracked_files():
        if path.startswith("scripts/restructure"):
            continue
        full = os.path.join(ROOT, path)
        CURRENT[0] = path[len("src/"):] if path.startswith("src/") else path
        if path.endswith(".rs"):
            old = moved_from.get(path, path)
            file_old = module_of(old)
            file_new = module_of(path)
            with open(full) as f:
                text = f.read()
            new = rewrite_text(text, path, file_old, file_new or [])
            new = rewrite_relative(new, old, path)
            new = prose(new)
        elif path.endswith((".md", ".toml", ".sh")) or path in (".ci/run", "build.rs"):
            with open(full) as f:
                text = f.read()
            new = prose(text)
            new = re.sub(r"\bdiscos_acceptance::((?:" + IDENT + r"::)*" + IDENT + ")",
                         lambda m: "discos_acceptance::" + map_path(m.group(1), False), new)
        else:
            continue
        if new != text:
            with open(full, "w") as f:
                f.write(new)
    subprocess.run(["cargo", "fmt"], cwd=ROOT, check=True)


if __name__ == "__main__":
    main()
