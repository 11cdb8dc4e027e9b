"""The documentation check fails on what it is meant to catch (pytest)."""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import check_docs  # noqa: E402


def symbol(name, path, doc, kind="swift.struct", access="public", precise=None):
    s = {
        "identifier": {"precise": precise or f"s:{name}", "interfaceLanguage": "swift"},
        "kind": {"identifier": kind, "displayName": "Structure"},
        "names": {"title": name.split(".")[-1]},
        "pathComponents": name.split("."),
        "accessLevel": access,
        "location": {"uri": "file://" + path, "position": {"line": 3, "character": 0}},
    }
    if doc:
        s["docComment"] = {"lines": [{"text": doc}]}
    return s


def make_package(tmp_path, format_symbols, relationships=(), topics="- ``Reader``\n", threads_symbols=()):
    sources = tmp_path / "Sources"
    graphs = tmp_path / "graphs"
    graphs.mkdir()
    for module in check_docs.LIBRARIES + check_docs.PRIVATE_MODULES:
        (sources / module / f"{module}.docc").mkdir(parents=True)
        symbols = format_symbols if module == "TXWFormat" else []
        if module == "TXWThreads":
            symbols = list(threads_symbols)
        body = topics if module == "TXWFormat" else ""
        (sources / module / f"{module}.docc" / f"{module}.md").write_text(
            f"# ``{module}``\n\nAbout.\n\n## Topics\n\n{body}")
        graph = {"symbols": symbols, "relationships": list(relationships) if module == "TXWFormat" else []}
        (graphs / f"{module}.symbols.json").write_text(json.dumps(graph))
    return str(graphs), str(sources)


def test_documented_api_passes(tmp_path):
    src = str(tmp_path / "Sources" / "TXWFormat" / "Reader.swift")
    graphs, sources = make_package(tmp_path, [
        symbol("Reader", src, "A reader."),
        symbol("Reader.path", src, "Its path.", kind="swift.property"),
        symbol("Reader.helper", src, None, kind="swift.method", access="internal"),
    ])
    problems, _ = check_docs.check(graphs, sources)
    assert problems == []


def test_a_removed_doc_comment_fails(tmp_path):
    src = str(tmp_path / "Sources" / "TXWFormat" / "Reader.swift")
    graphs, sources = make_package(tmp_path, [
        symbol("Reader", src, "A reader."),
        symbol("Reader.path", src, None, kind="swift.property"),
    ])
    problems, _ = check_docs.check(graphs, sources)
    assert len(problems) == 1 and "Reader.path is public but has no doc comment" in problems[0]
    assert check_docs.main(["check_docs.py", graphs, sources]) == 1


def test_a_protocol_requirement_implementation_inherits_its_documentation(tmp_path):
    src = str(tmp_path / "Sources" / "TXWFormat" / "Reader.swift")
    graphs, sources = make_package(tmp_path, [
        symbol("Reader", src, "A reader."),
        symbol("Reader.description", src, None, kind="swift.property", precise="s:desc"),
    ], relationships=[{"kind": "memberOf", "source": "s:desc", "target": "s:Reader",
                       "sourceOrigin": {"identifier": "s:CustomStringConvertible.description"}}])
    assert check_docs.check(graphs, sources)[0] == []


def test_topics_must_follow_the_public_symbols(tmp_path):
    src = str(tmp_path / "Sources" / "TXWFormat" / "Reader.swift")
    graphs, sources = make_package(tmp_path, [
        symbol("Reader", src, "A reader."),
        symbol("Writer", src, "A writer."),
    ], topics="- ``Reader``\n- ``Gone``\n")
    problems, _ = check_docs.check(graphs, sources)
    assert any("public Writer is missing" in p for p in problems)
    assert any("``Gone``, which is not a public symbol" in p for p in problems)


def test_the_thread_module_exposes_nothing(tmp_path):
    src = str(tmp_path / "Sources" / "TXWThreads" / "Pool.swift")
    graphs, sources = make_package(tmp_path, [symbol("Reader", str(tmp_path / "Sources" / "TXWFormat" / "R.swift"), "A reader.")],
                                   threads_symbols=[symbol("ThreadPool", src, "A pool.")])
    problems, _ = check_docs.check(graphs, sources)
    assert problems == ["TXWThreads: ThreadPool is public; the module is for this package only"]
