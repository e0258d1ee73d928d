import Jute
import NIOCore
import Testing
import ZooKeeperWire

/// Bytes from a hex string; spaces are ignored.
func hex(_ s: String) -> [UInt8] {
    let digits = s.filter { !$0.isWhitespace }.utf8.map { c -> UInt8 in
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
        default: fatalError("bad hex digit \(c)")
        }
    }
    precondition(digits.count % 2 == 0)
    return stride(from: 0, to: digits.count, by: 2).map { digits[$0] << 4 | digits[$0 + 1] }
}

func buffer(_ bytes: [UInt8]) -> ByteBuffer { ByteBuffer(bytes: bytes) }

func bytes(_ buffer: ByteBuffer) -> [UInt8] { Array(buffer.readableBytesView) }

/// The bytes of a length-prefixed frame with `payload`.
func framed(_ payload: [UInt8]) -> [UInt8] {
    let n = UInt32(payload.count)
    return [UInt8(n >> 24), UInt8(n >> 16 & 0xff), UInt8(n >> 8 & 0xff), UInt8(n & 0xff)] + payload
}

func encoded<R: JuteRecord>(_ r: R) -> [UInt8] { bytes(r.juteBytes()) }

/// Encodes, decodes back (consuming every byte), and checks that every strict prefix fails as truncated.
func checkRoundTrip<R: JuteRecord & Equatable>(
    _ record: R, sourceLocation: SourceLocation = #_sourceLocation
) {
    let data = encoded(record)
    #expect(throws: Never.self, sourceLocation: sourceLocation) {
        let back = try R.decodeWhole(buffer(data))
        #expect(back == record, sourceLocation: sourceLocation)
    }
    for cut in 0..<data.count {
        var partial = buffer(Array(data[..<cut]))
        #expect(throws: JuteError.self, "prefix of \(cut) bytes", sourceLocation: sourceLocation) {
            _ = try R(juteFrom: &partial)
        }
    }
}
