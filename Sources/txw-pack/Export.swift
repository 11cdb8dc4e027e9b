import ArgumentParser
import TXWFormat
import TXWModel
import TXWToolSupport

/// The formats `txw-pack -o` writes.
enum OutputFormat: String, CaseIterable, ExpressibleByArgument {
    case txw, npz, safetensors

    /// The format an output path's extension names (case-insensitive), if any.
    init?(extensionOf path: String) {
        guard let dot = path.lastIndex(of: "."), !path[dot...].contains("/") else { return nil }
        self.init(rawValue: path[path.index(after: dot)...].lowercased())
    }

    /// The importers' name of the format (nil for txw).
    var exchange: ImportedFile.Format? {
        switch self {
        case .txw: nil
        case .npz: .npz
        case .safetensors: .safetensors
        }
    }
}

extension Pack {
    /// The output's format: `--to`, else the extension of `-o`.
    var outputFormat: OutputFormat { to ?? OutputFormat(extensionOf: output) ?? .txw }

    /// The usage checks of the output format.
    func validateOutputFormat() throws {
        // `-` (standard output) has no extension: txw unless --to says otherwise.
        if to == nil && output != "-" && OutputFormat(extensionOf: output) == nil {
            throw ValidationError(
                "-o '\(Formatting.name(output))': the extension must be .txw, .npz or .safetensors, or give --to txw|npz|safetensors")
        }
        guard outputFormat != .txw else { return }
        let txwOnly = [("--level", level != nil), ("--block-size", blockSize != nil), ("--stored", stored), ("--no-shuffle", noShuffle)]
        if let (flag, _) = txwOnly.first(where: { $0.1 }) {
            throw ValidationError("\(flag) is for .txw output; a .\(outputFormat.rawValue) file is written uncompressed")
        }
        if outputFormat == .npz && dtype == .bf16 {
            throw ValidationError("--dtype bf16: numpy has no bfloat16; write a .safetensors file, or choose f32")
        }
    }

    /// Writes `model` as an npz or safetensors file, atomically, and reports it.
    func writeExchange(_ model: ModelArrays, as format: ImportedFile.Format) throws {
        let target = dtype ?? (random ? .f32 : nil)
        let fileSize = try model.exportedSize(as: format, dtype: target)
        // Held at once: the source arrays, the file, and while converting one
        // tensor its float64 values and its converted bytes.
        let sourceBytes = model.arrays.reduce(0) { $0 + $1.bytes.count }
        let converted = model.arrays.reduce(0) { total, array in
            let to = ModelArrays.exportDType(of: array, format: format, dtype: target)
            return max(total, to == array.dtype ? 0 : array.elementCount * (8 + to.size))
        }
        try memory.budget.check(MemoryBudget.sum([sourceBytes, fileSize, converted]),
                                for: "writing \(model.arrays.count) tensors as \(format.rawValue) (\(Formatting.grouped(fileSize)) bytes)")
        let bytes = try model.exported(as: format, dtype: target)
        if output == "-" {
            try Console.write(bytes)
        } else {
            try AtomicFile.write(bytes, to: output, overwrite: force)
        }
        let rawBytes = model.arrays.reduce(0) { $0 + $1.elementCount * ModelArrays.exportDType(of: $1, format: format, dtype: target).size }
        try report(model, fileSize: bytes.count, rawBytes: rawBytes)
    }
}
