#!/usr/bin/env python3
"""Print the circles of files of the workspace: files that import each other in a loop.

For every crate of the workspace (each library, binary, test, bench and example target, and
build scripts), the module tree is read from its root file by following `mod` declarations
(a parent declaring a child module is not an import). A file imports another when it names an
item of it: `use crate::...`, `use super::...`, `use self::...`, a path through a child module
or a name brought in by `use`, or a path such as `crate::x::y` written in code. A path is
followed through re-exports (`pub use`) to the file that defines the item, so a module that
only re-exports is not a step of a circle. A glob import (`use x::*`) is an import of `x`'s
file. Paths into the same file (`use super::*` in an inline `mod tests`) are not imports.

Every strongly connected component of more than one file is printed, per crate, with the
imports inside it, and the reason it is kept when it is one of KNOWN below. Standard library
only: `python3 scripts/module-cycles.py [ROOT]`. Exit status: 0 whether or not circles are
found (it reports; it does not judge).
"""

import os
import re
import sys
from collections import defaultdict

# Circles kept on purpose, by their files (relative to the repository root), with the reason.
KNOWN: dict[tuple[str, ...], str] = {}

ITEM_KEYWORDS = {"fn", "struct", "enum", "trait", "type", "const", "static", "union"}
PATH_ROOTS = {"crate", "super", "self"}

TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<linecomment>//[^\n]*)
  | (?P<blockcomment>/\*)
  | (?P<rawstr>b?r(?P<hashes>\#*)")
  | (?P<str>b?"(?:\\.|[^"\\])*")
  | (?P<char>b?'(?:\\(?:x[0-9a-fA-F]{2}|u\{[0-9a-fA-F]+\}|.)|[^'\\])')
  | (?P<lifetime>'[A-Za-z_][A-Za-z0-9_]*)
  | (?P<ident>r\#[A-Za-z_][A-Za-z0-9_]*|[A-Za-z_][A-Za-z0-9_]*)
  | (?P<path>::)
  | (?P<num>[0-9][0-9A-Za-z_.]*)
  | (?P<punct>.)
    """,
    re.VERBOSE | re.DOTALL,
)


def tokenize(text):
    """Identifiers, `::` and punctuation, without comments, strings or literals."""
    out = []
    i = 0
    n = len(text)
    while i < n:
        m = TOKEN.match(text, i)
        kind = m.lastgroup
        if kind == "hashes":
            kind = "rawstr"
        if kind == "blockcomment":
            depth, j = 1, m.end()
            while depth and j < n:
                if text.startswith("/*", j):
                    depth, j = depth + 1, j + 2
                elif text.startswith("*/", j):
                    depth, j = depth - 1, j + 2
                else:
                    j += 1
            i = j
            continue
        if kind == "rawstr":
            end = text.find('"' + m.group("hashes"), m.end())
            i = n if end < 0 else end + 1 + len(m.group("hashes"))
            continue
        i = m.end()
        if kind in ("ws", "linecomment", "str", "char", "lifetime", "num"):
            continue
        tok = m.group(0)
        if kind == "ident" and tok.startswith("r#"):
            tok = tok[2:]
        out.append(tok)
    return out


def is_ident(tok):
    return bool(re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", tok))


class Module:
    """A module of a crate: its file, children, imports and the names it defines."""

    def __init__(self, path, file, parent):
        self.path = path  # tuple of segments from the crate root
        self.file = file
        self.parent = parent
        self.children = {}  # name -> Module
        self.imports = {}  # name -> absolute path (tuple), from `use`
        self.globs = []  # absolute paths of `use x::*`
        self.defines = set()
        self.uses = []  # (relative path as written, module it was written in)


def parse_use_tree(toks, i):
    """Parse a use tree from toks[i]; return (list of (segments, alias or None), next index)."""
    prefix = []
    while i < len(toks):
        t = toks[i]
        if t == "{":
            i += 1
            results = []
            while toks[i] != "}":
                sub, i = parse_use_tree(toks, i)
                results.extend((prefix + s, a) for s, a in sub)
                if toks[i] == ",":
                    i += 1
            return results, i + 1
        if t == "*":
            return [(prefix + ["*"], None)], i + 1
        if t == "::":
            i += 1
            continue
        if is_ident(t):
            prefix.append(t)
            i += 1
            if i < len(toks) and toks[i] == "as":
                return [(prefix, toks[i + 1])], i + 2
            if i < len(toks) and toks[i] == "::":
                continue
            return [(prefix, None)], i
        return [(prefix, None)], i
    return [(prefix, None)], i


def child_file(parent_file, parent_is_dir_owner, name):
    """The file of `mod name;` declared in parent_file."""
    base = os.path.dirname(parent_file)
    if not parent_is_dir_owner:
        stem = os.path.splitext(os.path.basename(parent_file))[0]
        base = os.path.join(base, stem)
    for cand in (os.path.join(base, name + ".rs"), os.path.join(base, name, "mod.rs")):
        if os.path.isfile(cand):
            return cand
    return None


def owns_dir(path, is_root):
    return is_root or os.path.basename(path) == "mod.rs"


class Crate:
    def __init__(self, root_file):
        self.root_file = root_file
        self.modules = {}
        self.files = set()
        self.root = self.load(root_file, (), None, True)

    def load(self, file, path, parent, is_root):
        module = Module(path, file, parent)
        self.modules[path] = module
        self.files.add(file)
        with open(file, encoding="utf-8") as f:
            toks = tokenize(f.read())
        self.walk(toks, module, owns_dir(file, is_root))
        return module

    def walk(self, toks, file_module, dir_owner):
        stack = [(file_module, 0)]  # (module, brace depth at which it ends)
        depth = 0
        i = 0
        n = len(toks)
        while i < n:
            t = toks[i]
            current = stack[-1][0]
            if t == "{":
                depth += 1
                i += 1
                continue
            if t == "}":
                depth -= 1
                if len(stack) > 1 and depth == stack[-1][1]:
                    stack.pop()
                i += 1
                continue
            prev = toks[i - 1] if i else ""
            if t == "mod" and i + 2 < n and is_ident(toks[i + 1]) and prev != "::":
                name = toks[i + 1]
                current.defines.add(name)
                if toks[i + 2] == ";":
                    if current is file_module:
                        cf = child_file(file_module.file, dir_owner, name)
                    else:
                        cf = None  # `mod x;` inside an inline module: not used here
                    if cf:
                        current.children[name] = self.load(cf, current.path + (name,), current, False)
                    i += 3
                    continue
                if toks[i + 2] == "{":
                    child = Module(current.path + (name,), current.file, current)
                    self.modules[child.path] = child
                    current.children[name] = child
                    stack.append((child, depth))
                    depth += 1
                    i += 3
                    continue
            if t == "use" and prev != "::":
                trees, j = parse_use_tree(toks, i + 1)
                for segs, alias in trees:
                    if not segs:
                        continue
                    if segs[-1] == "self":
                        segs = segs[:-1]
                    if not segs:
                        continue
                    if segs[-1] == "*":
                        current.uses.append((tuple(segs[:-1]), current, True))
                        continue
                    name = alias or segs[-1]
                    if name != "_":
                        current.uses.append((tuple(segs), current, name))
                    else:
                        current.uses.append((tuple(segs), current, None))
                i = j
                continue
            if t in ITEM_KEYWORDS and i + 1 < n and is_ident(toks[i + 1]) and prev != "::":
                current.defines.add(toks[i + 1])
            if t == "macro_rules" and i + 2 < n and toks[i + 1] == "!":
                current.defines.add(toks[i + 2])
            # A path in code: IDENT (:: IDENT)+, not preceded by `::`.
            if is_ident(t) and prev != "::" and i + 1 < n and toks[i + 1] == "::":
                segs = [t]
                j = i + 1
                while j + 1 < n and toks[j] == "::" and is_ident(toks[j + 1]):
                    segs.append(toks[j + 1])
                    j += 2
                if len(segs) > 1:
                    current.uses.append((tuple(segs), current, False))
                i = j
                continue
            i += 1

    def absolute(self, segs, module):
        """Segments as written in `module` -> absolute segments, or None (external)."""
        segs = list(segs)
        base = module
        if segs and segs[0] == "crate":
            return tuple(segs[1:])
        if segs and segs[0] == "self":
            return module.path + tuple(segs[1:])
        if segs and segs[0] == "super":
            while segs and segs[0] == "super":
                base = base.parent if base.parent else base
                segs = segs[1:]
            return base.path + tuple(segs)
        if not segs:
            return None
        first = segs[0]
        if first in module.children:
            return module.path + tuple(segs)
        if first in module.imports:
            return module.imports[first] + tuple(segs[1:])
        return None

    def resolve(self, path, depth=0):
        """Absolute path -> the module whose file defines it (following re-exports)."""
        module = self.root
        rest = list(path)
        while rest:
            seg = rest[0]
            if seg in module.children:
                module = module.children[seg]
                rest = rest[1:]
                continue
            if seg in module.imports and seg not in module.defines and depth < 16:
                target = module.imports[seg] + tuple(rest[1:])
                found = self.resolve(target, depth + 1)
                return found if found else module
            if seg not in module.defines and depth < 16:
                for g in module.globs:
                    g_mod = self.resolve(g, depth + 1)
                    if g_mod and (seg in g_mod.defines or seg in g_mod.imports or seg in g_mod.children):
                        found = self.resolve(g + tuple(rest), depth + 1)
                        if found:
                            return found
            return module
        return module

    def bind_imports(self):
        """Record what each `use` names, so that later paths can go through it."""
        for _ in range(3):  # imports of imports
            for module in self.modules.values():
                for segs, where, name in module.uses:
                    if name is False:
                        continue
                    absolute = self.absolute(segs, where)
                    if absolute is None:
                        continue
                    if name is True:
                        if absolute not in module.globs:
                            module.globs.append(absolute)
                    elif name:
                        module.imports[name] = absolute

    def edges(self):
        self.bind_imports()
        graph = defaultdict(set)
        for module in self.modules.values():
            for segs, where, _ in module.uses:
                absolute = self.absolute(segs, where)
                if absolute is None:
                    continue
                target = self.resolve(absolute)
                if target and target.file != where.file:
                    graph[where.file].add(target.file)
        return graph


def components(nodes, graph):
    """Tarjan's strongly connected components (iterative)."""
    index, low, on_stack, stack, out = {}, {}, set(), [], []
    counter = [0]
    for start in sorted(nodes):
        if start in index:
            continue
        work = [(start, iter(sorted(graph.get(start, ()))))]
        index[start] = low[start] = counter[0]
        counter[0] += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, it = work[-1]
            advanced = False
            for nxt in it:
                if nxt not in index:
                    index[nxt] = low[nxt] = counter[0]
                    counter[0] += 1
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, iter(sorted(graph.get(nxt, ())))))
                    advanced = True
                    break
                if nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
            if advanced:
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                comp = []
                while True:
                    w = stack.pop()
                    on_stack.discard(w)
                    comp.append(w)
                    if w == node:
                        break
                out.append(sorted(comp))
    return out


