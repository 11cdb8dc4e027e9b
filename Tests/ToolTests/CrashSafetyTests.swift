import Foundation
import Testing
import TXWTestSupport

/// Atomic writes under failure (Spec/txw-format.md §1.7): txw-pack killed with
/// SIGKILL at 50 points while it replaces a file leaves the destination
/// either the old file or the complete new one, and the next write removes
/// the temporary files the killed writers left.
struct CrashSafetyTests {
    static let shape = ["--random", "--vocab-size", "64", "--d-model", "64", "--n-head", "4", "--d-head", "16",
                        "--d-mlp", "256", "--n-block", "2", "--level", "9"]

    @Test func killedWritersNeverLeaveAPartialFile() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        let path = dir.file("m.txw")
        #expect(try tool("txw-pack", Self.shape + ["--seed", "1", "-o", path]).status == 0)
        let old = try Data(contentsOf: URL(fileURLWithPath: path))
        // The complete new file, and how long writing it takes.
        let start = Date()
        #expect(try tool("txw-pack", Self.shape + ["--seed", "2", "-o", dir.file("new.txw")]).status == 0)
        let duration = Date().timeIntervalSince(start)
        let new = try Data(contentsOf: URL(fileURLWithPath: dir.file("new.txw")))
        try FileManager.default.removeItem(atPath: dir.file("new.txw"))
        #expect(old != new)

        var state: UInt64 = 12345
        var outcomes = (old: 0, new: 0)
        for _ in 0..<50 {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            let delay = Double(state >> 11) / Double(1 << 53) * duration * 1.2
            let process = Process()
            process.executableURL = binDirectory.appendingPathComponent("txw-pack")
            process.arguments = Self.shape + ["--seed", "2", "-o", path, "--force"]
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            Thread.sleep(forTimeInterval: delay)
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            let now = try Data(contentsOf: URL(fileURLWithPath: path))
            #expect(now == old || now == new, "the destination is the old or the complete new file")
            if now == new { outcomes.new += 1 } else { outcomes.old += 1 }
            // Put the old file back for the next round.
            if now == new { try old.write(to: URL(fileURLWithPath: path)) }
        }
        #expect(outcomes.old > 0, "some writers were killed before the rename")
        // The next complete write removes what the killed writers left.
        #expect(try tool("txw-pack", Self.shape + ["--seed", "3", "-o", path, "--force"]).status == 0)
        #expect(dir.contents() == ["m.txw"], "no temporary files left: \(dir.contents())")
        #expect(try tool("txw-inspect", [path, "--verify"]).status == 0)
    }

    /// Mounts a small tmpfs with `options` at `dir/name`; nil when this
    /// process may not mount (not root), which leaves nothing to simulate.
    static func mountTmpfs(in dir: TemporaryDirectory, _ name: String, options: String) throws -> String? {
        let mountPoint = dir.file(name)
        try FileManager.default.createDirectory(atPath: mountPoint, withIntermediateDirectories: true)
        let mount = Process()
        mount.executableURL = URL(fileURLWithPath: "/bin/mount")
        mount.arguments = ["-t", "tmpfs", "-o", options, "tmpfs", mountPoint]
        mount.standardError = FileHandle.nullDevice
        try mount.run()
        mount.waitUntilExit()
        return mount.terminationStatus == 0 ? mountPoint : nil
    }

    static func unmount(_ mountPoint: String) {
        let umount = Process()
        umount.executableURL = URL(fileURLWithPath: "/bin/umount")
        umount.arguments = [mountPoint]
        try? umount.run()
        umount.waitUntilExit()
    }

    @Test func readOnlyFileSystemWritesNothing() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        guard let mountPoint = try Self.mountTmpfs(in: dir, "ro", options: "size=1m,ro") else { return }
        defer { Self.unmount(mountPoint) }
        let r = try tool("txw-pack", Self.shape + ["-o", mountPoint + "/m.txw"])
        #expect(r.status == 1)
        #expect(r.stderr.contains("Read-only file system") && r.stderr.split(separator: "\n").count == 1, "\(r.stderr)")
    }

    @Test func fullDiskWritesNothing() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        guard let mountPoint = try Self.mountTmpfs(in: dir, "small", options: "size=64k") else { return }
        defer { Self.unmount(mountPoint) }
        let r = try tool("txw-pack", Self.shape + ["-o", mountPoint + "/m.txw"])
        #expect(r.status == 1)
        #expect(r.stderr.contains("No space left on device") && r.stderr.split(separator: "\n").count == 1, "\(r.stderr)")
        #expect(((try? FileManager.default.contentsOfDirectory(atPath: mountPoint)) ?? ["?"]).isEmpty, "nothing partial written")
    }
}
