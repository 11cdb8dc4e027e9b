import Foundation
import Testing
import TXWFormat
import TXWTestSupport

/// A small file cannot make the reader allocate much: a zstd block decodes
/// to at most 32768 times its size (Spec/txw-format.md §1.4), so a ~1 KB file
/// holds at most ~32 MB of tensors. Measured by running `txw-inspect --verify`
/// under a virtual-memory limit of its own baseline plus 64 MB.
struct ResourceBoundTests {
    static func verify(_ path: String, limitKB: Int) throws -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        // An explicit budget of 64 MiB: the default, half of the address-space
        // limit, would refuse the 32 MiB block and its scratch up front.
        process.arguments = ["-c", "ulimit -v \(limitKB) && exec \"$0\" \"$1\" --verify --max-memory 64M", binDirectory.appendingPathComponent("txw-inspect").path, path]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        return process.terminationReason == .uncaughtSignal ? -process.terminationStatus : process.terminationStatus
    }

    @Test func aOneKilobyteFileStaysWithin64MB() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        // The densest legal file: 32 MiB of zeros in one block compresses to ~1 KB.
        var writer = try TXWWriter(options: .init(level: 19, blockSize: 1 << 25))
        try writer.addTensor(name: "zeros", dtype: .f32, shape: [1 << 23], bytes: [UInt8](repeating: 0, count: 1 << 25))
        let dense = try writer.encode()
        #expect(dense.count < 1300, "\(dense.count) bytes")
        try Data(dense).write(to: URL(fileURLWithPath: dir.file("dense.txw")))
        // The same declarations with the data damaged (checksum still valid would need a forger; a damaged block is enough here).
        var damaged = dense
        damaged[damaged.count - 3] ^= 0xFF
        try Data(damaged).write(to: URL(fileURLWithPath: dir.file("damaged.txw")))

        // The tool's own baseline: the smallest limit (in 4 MB steps) under which it verifies a tiny file.
        let golden = repositoryRoot.appendingPathComponent("samples/golden.txw").path
        var baseline = 32 * 1024
        while try Self.verify(golden, limitKB: baseline) != 0 {
            baseline += 4 * 1024
            try #require(baseline < 1024 * 1024, "no limit under 1 GB works")
        }
        let limit = baseline + 64 * 1024
        #expect(try Self.verify(dir.file("dense.txw"), limitKB: limit) == 0, "a ~1 KB file decoding to 32 MiB verifies within baseline + 64 MB")
        #expect(try Self.verify(dir.file("damaged.txw"), limitKB: limit) == 1, "damaged: reported, not crashed")
        // The limit does bite: a (~5 KB) file decoding to 128 MiB cannot be verified under it.
        var big = try TXWWriter(options: .init(level: 1, blockSize: 1 << 26))
        try big.addTensor(name: "zeros", dtype: .f32, shape: [1 << 25], bytes: [UInt8](repeating: 0, count: 1 << 27))
        try Data(try big.encode()).write(to: URL(fileURLWithPath: dir.file("big.txw")))
        #expect(try Self.verify(dir.file("big.txw"), limitKB: limit) != 0, "128 MiB does not fit in baseline + 64 MB")
    }
}
