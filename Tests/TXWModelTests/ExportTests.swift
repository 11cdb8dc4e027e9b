import Foundation
import Testing
import TXWFormat
import TXWKernels
@testable import TXWModel

/// The npz and safetensors writers, in memory: the size known up front is
/// the size written, the layouts are what the readers (and numpy) expect,
/// and a damaged metadata member is refused.
struct ExportTests {
    static func model(dtype: DType) throws -> ModelArrays {
        let h = Hyperparameters(vocabSize: 3, dModel: 2, nHead: 1, dHead: 2, dMLP: 3, nBlock: 1)
        var model = try ModelArrays.random(h, seed: 1)
        model.arrays = model.arrays.map { array in
            var copy = array
            let values: [Double] = array.bytes.withUnsafeBytes { ElementCoding.decode($0, as: array.dtype) }
            copy.bytes = ElementCoding.encode(values, as: dtype)
            copy.dtype = dtype
            return copy
        }
        model.vocabulary = try Vocabulary(["x", "y", "z"])
        return model
    }

    @Test(arguments: [DType.f16, .f32, .f64, .bf16])
    func sizeKnownUpFrontAndReadBack(dtype: DType) throws {
        let model = try Self.model(dtype: dtype)
        for format in [ImportedFile.Format.npz, .safetensors] {
            let bytes = try model.exported(as: format, dtype: nil)
            #expect(bytes.count == (try model.exportedSize(as: format, dtype: nil)))
            let file = try ArrayImporter.readFile(bytes: bytes)
            #expect(file.format == format)
            let back = try ModelArrays(file: file)
            #expect(back.vocabulary?.tokens == ["x", "y", "z"])
            for (a, b) in zip(model.arrays, back.arrays) {
                #expect(a.name == b.name && a.shape == b.shape)
                let expected = ModelArrays.exportDType(of: a, format: format, dtype: nil)
                #expect(b.dtype == expected)
                let va: [Double] = a.bytes.withUnsafeBytes { ElementCoding.decode($0, as: a.dtype) }
                let vb: [Double] = b.bytes.withUnsafeBytes { ElementCoding.decode($0, as: b.dtype) }
                #expect(va.map(\.bitPattern) == vb.map(\.bitPattern))
            }
        }
    }

    @Test func npyHeadersAreAlignedVersion1() {
        for shape in [[5], [3, 4], [2, 3, 4], [1, 1, 1, 1, 1, 1, 1, 1]] {
            let header = ModelArrays.npyHeader(descr: "<f4", shape: shape)
            #expect(header.count % 64 == 0)
            #expect(Array(header[0..<8]) == [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, 1, 0])
            #expect(Int(header[8]) | Int(header[9]) << 8 == header.count - 10)
            #expect(header.last == 0x0A)
            let text = String(decoding: header[10...], as: UTF8.self)
            let dims = shape.count == 1 ? "(5,)" : "(" + shape.map(String.init).joined(separator: ", ") + ")"
            #expect(text.hasPrefix("{'descr': '<f4', 'fortran_order': False, 'shape': \(dims), }"))
        }
    }

    @Test func metadataMemberMustBeBytes() throws {
        let model = try Self.model(dtype: .f32)
        var bytes = try model.exported(as: .npz, dtype: nil)
        // The member's descr '|u1' becomes '<f4': refused, naming the member (the CRC is checked after the header).
        let descr = Array("'|u1'".utf8)
        let at = try #require((0..<(bytes.count - descr.count)).last { Array(bytes[$0..<($0 + descr.count)]) == descr })
        bytes.replaceSubrange(at..<(at + descr.count), with: Array("'<f4'".utf8))
        #expect {
            _ = try ArrayImporter.readFile(bytes: bytes)
        } throws: { error in
            "\(error)".contains("__txw_metadata__") && "\(error)".contains("u1")
        }
    }
}
