import Foundation
import Testing
import TXWFormat
import TXWKernels
import TXWModel
import TXWTestSupport

/// `txw-inspect A --diff B`: exit 0 when equal, 1 when different or
/// unreadable, 64 for a usage error; the table, --json, standard input as
/// one side, escaped text, and numpy's numbers for the same pair.
struct DiffToolTests {
    static let shape = ["--vocab-size", "7", "--d-model", "8", "--n-head", "2", "--d-head", "4", "--d-mlp", "16", "--n-block", "2"]

    /// A random f32 model (seed `seed`) at `path`, with extra txw-pack arguments.
    static func pack(_ path: String, seed: Int = 1, _ extra: [String] = []) throws {
        let r = try tool("txw-pack", ["--random"] + shape + ["--seed", "\(seed)", "-o", path] + extra)
        try #require(r.status == 0, "\(r.stderr)")
    }

    static func diff(_ arguments: [String], stdinPath: String? = nil) throws -> ProcessResult {
        try tool("txw-inspect", arguments, stdinPath: stdinPath)
    }

    @Test func equalFilesExitZeroDifferentOnesOne() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        try Self.pack(dir.file("a.txw"))
        // The same model re-packed at another level and block size, unshuffled: equal contents.
        let repack = try tool("txw-pack", ["--from", dir.file("a.txw"), "-o", dir.file("b.txw"), "--level", "19", "--block-size", "64", "--no-shuffle"])
        try #require(repack.status == 0, "\(repack.stderr)")
        let equal = try Self.diff([dir.file("a.txw"), "--diff", dir.file("b.txw")])
        #expect(equal.status == 0 && equal.stderr.isEmpty, "\(equal.stderr)")
        let lines = equal.stdout.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        #expect(lines[0] == "a: \(dir.file("a.txw")) (model, 17 tensors)" && lines[1] == "b: \(dir.file("b.txw")) (model, 17 tensors)")
        #expect(lines[3].hasPrefix("tensor") && lines[3].contains("max |a−b|") && lines[3].contains("differing"))
        #expect(lines.contains { $0.hasPrefix("W_E ") && $0.contains("equal") && $0.contains("0 of 56") })
        // The re-pack records its lineage (4 keys): listed, but user metadata is not content (exit 0).
        for needle in ["hyperparameters: equal", "vocabulary:      equal (none)", "metadata:        4 keys differ\n",
                       "\n  lineage.source_digest: only in b (\"", "result: contents equal (user metadata differs: 4 keys)\n"] {
            #expect(equal.stdout.contains(needle), "missing \(needle) in \(equal.stdout)")
        }
        let equalJSON = try Self.diff([dir.file("a.txw"), "--diff", dir.file("b.txw"), "--json"])
        let object = try #require(try JSONSerialization.jsonObject(with: Data(equalJSON.stdout.utf8)) as? [String: Any])
        #expect(equalJSON.status == 0 && object["equal"] as? Bool == true && object["metadata_equal"] as? Bool == false)
        let itself = try Self.diff([dir.file("a.txw"), "--diff", dir.file("a.txw")])
        #expect(itself.status == 0 && itself.stdout.contains("metadata:        equal") && itself.stdout.hasSuffix("result: equal\n"))

