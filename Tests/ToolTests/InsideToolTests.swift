import Foundation
import Testing
import TXWFormat
import TXWKernels
import TXWModel
import TXWTestSupport

/// `txw-run --cache`, `--hooks`, `--ablate`, `--ablate-mode` and `--lens`
/// end to end, on the notebook model of the tool fixtures.
struct InsideToolTests {
    static let tokens = "3 1 4 1 5 9 2 6 5 3"

    /// The notebook model packed into `dir`.
    static func model(_ dir: TemporaryDirectory) throws -> String {
        let path = dir.file("m.txw")
        let pack = try tool("txw-pack", ["--from", fixtures.appendingPathComponent("notebook.npz").path, "-o", path])
        try #require(pack.status == 0, "\(pack.stderr)")
        return path
    }

    static func run(_ arguments: [String]) throws -> ProcessResult { try tool("txw-run", arguments) }

    /// A tensor of a .txw cache as float64 values (read through the library).
    static func values(_ path: String, _ name: String) throws -> (DType, [Int], [Double]) {
        let reader = try TXWReader(path: path)
        let entry = try #require(reader.tensor(named: name), "\(name) in \(path)")
        let bytes = try reader.readBytes(entry)
        let values: [Double] = bytes.withUnsafeBytes { ElementCoding.decode($0, as: entry.dtype) }
        return (entry.dtype, entry.shape, values)
    }

