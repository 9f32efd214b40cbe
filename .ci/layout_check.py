#!/usr/bin/env python3
"""Checks the layout rules of DESIGN.md §12 that a compiler does not:

1. No import circles between the modules of crates/service (a module is a
   file or folder under src/; `use crate::x` and `crate::x::…` paths count,
   and so do the root's re-exports, `crate::Uploader`), and the shared
   rooms (kernel, authz, channel_port, jobs, events) import no domain.
2. No code outside crates/channels names a channel kind's variant to decide
   behaviour (`ChannelKind::Whatsapp` …); `ChannelKind::ALL` and parsing are
   fine.
3. crates/web does not depend on crates/store.

Exit status 1 and a report when a rule is broken.
"""
import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
failures = []


def module_of(src: pathlib.Path, path: pathlib.Path) -> str:
    rel = path.relative_to(src).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "mod":
        parts = parts[:-1]
    return "::".join(parts)


def root_reexports(lib: str, modules: set) -> dict:
    """Names the crate root re-exports from its own modules (`pub use m::X`)."""
    names = {}
    for m in re.finditer(r"pub use ((?:[a-z_][a-z0-9_]*::)+)(\{[^;]*\}|[A-Za-z_][A-Za-z0-9_]*)(?: as ([A-Za-z_0-9]+))?;", lib):
        module = m.group(1).rstrip(":")
        if module not in modules:
            continue
        items = m.group(2).strip("{}")
        for item in re.split(r"[,\s]+", items):
            item = item.strip()
            if item:
                names[m.group(3) or item.split(" as ")[-1]] = module
    return names


def referenced_modules(text: str, modules: set, reexports: dict) -> set:
    """Modules named by `crate::…` paths, at their longest known prefix, and
    those behind the root's re-exports (`crate::Uploader`)."""
    found = set()
    # Expand `use crate::{a, b::{c, d}}` into paths.
    for group in re.finditer(r"crate::\{([^;]*)\}", text, re.S):
        for item in re.split(r"[,\s]+", re.sub(r"\{[^}]*\}", "", group.group(1))):
            item = item.strip()
            if item:
                found.add(item)
    for path in re.finditer(r"crate::((?:[a-z_][a-z0-9_]*::)*[A-Za-z_][A-Za-z0-9_]*)", text):
        found.add(path.group(1))
    named = set()
    for path in found:
        if path in reexports:
            named.add(reexports[path])
            continue
        parts = path.split("::")
        for n in range(len(parts), 0, -1):
            candidate = "::".join(parts[:n])
            if candidate in modules:
                named.add(candidate)
                break
    return named


def service_cycles():
    src = ROOT / "crates/service/src"
    files = [p for p in src.rglob("*.rs") if p.name not in ("lib.rs",)]
    modules = {module_of(src, p) for p in files}
    reexports = root_reexports((src / "lib.rs").read_text(), modules)
    edges = {m: set() for m in modules}
    for p in files:
        m = module_of(src, p)
        text = re.sub(r"//.*", "", p.read_text())
        # Tests may reach anywhere.
        text = re.split(r"#\[cfg\(test\)\]", text)[0]
        for dep in referenced_modules(text, modules, reexports):
            # A module's own children and parents are its room.
            if dep == m or dep.startswith(m + "::") or m.startswith(dep + "::"):
                continue
            edges[m].add(dep)
    # Tarjan's strongly connected components.
    index, low, stack, on, sccs, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            scc = []
            while True:
                w = stack.pop()
                on.discard(w)
                scc.append(w)
                if w == v:
                    break
            if len(scc) > 1:
                sccs.append(sorted(scc))

    sys.setrecursionlimit(10000)
    for v in sorted(modules):
        if v not in index:
            visit(v)
    for scc in sccs:
        failures.append("import circle in crates/service: " + " <-> ".join(scc))
    infrastructure = {"error", "config", "clock", "ratelimit"}
    shared = {"kernel", "authz", "channel_port", "jobs", "jobs::engine", "events", "events::presence"}
    for room in sorted(shared & modules):
        for dep in sorted(edges[room]):
            top = dep.split("::")[0]
            if top not in infrastructure and top not in {r.split("::")[0] for r in shared}:
                failures.append(f"crates/service: the shared room {room} imports the domain {dep}")
    return len(modules)


def kind_matches():
    variant = re.compile(r"ChannelKind::(?!ALL\b)[A-Z][A-Za-z]*")
    for p in (ROOT / "crates").rglob("*.rs"):
        rel = p.relative_to(ROOT)
        if rel.parts[1] == "channels" or rel.parts[2] == "tests" or "tests" in p.stem:
            continue
        text = p.read_text()
        text = re.split(r"#\[cfg\(test\)\]", text)[0]
        for n, line in enumerate(text.splitlines(), 1):
            if variant.search(line) and not line.lstrip().startswith("//"):
                failures.append(f"{rel}:{n}: names a channel kind: {line.strip()}")


def web_uses_store():
    manifest = (ROOT / "crates/web/Cargo.toml").read_text()
    if "switchboard-store" in manifest:
        failures.append("crates/web/Cargo.toml depends on switchboard-store")
    for p in (ROOT / "crates/web/src").rglob("*.rs"):
        if "switchboard_store" in p.read_text():
            failures.append(f"{p.relative_to(ROOT)} uses switchboard_store")


count = service_cycles()
kind_matches()
web_uses_store()
if failures:
    print("\n".join(failures))
    sys.exit(1)
print(
    f"layout ok: {count} service modules without import circles, the shared rooms import no domain; "
    "no channel-kind matches outside crates/channels; web does not use store"
)
