import Foundation
import Testing
import TXWKernels
import TXWModel
import TXWTestSupport

/// Legal but costly or degenerate models: what txw-run does with each
/// (Spec/cli.md, txw-run): a mask value that forces full recomputation is
/// sampled exactly with one warning line; constants that do not fit f32 are
/// refused in f32 with the key named; NaN logits never exit 0.
struct CostlyModelTests {
    /// A small model with weights from an LCG and the given constants.
    func model<T: KernelScalar>(_ h: Hyperparameters, seed: UInt64, as _: T.Type) throws -> TransformerWeights<T> {
        var state = seed
        func tensor(_ shape: [Int]) throws -> Tensor<T> {
            let values = (0..<shape.reduce(1, *)).map { _ -> T in
                state = state &* 6364136223846793005 &+ 1442695040888963407
                return T(Double(Int64(bitPattern: state) >> 11) / Double(1 << 52)) / T(Double(shape[0]).squareRoot())
            }
            return try Tensor(shape: shape, scalars: values)
        }
        var blocks: [BlockWeights<T>] = []
        for _ in 0..<h.nBlock {
            var fields: [String: Tensor<T>] = [:]
            for (name, shape) in h.blockShapes() { fields[name] = try tensor(shape) }
            blocks.append(try BlockWeights(fields: fields))
        }
        return try TransformerWeights(hyperparameters: h, W_E: tensor([h.vocabSize, h.dModel]), blocks: blocks)
    }

    static func shape(mask: Double) -> Hyperparameters {
        var h = Hyperparameters(vocabSize: 23, dModel: 16, nHead: 2, dHead: 8, dMLP: 32, nBlock: 2)
        h.constants.maskValue = mask
        return h
    }

    /// Mask value 0: one warning line on stderr (why, and the cost), exit 0,
    /// and the tokens of the notebook's loop (every token from a full pass
    /// over the sequence so far; greedy here, lowest id on ties).
    @Test func zeroMaskWarnsOnceAndSamplesTheNotebookTokens() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        let weights = try model(Self.shape(mask: 0), seed: 7, as: Double.self)
        try ModelFile.save(weights, to: dir.file("m.txw"))
        let result = try tool("txw-run", [dir.file("m.txw"), "--tokens", "3 1 4", "-n", "12", "-t", "0", "--precision", "f64"])
        #expect(result.status == 0, "\(result.stderr)")
        let lines = result.stderr.split(separator: "\n")
        #expect(lines.count == 1)
        #expect(lines.first?.hasPrefix("txw-run: warning: model.mask_value 0.0") == true, "\(result.stderr)")
        #expect(result.stderr.contains("multiply-adds for the 12 tokens"))
        var sequence = [3, 1, 4]
        for _ in 0..<12 {
            let logits = try weights.logits(for: sequence).scalars.suffix(23)
            sequence.append(logits.indices.max(by: { logits[$0] < logits[$1] || (logits[$0] == logits[$1] && $0 > $1) })! - logits.startIndex)
        }
        #expect(result.stdout.split(separator: " ").map { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) } == sequence.suffix(12).map { $0 })

        // The notebook's mask: no warning.
        try ModelFile.save(try model(Self.shape(mask: -1e9), seed: 7, as: Double.self), to: dir.file("plain.txw"))
        let plain = try tool("txw-run", [dir.file("plain.txw"), "--tokens", "3 1 4", "-n", "12"])
        #expect(plain.status == 0 && plain.stderr.isEmpty, "\(plain.stderr)")
    }

    /// A mask value finite in f64 but not in f32: refused in f32 with one
    /// line naming the key and --precision f64; sampled in f64.
    @Test func f32OverflowingMaskIsRefusedInF32() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        try ModelFile.save(try model(Self.shape(mask: 1e300), seed: 3, as: Double.self), to: dir.file("m.txw"))
        let f32 = try tool("txw-run", [dir.file("m.txw"), "--tokens", "1 2", "-n", "4"])
        #expect(f32.status == 1)
        #expect(f32.stdout.isEmpty)
        #expect(f32.stderr.split(separator: "\n").count == 1)
        #expect(f32.stderr.contains("'model.mask_value'") && f32.stderr.contains("--precision f64"), "\(f32.stderr)")
        let f64 = try tool("txw-run", [dir.file("m.txw"), "--tokens", "1 2", "-n", "4", "--precision", "f64"])
        #expect(f64.status == 0, "\(f64.stderr)")
        #expect(f64.stdout.split(separator: " ").count == 4)
    }

    /// Weights whose logits are NaN (a NaN stored in W_E: every logit of
    /// that token is NaN): sampling stops with exit 1 and one line naming the
    /// position, in both precisions, greedy or not.
    @Test func nanLogitsNeverExitZero() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        let h = Hyperparameters(vocabSize: 3, dModel: 2, nHead: 1, dHead: 1, dMLP: 1, nBlock: 0)
        let rows: [Double] = [0.5, -0.5, .nan, 0.25, 0.5, 0.25]
        let weights = try TransformerWeights<Double>(hyperparameters: h, W_E: Tensor(shape: [3, 2], scalars: rows), blocks: [])
        try ModelFile.save(weights, to: dir.file("f64.txw"))
        try ModelFile.save(weights, dtype: .f32, to: dir.file("f32.txw"))
        for (file, precision) in [("f64.txw", "f64"), ("f32.txw", "f32")] {
            for t in ["1", "0"] {
                let result = try tool("txw-run", [dir.file(file), "--tokens", "0", "-n", "3", "-t", t, "--precision", precision])
                #expect(result.status == 1, "\(precision) t \(t): \(result.stdout)")
                #expect(result.stderr.contains("NaN") && result.stderr.split(separator: "\n").count == 1, "\(result.stderr)")
            }
        }
    }
}
