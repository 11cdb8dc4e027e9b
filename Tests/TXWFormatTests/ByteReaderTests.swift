import Testing
import TXWFormat

/// The one reader and writer of little-endian fields (`package` API of TXWFormat,
/// shared with the importers in TXWModel).
struct ByteReaderTests {
    /// A fault type that keeps the `ByteFault` as it is, to check the reader's own reports.
    struct Fault: ByteReadFailure, Equatable {
        let fault: ByteFault
        init(_ fault: ByteFault) { self.fault = fault }
    }

    static let bytes: [UInt8] = [0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0A]

    @Test func integersInBothByteOrders() throws {
        try Self.bytes.withUnsafeBytes { raw throws in
            let r = ByteReader<Fault>(raw, base: 100)
            #expect(try r.getInteger(at: 0, as: UInt8.self, "a") == 0x01)
            #expect(try r.getInteger(at: 1, as: UInt16.self, "a") == 0x0302)
            #expect(try r.getInteger(at: 1, endianness: .big, as: UInt16.self, "a") == 0x0203)
            #expect(try r.getInteger(at: 2, as: UInt32.self, "a") == 0x0605_0403)
            #expect(try r.getInteger(at: 2, as: UInt64.self, "a") == 0x0A09_0807_0605_0403)
            #expect(try r.getInteger(at: 2, endianness: .big, as: UInt64.self, "a") == 0x0304_0506_0708_090A)
            #expect(try r.getInteger(at: 0, as: Int16.self, "a") == 0x0201)
        }
        try ([0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFE] as [UInt8]).withUnsafeBytes { raw throws in
            #expect(try ByteReader<Fault>(raw).getInteger(at: 0, as: Int64.self, "a") == Int64(bitPattern: 0xFEFF_FFFF_FFFF_FFFF))
        }
    }

