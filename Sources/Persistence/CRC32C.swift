/// CRC-32C (Castagnoli, reflected polynomial `0x82F63B78`), the checksum used by iSCSI, ext4 and many logs.
///
/// Table driven, "slicing by 8": eight 256-entry tables let the loop consume eight bytes per step. Checksums can
/// be computed incrementally by passing the previous result as `initial`:
/// `CRC32C.checksum(b, initial: CRC32C.checksum(a)) == CRC32C.checksum(a + b)`.
public enum CRC32C {
    /// The reflected Castagnoli polynomial.
    public static let polynomial: UInt32 = 0x82F6_3B78

    /// `tables[k * 256 + i]`: table 0 is the classic byte-at-a-time table, table k advances k more zero bytes.
    private static let tables: [UInt32] = {
        var tables = [UInt32](repeating: 0, count: 8 * 256)
        for i in 0..<256 {
            var crc = UInt32(i)
            for _ in 0..<8 {
                crc = (crc & 1) != 0 ? (crc >> 1) ^ polynomial : crc >> 1
            }
            tables[i] = crc
        }
        for k in 1..<8 {
            for i in 0..<256 {
                let previous = tables[(k - 1) * 256 + i]
                tables[k * 256 + i] = (previous >> 8) ^ tables[Int(previous & 0xFF)]
            }
        }
        return tables
    }()

    /// Checksum of `bytes`, continuing from `initial` (the checksum of the preceding bytes, 0 for none).
    public static func checksum(_ bytes: UnsafeRawBufferPointer, initial: UInt32 = 0) -> UInt32 {
        var crc = ~initial
        tables.withUnsafeBufferPointer { t in
            guard var p = bytes.baseAddress else { return }
            var n = bytes.count
            while n >= 8 {
                let lo = p.loadUnaligned(as: UInt32.self).littleEndian ^ crc
                let hi = p.loadUnaligned(fromByteOffset: 4, as: UInt32.self).littleEndian
                crc = t[7 * 256 + Int(lo & 0xFF)]
                    ^ t[6 * 256 + Int((lo >> 8) & 0xFF)]
                    ^ t[5 * 256 + Int((lo >> 16) & 0xFF)]
                    ^ t[4 * 256 + Int(lo >> 24)]
                    ^ t[3 * 256 + Int(hi & 0xFF)]
                    ^ t[2 * 256 + Int((hi >> 8) & 0xFF)]
                    ^ t[1 * 256 + Int((hi >> 16) & 0xFF)]
                    ^ t[Int(hi >> 24)]
                p += 8
                n -= 8
            }
            while n > 0 {
                crc = (crc >> 8) ^ t[Int((crc ^ UInt32(p.load(as: UInt8.self))) & 0xFF)]
                p += 1
                n -= 1
            }
        }
        return ~crc
    }

    /// Checksum of a byte collection (convenience for tests and small inputs).
    public static func checksum<Bytes: Sequence<UInt8>>(_ bytes: Bytes, initial: UInt32 = 0) -> UInt32 {
        if let result = bytes.withContiguousStorageIfAvailable({ checksum(UnsafeRawBufferPointer($0), initial: initial) }) {
            return result
        }
        let array = Array(bytes)
        return array.withUnsafeBytes { checksum($0, initial: initial) }
    }
}