    @Test("the cache's logits are --logits' bit for bit, f32 and f64; f64 within 1e-9 of the reference", arguments: ["f32", "f64"])
    func cacheLogitsAreTheLogits(precision: String) throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        let model = try Self.model(dir)
        let cache = dir.file("c.txw")
        let r = try Self.run([model, "--cache", cache, "--tokens", Self.tokens, "--precision", precision])
        try #require(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.hasPrefix("wrote 37 activations of 10 tokens (\(precision), "), "\(r.stdout)")
        let logits = try Self.run([model, "--logits", "--tokens", Self.tokens, "--precision", precision])
        try #require(logits.status == 0)
        let (dtype, shape, values) = try Self.values(cache, "logits")
        #expect(dtype == (precision == "f32" ? .f32 : .f64) && shape == [10, 12])
        // --logits prints the shortest text that round-trips in the compute precision.
        let printed = logits.stdout.split(whereSeparator: { $0 == " " || $0 == "\n" })
        #expect(printed.count == values.count)
        if precision == "f32" {
            #expect(zip(printed, values).allSatisfy { Float(String($0))!.bitPattern == Float($1).bitPattern })
        } else {
            #expect(zip(printed, values).allSatisfy { Double(String($0))!.bitPattern == $1.bitPattern })
            let e = try NotebookParityTests.expected()
            #expect(zip(values, e.logits.data).allSatisfy { closeF64($0, $1) })
        }
        // The metadata identifies the model file and the input.
        let reader = try TXWReader(path: cache)
        let modelReader = try TXWReader(path: model)
        let digits = String(modelReader.headerChecksum, radix: 16)
        #expect(reader.metadata("cache.model.header_checksum") == .string(String(repeating: "0", count: 16 - digits.count) + digits))
        #expect(reader.metadata("cache.tokens") == .string(Self.tokens))
        #expect(reader.metadata("cache.profile") == .string("activation-cache"))
        #expect(reader.metadata("cache.precision") == .string(precision))
        #expect(reader.metadata("cache.text") == nil)
    }

    @Test("--hooks selects by glob; a glob that matches nothing is a usage error naming it")
    func hooks() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        let model = try Self.model(dir)
        let r = try Self.run([model, "--cache", dir.file("c.txw"), "--tokens", "1 2 3", "--hooks", "blocks.?.attn.hook_pattern",
                              "--hooks", "*embed", "--json"])
        try #require(r.status == 0, "\(r.stderr)")
        let names = try #require(try jsonObject(r.stdout)["activations"] as? [String])
        #expect(names == ["hook_embed", "hook_pos_embed", "blocks.0.attn.hook_pattern", "blocks.1.attn.hook_pattern"])
        #expect(try TXWReader(path: dir.file("c.txw")).tensors.map(\.name) == names)
        let none = try Self.run([model, "--cache", dir.file("d.txw"), "--tokens", "1 2 3", "--hooks", "blocks.7.*"])
        #expect(none.status == 64 && none.stderr.contains("--hooks 'blocks.7.*' matches no activation name"), "\(none.stderr)")
        #expect(!FileManager.default.fileExists(atPath: dir.file("d.txw")))
    }

    @Test("an existing OUT is refused without --force; a cache is not a model")
    func forceAndNotAModel() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        let model = try Self.model(dir)
        let cache = dir.file("c.txw")
        #expect(try Self.run([model, "--cache", cache, "--tokens", "1 2"]).status == 0)
        let again = try Self.run([model, "--cache", cache, "--tokens", "1 2"])
        #expect(again.status == 1 && again.stderr.contains("--force"), "\(again.stderr)")
        #expect(try Self.run([model, "--cache", cache, "--tokens", "1 2", "--force"]).status == 0)
        for mode in [["--loss", "--tokens", "1 2"], ["--sample", "-n", "2"], ["--cache", dir.file("x.txw"), "--tokens", "1"]] {
            let r = try Self.run([cache] + mode)
            #expect(r.status == 1 && r.stderr.contains("an activation cache") && r.stderr.contains("not a model"), "\(r.stderr)")
        }
        let inspect = try tool("txw-inspect", [cache])
        #expect(inspect.stdout.contains("activation cache") && inspect.stdout.contains("blocks.1.hook_resid_post"), "\(inspect.stdout)")
    }

    @Test("the cache's size is checked against --max-memory before it is allocated")
    func overBudget() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        let model = try Self.model(dir)
        let long = (0..<400).map { String($0 % 12) }.joined(separator: " ")
        // The model and the plain pass fit in 4 MiB; 2 × 2 × 400² attention values in f64 do not.
        #expect(try Self.run([model, "--loss", "--tokens", long, "--max-memory", "4M", "--precision", "f64"]).status == 0)
        let r = try Self.run([model, "--cache", dir.file("c.txw"), "--tokens", long, "--max-memory", "4M", "--precision", "f64",
                              "--past-context"])
        #expect(r.status == 1 && r.stderr.contains("activation cache of 400 tokens") && r.stderr.contains("memory"), "\(r.stderr)")
        #expect(!FileManager.default.fileExists(atPath: dir.file("c.txw")))
    }

    @Test("ablation specs: syntax, range and repetition are usage errors naming the spec")
    func ablationErrors() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        let model = try Self.model(dir)
        for (spec, message) in [("blocks.0.attn.head", "--ablate 'blocks.0.attn.head': expected"),
                                ("blocks.2.attn.head.0", "--ablate blocks.2.attn.head.0: block 2 does not exist"),
                                ("blocks.0.attn.head.2", "--ablate blocks.0.attn.head.2: head 2 does not exist"),
                                ("blocks.1.mlp.neuron.32", "--ablate blocks.1.mlp.neuron.32: neuron 32 does not exist")] {
            let r = try Self.run([model, "--loss", "--tokens", "1 2 3", "--ablate", spec])
            #expect(r.status == 64 && r.stderr.contains(message), "\(spec): \(r.stderr)")
        }
        let twice = try Self.run([model, "--loss", "--tokens", "1 2 3", "--ablate", "blocks.0.attn.head.1", "--ablate", "blocks.0.attn.head.1"])
        #expect(twice.status == 64 && twice.stderr.contains("given twice"), "\(twice.stderr)")
        let mode = try Self.run([model, "--loss", "--tokens", "1 2 3", "--ablate-mode", "mean"])
        #expect(mode.status == 64 && mode.stderr.contains("--ablate-mode needs --ablate"))
    }

    @Test("ablated --loss --json reports both losses; they differ for a real ablation")
    func ablatedLoss() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        let model = try Self.model(dir)
        let plain = try jsonObject(try Self.run([model, "--loss", "--tokens", Self.tokens, "--precision", "f64", "--json"]).stdout)
        for mode in ["zero", "mean"] {
            let r = try Self.run([model, "--loss", "--tokens", Self.tokens, "--precision", "f64", "--json",
                                  "--ablate", "blocks.1.attn.head.0", "--ablate", "blocks.0.mlp.neuron.3", "--ablate-mode", mode])
            try #require(r.status == 0, "\(r.stderr)")
            let j = try jsonObject(r.stdout)
            let unablated = try #require(j["unablated_loss"] as? Double), loss = try #require(j["loss"] as? Double)
            #expect(unablated == plain["loss"] as? Double)
            #expect(loss != unablated)
            #expect(closeF64(try #require(j["loss_change"] as? Double), loss - unablated))
            #expect(j["ablate"] as? [String] == ["blocks.1.attn.head.0", "blocks.0.mlp.neuron.3"] && j["ablate_mode"] as? String == mode)
            // The library's ablated loss of the same model.
            let loaded: LoadedModel<Double> = try ModelFile.load(path: model)
            let ablation = Ablation([.head(block: 1, head: 0), .neuron(block: 0, neuron: 3)], mode: mode == "zero" ? .zero : .mean)
            let ids = Self.tokens.split(separator: " ").map { Int($0)! }
            // (JSONSerialization's parse of the printed number is not always exact: 1e-12.)
            let library = try loaded.weights.loss(for: ids, context: ids.count, stride: 1, ablation: ablation).loss
            #expect(abs(library - loss) <= 1e-12 * abs(library))
        }
        let text = try Self.run([model, "--loss", "--tokens", Self.tokens, "--ablate", "blocks.0.attn.head.0"])
        #expect(text.stdout.contains("unablated loss") && text.stdout.contains("(ablated: blocks.0.attn.head.0, zero)"), "\(text.stdout)")
    }

    @Test("ablated --sample and --logits: the library's ablated model")
    func ablatedSampleAndLogits() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        let model = try Self.model(dir)
        let loaded: LoadedModel<Double> = try ModelFile.load(path: model)
        let ablation = Ablation([.head(block: 0, head: 1)], mode: .mean)
        let sampler = try TopKSampler(k: 5, temperature: 1, seed: 42)
        var rng = NumpyRandom(seed: 42)
        let expected = try sampler.sample(loaded.weights, prompt: [3, 1, 4], count: 12, ablation: ablation, continuing: &rng)
        let r = try Self.run([model, "--tokens", "3 1 4", "-n", "12", "-k", "5", "--precision", "f64", "--json",
                              "--ablate", "blocks.0.attn.head.1", "--ablate-mode", "mean"])
        try #require(r.status == 0, "\(r.stderr)")
        #expect(try jsonObject(r.stdout)["tokens"] as? [Int] == expected)
        let logits = try Self.run([model, "--logits", "--tokens", "3 1 4", "--precision", "f64", "--ablate", "blocks.0.attn.head.1"])
        let found = logits.stdout.split(whereSeparator: { $0 == " " || $0 == "\n" }).map { Double(String($0))! }
        let want = try loaded.weights.logits(for: [3, 1, 4], ablation: Ablation([.head(block: 0, head: 1)]))
        #expect(found == want.scalars)
    }

    @Test("--lens --json: points, k, and the last point's logits are --logits' values")
    func lens() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        let model = try Self.model(dir)
        let r = try Self.run([model, "--lens", "--tokens", Self.tokens, "--precision", "f64", "--json", "-k", "3"])
        try #require(r.status == 0, "\(r.stderr)")
        let j = try jsonObject(r.stdout)
        #expect(j["points"] as? [String] == ["blocks.0.hook_resid_pre", "blocks.0.hook_resid_post", "blocks.1.hook_resid_post"])
        #expect(j["k"] as? Int == 3)
        let positions = try #require(j["positions"] as? [[String: Any]])
        #expect(positions.count == 10)
        let logits = try jsonObject(try Self.run([model, "--logits", "--tokens", Self.tokens, "--precision", "f64", "--json"]).stdout)
        let rows = try #require(logits["logits"] as? [[Double]])
        for (i, p) in positions.enumerated() {
            let points = try #require(p["points"] as? [[[String: Any]]])
            #expect(points.count == 3 && points.allSatisfy { $0.count == 3 })
            let last = points[2]
            let best = rows[i].indices.max { rows[i][$0] < rows[i][$1] || (rows[i][$0] == rows[i][$1] && $0 > $1) }!
            #expect(last[0]["id"] as? Int == best)
            for e in last { #expect(e["logit"] as? Double == rows[i][e["id"] as! Int]) }
        }
        let table = try Self.run([model, "--lens", "--tokens", "1 2"])
        #expect(table.status == 0 && table.stdout.hasPrefix("pos  input  rank  embed") && table.stdout.split(separator: "\n").count == 11,
                "\(table.stdout)")
    }

    @Test("Python's txw.load_cache reads the .txw and the .npz cache: the values Swift wrote",
          .enabled(if: ProcessInfo.processInfo.environment["TXW_PYTHON"] != nil))
    func pythonLoadsTheCache() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        let model = try Self.model(dir)
        // --text needs a vocabulary; this model has none: ids only.
        for (file, precision) in [("c.txw", "f32"), ("c.npz", "f64"), ("d.txw", "f64")] {
            let r = try Self.run([model, "--cache", dir.file(file), "--tokens", "1 5 7 2", "--precision", precision,
                                  "--ablate", "blocks.1.mlp.neuron.4"])
            try #require(r.status == 0, "\(r.stderr)")
        }
        let script = """
            import json, sys, numpy as np, txw
            out = {}
            for name in ["c.txw", "c.npz", "d.txw"]:
                c = txw.load_cache(sys.argv[1] + "/" + name)
                out[name] = {"names": list(c), "tokens": c.tokens, "ablations": c.ablations, "mode": c.ablate_mode,
                             "precision": c.precision, "dtype": str(c["logits"].dtype),
                             "values": {k: v.tobytes().hex() for k, v in c.items()},
                             "shapes": {k: list(v.shape) for k, v in c.items()}}
            print(json.dumps(out))
            """
        let python = ProcessInfo.processInfo.environment["TXW_PYTHON"]!
        var environment = ProcessInfo.processInfo.environment
        environment["PYTHONPATH"] = repositoryRoot.appendingPathComponent("tools/python").path
        let r = try runProcess(URL(fileURLWithPath: python), ["-c", script, dir.path], environment: environment)
        try #require(r.status == 0, "\(r.stderr)")
        let all = try jsonObject(r.stdout)
        for (file, precision) in [("c.txw", "f32"), ("c.npz", "f64")] {
            let c = try #require(all[file] as? [String: Any])
            #expect(c["tokens"] as? [Int] == [1, 5, 7, 2] && c["ablations"] as? [String] == ["blocks.1.mlp.neuron.4"])
            #expect(c["mode"] as? String == "zero" && c["precision"] as? String == precision)
            #expect(c["dtype"] as? String == (precision == "f32" ? "float32" : "float64"))
            let names = try #require(c["names"] as? [String])
            #expect(names.count == 37 && names.first == "hook_embed" && names.last == "logits")
        }
        // The bytes Python reads are those Swift's reader reads: the npz the f64 .txw cache's, the f32 .txw its own.
        func hex(_ path: String, _ name: String) throws -> String {
            let reader = try TXWReader(path: path)
            return try reader.readBytes(try #require(reader.tensor(named: name))).map { String(format: "%02x", $0) }.joined()
        }
        let npz = try #require(all["c.npz"] as? [String: Any]), values = try #require(npz["values"] as? [String: String])
        let shapes = try #require(npz["shapes"] as? [String: [Int]])
        for name in try #require(npz["names"] as? [String]) {
            let (_, shape, _) = try Self.values(dir.file("d.txw"), name)
            let bytes = try hex(dir.file("d.txw"), name)
            #expect(values[name] == bytes && shapes[name] == shape, "\(name)")
        }
        let txw32 = try #require((all["c.txw"] as? [String: Any])?["values"] as? [String: String])
        for name in ["blocks.0.attn.hook_pattern", "blocks.1.mlp.hook_post", "logits"] {
            let bytes = try hex(dir.file("c.txw"), name)
            #expect(txw32[name] == bytes, "\(name)")
        }
    }
}
