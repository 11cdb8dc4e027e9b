import TXWFormat

extension ModelArrays {
    /// The dtype tensor `array` has in an export to `format` with the
    /// `dtype` asked for (nil: keep each tensor's): bf16 is written as f32
    /// in an npz, which has no bfloat16 (the values are exact in f32).
    public static func exportDType(of array: ImportedArray, format: ImportedFile.Format, dtype: DType?) -> DType {
        let target = dtype ?? array.dtype
        return format == .npz && target == .bf16 ? .f32 : target
    }

    /// The exact size in bytes of `exported(as:dtype:)`, computed without
    /// converting or copying a tensor.
    public func exportedSize(as format: ImportedFile.Format, dtype: DType?) throws -> Int {
        switch format {
        case .npz:
            let (_, size) = try npzLayout(dtype: dtype)
            return size
        case .safetensors:
            let (header, order) = try safetensorsHeader(dtype: dtype)
            return order.reduce(8 + header.count) { $0 + $1.byteCount }
        }
    }

    /// The model as an `.npz` archive or a `.safetensors` file (Spec/cli.md,
    /// "Export"): the profile's tensors under their names, converted to
    /// `dtype` when given, and `ExchangeMetadata.map(of:)`.
    ///
    /// - Throws: `ModelError.unexportable` for an npz beyond the 4 GiB a zip
    ///   without zip64 records holds, or `dtype` bf16 for an npz.
    public func exported(as format: ImportedFile.Format, dtype: DType?) throws -> [UInt8] {
        switch format {
        case .npz: return try npzBytes(dtype: dtype)
        case .safetensors: return try safetensorsBytes(dtype: dtype)
        }
    }

    /// `array`'s bytes in `target`.
    private static func bytes(of array: ImportedArray, as target: DType) -> [UInt8] {
        guard target != array.dtype else { return array.bytes }
        let values: [Double] = array.bytes.withUnsafeBytes { ElementCoding.decode($0, as: array.dtype) }
        return ElementCoding.encode(values, as: target)
    }

    // MARK: - npz

    /// One member of the archive: its name, its `.npy` header, the dtype of its data.
    private struct Member {
        let name: [UInt8]
        let header: [UInt8]
        let array: ImportedArray?
        let dtype: DType
        let dataCount: Int
    }

    /// A `.npy` version 1.0 header: magic, version, length, the dict
    /// literal padded with spaces and a newline to a multiple of 64 bytes.
    static func npyHeader(descr: String, shape: [Int]) -> [UInt8] {
        let dims = shape.count == 1 ? "(\(shape[0]),)" : "(" + shape.map(String.init).joined(separator: ", ") + ")"
        var dict = "{'descr': '\(descr)', 'fortran_order': False, 'shape': \(dims), }"
        let total = 10 + dict.utf8.count + 1
        dict += String(repeating: " ", count: (total + 63) / 64 * 64 - total) + "\n"
        let length = dict.utf8.count
        return NPYHeader.magic + [1, 0, UInt8(length & 0xFF), UInt8(length >> 8)] + Array(dict.utf8)
    }

    static func descr(_ dtype: DType) -> String {
        switch dtype {
        case .f16: "<f2"
        case .f32, .bf16: "<f4"
        case .f64: "<f8"
        }
    }

