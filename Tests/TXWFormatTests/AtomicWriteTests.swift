import Foundation
import Testing
import TXWTestSupport
@testable import TXWFormat

/// §1.7: writes are atomic and never replace a file unless asked.
struct AtomicWriteTests {
    @Test func refusesToReplaceWithoutOverwriteAndLeavesNoTemporaries() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        let path = dir.file("m.txw")
        var w = try TXWWriter()
        try w.addTensor(name: "a", dtype: .f64, shape: [2], bytes: ElementCoding.encode([1.0, 2.0], as: .f64))
        try w.write(to: path)
        let first = try Data(contentsOf: URL(fileURLWithPath: path))
        var w2 = w
        try w2.setMetadata("v", .int(2))
        #expect(throws: TXWFormatError.destinationExists(path: path)) { try w2.write(to: path) }
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == first)
        try w2.write(to: path, overwrite: true)
        #expect(try TXWReader(path: path).metadata("v") == .int(2))
        #expect(dir.contents() == ["m.txw"])
    }

    @Test func staleTemporariesOfDeadWritersAreRemoved() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        // PID 2^22 + 1 is above Linux's pid_max default range: no such process.
        let stale = dir.file(".m.txw.txw-tmp.4194305.77")
        try Data([1, 2, 3]).write(to: URL(fileURLWithPath: stale))
        try TXWWriter().write(to: dir.file("m.txw"))
        #expect(dir.contents() == ["m.txw"])
    }

    @Test func failuresNameThePath() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        let error = try #require(throws: TXWFormatError.self) { try TXWWriter().write(to: dir.file("missing/m.txw")) }
        #expect(error.category == "io" && error.description.contains("missing/m.txw"))
        #expect(throws: TXWFormatError.self) { try TXWReader(path: dir.path) }
        #expect(throws: TXWFormatError.self) { try TXWReader(path: dir.file("absent.txw")) }
    }
}
