import TXWFormat
import TXWKernels

/// How a model's vocabulary, constants, context length and user metadata
/// travel in `.npz` and `.safetensors` files (Spec/cli.md, "Export"): a map
/// of strings to strings, which is a safetensors file's `__metadata__` and,
/// as a UTF-8 JSON object in a `|u1` array, the npz member
/// `__txw_metadata__.npy`.
///
/// - `txw.model.rmsnorm_epsilon`, `txw.model.positional_base`,
///   `txw.model.mask_value`: the constants, as shortest round-trip decimals
///   (`1e-09`, `10000.0`, `-1000000000.0`);
/// - `txw.model.context_length`: a decimal integer (absent without one);
/// - `txw.model.vocab`: a JSON array of the tokens (absent without one);
/// - `txw.meta.KEY`: the user metadata value of `KEY` as `TYPE:TEXT`, where
///   TYPE is `string`, `int`, `float`, `bool` or `strings` and TEXT the
///   string itself, a decimal, a shortest round-trip decimal (or `nan`,
///   `inf`, `-inf`), `true`/`false`, or a JSON array of strings.
///
/// Reading the map back, any other key K of a file is kept as the string
/// user metadata `safetensors.K` (or `npz.K`); an unknown `txw.model.` key,
/// or a value that does not parse, is a `ModelError` naming the key.
public enum ExchangeMetadata {
    /// The prefix of the profile's keys in the map.
    public static let modelPrefix = "txw.model."
    /// The prefix of user metadata keys in the map.
    public static let userPrefix = "txw.meta."
    /// The npz member's name, without `.npy`.
    public static let npzMember = "__txw_metadata__"

    /// The model's map (without its tensors).
    public static func map(of model: ModelArrays) -> [String: String] {
        var map: [String: String] = [:]
        let c = model.hyperparameters.constants
        map[modelPrefix + "rmsnorm_epsilon"] = "\(c.rmsnormEpsilon)"
        map[modelPrefix + "positional_base"] = "\(c.positionalBase)"
        map[modelPrefix + "mask_value"] = "\(c.maskValue)"
        if let length = model.contextLength { map[modelPrefix + "context_length"] = "\(length)" }
        if let vocabulary = model.vocabulary { map[modelPrefix + "vocab"] = JSONText.array(vocabulary.tokens) }
        for (key, value) in model.metadata { map[userPrefix + key] = encode(value) }
        return map
    }

    /// `TYPE:TEXT` for a user metadata value.
    static func encode(_ value: MetadataValue) -> String {
        switch value {
        case let .string(s): "string:" + s
        case let .int(v): "int:\(v)"
        case let .float(v): "float:\(v)"
        case let .bool(v): "bool:\(v)"
        case let .strings(v): "strings:" + JSONText.array(v)
        }
    }

    /// What a map gives a model: the constants (the notebook's for those
    /// absent), the context length, the vocabulary and the user metadata.
    struct Parts {
        var constants = KernelConstants.notebook
        var contextLength: Int?
        var vocabulary: Vocabulary?
        var metadata: [String: MetadataValue] = [:]
    }

