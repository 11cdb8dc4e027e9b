import Foundation
import Testing
import TXWTestSupport

/// NaN and ±inf weights: txw-pack refuses them (naming the tensor and the
/// first index) unless --allow-nonfinite; txw-run --loss and --logits exit 1
/// naming the first position; txw-inspect --verify warns and exits 0.
struct NonFiniteWeightTests {
    /// A safetensors file of float64 tensors, written here from the format's
    /// definition (8-byte little-endian header length, JSON header, data).
    static func writeSafetensors(_ tensors: [(String, [Int], [Double])], to path: String) throws {
        var header: [String] = []
        var data: [UInt8] = []
        for (name, shape, values) in tensors {
            precondition(values.count == shape.reduce(1, *))
            let start = data.count
            for v in values { withUnsafeBytes(of: v.bitPattern.littleEndian) { data += $0 } }
            header.append("\"\(name)\":{\"dtype\":\"F64\",\"shape\":[\(shape.map(String.init).joined(separator: ","))],\"data_offsets\":[\(start),\(data.count)]}")
        }
        let json = Array(("{" + header.joined(separator: ",") + "}").utf8)
        var bytes: [UInt8] = []
        withUnsafeBytes(of: UInt64(json.count).littleEndian) { bytes += $0 }
        try Data(bytes + json + data).write(to: URL(fileURLWithPath: path))
    }

    /// A model V = 5, d_model 4, n_head 2, d_head 2, d_mlp 8, one block, in
    /// the notebook's layout, small deterministic values; `edit` changes them.
    static func model(_ edit: (inout [String: [Double]]) -> Void = { _ in }) -> [(String, [Int], [Double])] {
        let shapes: [(String, [Int])] = [
            ("W_E", [5, 4]), ("blocks.0.W_Q", [4, 2, 2]), ("blocks.0.W_K", [4, 2, 2]), ("blocks.0.W_V", [4, 2, 2]),
            ("blocks.0.W_O", [4, 4]), ("blocks.0.W_1", [4, 8]), ("blocks.0.b_1", [8]), ("blocks.0.W_2", [8, 4]), ("blocks.0.b_2", [4]),
        ]
        var values: [String: [Double]] = [:]
        for (t, (name, shape)) in shapes.enumerated() {
            values[name] = (0..<shape.reduce(1, *)).map { Double(($0 * 37 + t * 11) % 19 - 9) / 20 }
        }
        edit(&values)
        return shapes.map { ($0.0, $0.1, values[$0.0]!) }
    }

