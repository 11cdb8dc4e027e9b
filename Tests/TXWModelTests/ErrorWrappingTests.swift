import TXWTestSupport
import Foundation
import SystemPackage
import Testing
import TXWFormat
import TXWKernels
@testable import TXWModel

/// TXWModel wraps the kernels' errors with their payload instead of turning
/// them into strings, and its messages read as before.
struct ErrorWrappingTests {
    @Test func aKernelErrorKeepsItsPayloadThroughTXWModel() throws {
        let odd = Hyperparameters(vocabSize: 5, dModel: 3, nHead: 1, dHead: 2, dMLP: 4, nBlock: 1)
        let error = try #require(throws: ModelError.self) { try ModelArrays.random(odd, seed: 1) }
        guard case let .kernel(.invalidArgument(name, value, _)) = error else {
            Issue.record("expected .kernel(.invalidArgument), got \(error)")
            return
        }
        #expect(name == "d_model" && value == "3")
        #expect(error.description.hasPrefix("model: d_model = 3: must be even"))

        // From arrays: W_E of width 3 is refused by the same kernel check.
        let arrays = [ImportedArray(name: "W_E", dtype: .f64, shape: [5, 3], bytes: ElementCoding.encode([Double](repeating: 0, count: 15), as: .f64))]
        #expect(throws: ModelError.kernel(.invalidArgument(
            name: "d_model", value: "3", requirement: "must be even (sinusoidal positions fill sin/cos column pairs)"))) {
            try ModelArrays(arrays: arrays)
        }

        // From a file's profile: sizes each within range whose product overflows.
        var writer = try TXWWriter()
        let big = Int64(Hyperparameters.maximumDimension)
        for (key, value) in [(ModelKeys.vocabSize, 5), (ModelKeys.dModel, big), (ModelKeys.nHead, big), (ModelKeys.dHead, big),
                             (ModelKeys.dMLP, 1), (ModelKeys.nBlock, 1)] as [(String, Int64)] {
            try writer.setMetadata(key, .int(value))
        }
        try writer.setMetadata(ModelKeys.rmsnormEpsilon, .float(1e-5))
        try writer.setMetadata(ModelKeys.positionalBase, .float(10000))
        try writer.setMetadata(ModelKeys.maskValue, .float(-1e9))
        let reader = try TXWReader(bytes: writer.encode())
        let overflow = try #require(throws: ModelError.self) { try ModelFile.profile(of: reader) }
        guard case .kernel(.invalidDimension) = overflow else {
            Issue.record("expected .kernel(.invalidDimension), got \(overflow)")
            return
        }
    }

    @Test func rankErrorsAreTyped() throws {
        let arrays = [ImportedArray(name: "W_E", dtype: .f64, shape: [4], bytes: ElementCoding.encode([Double](repeating: 0, count: 4), as: .f64))]
        let error = try #require(throws: ModelError.self) { try ModelArrays(arrays: arrays) }
        #expect(error == .rank(tensor: "W_E", axes: ["vocab_size", "d_model"], found: [4]))
        #expect(error.description == "model: W_E has shape (4), expected rank 2 (vocab_size, d_model)")
        let q = ImportedArray(name: "blocks.0.W_Q", dtype: .f64, shape: [4, 2], bytes: ElementCoding.encode([Double](repeating: 0, count: 8), as: .f64))
        let we = ImportedArray(name: "W_E", dtype: .f64, shape: [5, 4], bytes: ElementCoding.encode([Double](repeating: 0, count: 20), as: .f64))
        #expect(throws: ModelError.rank(tensor: "blocks.0.W_Q", axes: ["d_model", "d_head", "n_head"], found: [4, 2])) {
            try ModelArrays(arrays: [we, q])
        }
    }

    @Test func theImportersKeepErrno() throws {
        let missing = NSTemporaryDirectory() + "txw-no-such-\(UUID().uuidString).npz"
        let error = try #require(throws: ImportError.self) { try ArrayImporter.read(path: missing) }
        guard case let .io(path, operation, errno) = error else {
            Issue.record("expected .io, got \(error)")
            return
        }
        #expect(path == missing && operation == "open" && errno == .noSuchFileOrDirectory)
        #expect(error.category == "io")
    }
}