    /// The parts of `map`; other keys become string metadata `FOREIGN.KEY`.
    static func parts(of map: [String: String], foreignPrefix: String) throws -> Parts {
        var parts = Parts()
        for (key, text) in map.sorted(by: { $0.key < $1.key }) {
            if key.hasPrefix(modelPrefix) {
                let name = String(key.dropFirst(modelPrefix.count))
                func float() throws -> Double {
                    guard let v = Double(text), v.isFinite else {
                        throw ModelError.wrongType(key: key, expected: "a finite decimal number", found: "'\(text)'")
                    }
                    return v
                }
                switch name {
                case "rmsnorm_epsilon": parts.constants.rmsnormEpsilon = try float()
                case "positional_base": parts.constants.positionalBase = try float()
                case "mask_value": parts.constants.maskValue = try float()
                case "context_length":
                    guard let v = Int(text), (1...ModelKeys.maximumContextLength).contains(v) else {
                        throw ModelError.outOfRange(key: key, value: text, requirement: "must be an integer in 1…\(ModelKeys.maximumContextLength)")
                    }
                    parts.contextLength = v
                case "vocab":
                    guard let tokens = try? JSONText.parseStrings(Array(text.utf8)) else {
                        throw ModelError.wrongType(key: key, expected: "a JSON array of strings", found: "'\(text.prefix(40))'")
                    }
                    parts.vocabulary = try Vocabulary(tokens)
                default: throw ModelError.unknownModelKey(key)
                }
            } else if key.hasPrefix(userPrefix) {
                let name = String(key.dropFirst(userPrefix.count))
                guard !ModelKeys.isReserved(name) else { throw ModelError.reservedKey(name) }
                parts.metadata[name] = try decode(text, key: key)
            } else {
                parts.metadata[foreignPrefix + key] = .string(text)
            }
        }
        return parts
    }

    /// The value of `TYPE:TEXT`.
    static func decode(_ text: String, key: String) throws -> MetadataValue {
        let expected = "TYPE:VALUE with TYPE string, int, float, bool or strings"
        guard let colon = text.firstIndex(of: ":") else {
            throw ModelError.wrongType(key: key, expected: expected, found: "'\(text.prefix(40))'")
        }
        let type = text[..<colon], body = String(text[text.index(after: colon)...])
        switch type {
        case "string": return .string(body)
        case "int": if let v = Int64(body) { return .int(v) }
        case "float": if let v = Double(body) { return .float(v) }
        case "bool": if body == "true" || body == "false" { return .bool(body == "true") }
        case "strings": if let v = try? JSONText.parseStrings(Array(body.utf8)) { return .strings(v) }
        default: break
        }
        throw ModelError.wrongType(key: key, expected: expected, found: "'\(text.prefix(40))'")
    }

    /// A JSON object of strings (the npz member's content).
    static func parseMap(_ bytes: [UInt8], what: String) throws -> [String: String] {
        let value = try bytes.withUnsafeBytes { try JSONParser.parse(ImportBytes($0, base: 0), what: what) }
        guard case let .object(members) = value.kind else {
            throw ImportError.malformed(what: what, offset: value.offset, expected: "a JSON object of strings", found: value.kindDescription)
        }
        var map: [String: String] = [:]
        for (key, member) in try JSONValue.uniqueMembers(members, what) {
            guard case let .string(text) = member.value.kind else {
                throw ImportError.malformed(what: what + " '\(key)'", offset: member.value.offset, expected: "a string",
                                            found: member.value.kindDescription)
            }
            map[key] = text
        }
        return map
    }
}

/// JSON text for the exporters: strings escaped as RFC 8259 requires
/// (quote, backslash, control characters), everything else as UTF-8.
enum JSONText {
    static func string(_ s: String) -> String {
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 {
                    let hex = String(scalar.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }

    static func array(_ items: [String]) -> String { "[" + items.map(string).joined(separator: ",") + "]" }

    /// An object with its keys in byte order; the values already JSON text.
    static func object(_ members: [(key: String, json: String)]) -> String {
        "{" + members.sorted { Array($0.key.utf8).lexicographicallyPrecedes(Array($1.key.utf8)) }
            .map { string($0.key) + ":" + $0.json }.joined(separator: ",") + "}"
    }

    /// A JSON array of strings.
    static func parseStrings(_ bytes: [UInt8]) throws -> [String] {
        let value = try bytes.withUnsafeBytes { try JSONParser.parse(ImportBytes($0, base: 0), what: "JSON") }
        guard case let .array(items) = value.kind else { throw ImportError.malformed(what: "JSON", offset: 0, expected: "an array", found: value.kindDescription) }
        return try items.map { item in
            guard case let .string(s) = item.kind else {
                throw ImportError.malformed(what: "JSON", offset: item.offset, expected: "a string", found: item.kindDescription)
            }
            return s
        }
    }
}
