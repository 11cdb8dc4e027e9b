import Foundation

/// The repository's root directory (the one holding Package.swift).
package let repositoryRoot = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

/// `Tests/Fixtures/<name>`: the committed fixtures of one kind (`kernels`, `import`, `malformed`, `tools`).
package func fixturesDirectory(_ name: String) -> URL {
    repositoryRoot.appendingPathComponent("Tests/Fixtures").appendingPathComponent(name)
}
