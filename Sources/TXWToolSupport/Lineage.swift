#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import TXWFormat
import TXWModel

/// The lineage keys (Spec/txw-format.md §2.1, "Conventional user keys"):
/// what a file was made from, by which tool. Written by txw-pack (`--from`)
/// and txw-train (`--init`), shown by txw-inspect.
package enum Lineage {
    /// The prefix of the lineage keys.
    package static let prefix = "lineage."
    /// `txw-pack` or `txw-train`.
    package static let tool = "lineage.tool"
    /// The source's file name (its last path component; `standard input` for `-` or a stream).
    package static let source = "lineage.source"
    /// `txw`, `npz` or `safetensors`.
    package static let sourceFormat = "lineage.source_format"
    /// A `.txw` source's model digest (Spec/txw-format.md §4.2).
    package static let sourceDigest = "lineage.source_digest"
    /// An npz or safetensors source's SHA-256 (of its bytes as read).
    package static let sourceSHA256 = "lineage.source_sha256"
    /// txw-train's SHA-256 of its training data, beside `training.data_xxh3`.
    package static let trainingDataSHA256 = "training.data_sha256"

    /// The keys txw-inspect shows, in this order.
    package static let shown = [tool, source, sourceFormat, sourceDigest, sourceSHA256, trainingDataSHA256]

    /// True for a key only the tools write (`--meta` refuses it).
    package static func isLineageKey(_ key: String) -> Bool { key.utf8.starts(with: prefix.utf8) }

    /// The name a lineage record gives `path`: its last component; `standard input` for `-`
    /// and for any stream (a FIFO such as `<(…)` or `/dev/stdin`), whose path names no file.
    package static func sourceName(_ path: String) -> String {
        InputFile.isStream(path) ? "standard input" : URL(fileURLWithPath: path).lastPathComponent
    }

    /// `metadata` with the source's lineage dropped and this tool's recorded:
    /// `digest` is a `.txw` source's model digest (`format` "txw") or another
    /// source's SHA-256.
    package static func record(
        in metadata: inout [String: MetadataValue], tool: String, source path: String, format: String, digest: ContentDigest
    ) {
        for key in metadata.keys where isLineageKey(key) { metadata[key] = nil }
        metadata[Self.tool] = .string(tool)
        metadata[source] = .string(sourceName(path))
        metadata[sourceFormat] = .string(format)
        metadata[format == "txw" ? sourceDigest : sourceSHA256] = .string(digest.hex)
    }

    /// The lineage entries of `metadata` (file order is key order), in `shown` order.
    package static func entries(_ metadata: [MetadataEntry]) -> [MetadataEntry] {
        shown.compactMap { key in metadata.first { $0.key == key } }
    }
}

extension Diagnostics {
    /// txw-inspect --expect-digest, when the content differs:
    /// `PATH: content digest differs: expected HEX, found HEX`.
    package static func digestMismatch(path: String, expected: ContentDigest, found: ContentDigest) -> String {
        "\(Formatting.name(path)): content digest differs: expected \(expected.hex), found \(found.hex)"
    }

    /// A digest argument that is not one (a usage error).
    package static func malformedDigest(flag: String, _ text: String) -> String {
        "\(flag) expects a SHA-256 digest: 64 hex digits, optionally after 'sha256:'; got '\(Formatting.name(text))'"
    }
}
