import ArgumentParser
import TXWFormat
import TXWModel
import TXWToolSupport

// --digest, --expect-digest and the lineage of the summary (Spec/cli.md; the
// digest is Spec/txw-format.md §4).

extension Inspect {
    /// --digest: `HEX  MODEL` (as sha256sum prints), or with --json the
    /// model digest and every tensor's. A container that is not a model
    /// (an activation cache too) has no model digest: refused (exit 1).
    func printDigest(_ reader: TXWReader) throws {
        let result = try modelDigest(reader)
        if json {
            try Console.out(try JSONOutput.text(DigestJSON(path: model, reader: reader, result)))
        } else {
            try Console.out("\(result.digest.hex)  \(Formatting.name(model))")
        }
    }

    /// The model digest of `reader`, a refusal naming the file when it is not a model.
    func modelDigest(_ reader: TXWReader) throws -> ModelDigest {
        do {
            return try ContentDigest.model(reader)
        } catch let error as ModelError {
            throw ToolFailure(path: InputFile.name(model), error)
        } catch let error as TXWFormatError where error.category != "memory" {
            // A damaged block: named with the file, as every refusal is (the memory case is wrapped by run()).
            throw ToolFailure(path: InputFile.name(model), error)
        }
    }

    /// --expect-digest after a clean --verify: the comparison, or nil without the flag.
    func compareDigest(_ reader: TXWReader) throws -> DigestCheckJSON? {
        guard let text = expectDigest, let expected = ContentDigest(hex: text) else { return nil }
        let found = try modelDigest(reader).digest
        return DigestCheckJSON(expected: expected.hex, found: found.hex, match: expected == found)
    }

    /// The lineage keys of the summary's metadata, text form: `tool from SOURCE (FORMAT), digest …`.
    static func lineageText(_ metadata: [MetadataEntry]) -> [String] {
        Lineage.entries(metadata).map { entry in
            let value: String
            if case let .string(s) = entry.value { value = Formatting.token(s) } else { value = Formatting.name(entry.value.description) }
            return "\(Formatting.name(entry.key)) = \(value)"
        }
    }
}

/// --digest --json.
struct DigestJSON: Encodable {
    let path: String
    let algorithm = "sha256"
    let digest: String
    let tensors: [TensorDigestJSON]

    init(path: String, reader: TXWReader, _ result: ModelDigest) {
        self.path = path
        digest = result.digest.hex
        tensors = result.tensors.map { t in
            let entry = reader.tensor(named: t.name)
            return TensorDigestJSON(name: t.name, dtype: entry?.dtype.description ?? "", shape: entry?.shape ?? [], digest: t.digest.hex)
        }
    }
}

/// One tensor's digest (profile order).
struct TensorDigestJSON: Encodable {
    let name, dtype: String
    let shape: [Int]
    let digest: String
}

/// --verify --expect-digest --json: the `digest` member.
struct DigestCheckJSON: Encodable {
    let expected, found: String
    let match: Bool
}

/// The summary's `lineage` member: the lineage keys present (null when none).
struct LineageJSON: Encodable {
    let entries: [MetadataEntry]

    func encode(to encoder: any Encoder) throws {
        try JSONDynamicObject(entries.map { ($0.key, MetadataJSON($0.value)) }).encode(to: encoder)
    }
}