    @Test func sequentialReadsAdvanceAndReportFileOffsets() throws {
        try Self.bytes.withUnsafeBytes { raw throws in
            var r = ByteReader<Fault>(raw, base: 64)
            #expect(r.offset == 64 && r.readableBytes == 10)
            #expect(try r.readInteger(as: UInt16.self, "a") == 0x0201)
            #expect(r.offset == 66 && r.readerIndex == 2 && r.readableBytes == 8)
            let slice = try r.readSlice(length: 3, "b")
            #expect(slice.base == 66 && slice.count == 3 && slice.readerIndex == 0)
            #expect(try slice.getInteger(at: 1, as: UInt16.self, "c") == 0x0504)
            #expect(try r.readInteger(as: UInt8.self, "d") == 0x06)
            #expect(r.offset == 70)
            // A failed read does not move the reader.
            #expect(throws: Fault(.outOfBounds(what: "e", offset: 70, needed: 8, available: 4, region: "region"))) {
                try r.readInteger(as: UInt64.self, "e")
            }
            #expect(r.offset == 70)
            #expect(try r.readInteger(as: UInt32.self, "f") == 0x0A09_0807)
            #expect(r.readableBytes == 0)
        }
    }

    /// Offsets and lengths from a file may be anything: the reader refuses
    /// them with a fault, never traps on arithmetic or indexing.
    @Test func hostileOffsetsAndLengthsAreFaultsNotTraps() throws {
        try Self.bytes.withUnsafeBytes { raw throws in
            let r = ByteReader<Fault>(raw, base: 1000, region: "manifest")
            let cases: [(index: Int, length: Int, offset: Int, available: Int)] = [
                (10, 1, 1010, 0),
                (11, 0, 1011, 0),
                (4, 7, 1004, 6),
                (Int.max, 1, Int.max, 0),  // base + index saturates in the message
                (Int.max - 4, Int.max, Int.max, 0),
                (-1, 2, 999, 0),
                (Int.min, 1, Int.min + 1000, 0),
                (2, -1, 1002, 8),
                (0, Int.max, 1000, 10),
            ]
            for c in cases {
                #expect(throws: Fault(.outOfBounds(what: "f", offset: c.offset, needed: c.length, available: c.available, region: "manifest"))) {
                    _ = try r.getSlice(at: c.index, length: c.length, "f")
                }
            }
            #expect(try r.getSlice(at: 10, length: 0, "empty").count == 0)
            #expect(r.matches([0x09, 0x0A], at: 8) && !r.matches([0x09, 0x0A, 0], at: 8) && !r.matches([0x09], at: Int.max))
            // A slice's reads check against the slice, and report file offsets.
            let slice = try r.getSlice(at: 8, length: 2, "s")
            #expect(throws: Fault(.outOfBounds(what: "g", offset: 1009, needed: 2, available: 1, region: "manifest"))) {
                _ = try slice.getInteger(at: 1, as: UInt16.self, "g")
            }
        }
    }

    @Test func stringsMustBeUTF8() throws {
        try ([0x68, 0x69, 0xC3, 0xA9, 0xFF, 0x41] as [UInt8]).withUnsafeBytes { raw throws in
            var r = ByteReader<Fault>(raw, base: 8)
            #expect(try r.readString(length: 4, "name") == "hié")
            #expect(throws: Fault(.invalidUTF8(what: "bad", offset: 12))) { try r.readString(length: 2, "bad") }
        }
    }

    @Test func checkedArithmeticThrowsOnOverflow() throws {
        #expect(try Checked<Fault>.add(2, 3, "x", offset: 7) == 5)
        #expect(try Checked<Fault>.multiply(-4, 3, "x", offset: 7) == -12)
        #expect(throws: Fault(.overflow(what: "x", offset: 7, expression: "\(Int.max) + 1"))) {
            try Checked<Fault>.add(Int.max, 1, "x", offset: 7)
        }
        #expect(throws: Fault(.overflow(what: "y", offset: 9, expression: "\(1 << 40) × \(1 << 40)"))) {
            try Checked<Fault>.multiply(1 << 40, 1 << 40, "y", offset: 9)
        }
    }

    /// The container's reader keeps the messages the conformance set states.
    @Test func formatFaultsAreFormatErrors() {
        #expect(TXWFormatError(.outOfBounds(what: "tensor_count", offset: 80, needed: 4, available: 1, region: "manifest"))
            == .malformedManifest(what: "tensor_count", offset: 80, detail: "needs 4 bytes but the manifest has 1 left"))
        #expect(TXWFormatError(.invalidUTF8(what: "key", offset: 70)) == .invalidUTF8(what: "key", offset: 70))
        #expect(TXWFormatError(.overflow(what: "n", offset: 5, expression: "a + b"))
            == .limit(what: "n", offset: 5, value: "a + b", limit: "\(Int.max)"))
    }

    @Test func writerIsTheReadersInverse() throws {
        var w = ByteWriter()
        w.writeInteger(UInt8(0xAB))
        w.writeInteger(UInt16(0x0102))
        w.writeInteger(UInt32(0x0304_0506), endianness: .big)
        w.writeInteger(Int64(-2))
        w.writeBytes("hé".utf8)
        #expect(w.bytes == [0xAB, 0x02, 0x01, 0x03, 0x04, 0x05, 0x06, 0xFE, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x68, 0xC3, 0xA9])
        try w.bytes.withUnsafeBytes { raw throws in
            var r = ByteReader<Fault>(raw)
            #expect(try r.readInteger(as: UInt8.self, "") == 0xAB)
            #expect(try r.readInteger(as: UInt16.self, "") == 0x0102)
            #expect(try r.readInteger(endianness: .big, as: UInt32.self, "") == 0x0304_0506)
            #expect(try r.readInteger(as: Int64.self, "") == -2)
            #expect(try r.readString(length: 3, "") == "hé")
        }
    }

    @Test func hexIsLowercaseAndPaddedToTheTypesWidth() {
        #expect(Hex.digits(UInt8(0x0A)) == "0a")
        #expect(Hex.literal(UInt8(0)) == "0x00")
        #expect(Hex.literal(UInt32(0xBEEF)) == "0x0000beef")
        #expect(Hex.literal(UInt64(0xC0FFEE)) == "0x0000000000c0ffee")
        #expect(Hex.digits(UInt64.max) == "ffffffffffffffff")
        #expect(Hex.bytes([0x89, 0x54, 0x0D, 0x00]) == "89 54 0d 00")
        #expect(Hex.bytes([UInt8]()) == "")
    }
}
