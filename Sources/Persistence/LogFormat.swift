import NIOCore

/// The on-disk format of transaction log files. All integers are big-endian.
///
/// ```
/// file   := fileHeader record*
/// fileHeader (16 bytes):
///   magic     UInt32  0x5A524C47 ("ZRLG")
///   version   UInt32  1
///   baseZxid  Int64   zxid of the first record, equal to the hex suffix of the file name
/// record (16-byte header + payload):
///   crc       UInt32  CRC-32C of the 12 header bytes that follow and of the payload
///   length    UInt32  payload length in bytes
///   zxid      Int64
///   payload   [length bytes]
/// ```
enum LogFormat {
    static let magic: UInt32 = 0x5A52_4C47
    static let version: UInt32 = 1
    static let fileHeaderSize = 16
    static let recordHeaderSize = 16
    static let filePrefix = "log."

    static func fileName(firstZxid: Int64) -> String {
        filePrefix + String(firstZxid, radix: 16)
    }

    /// Parses `log.<hex>`; nil for anything else (temporary files, other tools' files).
    static func parseFileName(_ name: String) -> Int64? {
        parseHexSuffix(name, prefix: filePrefix)
    }

    static func parseHexSuffix(_ name: String, prefix: String) -> Int64? {
        guard name.hasPrefix(prefix) else { return nil }
        let hex = name.dropFirst(prefix.count)
        guard !hex.isEmpty, hex.count <= 16,
              hex.utf8.allSatisfy({ ($0 >= 48 && $0 <= 57) || ($0 >= 97 && $0 <= 102) || ($0 >= 65 && $0 <= 70) }),
              let value = UInt64(hex, radix: 16), value <= UInt64(Int64.max)
        else { return nil }
        return Int64(value)
    }

    static func appendFileHeader(baseZxid: Int64, to out: inout [UInt8]) {
        out.appendBigEndian(magic)
        out.appendBigEndian(version)
        out.appendBigEndian(UInt64(bitPattern: baseZxid))
    }

    /// Encodes one record at the end of `out`.
    static func appendRecord(zxid: Int64, payload: ByteBuffer, to out: inout [UInt8]) {
        let start = out.count
        out.appendBigEndian(UInt32(0))
        out.appendBigEndian(UInt32(payload.readableBytes))
        out.appendBigEndian(UInt64(bitPattern: zxid))
        payload.withUnsafeReadableBytes { out.append(contentsOf: $0) }
        out.withUnsafeMutableBytes { bytes in
            let crc = CRC32C.checksum(UnsafeRawBufferPointer(rebasing: bytes[(start + 4)...]))
            bytes.storeBytes(of: crc.bigEndian, toByteOffset: start, as: UInt32.self)
        }
    }

    enum Parsed {
        case record(zxid: Int64, payloadOffset: Int, length: Int)
        case bad(reason: String)
    }

    /// Parses the record starting at `offset` of `bytes`.
    static func parseRecord(_ bytes: UnsafeRawBufferPointer, at offset: Int, maxRecordSize: Int) -> Parsed {
        let remaining = bytes.count - offset
        if remaining < recordHeaderSize {
            return .bad(reason: "incomplete record header (\(remaining) of \(recordHeaderSize) bytes)")
        }
        let storedCRC = bytes.loadBigEndianUInt32(at: offset)
        let length = Int(bytes.loadBigEndianUInt32(at: offset + 4))
        let zxid = Int64(bitPattern: bytes.loadBigEndianUInt64(at: offset + 8))
        if length > maxRecordSize {
            return .bad(reason: "impossible record length \(length) (maximum \(maxRecordSize))")
        }
        if remaining - recordHeaderSize < length {
            return .bad(reason: "incomplete payload (\(remaining - recordHeaderSize) of \(length) bytes)")
        }
        let computed = CRC32C.checksum(
            UnsafeRawBufferPointer(rebasing: bytes[(offset + 4)..<(offset + recordHeaderSize + length)])
        )
        if computed != storedCRC {
            return .bad(reason: "checksum mismatch (stored \(hex(storedCRC)), computed \(hex(computed))) for record of zxid \(hex(zxid)) length \(length)")
        }
        return .record(zxid: zxid, payloadOffset: offset + recordHeaderSize, length: length)
    }

    /// Looks for a well-formed record (plausible length, matching checksum, zxid above `previousZxid`) starting
    /// anywhere in `range`. Used to tell a torn tail (nothing valid follows) from corruption in the middle.
    static func findValidRecord(
        _ bytes: UnsafeRawBufferPointer,
        in range: Range<Int>,
        previousZxid: Int64?,
        maxRecordSize: Int
    ) -> Int? {
        var offset = range.lowerBound
        let end = min(range.upperBound, bytes.count - recordHeaderSize + 1)
        while offset < end {
            defer { offset += 1 }
            let length = Int(bytes.loadBigEndianUInt32(at: offset + 4))
            guard length <= maxRecordSize, length <= bytes.count - offset - recordHeaderSize else { continue }
            let zxid = Int64(bitPattern: bytes.loadBigEndianUInt64(at: offset + 8))
            guard zxid >= 0, previousZxid.map({ zxid > $0 }) ?? true else { continue }
            if case .record = parseRecord(bytes, at: offset, maxRecordSize: maxRecordSize) { return offset }
        }
        return nil
    }

    static func hex<T: BinaryInteger>(_ value: T) -> String { "0x" + String(value, radix: 16) }
}

extension Array where Element == UInt8 {
    @inline(__always)
    mutating func appendBigEndian<T: FixedWidthInteger>(_ value: T) {
        Swift.withUnsafeBytes(of: value.bigEndian) { append(contentsOf: $0) }
    }
}

extension UnsafeRawBufferPointer {
    @inline(__always)
    func loadBigEndianUInt32(at offset: Int) -> UInt32 {
        UInt32(bigEndian: loadUnaligned(fromByteOffset: offset, as: UInt32.self))
    }

    @inline(__always)
    func loadBigEndianUInt64(at offset: Int) -> UInt64 {
        UInt64(bigEndian: loadUnaligned(fromByteOffset: offset, as: UInt64.self))
    }
}
