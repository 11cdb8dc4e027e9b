// swift-tools-version:6.0
// A package outside txw that uses its three libraries the way a user would:
// it depends on txw by path, so it sees only txw's public API.
import PackageDescription

let package = Package(
    name: "txw-examples",
    dependencies: [
        .package(name: "txw", path: ".."),
    ],
    targets: [
        .executableTarget(name: "txw-example", dependencies: [
            .product(name: "TXWFormat", package: "txw"),
            .product(name: "TXWKernels", package: "txw"),
            .product(name: "TXWModel", package: "txw"),
        ]),
    ]
)