    private func npzLayout(dtype: DType?) throws -> ([Member], Int) {
        if dtype == .bf16 {
            throw ModelError.unexportable(format: "npz", detail: "numpy has no bfloat16 dtype (write a .safetensors file, or f32)")
        }
        var members: [Member] = []
        for array in arrays {
            let target = Self.exportDType(of: array, format: .npz, dtype: dtype)
            members.append(Member(name: Array((array.name + ".npy").utf8), header: Self.npyHeader(descr: Self.descr(target), shape: array.shape),
                                  array: array, dtype: target, dataCount: array.elementCount * target.size))
        }
        let json = Array(JSONText.object(ExchangeMetadata.map(of: self).map { ($0.key, JSONText.string($0.value)) }).utf8)
        members.append(Member(name: Array((ExchangeMetadata.npzMember + ".npy").utf8), header: Self.npyHeader(descr: "|u1", shape: [json.count]),
                              array: ImportedArray(name: ExchangeMetadata.npzMember, dtype: .f32, shape: [json.count], bytes: json),
                              dtype: .f32, dataCount: json.count))
        guard members.count < 0xFFFF else {
            throw ModelError.unexportable(format: "npz", detail: "\(members.count) arrays, more than a zip without zip64 records holds")
        }
        var size = 22
        for member in members {
            let data = member.header.count + member.dataCount
            // 0xFFFF_FFFF itself is zip64's "see the extra field" sentinel.
            guard data < 0xFFFF_FFFF, size < 0xFFFF_FFFF else {
                throw ModelError.unexportable(format: "npz", detail: "more than the 4 GiB a zip without zip64 records holds (write a .safetensors file)")
            }
            size += 30 + member.name.count + data + 46 + member.name.count
        }
        guard size - 22 < 0xFFFF_FFFF else {
            throw ModelError.unexportable(format: "npz", detail: "more than the 4 GiB a zip without zip64 records holds (write a .safetensors file)")
        }
        return (members, size)
    }

    private func npzBytes(dtype: DType?) throws -> [UInt8] {
        let (members, size) = try npzLayout(dtype: dtype)
        return Self.storedZip(members.map { member in
            NPZEntry(name: member.name, header: member.header, dataCount: member.dataCount) {
                if let array = member.array, member.name.starts(with: Array(ExchangeMetadata.npzMember.utf8)) {
                    return array.bytes
                }
                return Self.bytes(of: member.array!, as: member.dtype)
            }
        }, size: size)
    }

    /// One member of a stored zip: its name, its `.npy` header, and its data, made when it is written.
    struct NPZEntry {
        let name: [UInt8]
        let header: [UInt8]
        let dataCount: Int
        let data: () -> [UInt8]
    }

    /// The size of a stored zip of `entries`, nil past what a zip without
    /// zip64 records holds (0xFFFF members, 4 GiB; 0xFFFF_FFFF itself is
    /// zip64's "see the extra field" sentinel).
    static func storedZipSize(_ entries: [(nameCount: Int, headerCount: Int, dataCount: Int)]) -> Int? {
        guard entries.count < 0xFFFF else { return nil }
        var size = 22
        for e in entries {
            let data = e.headerCount + e.dataCount
            guard data < 0xFFFF_FFFF, size < 0xFFFF_FFFF else { return nil }
            size += 30 + e.nameCount + data + 46 + e.nameCount
        }
        return size - 22 < 0xFFFF_FFFF ? size : nil
    }

