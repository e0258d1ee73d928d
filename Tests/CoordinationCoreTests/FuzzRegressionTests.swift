import NIOCore
import Testing

@testable import CoordinationCore

/// Inputs that the fuzz targets (Fuzz/, Scripts/fuzz.sh) found to crash, kept as regression tests; each is also in
/// the target's seed corpus (Fuzz/Corpus/<target>/crash-*).
@Suite struct FuzzRegressionTests {
    static func buffer(hex: String) -> ByteBuffer {
        var bytes: [UInt8] = []
        var high: UInt8?
        for c in hex.utf8 {
            let v = c <= UInt8(ascii: "9") ? c - UInt8(ascii: "0") : c - UInt8(ascii: "a") + 10
            if let h = high { bytes.append(h << 4 | v); high = nil } else { high = v }
        }
        return ByteBufferAllocator().buffer(bytes: bytes)
    }

    /// FuzzRecovery (Fuzz/Corpus/FuzzRecovery/crash-snapshot-huge-node-count): a snapshot body whose node count
    /// (0x09080000) is far beyond its bytes sized the path index for it before reading a node, a 16 GiB allocation.
    /// It is refused as malformed now.
    @Test func snapshotWithHugeNodeCountIsRefused() {
        var b = Self.buffer(hex: """
        5a52534e00000001000000000000000b0000000000000002000000010000001f00000005776f726c6400000006616e796f6e
        65000000012300000100000005776f726c6400000006616e796f7a6e6500000908000000012f000000000000000000000000
        000000000000000000000000000000000000000000000000ffffffffffffff15000000000000000000000004000000000000
        000000000000000000000000000a0000000a2f7a6f6f6b656570657200000000000000000000000000000000000000000000
        0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000010
        2f7a6f6f6b65657065722f71756f746100000000000700000500000000000000000000000500000000000000050000018bcf
        e568280000018bcfe568280000000000000000000000008000000100000000000002008be5cf68003f000000000000000000
        00000000000005000000022f74000000010600000000000000000000000600000000000000060000018bcfe568320000018b
        cfe56832000000400000000000000000ff0000000000ea600000000000000006
        """.replacingOccurrences(of: "\n", with: "").replacingOccurrences(of: " ", with: ""))
        #expect(throws: SnapshotError.self) { try CoordinationState(snapshot: &b) }
    }

    /// The same, made by hand: a valid header, no sessions, no ACL lists, and Int32.max nodes that are not there.
    @Test func snapshotNodeCountBeyondItsBytesIsRefused() {
        var b = ByteBufferAllocator().buffer(capacity: 64)
        b.writeInteger(CoordinationState.snapshotMagic)
        b.writeInteger(CoordinationState.snapshotVersion)
        b.writeInteger(Int64(5))
        b.writeInteger(Int32(0))
        b.writeInteger(Int32(0))
        b.writeInteger(Int32.max)
        b.writeBytes([UInt8](repeating: 0, count: 40))
        #expect(throws: SnapshotError.self) { try CoordinationState(snapshot: &b) }
    }
}
