import SystemPackage

/// Files that are not txw containers but that a user may hand to a tool
/// that reads one: recognized from their first bytes, so that the message
/// says what the file is and which command reads it.
package enum ForeignFile: Equatable, Sendable {
    /// A zip archive of `.npy` members (numpy.savez): `txw-pack --from` imports it.
    case npz
    /// A safetensors file: `txw-pack --from` imports it.
    case safetensors
    /// A GGUF file (llama.cpp): not supported.
    case gguf
    /// A PyTorch checkpoint: a zip holding `data.pkl` (`archive/data.pkl`): not supported.
    case pytorch
    /// Another zip archive.
    case zip

    /// Bytes read from the start of a file to recognize it: a zip's first
    /// member name, a safetensors header's length and first byte.
    package static let prefixBytes = 4096

    /// What the file at `path` is, from its first bytes; nil when it is
    /// none of the above or cannot be read.
    package static func identify(path: String) -> ForeignFile? {
        guard let head = try? InputFile.head(path, count: prefixBytes) else { return nil }
        return identify(head)
    }

    /// What a file starting with `head` is.
    package static func identify(_ head: [UInt8]) -> ForeignFile? {
        if head.starts(with: Array("GGUF".utf8)) { return .gguf }
        if head.starts(with: [0x50, 0x4B, 0x03, 0x04]) {
            // The first local header: the name's length at 26, the name at 30.
            guard head.count >= 30 else { return .zip }
            let length = Int(head[26]) | Int(head[27]) << 8
            let name = String(decoding: head[30..<min(head.count, 30 + length)], as: UTF8.self)
            if name == "data.pkl" || name.hasSuffix("/data.pkl") || name.hasSuffix("/.format_version")
                || name.hasSuffix("/byteorder") || name.hasSuffix("/version") { return .pytorch }
            if name.hasSuffix(".npy") { return .npz }
            return .zip
        }
        if head.starts(with: [0x50, 0x4B, 0x05, 0x06]) { return .zip }  // an empty zip
        // safetensors: a little-endian u64 header length, then the JSON header's '{'.
        if head.count >= 9, head[8] == UInt8(ascii: "{") {
            let length = head[0..<8].reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
            if length >= 2 && length < 1 << 40 { return .safetensors }
        }
        return nil
    }

    /// What the file is and which command reads it, after its path.
    package var message: String {
        switch self {
        case .npz:
            "an npz archive (numpy.savez), not a txw file: convert it with txw-pack --from FILE -o model.txw"
        case .safetensors:
            "a safetensors file, not a txw file: convert it with txw-pack --from FILE -o model.txw"
        case .gguf:
            "a GGUF file (llama.cpp), not a txw file: GGUF is not supported; txw-pack --from imports .npz and .safetensors files"
        case .pytorch:
            "a PyTorch checkpoint (a zip holding data.pkl), not a txw file: PyTorch files are not supported (they hold pickles); "
                + "save the weights with numpy.savez or safetensors, then convert them with txw-pack --from FILE -o model.txw"
        case .zip:
            "a zip archive that is not an npz (its first member is not a .npy file), not a txw file"
        }
    }
}
