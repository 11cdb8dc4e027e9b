import TXWTestSupport
import Foundation
import SystemPackage
import Testing
@testable import TXWFormat

/// The error model of TXWFormat: io errors keep their `Errno`, zstd failures
/// keep libzstd's code and the block they were met in, compression failures
/// are not argument errors, and no message names a
/// command-line flag.
struct ErrorModelTests {
    static let malformed = repositoryRoot.appendingPathComponent("Tests/Fixtures/malformed")

    @Test func ioErrorsCarryErrno() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        let absent = dir.file("absent.txw")
        #expect(throws: TXWFormatError.io(path: absent, operation: "open", errno: .noSuchFileOrDirectory)) {
            try TXWReader(path: absent)
        }
        // The text is strerror(3)'s, as before the Errno was kept.
        #expect(TXWFormatError.io(path: absent, operation: "open", errno: .noSuchFileOrDirectory).description
                == "\(absent): open failed: No such file or directory")
        let error = try #require(throws: TXWFormatError.self) { try TXWWriter().write(to: dir.file("missing/m.txw")) }
        guard case let .io(path, _, errno) = error else {
            Issue.record("expected .io, got \(error)")
            return
        }
        #expect(path == dir.file("missing/m.txw") && errno == .noSuchFileOrDirectory)
        #expect(throws: TXWFormatError.notRegularFile(path: dir.path, operation: "open", isDirectory: true)) {
            try TXWReader(path: dir.path)
        }
        #expect(TXWFormatError.notRegularFile(path: dir.path, operation: "open", isDirectory: true).description
                == "\(dir.path): open failed: is a directory")
    }

    @Test func zstdFailuresKeepTheirCodeAndBlock() throws {
        let reader = try TXWReader(path: Self.malformed.appendingPathComponent("zstd_garbage.txw").path)
        let entry = try #require(reader.tensor(named: "W_E"))
        let error = try #require(throws: TXWFormatError.self) { try reader.readBytes(entry) }
        guard case let .decode(tensor, block, offset, .notAFrame(code, name)) = error else {
            Issue.record("expected .decode(…, .notAFrame), got \(error)")
            return
        }
        #expect(tensor == "W_E" && block == 0 && offset == entry.blocks[0].offset)
        #expect(code != 0 && !name.isEmpty)
        #expect(error.category == "decode")
        #expect(reader.verify() == [error])

        let trailing = try TXWReader(path: Self.malformed.appendingPathComponent("zstd_trailing_byte.txw").path)
        let problem = try #require(trailing.verify().first)
        guard case .decode(_, _, _, .trailingBytes(_, 1)) = problem else {
            Issue.record("expected .decode(…, .trailingBytes), got \(problem)")
            return
        }

        // Straight from the libzstd wrapper: the frame checks name what they found.
        let raw = [UInt8](repeating: 7, count: 100)
        let frame = try raw.withUnsafeBytes { try Zstd.compress($0, level: 3) }
        var small = [UInt8](repeating: 0, count: 50)
        #expect(throws: ZstdError.contentSizeMismatch(declared: 100, expected: 50)) {
            try frame.withUnsafeBytes { src in try small.withUnsafeMutableBytes { try Zstd.decompressFrame(src, into: $0) } }
        }
        #expect(throws: ZstdError.emptyBlock) {
            try small.withUnsafeMutableBytes { try Zstd.decompressFrame(UnsafeRawBufferPointer(start: nil, count: 0), into: $0) }
        }
    }

    @Test func compressionFailuresAreNotArgumentErrors() {
        let compression = TXWFormatError.compression(tensor: "t", block: 2, zstd: .library(code: 64, name: "Allocation error : not enough memory"))
        #expect(compression.category == "zstd")
        #expect(compression.description == "compressing tensor 't' block 2: Allocation error : not enough memory")
        #expect(TXWFormatError.zstd(.contextAllocation).category == "zstd")
        #expect(TXWFormatError.zstd(.contextAllocation).description == "zstd: cannot allocate a decompression context")
    }

    @Test func verifyNamesWhatActuallyFailed() throws {
        var w = try TXWWriter(options: .init(blockSize: 256))
        try w.addTensor(name: "a", dtype: .f32, shape: [64], bytes: ElementCoding.encode(testValues(64, seed: 1), as: .f32))
        try w.addTensor(name: "b", dtype: .f32, shape: [256], bytes: ElementCoding.encode(testValues(256, seed: 2), as: .f32))
        let bytes = try w.encode()
        // When decoding cannot start, the failure itself is reported: no tensor, block or offset is made up.
        let intact = try TXWReader(bytes: bytes)
        let problems = intact.verify(makeDecoder: { (_: Int) throws(TXWFormatError) -> BlockDecoder in
            throw .zstd(.contextAllocation)
        })
        #expect(problems == [.zstd(.contextAllocation)])
        #expect(intact.verify().isEmpty)
        // A damaged block is named by its own tensor, index and offset.
        let entry = try #require(intact.tensor(named: "b"))
        var damaged = bytes
        damaged[entry.blocks[2].offset] ^= 0xFF
        let found = try TXWReader(bytes: damaged).verify()
        #expect(found.count == 1)
        guard case let .blockChecksum(tensor, block, offset, _, _)? = found.first else {
            Issue.record("expected .blockChecksum, got \(found)")
            return
        }
        #expect(tensor == "b" && block == 2 && offset == entry.blocks[2].offset)
    }

    @Test func messagesNameNoCommandLineFlag() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        let path = dir.file("m.txw")
        try TXWWriter().write(to: path)
        let error = try #require(throws: TXWFormatError.self) { try TXWWriter().write(to: path) }
        #expect(error == .destinationExists(path: path))
        #expect(!error.description.contains("--"), "\(error.description)")
        #expect(error.description.hasPrefix("\(path) exists"))
    }
}
