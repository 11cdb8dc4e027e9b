import Testing
import TXWFormat
import TXWKernels
import TXWModel

/// The canonical tensor order (`W_E`, then each block's 8 fields) is unpacked
/// in one place, `TransformerWeights(hyperparameters:parameterTensors:)`.
struct WeightsLayoutTests {
    static let h = Hyperparameters(vocabSize: 5, dModel: 4, nHead: 2, dHead: 3, dMLP: 6, nBlock: 2)

    @Test func parameterTensorsRoundTrip() throws {
        let weights = try smallModel(Self.h)
        let named = weights.parameterTensors
        #expect(named.map(\.name) == Self.h.tensorShapes().map(\.name))
        let back = try TransformerWeights(hyperparameters: Self.h, parameterTensors: named.map(\.tensor))
        #expect(back == weights)
        #expect(back.blocks[1].W_O == weights.blocks[1].W_O && back.blocks[0].b_1 == weights.blocks[0].b_1)
    }

    /// A wrong number of tensors is an error, not an out-of-range trap.
    @Test func wrongTensorCountsAreErrors() throws {
        let tensors = try smallModel(Self.h).parameterTensors.map(\.tensor)
        for wrong in [[], Array(tensors.dropLast()), tensors + [tensors[0]], Array(tensors.prefix(9))] {
            #expect(throws: KernelError.invalidArgument(name: "tensors", value: "\(wrong.count)", requirement: "must be 1 + 8·n_block")) {
                _ = try TransformerWeights(hyperparameters: Self.h, parameterTensors: wrong)
            }
        }
        // Right count, wrong order: the shapes are checked.
        var swapped = tensors
        swapped.swapAt(1, 2)
        #expect(throws: KernelError.self) { _ = try TransformerWeights(hyperparameters: Self.h, parameterTensors: swapped) }
    }

    /// `ModelArrays.weights()` goes through the same unpacking: its arrays
    /// give back the model, and too few arrays are refused.
    @Test func modelArraysUnpackTheSameWay() throws {
        let weights = try smallModel(Self.h)
        let arrays = weights.parameterTensors.map { name, tensor in
            ImportedArray(name: name, dtype: .f64, shape: tensor.shape, bytes: ElementCoding.encode(tensor.scalars, as: .f64))
        }
        let model = try ModelArrays(arrays: arrays)
        #expect(try model.weights(as: Double.self) == weights)
        let short = ModelArrays(hyperparameters: Self.h, arrays: Array(arrays.dropLast()), vocabulary: nil, metadata: [:])
        #expect(throws: (any Error).self) { _ = try short.weights(as: Double.self) }
    }

    /// The importers' reader reports a read past the end as `truncated`, as the
    /// malformed-file conformance set states.
    @Test func importFaultsAreImportErrors() {
        #expect(ImportError(.outOfBounds(what: "zip end of central directory record", offset: 30, needed: 2, available: 1, region: "region"))
            == .truncated(what: "zip end of central directory record", offset: 30, needed: 2, available: 1))
        #expect(ImportError(.invalidUTF8(what: "name", offset: 4)) == .invalidUTF8(what: "name", offset: 4))
        #expect(ImportError(.overflow(what: "size", offset: 9, expression: "1 + 2"))
            == .limit(what: "size", offset: 9, value: "1 + 2", limit: "\(Int.max)"))
    }
}
