import Foundation

/// What a finished child process left behind.
package struct ProcessResult: Sendable {
    package let status: Int32
    package let stdout: String
    package let stderr: String
}

/// Runs `executable` with `arguments` and an empty stdin (the file at
/// `stdinPath` when given), and waits for it.
///
/// stdout and stderr go to files in a temporary directory, not pipes: a child
/// that writes much to both cannot block on a full pipe, and no second thread
/// is needed to drain one while the other is read. `stdoutPath` sends stdout
/// to that file instead (e.g. `/dev/full`; the result's `stdout` is then
/// empty). With `timeout`, a child still running after that many seconds is
/// killed (SIGKILL, status 9 as `terminationStatus`), so a test of a hang
/// fails instead of hanging.
package func runProcess(_ executable: URL, _ arguments: [String],
                        environment: [String: String]? = nil,
                        stdoutPath: String? = nil, stdinPath: String? = nil, timeout: Double? = nil) throws -> ProcessResult {
    let dir = try TemporaryDirectory()
    defer { dir.cleanup() }
    let outPath = dir.file("stdout"), errPath = dir.file("stderr")
    guard FileManager.default.createFile(atPath: outPath, contents: nil),
          FileManager.default.createFile(atPath: errPath, contents: nil),
          let out = FileHandle(forWritingAtPath: stdoutPath ?? outPath), let err = FileHandle(forWritingAtPath: errPath)
    else { throw CocoaError(.fileWriteUnknown) }
    defer {
        try? out.close()
        try? err.close()
    }
    let process = Process()
    process.executableURL = executable
    process.arguments = arguments
    if let environment { process.environment = environment }
    process.standardOutput = out
    process.standardError = err
    if let stdinPath {
        guard let input = FileHandle(forReadingAtPath: stdinPath) else { throw CocoaError(.fileReadUnknown) }
        process.standardInput = input
    } else {
        process.standardInput = FileHandle.nullDevice
    }
    try process.run()
    if let timeout {
        var waited = 0.0
        while process.isRunning && waited < timeout {
            usleep(10_000)
            waited += 0.01
        }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }
    process.waitUntilExit()
    return ProcessResult(status: process.terminationStatus,
                         stdout: String(decoding: try Data(contentsOf: URL(fileURLWithPath: outPath)), as: UTF8.self),
                         stderr: String(decoding: try Data(contentsOf: URL(fileURLWithPath: errPath)), as: UTF8.self))
}
