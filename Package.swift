// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "txw",
    products: [
        .library(name: "TXWKernels", targets: ["TXWKernels"]),
        .executable(name: "txw-demo", targets: ["txw-demo"]),
    ],
    targets: [
        .target(name: "TXWKernels"),
        .executableTarget(name: "txw-demo", dependencies: ["TXWKernels"]),
        .testTarget(name: "TXWKernelsTests", dependencies: ["TXWKernels"]),
    ]
)
