import Foundation
import Synchronization
import Testing

let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
let fixtures = repositoryRoot.appendingPathComponent("Tests/Fixtures/tools")

/// The directory holding the built executables (beside the test bundle).
let binDirectory: URL = {
    var candidates: [URL] = []
    if let exe = Bundle.main.executableURL { candidates.append(exe.deletingLastPathComponent()) }
    candidates.append(Bundle.main.bundleURL)
    candidates.append(Bundle.main.bundleURL.deletingLastPathComponent())
    for dir in candidates where FileManager.default.isExecutableFile(atPath: dir.appendingPathComponent("txw-run").path) {
        return dir
    }
    return repositoryRoot.appendingPathComponent(".build/debug")
}()

struct ToolResult {
    let status: Int32
    let stdout: String
    let stderr: String
}

/// Runs a built tool with `arguments`; stdin is empty.
func tool(_ name: String, _ arguments: [String], environment: [String: String]? = nil) throws -> ToolResult {
    let process = Process()
    process.executableURL = binDirectory.appendingPathComponent(name)
    process.arguments = arguments
    if let environment { process.environment = environment }
    let out = Pipe(), err = Pipe()
    process.standardOutput = out
    process.standardError = err
    process.standardInput = FileHandle.nullDevice
    try process.run()
    // Read both pipes concurrently so a large output cannot block the child.
    let errData = Mutex(Data())
    let group = DispatchGroup()
    group.enter()
    DispatchQueue.global().async {
        let data = err.fileHandleForReading.readDataToEndOfFile()
        errData.withLock { $0 = data }
        group.leave()
    }
    let outData = out.fileHandleForReading.readDataToEndOfFile()
    group.wait()
    process.waitUntilExit()
    return ToolResult(status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
                      stderr: String(decoding: errData.withLock { $0 }, as: UTF8.self))
}

/// Parses a tool's JSON output.
func jsonObject(_ text: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> [String: Any] {
    let object = try JSONSerialization.jsonObject(with: Data(text.utf8))
    return try #require(object as? [String: Any], "not a JSON object: \(text.prefix(200))", sourceLocation: sourceLocation)
}

struct TemporaryDirectory {
    let path: String
    init() throws {
        path = NSTemporaryDirectory() + "txw-tool-test-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }
    func file(_ name: String) -> String { path + "/" + name }
    func contents() -> [String] { ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).sorted() }
    func cleanup() { try? FileManager.default.removeItem(atPath: path) }
}

/// The tolerance of Spec/kernels.md for float64 results.
func closeF64(_ a: Double, _ b: Double) -> Bool { abs(a - b) <= max(1e-9 * abs(b), 1e-12) }
