@testable import EtcdClient
import NIOCore
import NIOEmbedded
import Testing

@Suite struct PingAnswererTests {
    func frame(type: UInt8, flags: UInt8 = 0, stream: UInt32 = 0, payload: [UInt8]) -> [UInt8] {
        let n = payload.count
        return [UInt8(n >> 16 & 0xFF), UInt8(n >> 8 & 0xFF), UInt8(n & 0xFF), type, flags,
                UInt8(stream >> 24), UInt8(stream >> 16 & 0xFF), UInt8(stream >> 8 & 0xFF), UInt8(stream & 0xFF)] + payload
    }

    /// Feeds `bytes` in reads of `chunk` bytes; returns what passed on and what was written back.
    func run(_ bytes: [UInt8], chunk: Int) throws -> (passed: [UInt8], written: [UInt8], answered: Int) {
        let handler = PingAnswerer()
        let channel = EmbeddedChannel(handler: handler)
        var i = 0
        while i < bytes.count {
            let piece = bytes[i..<min(i + chunk, bytes.count)]
            try channel.writeInbound(channel.allocator.buffer(bytes: piece))
            i += chunk
        }
        var passed: [UInt8] = []
        while let b = try channel.readInbound(as: ByteBuffer.self) { passed += Array(b.readableBytesView) }
        var written: [UInt8] = []
        while let b = try channel.readOutbound(as: ByteBuffer.self) { written += Array(b.readableBytesView) }
        return (passed, written, handler.answered)
    }

    @Test(arguments: [1, 2, 7, 9, 16, 17, 100, 4096])
    func answersPingsAndPassesEverythingElseWhateverTheReadSizes(chunk: Int) throws {
        let settings = frame(type: 0x4, payload: [0, 3, 0, 0, 0, 100])
        let data = frame(type: 0x0, flags: 0x1, stream: 1, payload: Array(repeating: 7, count: 300))
        let ping1 = frame(type: 0x6, payload: [1, 2, 3, 4, 5, 6, 7, 8])
        let pingAck = frame(type: 0x6, flags: 0x1, payload: [9, 9, 9, 9, 9, 9, 9, 9])  // the answer to our own PING
        let headers = frame(type: 0x1, flags: 0x4, stream: 3, payload: [0x88])
        let ping2 = frame(type: 0x6, payload: [8, 7, 6, 5, 4, 3, 2, 1])
        let stream = settings + ping1 + data + pingAck + ping2 + headers
        let (passed, written, answered) = try run(stream, chunk: chunk)
        #expect(passed == settings + data + pingAck + headers)
        #expect(written == frame(type: 0x6, flags: 0x1, payload: [1, 2, 3, 4, 5, 6, 7, 8])
            + frame(type: 0x6, flags: 0x1, payload: [8, 7, 6, 5, 4, 3, 2, 1]))
        #expect(answered == 2)
    }

    @Test func aMalformedPingIsLeftToTheHTTP2Handler() throws {
        let bad = frame(type: 0x6, payload: [1, 2, 3])  // PING payloads are 8 bytes: a connection error upstream
        let (passed, written, _) = try run(bad, chunk: 64)
        #expect(passed == bad)
        #expect(written.isEmpty)
    }
}
