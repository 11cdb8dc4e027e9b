#!/usr/bin/env python3
"""Fails when the libraries' public API is not fully documented.

Reads the symbol graphs that `swift package dump-symbol-graph
--minimum-access-level public` writes and checks, for TXWFormat, TXWKernels
and TXWModel:
  1. every public symbol declared in this package's Sources/ has a `///` doc
     comment (an implementation of a protocol requirement inherits the
     requirement's documentation, as DocC shows it);
  2. every public top-level symbol is listed under "## Topics" in its
     module's DocC catalog, and every ``Symbol`` the catalog names is public;
and that TXWThreads exposes nothing public.

    check_docs.py SYMBOLGRAPH_DIR SOURCES_DIR
"""
import glob
import json
import os
import re
import sys

LIBRARIES = ("TXWFormat", "TXWKernels", "TXWModel")
PRIVATE_MODULES = ("TXWThreads",)


def load_graphs(directory, module):
    """The module's own graph and its extension graphs (MODULE@Other)."""
    paths = [os.path.join(directory, f"{module}.symbols.json")]
    paths += sorted(glob.glob(os.path.join(directory, f"{module}@*.symbols.json")))
    graphs = []
    for path in paths:
        if os.path.exists(path):
            with open(path, encoding="utf-8") as f:
                graphs.append((os.path.basename(path), json.load(f)))
    if not graphs:
        raise SystemExit(f"check_docs: no symbol graph for {module} in {directory}")
    return graphs


def symbol_name(symbol):
    return ".".join(symbol.get("pathComponents", [])) or symbol["names"]["title"]


def has_doc(symbol):
    lines = (symbol.get("docComment") or {}).get("lines", [])
    return any(line.get("text", "").strip() for line in lines)


def undocumented(graphs, sources_dir):
    """Public symbols declared under sources_dir that have no doc comment."""
    sources_dir = os.path.realpath(sources_dir)
    missing = []
    for _, graph in graphs:
        inherits = {
            rel["source"]
            for rel in graph.get("relationships", [])
            if rel.get("sourceOrigin") or rel.get("kind") in ("defaultImplementationOf",)
        }
        for symbol in graph.get("symbols", []):
            if symbol.get("accessLevel") not in ("public", "open"):
                continue
            uri = (symbol.get("location") or {}).get("uri", "")
            path = os.path.realpath(uri[len("file://"):]) if uri.startswith("file://") else ""
            if not path.startswith(sources_dir + os.sep):
                continue  # synthesized, or from another package
            if has_doc(symbol) or symbol["identifier"]["precise"] in inherits:
                continue
            line = symbol["location"].get("position", {}).get("line", 0) + 1
            missing.append(f"{os.path.relpath(path)}:{line}: {symbol['kind']['displayName'].lower()} "
                           f"{symbol_name(symbol)} is public but has no doc comment")
    return missing


def topics_links(catalog_dir):
    """Every ``Symbol`` named under a '## Topics' heading of the catalog's articles."""
    links = set()
    for path in sorted(glob.glob(os.path.join(catalog_dir, "*.md"))):
        with open(path, encoding="utf-8") as f:
            text = f.read()
        _, _, topics = text.partition("\n## Topics")
        links.update(re.findall(r"``([^`]+)``", topics))
    return links


def catalog_problems(module, graphs, sources_dir):
    catalog = os.path.join(sources_dir, module, f"{module}.docc")
    if not os.path.isdir(catalog):
        return [f"{module}: no DocC catalog at {catalog}"]
    own = graphs[0][1] if graphs[0][0] == f"{module}.symbols.json" else {"symbols": []}
    top_level = {
        s["pathComponents"][0]
        for s in own.get("symbols", [])
        if s.get("accessLevel") in ("public", "open") and len(s.get("pathComponents", [])) == 1
        and not s["kind"]["identifier"].startswith("swift.func.op")
    }
    links = topics_links(catalog)
    linked_top = {link.split("/")[0].split("-")[0] for link in links}
    problems = [f"{catalog}: public {name} is missing from the article's Topics"
                for name in sorted(top_level - linked_top)]
    problems += [f"{catalog}: Topics lists ``{link}``, which is not a public symbol of {module}"
                 for link in sorted(links) if link.split("/")[0].split("-")[0] not in top_level]
    return problems


def check(symbolgraph_dir, sources_dir):
    problems = []
    counts = []
    for module in LIBRARIES:
        graphs = load_graphs(symbolgraph_dir, module)
        public = sum(1 for _, g in graphs for s in g.get("symbols", [])
                     if s.get("accessLevel") in ("public", "open"))
        counts.append(f"{module} {public}")
        problems += undocumented(graphs, sources_dir)
        problems += catalog_problems(module, graphs, sources_dir)
    for module in PRIVATE_MODULES:
        for _, graph in load_graphs(symbolgraph_dir, module):
            for symbol in graph.get("symbols", []):
                if symbol.get("accessLevel") in ("public", "open"):
                    problems.append(f"{module}: {symbol_name(symbol)} is public; the module is for this package only")
    return problems, counts


def main(argv):
    if len(argv) != 3:
        print(__doc__.strip(), file=sys.stderr)
        return 64
    problems, counts = check(argv[1], argv[2])
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        print(f"check_docs: {len(problems)} problem(s) in the public API's documentation", file=sys.stderr)
        return 1
    print(f"check_docs: every public symbol documented and in its catalog's Topics ({', '.join(counts)})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