    @Test func packRefusesNonFiniteWeightsNamingTheFirst() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        let cases: [(String, (inout [String: [Double]]) -> Void, [String], String)] = [
            ("nan", { $0["W_E"]![6] = .nan; $0["W_E"]![9] = .infinity }, [], "tensor 'W_E' at index 6 (1, 2) holds nan"),
            ("neg-inf", { $0["blocks.0.W_Q"]![13] = -.infinity }, [], "tensor 'blocks.0.W_Q' at index 13 (3, 0, 1) holds -inf"),
            ("bias", { $0["blocks.0.b_1"]![5] = .infinity }, [], "tensor 'blocks.0.b_1' at index 5 (5,) holds inf"),
            ("overflow", { $0["blocks.0.W_O"]![2] = -1e300 }, ["--dtype", "f32"], "tensor 'blocks.0.W_O' at index 2 (0, 2) holds -1e+300, which becomes -inf stored as f32"),
            ("f16", { $0["blocks.0.W_2"]![31] = 70000 }, ["--dtype", "f16"], "tensor 'blocks.0.W_2' at index 31 (7, 3) holds 70000.0, which becomes inf stored as f16"),
        ]
        for (name, edit, flags, needle) in cases {
            let source = dir.file("\(name).safetensors"), out = dir.file("\(name).txw")
            try Self.writeSafetensors(Self.model(edit), to: source)
            let r = try tool("txw-pack", ["--from", source, "-o", out] + flags)
            #expect(r.status == 1, "\(name): \(r.stderr)")
            #expect(r.stderr.split(separator: "\n").count == 1, "\(name): \(r.stderr)")
            #expect(r.stderr.contains(needle), "\(name): \(r.stderr)")
            #expect(r.stderr.hasPrefix("txw-pack: \(source): tensor"), "\(name): the path once: \(r.stderr)")
            #expect(r.stderr.contains("--allow-nonfinite"), "\(name): \(r.stderr)")
            #expect(!FileManager.default.fileExists(atPath: out), "\(name): nothing written")
            let allowed = try tool("txw-pack", ["--from", source, "-o", out, "--allow-nonfinite"] + flags)
            #expect(allowed.status == 0, "\(name) --allow-nonfinite: \(allowed.stderr)")
        }
        // A finite model packs without the flag, in every dtype.
        let finite = dir.file("finite.safetensors")
        try Self.writeSafetensors(Self.model(), to: finite)
        for dtype in ["f64", "f32", "f16", "bf16"] {
            let r = try tool("txw-pack", ["--from", finite, "-o", dir.file("finite-\(dtype).txw"), "--dtype", dtype])
            #expect(r.status == 0, "\(dtype): \(r.stderr)")
        }
    }

    /// Finite weights whose numbers overflow in float64 at the positions of
    /// token 4 only: its embedding is the only one with a first component,
    /// and row 0 of W_1 is 1e308, so the MLP's hidden values overflow there
    /// (W_O is 0: the attention adds nothing, so no other position sees it).
    static func overflowingModel() -> [(String, [Int], [Double])] {
        model { values in
            values["W_E"] = [0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 1, 1, 0, 1, 0, 0, 0]
            values["blocks.0.W_O"] = [Double](repeating: 0, count: 16)
            values["blocks.0.b_1"] = [Double](repeating: 0, count: 8)
            for c in 0..<8 { values["blocks.0.W_1"]![c] = 1e308 }
        }
    }

    @Test func runRefusesNonFiniteResultsNamingTheFirstPosition() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        let source = dir.file("overflow.safetensors"), model = dir.file("overflow.txw")
        try Self.writeSafetensors(Self.overflowingModel(), to: source)
        let pack = try tool("txw-pack", ["--from", source, "-o", model])
        try #require(pack.status == 0, "finite weights pack: \(pack.stderr)")
        let f64 = ["--precision", "f64"]

        for json in [[], ["--json"]] {
            let loss = try tool("txw-run", [model, "--loss", "--tokens", "0 1 4 2 4"] + f64 + json)
            #expect(loss.status == 1, "loss \(json): \(loss.status) \(loss.stdout) \(loss.stderr)")
            #expect(loss.stdout.isEmpty, "no result: \(loss.stdout)")
            #expect(loss.stderr.split(separator: "\n").count == 1, "\(loss.stderr)")
            #expect(loss.stderr.hasPrefix("txw-run: the loss is nan") && loss.stderr.contains("at position 2 "), "\(loss.stderr)")
            let logits = try tool("txw-run", [model, "--logits", "--tokens", "0 1 4 2"] + f64 + json)
            #expect(logits.status == 1, "logits \(json): \(logits.status) \(logits.stderr)")
            #expect(logits.stdout.isEmpty)
            #expect(logits.stderr.split(separator: "\n").count == 1, "\(logits.stderr)")
            #expect(logits.stderr.contains("at position 2, token id"), "\(logits.stderr)")
        }
        // Windows: the position is counted in the whole sequence.
        let windowed = try tool("txw-run", [model, "--loss", "--tokens", "0 1 2 3 4 0", "--context", "3", "--stride", "1"] + f64)
        #expect(windowed.status == 1 && windowed.stderr.contains("at position 4 "), "\(windowed.stderr)")
        // Token 4 only as the last token (never scored): finite, exit 0.
        let fine = try tool("txw-run", [model, "--loss", "--tokens", "0 1 2 3 4"] + f64)
        #expect(fine.status == 0 && fine.stdout.hasPrefix("loss "), "\(fine.stderr)")
        let fineLogits = try tool("txw-run", [model, "--logits", "--tokens", "0 1 2 3"] + f64)
        #expect(fineLogits.status == 0, "\(fineLogits.stderr)")
    }

    @Test func verifyWarnsOfNonFiniteValues() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        let source = dir.file("nan.safetensors"), model = dir.file("nan.txw")
        try Self.writeSafetensors(Self.model { $0["W_E"]![6] = .nan; $0["W_E"]![13] = -.infinity; $0["blocks.0.W_1"]![0] = .nan }, to: source)
        let pack = try tool("txw-pack", ["--from", source, "-o", model, "--allow-nonfinite"])
        try #require(pack.status == 0, "\(pack.stderr)")
        // Sampling refuses such a model too.
        let sample = try tool("txw-run", [model, "-n", "2"])
        #expect(sample.status == 1, "\(sample.stderr)")

        let verify = try tool("txw-inspect", [model, "--verify"])
        #expect(verify.status == 0, "\(verify.stderr)")
        #expect(verify.stdout.hasPrefix("OK"), "\(verify.stdout)")
        let warnings = verify.stderr.split(separator: "\n").map(String.init)
        #expect(warnings == [
            "txw-inspect: warning: \(model): tensor 'W_E' holds 2 non-finite values (1 NaN, 1 ±inf), the first at index 6 (1, 2)",
            "txw-inspect: warning: \(model): tensor 'blocks.0.W_1' holds 1 non-finite value (1 NaN), the first at index 0 (0, 0)",
        ], "\(verify.stderr)")
        let verifyJSON = try tool("txw-inspect", [model, "--verify", "--json"])
        let object = try jsonObject(verifyJSON.stdout)
        let nonFinite = try #require(object["non_finite"] as? [[String: Any]])
        #expect(nonFinite.count == 2)
        #expect(nonFinite.first?["tensor"] as? String == "W_E" && nonFinite.first?["nan"] as? Int == 1
                && nonFinite.first?["inf"] as? Int == 1 && nonFinite.first?["first_index"] as? Int == 6)
        // A finite file: no warning, an empty list.
        let golden = repositoryRoot.appendingPathComponent("samples/golden.txw").path
        let clean = try tool("txw-inspect", [golden, "--verify", "--json"])
        #expect(clean.status == 0 && clean.stderr.isEmpty, "\(clean.stderr)")
        #expect((try jsonObject(clean.stdout)["non_finite"] as? [Any])?.isEmpty == true)
    }
}