        // Another seed and a name: every weight (the biases are zeros in both), the provenance and the name differ.
        try Self.pack(dir.file("c.txw"), seed: 2, ["--name", "other"])
        let other = try Self.diff([dir.file("a.txw"), "--diff", dir.file("c.txw")])
        #expect(other.status == 1 && other.stderr.isEmpty)
        #expect(other.stdout.contains("metadata:        2 keys differ\n"))
        #expect(other.stdout.contains("\n  provenance: \"txw-pack --random --seed 1\" in a, \"txw-pack --random --seed 2\" in b\n"))
        #expect(other.stdout.contains("\n  name: only in b (\"other\")\n"))
        #expect(other.stdout.contains("\nblocks.0.b_1  equal ") && other.stdout.contains("\nW_E           differs "))
        #expect(other.stdout.hasSuffix("result: differ (13 of 17 tensors in both differ, user metadata)\n"), "\(other.stdout)")
    }

    @Test func f16CopyAndJSON() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        try Self.pack(dir.file("a.txw"))
        #expect(try tool("txw-pack", ["--from", dir.file("a.txw"), "--dtype", "f16", "-o", dir.file("h.txw")]).status == 0)
        let text = try Self.diff([dir.file("a.txw"), "--diff", dir.file("h.txw")])
        #expect(text.status == 1 && text.stdout.contains("differs, dtype f32 vs f16"), "\(text.stdout)")
        let r = try Self.diff([dir.file("a.txw"), "--diff", dir.file("h.txw"), "--json"])
        #expect(r.status == 1)
        let json = try jsonObject(r.stdout)
        #expect(Set(json.keys) == ["a", "b", "equal", "metadata_equal", "kind_a", "kind_b", "tensors", "hyperparameters", "vocabulary", "metadata", "counts"])
        #expect(json["equal"] as? Bool == false && json["kind_a"] as? String == "model" && json["b"] as? String == dir.file("h.txw"))
        let tensors = try #require(json["tensors"] as? [[String: Any]])
        #expect(tensors.count == 17)
        for t in tensors {
            #expect(Set(t.keys) == ["name", "status", "dtype_a", "dtype_b", "shape_a", "shape_b", "elements", "differing", "max_abs", "max_rel",
                                    "nan_mismatches", "inf_mismatches", "bits_only", "first_differing_index"])
            #expect(t["status"] as? String == "differs" && t["dtype_a"] as? String == "f32" && t["dtype_b"] as? String == "f16")
            // f16's rounding: at most half an ulp, 2^-11 relative (the random weights are in f16's normal range);
            // the biases are zeros, which f16 holds exactly.
            let rel = try #require(t["max_rel"] as? Double), differing = try #require(t["differing"] as? Int)
            if (t["name"] as? String)?.contains(".b_") == true {
                #expect(rel == 0 && differing == 0, "\(t)")
            } else {
                #expect(rel > 0 && rel <= 0x1p-11 && differing > 0, "\(t)")
            }
        }
        let counts = try #require(json["counts"] as? [String: Int])
        #expect(counts == ["tensors": 17, "equal": 0, "differs": 17, "shape_mismatch": 0, "only_in_a": 0, "only_in_b": 0])
        let metadata = try #require(json["metadata"] as? [String: Any])
        #expect((metadata["changed"] as? [Any])?.isEmpty == true && (metadata["only_in_a"] as? [String: Any])?.isEmpty == true)
        #expect(json["vocabulary"] is [String: Any] && json["hyperparameters"] is [String: Any])
    }

    @Test func usageErrorsExit64() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        try Self.pack(dir.file("a.txw"))
        let a = dir.file("a.txw")
        for extra in [["--stats"], ["--verify"], ["--dump", "W_E"]] {
            let r = try Self.diff([a, "--diff", a] + extra)
            #expect(r.status == 64 && r.stdout.isEmpty && r.stderr.contains("--diff compares two files"), "\(extra): \(r.stderr)")
        }
        let both = try Self.diff(["-", "--diff", "-"], stdinPath: a)
        #expect(both.status == 64 && both.stderr.contains("only one input can be standard input ('-'), not the model and --diff"), "\(both.stderr)")
        let help = try tool("txw-inspect", ["--help"])
        #expect(help.stdout.contains("--diff <B>") && help.stdout.contains("1 when they differ"))
    }

    @Test func standardInputAsEitherSide() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        try Self.pack(dir.file("a.txw"))
        try Self.pack(dir.file("c.txw"), seed: 2)
        let first = try Self.diff(["-", "--diff", dir.file("a.txw")], stdinPath: dir.file("a.txw"))
        #expect(first.status == 0 && first.stdout.hasPrefix("a: standard input (model, 17 tensors)\n"), "\(first.stdout) \(first.stderr)")
        let second = try Self.diff([dir.file("a.txw"), "--diff", "-", "--json"], stdinPath: dir.file("c.txw"))
        #expect(second.status == 1)
        let json = try jsonObject(second.stdout)
        #expect(json["b"] as? String == "-" && json["equal"] as? Bool == false)
    }

    @Test func unreadableFilesExitOneNamingTheFile() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        try Self.pack(dir.file("a.txw"), ["--stored"])
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: dir.file("a.txw"))))
        let offset = try TXWReader(path: dir.file("a.txw")).tensors[3].blocks[0].offset
        bytes[offset] ^= 0x10
        try Data(bytes).write(to: URL(fileURLWithPath: dir.file("bad.txw")))
        let r = try Self.diff([dir.file("a.txw"), "--diff", dir.file("bad.txw")])
        #expect(r.status == 1 && r.stdout.isEmpty)
        #expect(r.stderr.hasPrefix("txw-inspect: \(dir.file("bad.txw")): ") && r.stderr.contains("checksum"), "\(r.stderr)")
        let missing = try Self.diff([dir.file("a.txw"), "--diff", dir.file("none.txw")])
        #expect(missing.status == 1 && missing.stderr.contains("none.txw"), "\(missing.stderr)")
        // A budget that does not fit one pair of tensors: refused before reading, exit 1.
        let small = try Self.diff([dir.file("a.txw"), "--diff", dir.file("a.txw"), "--max-memory", "100K"])
        #expect(small.status == 1 && small.stderr.contains("comparing tensor") && small.stderr.contains("--max-memory"), "\(small.stderr)")
    }

    /// Tensor names, keys, values and tokens from the files are escaped;
    /// long values are cut; NaN metadata is named.
    @Test func hostileTextIsEscaped() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        let h = Hyperparameters(vocabSize: 3, dModel: 2, nHead: 1, dHead: 1, dMLP: 1, nBlock: 0)
        let weights = try TransformerWeights<Float>(hyperparameters: h, W_E: Tensor(shape: [3, 2], scalars: [1, 2, 3, 4, 5, 6]), blocks: [])
        let evil = "\u{1b}]0;pwned\u{7}\u{202e}x\ny"
        try ModelFile.save(weights, vocabulary: Vocabulary(["a", "b", "c"]),
                           metadata: ["k\u{1b}[2J": .string(evil), "long": .string(String(repeating: "z", count: 500)), "f": .float(.nan)],
                           to: dir.file("a.txw"))
        try ModelFile.save(weights, vocabulary: Vocabulary(["a", evil, "c"]),
                           metadata: ["k\u{1b}[2J": .string("plain"), "long": .string(String(repeating: "z", count: 499)), "f": .float(1)],
                           to: dir.file("b.txw"))
        var w = try TXWWriter()
        try w.addTensor(name: "t\u{1b}[31m", dtype: .f32, shape: [1], bytes: ElementCoding.encode([Float(1)], as: .f32))
        try w.write(to: dir.file("c.txw"))
        let r = try Self.diff([dir.file("a.txw"), "--diff", dir.file("b.txw")])
        #expect(r.status == 1)
        #expect(!r.stdout.utf8.contains(0x1B) && !r.stdout.utf8.contains(0x07) && !r.stdout.contains("\u{202e}"))
        #expect(r.stdout.contains("k\\u{1b}[2J: \"\\u{1b}]0;pwned\\u{7}\\u{202e}x\\ny\" in a, \"plain\" in b"), "\(r.stdout)")
        #expect(r.stdout.contains("the first 1: \"b\" in a, \"\\u{1b}]0;pwned\\u{7}\\u{202e}x\\ny\" in b"))
        #expect(r.stdout.contains("long: \"" + String(repeating: "z", count: 60) + "\"… (500 bytes) in a"))
        #expect(r.stdout.contains("f: NaN in a, 1.0 in b"))
        let c = try Self.diff([dir.file("a.txw"), "--diff", dir.file("c.txw")])
        #expect(c.status == 1 && c.stdout.contains("t\\u{1b}[31m") && !c.stdout.utf8.contains(0x1B), "\(c.stdout)")
        #expect(c.stdout.contains("model sections:  not compared (a is a model, b is a container that is not a model)"))
        let json = try Self.diff([dir.file("a.txw"), "--diff", dir.file("c.txw"), "--json"])
        #expect(!json.stdout.utf8.contains(0x1B))
        let tensors = try #require(try jsonObject(json.stdout)["tensors"] as? [[String: Any]])
        #expect(tensors.map { $0["name"] as? String } == ["W_E", "t\u{1b}[31m"])
    }

    /// Values that print alike once cut say where they differ; values that are
    /// the same text (canonically equivalent) with other bytes say so.
    @Test func valuesThatPrintAlikeSayHowTheyDiffer() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        let h = Hyperparameters(vocabSize: 3, dModel: 2, nHead: 1, dHead: 1, dMLP: 1, nBlock: 0)
        let weights = try TransformerWeights<Float>(hyperparameters: h, W_E: Tensor(shape: [3, 2], scalars: [1, 2, 3, 4, 5, 6]), blocks: [])
        let long = String(repeating: "A", count: 61)
        try ModelFile.save(weights, vocabulary: Vocabulary(["a", "\u{e9}", "c"]),
                           metadata: ["long": .string(long + "x"), "tags": .strings(["a", "b", "c", "d", "e"]), "same": .string("\u{e9}")],
                           to: dir.file("a.txw"))
        try ModelFile.save(weights, vocabulary: Vocabulary(["a", "e\u{301}", "c"]),
                           metadata: ["long": .string(long + "y"), "tags": .strings(["a", "b", "c", "d", "Z"]), "same": .string("e\u{301}")],
                           to: dir.file("b.txw"))
        let r = try Self.diff([dir.file("a.txw"), "--diff", dir.file("b.txw")])
        #expect(r.status == 1)
        #expect(r.stdout.contains("(62 bytes) in b (they differ at character 62, past the part shown; --json has both values)\n"), "\(r.stdout)")
        #expect(r.stdout.contains("(5 strings) in b (they differ at string 5, past the part shown; --json has both values)\n"), "\(r.stdout)")
        #expect(r.stdout.contains("  same: \"\u{e9}\" in a, \"e\u{301}\" in b (the same text, other bytes: UTF-8 differs)\n"), "\(r.stdout)")
        #expect(r.stdout.contains("in b (the same text, other bytes: UTF-8 differs)\nmetadata:") || r.stdout.contains("\u{301}\" in b (the same text, other bytes: UTF-8 differs)\n"),
                "\(r.stdout)")
        #expect(r.stdout.split(separator: "\n").contains { $0.hasPrefix("vocabulary:") && $0.hasSuffix("(the same text, other bytes: UTF-8 differs)") }, "\(r.stdout)")
    }

    /// Activation caches are containers like any other: compared tensor by tensor, no model sections.
    @Test func activationCaches() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        try Self.pack(dir.file("m.txw"))
        for (name, tokens) in [("c.txw", "1 2 3"), ("d.txw", "1 2 4")] {
            let r = try tool("txw-run", [dir.file("m.txw"), "--cache", dir.file(name), "--tokens", tokens])
            try #require(r.status == 0, "\(r.stderr)")
        }
        #expect(try Self.diff([dir.file("c.txw"), "--diff", dir.file("c.txw")]).status == 0)
        let r = try Self.diff([dir.file("c.txw"), "--diff", dir.file("d.txw")])
        #expect(r.status == 1 && r.stdout.contains("model sections:  not compared (both are activation caches)"), "\(r.stdout)")
        #expect(r.stdout.contains("\n  cache.tokens: \"1 2 3\" in a, \"1 2 4\" in b\n"))
        // The positional embedding does not depend on the tokens: equal. The token embedding differs at position 2 only.
        #expect(r.stdout.contains("\nhook_pos_embed ") && r.stdout.split(separator: "\n").contains { $0.hasPrefix("hook_pos_embed ") && $0.contains(" equal ") })
        #expect(r.stdout.split(separator: "\n").contains { $0.hasPrefix("hook_embed ") && $0.contains("8 of 24") && $0.contains("first at index 16 (2, 0)") },
                "\(r.stdout)")
        let json = try jsonObject(try Self.diff([dir.file("c.txw"), "--diff", dir.file("d.txw"), "--json"]).stdout)
        #expect(json["kind_a"] as? String == "activation-cache" && json["hyperparameters"] is NSNull && json["vocabulary"] is NSNull)
        let model = try Self.diff([dir.file("m.txw"), "--diff", dir.file("c.txw")])
        #expect(model.status == 1 && model.stdout.contains("not compared (a is a model, b is an activation cache)"))
    }

    /// NaN and ±inf pairs are counted and named in the notes, never printed as a bare nan.
    @Test func nonFiniteValuesAreNamed() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        for (name, v, zero, far) in [("a.txw", [Float.nan, 1, .infinity, 2], Float(0), 1.5e308), ("b.txw", [1, .nan, -.infinity, 2.5], -0.0, -1.5e308)] {
            var w = try TXWWriter()
            try w.addTensor(name: "v", dtype: .f32, shape: [2, 2], bytes: ElementCoding.encode(v, as: .f32))
            try w.addTensor(name: "z", dtype: .f32, shape: [1], bytes: ElementCoding.encode([zero], as: .f32))
            try w.addTensor(name: "far", dtype: .f64, shape: [1], bytes: ElementCoding.encode([far], as: .f64))
            try w.write(to: dir.file(name))
        }
        let r = try Self.diff([dir.file("a.txw"), "--diff", dir.file("b.txw")])
        let rows = r.stdout.split(separator: "\n").map(String.init)
        // v: |2 − 2.5| = 0.5, rel 0.5/2.5 = 0.2; z: −0 against +0; far: more than the largest f64 apart, rel 2.
        #expect(rows.contains { $0.hasPrefix("v ") && $0.contains(" differs ") && $0.contains(" 0.5 ") && $0.contains(" 0.2 ")
                && $0.contains("4 of 4") && $0.hasSuffix("2 NaN vs number; 1 ±inf vs other value; first at index 0 (0, 0)") }, "\(r.stdout)")
        #expect(rows.contains { $0.hasPrefix("z ") && $0.contains("bits differ") && $0.hasSuffix("1 equal values with other bits (±0, NaN payload)") })
        #expect(rows.contains { $0.hasPrefix("far ") && $0.contains("> 1.797e+308") && $0.contains(" 2 ") })
        #expect(r.status == 1 && !r.stdout.contains("nan") && !r.stdout.contains(" inf "))
    }

    /// numpy computes the same counts and maxima from the arrays the Python
    /// package reads, for a random pair (f32 against another seed's f16) and
    /// for an f32 model against its f16 copy.
    @Test(.enabled(if: ProcessInfo.processInfo.environment["TXW_PYTHON"] != nil))
    func numpyAgrees() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        try Self.pack(dir.file("a.txw"), seed: 3)
        try Self.pack(dir.file("b.txw"), seed: 4, ["--dtype", "f16"])
        #expect(try tool("txw-pack", ["--from", dir.file("a.txw"), "--dtype", "f16", "-o", dir.file("h.txw")]).status == 0)
        for other in ["b.txw", "h.txw"] {
            let r = try Self.diff([dir.file("a.txw"), "--diff", dir.file(other), "--json"])
            #expect(r.status == 1)
            let tensors = try #require(try jsonObject(r.stdout)["tensors"] as? [[String: Any]])
            let expected = try Self.numpy(dir.file("a.txw"), dir.file(other))
            #expect(expected.count == 17)
            for t in tensors {
                let name = try #require(t["name"] as? String)
                let e = try #require(expected[name] as? [String: Any])
                // The same float64 operations in the same order: the same numbers, bit for bit.
                #expect(t["differing"] as? Int == e["differing"] as? Int, "\(other) \(name)")
                #expect(t["max_abs"] as? Double == e["max_abs"] as? Double, "\(other) \(name): \(t) vs \(e)")
                #expect(t["max_rel"] as? Double == e["max_rel"] as? Double, "\(other) \(name): \(t) vs \(e)")
                if other == "h.txw", !name.contains(".b_") {
                    // The copy: f16's rounding, at most 2^-11 relative in f16's normal range.
                    #expect((e["max_rel"] as? Double ?? 1) <= 0x1p-11 && (e["differing"] as? Int ?? 0) > 0, "\(name): \(e)")
                }
            }
        }
    }

    /// Per tensor of the files at `a` and `b`, numpy's differing count, max |a−b| and max relative difference.
    static func numpy(_ a: String, _ b: String) throws -> [String: Any] {
        let script = """
            import json, sys, numpy as np, txw
            out = {}
            with txw.read_container(sys.argv[1]) as a, txw.read_container(sys.argv[2]) as b:
                for name in a.names:
                    x = a.read(name).astype(np.float64).ravel(); y = b.read(name).astype(np.float64).ravel()
                    same = (x == y) | (np.isnan(x) & np.isnan(y))
                    finite = np.isfinite(x) & np.isfinite(y) & ~same
                    d = np.abs(x - y)[finite]; m = np.maximum(np.abs(x), np.abs(y))[finite]
                    out[name] = {"differing": int((~same).sum()), "max_abs": float(d.max()) if d.size else 0.0,
                                 "max_rel": float((d / m).max()) if d.size else 0.0}
            print(json.dumps(out))
            """
        var environment = ProcessInfo.processInfo.environment
        environment["PYTHONPATH"] = repositoryRoot.appendingPathComponent("tools/python").path
        let python = try runProcess(URL(fileURLWithPath: ProcessInfo.processInfo.environment["TXW_PYTHON"]!), ["-c", script, a, b],
                                    environment: environment)
        try #require(python.status == 0, "\(python.stderr)")
        return try jsonObject(python.stdout)
    }
}