    /// A zip of `entries`, stored (method 0), no flags, dated 1980-01-01
    /// 00:00: numpy's `np.savez` layout (Spec/cli.md, "Export"). `size` is
    /// `storedZipSize` of the entries.
    static func storedZip(_ entries: [NPZEntry], size: Int) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(size)
        var central: [UInt8] = []
        func le16(_ v: Int, _ into: inout [UInt8]) { into += [UInt8(v & 0xFF), UInt8((v >> 8) & 0xFF)] }
        func le32(_ v: Int, _ into: inout [UInt8]) { for k in 0..<4 { into.append(UInt8((v >> (8 * k)) & 0xFF)) } }
        for member in entries {
            let data = member.data()
            let crc = data.withUnsafeBytes { CRC32.update(member.header.withUnsafeBytes { CRC32.update(0, $0) }, $0) }
            let length = member.header.count + data.count
            let offset = out.count
            // Stored (method 0), no flags, 1980-01-01 00:00.
            func fields(_ into: inout [UInt8]) {
                le16(20, &into); le16(0, &into); le16(0, &into); le16(0, &into); le16(0x21, &into)
                le32(Int(crc), &into); le32(length, &into); le32(length, &into); le16(member.name.count, &into); le16(0, &into)
            }
            le32(0x0403_4B50, &out); fields(&out); out += member.name
            out += member.header
            out += data
            le32(0x0201_4B50, &central); le16(20, &central); fields(&central)
            le16(0, &central); le16(0, &central); le16(0, &central); le32(0, &central); le32(offset, &central)
            central += member.name
        }
        let directoryOffset = out.count
        out += central
        le32(0x0605_4B50, &out); le16(0, &out); le16(0, &out); le16(entries.count, &out); le16(entries.count, &out)
        le32(central.count, &out); le32(directoryOffset, &out); le16(0, &out)
        assert(out.count == size)
        return out
    }

    // MARK: - safetensors

    static func safetensorsName(_ dtype: DType) -> String {
        switch dtype {
        case .f16: "F16"
        case .bf16: "BF16"
        case .f32: "F32"
        case .f64: "F64"
        }
    }

    /// The header (padded with spaces to a multiple of 8 bytes) and the
    /// tensors in data order: by element size, largest first, then by name,
    /// so that every tensor starts at a multiple of its element size.
    private func safetensorsHeader(dtype: DType?) throws -> ([UInt8], [(array: ImportedArray, dtype: DType, byteCount: Int)]) {
        let order = arrays.map { array -> (array: ImportedArray, dtype: DType, byteCount: Int) in
            let target = Self.exportDType(of: array, format: .safetensors, dtype: dtype)
            return (array, target, array.elementCount * target.size)
        }.sorted { a, b in
            a.dtype.size != b.dtype.size ? a.dtype.size > b.dtype.size : Array(a.array.name.utf8).lexicographicallyPrecedes(Array(b.array.name.utf8))
        }
        var members: [(key: String, json: String)] = []
        var offset = 0
        for item in order {
            let shape = "[" + item.array.shape.map(String.init).joined(separator: ",") + "]"
            members.append((item.array.name, "{\"dtype\":\"\(Self.safetensorsName(item.dtype))\",\"shape\":\(shape),\"data_offsets\":[\(offset),\(offset + item.byteCount)]}"))
            offset += item.byteCount
        }
        let metadata = ExchangeMetadata.map(of: self).map { (key: $0.key, json: JSONText.string($0.value)) }
        members.append(("__metadata__", JSONText.object(metadata)))
        var header = Array(JSONText.object(members).utf8)
        header += [UInt8](repeating: 0x20, count: (8 - header.count % 8) % 8)
        guard UInt64(header.count) <= SafetensorsReader.maxHeaderLength else {
            throw ModelError.unexportable(format: "safetensors", detail: "a header of \(header.count) bytes, more than the format's \(SafetensorsReader.maxHeaderLength)")
        }
        return (header, order)
    }

    private func safetensorsBytes(dtype: DType?) throws -> [UInt8] {
        let (header, order) = try safetensorsHeader(dtype: dtype)
        var out: [UInt8] = []
        out.reserveCapacity(order.reduce(8 + header.count) { $0 + $1.byteCount })
        let length = UInt64(header.count)
        for k in 0..<8 { out.append(UInt8((length >> (8 * UInt64(k))) & 0xFF)) }
        out += header
        for item in order { out += Self.bytes(of: item.array, as: item.dtype) }
        return out
    }
}

extension ModelArrays {
    /// From an imported file (`ArrayImporter.readFile(path:memoryBudget:)`):
    /// the arrays as `init(arrays:constants:)` takes them, and the file's
    /// metadata map read as `ExchangeMetadata` describes — the constants,
    /// context length, vocabulary and user metadata an export wrote, and
    /// any other key K as string metadata `FORMAT.K` (`safetensors.K`,
    /// `npz.K`).
    public init(file: ImportedFile) throws {
        let parts = try ExchangeMetadata.parts(of: file.metadata, foreignPrefix: file.format.rawValue + ".")
        try self.init(arrays: file.arrays, constants: parts.constants)
        if let vocabulary = parts.vocabulary {
            guard vocabulary.count == hyperparameters.vocabSize else {
                throw ModelError.vocabulary("\(vocabulary.count) tokens, but vocab_size is \(hyperparameters.vocabSize)")
            }
            self.vocabulary = vocabulary
        }
        contextLength = parts.contextLength
        metadata = parts.metadata
    }
}
