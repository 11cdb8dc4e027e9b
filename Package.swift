// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "txw",
    products: [
        .library(name: "TXWKernels", targets: ["TXWKernels"]),
        .library(name: "TXWFormat", targets: ["TXWFormat"]),
        .library(name: "TXWModel", targets: ["TXWModel"]),
        .executable(name: "txw-pack", targets: ["txw-pack"]),
        .executable(name: "txw-inspect", targets: ["txw-inspect"]),
        .executable(name: "txw-run", targets: ["txw-run"]),
        .executable(name: "txw-train", targets: ["txw-train"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-system", from: "1.8.1"),
        .package(url: "https://github.com/apple/swift-numerics", from: "1.1.1"),
        // SHA-256 for the content digest (TXWModel's ContentDigest) and lineage; Spec/txw-format.md §4.
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        // `swift package generate-documentation` (README, "Documentation"); a plugin, not linked into anything.
        .package(url: "https://github.com/swiftlang/swift-docc-plugin", from: "1.4.0"),
    ],
    targets: [
        .systemLibrary(name: "CZstd", pkgConfig: "libzstd", providers: [.apt(["libzstd-dev"])]),
        .systemLibrary(name: "CXXHash", pkgConfig: "libxxhash", providers: [.apt(["libxxhash-dev"])]),
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        // The one thread pool and the explicit escape for shared memory. Knows nothing of files or transformers.
        .target(name: "CTXWThreads"),
        .target(name: "TXWThreads", dependencies: ["CTXWThreads"]),
        // The container: bytes, checksums, compression. Knows nothing of transformers.
        .target(name: "TXWFormat", dependencies: [
            "TXWThreads", "CZstd", "CXXHash", .product(name: "SystemPackage", package: "swift-system"),
        ]),
        // Hot loops in C, compiled per instruction set and dispatched at run time
        // (x86-64; one portable set elsewhere). SwiftPM's own -O levels: no
        // unsafeFlags, so packages can depend on txw's libraries by version.
        .target(name: "CTXWKernels"),
        // Math on buffers. Knows nothing of files.
        .target(name: "TXWKernels", dependencies: [
            "TXWThreads", "CTXWKernels", .product(name: "RealModule", package: "swift-numerics"),
        ]),
        // Hyperparameters + weights <-> files, vocabulary.
        .target(name: "TXWModel", dependencies: [
            "TXWThreads", "TXWFormat", "TXWKernels", "CZlib", .product(name: "SystemPackage", package: "swift-system"),
            .product(name: "Crypto", package: "swift-crypto"),
        ]),
        // What the three tools share: option groups, JSON output, error reporting.
        .target(name: "TXWToolSupport", dependencies: [
            "TXWModel", .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "SystemPackage", package: "swift-system"),
        ]),
        .executableTarget(name: "txw-pack", dependencies: [
            "TXWToolSupport", .product(name: "SystemPackage", package: "swift-system"),
        ]),
        .executableTarget(name: "txw-inspect", dependencies: ["TXWToolSupport"]),
        .executableTarget(name: "txw-run", dependencies: ["TXWToolSupport"]),
        .executableTarget(name: "txw-train", dependencies: ["TXWToolSupport"]),
        // The fuzzing harness (tools/fuzz builds it with libFuzzer); a corpus runner otherwise.
        .executableTarget(name: "txw-fuzz", dependencies: ["TXWModel"]),
        // Timings for tools/bench; not installed with the tools.
        .executableTarget(name: "txw-bench", dependencies: ["TXWToolSupport"]),
        // What the test targets share: temporary directories, paths, running a process. Tests only.
        .target(name: "TXWTestSupport", path: "Tests/TXWTestSupport"),
        .testTarget(name: "TXWThreadsTests", dependencies: ["TXWThreads"]),
        .testTarget(name: "TXWKernelsTests", dependencies: [
            "TXWKernels", "TXWThreads", "TXWTestSupport", .product(name: "RealModule", package: "swift-numerics"),
        ]),
        .testTarget(name: "TXWFormatTests", dependencies: [
            "TXWFormat", "TXWThreads", "TXWTestSupport", .product(name: "SystemPackage", package: "swift-system"),
        ]),
        .testTarget(name: "TXWModelTests", dependencies: [
            "TXWModel", "TXWTestSupport", .product(name: "SystemPackage", package: "swift-system"),
        ]),
        // Runs the built tools end to end; depending on them makes SwiftPM build
        // them first, beside the test bundle, where the tests find them.
        .testTarget(name: "ToolTests", dependencies: [
            "TXWModel", "TXWToolSupport", "TXWTestSupport", "txw-pack", "txw-inspect", "txw-run", "txw-train", "txw-fuzz", "txw-bench",
        ]),
    ]
)