def crate_roots(root):
    """(crate label, root file) for every target of every package of the workspace."""
    roots = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if not d.startswith(".") and d not in ("target", "node_modules")]
        if "Cargo.toml" not in filenames:
            continue
        pkg = os.path.relpath(dirpath, root)
        with open(os.path.join(dirpath, "Cargo.toml"), encoding="utf-8") as f:
            manifest = f.read()
        m = re.search(r'^name\s*=\s*"([^"]+)"', manifest, re.M)
        name = m.group(1) if m else pkg
        for rel, label in (("src/lib.rs", "lib"), ("src/main.rs", "bin"), ("build.rs", "build")):
            p = os.path.join(dirpath, rel)
            if os.path.isfile(p):
                roots.append((f"{name} ({label})", p))
        for sub, label in (("src/bin", "bin"), ("tests", "test"), ("benches", "bench"), ("examples", "example")):
            d = os.path.join(dirpath, sub)
            if not os.path.isdir(d):
                continue
            for entry in sorted(os.listdir(d)):
                p = os.path.join(d, entry)
                if entry.endswith(".rs") and os.path.isfile(p):
                    roots.append((f"{name} ({label} {entry[:-3]})", p))
                elif os.path.isfile(os.path.join(p, "main.rs")):
                    roots.append((f"{name} ({label} {entry})", os.path.join(p, "main.rs")))
    return sorted(roots)


def main():
    root = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), ".."))
    seen = set()
    total = 0
    for label, root_file in crate_roots(root):
        crate = Crate(root_file)
        graph = crate.edges()
        for comp in components(crate.files, graph):
            if len(comp) < 2:
                continue
            key = tuple(comp)
            if key in seen:  # a module shared by several targets (tests/support)
                continue
            seen.add(key)
            total += 1
            rel = [os.path.relpath(f, root) for f in comp]
            print(f"{label}: {len(comp)} files")
            reason = KNOWN.get(tuple(sorted(rel)))
            if reason:
                print(f"  kept: {reason}")
            members = set(comp)
            for f, r in zip(comp, rel):
                inside = sorted(os.path.relpath(t, root) for t in graph.get(f, ()) if t in members)
                print(f"  {r} -> {', '.join(inside)}")
    print(f"{total} circle(s)")


if __name__ == "__main__":
    main()
