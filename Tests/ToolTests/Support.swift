import Foundation
import Testing
import TXWTestSupport

let fixtures = fixturesDirectory("tools")

/// Marks this test module's image, so that `Bundle(for:)` finds the test bundle.
private final class TestBundleMarker {}

/// The directory holding the built executables. ToolTests depends on the four
/// tool targets, so SwiftPM builds them before the tests, into the directory
/// that holds the test bundle (macOS: the `.xctest` bundle; Linux: the test
/// executable).
let binDirectory: URL = {
    let testBundle = Bundle(for: TestBundleMarker.self)
    let candidates = [
        testBundle.bundleURL.deletingLastPathComponent(),
        Bundle.main.executableURL?.deletingLastPathComponent(),
        testBundle.bundleURL,
    ].compactMap { $0 }
    guard let dir = candidates.first(where: {
        FileManager.default.isExecutableFile(atPath: $0.appendingPathComponent("txw-run").path)
    }) else {
        fatalError("the built tools are not beside the test bundle; looked in \(candidates.map(\.path))")
    }
    return dir
}()

/// Runs a built tool with `arguments`; stdin is empty (or the file at `stdinPath`).
func tool(_ name: String, _ arguments: [String], environment: [String: String]? = nil,
          stdoutPath: String? = nil, stdinPath: String? = nil, timeout: Double? = nil) throws -> ProcessResult {
    try runProcess(binDirectory.appendingPathComponent(name), arguments, environment: environment,
                   stdoutPath: stdoutPath, stdinPath: stdinPath, timeout: timeout)
}

/// Runs `script` with /bin/sh, the built tools first on its PATH (pipelines
/// between the tools); stdin is empty.
func shell(_ script: String, timeout: Double = 120) throws -> ProcessResult {
    var environment = ProcessInfo.processInfo.environment
    environment["PATH"] = binDirectory.path + ":" + (environment["PATH"] ?? "/usr/bin:/bin")
    return try runProcess(URL(fileURLWithPath: "/bin/sh"), ["-c", script], environment: environment, timeout: timeout)
}

/// Parses a tool's JSON output.
func jsonObject(_ text: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> [String: Any] {
    let object = try JSONSerialization.jsonObject(with: Data(text.utf8))
    return try #require(object as? [String: Any], "not a JSON object: \(text.prefix(200))", sourceLocation: sourceLocation)
}

/// The tolerance of Spec/kernels.md for float64 results.
func closeF64(_ a: Double, _ b: Double) -> Bool { abs(a - b) <= max(1e-9 * abs(b), 1e-12) }
