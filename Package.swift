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
        .package(url: "https://github.com/apple/swift-numerics", from: "1.1.1"),
    ],
    targets: [
        .systemLibrary(name: "CZstd", pkgConfig: "libzstd", providers: [.apt(["libzstd-dev"])]),
        .systemLibrary(name: "CXXHash", pkgConfig: "libxxhash", providers: [.apt(["libxxhash-dev"])]),
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        // The container: bytes, checksums, compression. Knows nothing of transformers.
        .target(name: "TXWFormat", dependencies: ["CZstd", "CXXHash"]),
        // Hot loops in C, compiled per instruction set and dispatched at run time
        // (x86-64; one portable set elsewhere). SwiftPM's own -O levels: no
        // unsafeFlags, so packages can depend on txw's libraries by version.
        .target(name: "CTXWKernels"),
        // Math on buffers. Knows nothing of files.
        .target(name: "TXWKernels", dependencies: [
            "CTXWKernels", .product(name: "RealModule", package: "swift-numerics"),
        ]),
        // Hyperparameters + weights <-> files, vocabulary.
        .target(name: "TXWModel", dependencies: ["TXWFormat", "TXWKernels", "CZlib"]),
        // What the three tools share: option groups, JSON output, error reporting.
        .target(name: "TXWToolSupport", dependencies: [
            "TXWModel", .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .executableTarget(name: "txw-pack", dependencies: ["TXWToolSupport"]),
        .executableTarget(name: "txw-inspect", dependencies: ["TXWToolSupport"]),
        .executableTarget(name: "txw-run", dependencies: ["TXWToolSupport"]),
        .executableTarget(name: "txw-train", dependencies: ["TXWToolSupport"]),
        // The fuzzing harness (tools/fuzz builds it with libFuzzer); a corpus runner otherwise.
        .executableTarget(name: "txw-fuzz", dependencies: ["TXWModel"]),
        // Timings for tools/bench; not installed with the tools.
        .executableTarget(name: "txw-bench", dependencies: ["TXWToolSupport"]),
        .testTarget(name: "TXWKernelsTests", dependencies: ["TXWKernels"]),
        .testTarget(name: "TXWFormatTests", dependencies: ["TXWFormat"]),
        .testTarget(name: "TXWModelTests", dependencies: ["TXWModel"]),
        // Runs the built tools end to end.
        .testTarget(name: "ToolTests", dependencies: ["TXWModel"]),
    ]
)
