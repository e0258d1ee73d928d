import NIOCore
import Testing
@testable import Jute

@Suite struct JutePrimitiveTests {
    @Test func intsAreBigEndian() throws {
        var b = ByteBuffer()
        b.writeJuteInt(0x0102_0304)
        b.writeJuteLong(-2)
        #expect(Array(b.readableBytesView) == [1, 2, 3, 4, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe])
        #expect(try b.readJuteInt() == 0x0102_0304)
        #expect(try b.readJuteLong() == -2)
    }

    @Test func nullBufferAndStringAreMinusOne() throws {
        var b = ByteBuffer()
        b.writeJuteBuffer(nil)
        b.writeJuteString(nil)
        #expect(Array(b.readableBytesView) == [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff])
        #expect(try b.readJuteBuffer() == nil)
        #expect(try b.readJuteString() == nil)
    }

    @Test func stringRoundTripsWithLengthPrefix() throws {
        var b = ByteBuffer()
        b.writeJuteString("/zk")
        #expect(Array(b.readableBytesView) == [0, 0, 0, 3, 0x2f, 0x7a, 0x6b])
        #expect(try b.readJuteString() == "/zk")
    }

    @Test func truncatedAndNegativeLengthsAreErrors() {
        var b = ByteBuffer(bytes: [0, 0, 0, 5, 1, 2])
        #expect(throws: JuteError.truncated(field: "buffer")) { try b.readJuteBuffer() }
        var n = ByteBuffer(bytes: [0xff, 0xff, 0xff, 0xfe])
        #expect(throws: JuteError.invalidLength(field: "buffer", length: -2)) { try n.readJuteBuffer() }
        var v = ByteBuffer(bytes: [0x7f, 0xff, 0xff, 0xff])
        #expect(throws: JuteError.self) { try v.readJuteVector { (b: inout ByteBuffer) throws(JuteError) in try b.readJuteInt() } }
    }
}
