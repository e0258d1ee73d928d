import NIOCore
import NIOEmbedded
import NIOTestUtils
import Testing
import ZooKeeperWire

private func b(_ bytes: [UInt8]) -> ByteBuffer { ByteBuffer(bytes: bytes) }

@Suite struct FrameDecoderTests {
    @Test func verifiedOnAnyChunking() throws {
        let ping = hex("fffffffe 0000000b")
        let create = hex("00000001 00000001 00000002 2f61 ffffffff 00000000 00000000")
        try ByteToMessageDecoderVerifier.verifyDecoder(
            inputOutputPairs: [
                (b(framed(ping)), [b(ping)]),
                (b(framed(ping) + framed(create) + framed([])), [b(ping), b(create), b([])]),
                (b(framed([UInt8](repeating: 7, count: 300))), [b([UInt8](repeating: 7, count: 300))]),
            ],
            decoderFactory: { ZooKeeperFrameDecoder() })
    }

    @Test func lengthsAreCheckedLikeZooKeeper() throws {
        var decoder = ZooKeeperFrameDecoder(maxFrameLength: 16)
        // Exactly the maximum is accepted.
        var exact = b(framed([UInt8](repeating: 1, count: 16)))
        #expect(try decoder.decode(buffer: &exact) == b([UInt8](repeating: 1, count: 16)))
        // One more is refused as soon as the length is read, before the payload arrives.
        var over = b(hex("00000011"))
        #expect(throws: WireError.frameTooLarge(17)) { _ = try decoder.decode(buffer: &over) }
        var negative = b(hex("ffffffff 00"))
        #expect(throws: WireError.negativeLength(-1)) { _ = try decoder.decode(buffer: &negative) }
        var huge = b(hex("7fffffff"))
        #expect(throws: WireError.frameTooLarge(Int(Int32.max))) { _ = try decoder.decode(buffer: &huge) }
        // An incomplete length or payload waits.
        var partial = b([0, 0, 0])
        #expect(try decoder.decode(buffer: &partial) == nil)
        #expect(partial.readableBytes == 3)
        var partialPayload = b(hex("00000004 0102"))
        #expect(try decoder.decode(buffer: &partialPayload) == nil)
        #expect(partialPayload.readableBytes == 6)
        #expect(ZooKeeperFrameDecoder().maxFrameLength == 0xfffff)
    }

    @Test func oversizeFrameClosesThePipelineWithAnError() throws {
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(ZooKeeperFrameDecoder(maxFrameLength: 0xfffff)))
        #expect(throws: WireError.frameTooLarge(0x100000)) { try channel.writeInbound(b(hex("00100000 00"))) }
        _ = try? channel.finish()
    }
}

@Suite struct ServerFrameDecoderTests {
    static let words: Set<String> = ["ruok", "srvr", "stat", "mntr", "conf", "cons", "envi", "wchs", "isro", "dump"]

    @Test func verifiedOnAnyChunking() throws {
        let connect = HandshakeGoldenTests.connectWithReadOnly
        let ping = hex("fffffffe 0000000b")
        // Frames after a first length that spells no word.
        try ByteToMessageDecoderVerifier.verifyDecoder(
            inputOutputPairs: [
                (b(framed(connect) + framed(ping)), [.frame(b(connect)), .frame(b(ping))]),
                (b(framed([])), [.frame(b([]))]),
            ],
            decoderFactory: { ZooKeeperServerFrameDecoder(knownFourLetterWords: Self.words) })
    }

    /// The verifier replays its inputs down one connection, and a word only counts first on a connection: feed
    /// words byte by byte (and all at once) through a fresh pipeline each time instead.
    @Test(arguments: ["ruok", "mntr\n", "srvr then anything"])
    func wordsOnAnyChunking(_ input: String) throws {
        let word = String(input.prefix(4))
        for chunk in [1, 2, 3, 4, 64] {
            let channel = EmbeddedChannel(
                handler: ByteToMessageHandler(ZooKeeperServerFrameDecoder(knownFourLetterWords: Self.words)))
            let bytes = Array(input.utf8)
            for start in stride(from: 0, to: bytes.count, by: chunk) {
                try channel.writeInbound(b(Array(bytes[start..<min(start + chunk, bytes.count)])))
            }
            #expect(try channel.readInbound(as: InboundServerFrame.self) == .fourLetterWord(word))
            #expect(try channel.readInbound(as: InboundServerFrame.self) == nil)
            #expect(try channel.finish().isClean)
        }
    }

    @Test func wordsOnlyAtTheStart() throws {
        var decoder = ZooKeeperServerFrameDecoder(maxFrameLength: 0xfffff, knownFourLetterWords: Self.words)
        let ping = hex("fffffffe 0000000b")
        var input = b(framed(ping) + Array("ruok".utf8))
        #expect(try decoder.decode(buffer: &input) == .frame(b(ping)))
        // "ruok" read as a length is 0x72756f6b, far above jute.maxbuffer.
        #expect(throws: WireError.frameTooLarge(0x7275_6f6b)) { _ = try decoder.decode(buffer: &input) }
    }

    @Test func unknownOrDisabledWordsAreLengths() throws {
        var decoder = ZooKeeperServerFrameDecoder(knownFourLetterWords: ["ruok"])
        var input = b(Array("stat".utf8))
        #expect(throws: WireError.frameTooLarge(0x7374_6174)) { _ = try decoder.decode(buffer: &input) }
        var short = ZooKeeperServerFrameDecoder(knownFourLetterWords: ["ruok"])
        var partialWord = b(Array("ruo".utf8))
        #expect(try short.decode(buffer: &partialWord) == nil)
        partialWord.writeString("k")
        #expect(try short.decode(buffer: &partialWord) == .fourLetterWord("ruok"))
        partialWord.writeString("more bytes")
        #expect(try short.decode(buffer: &partialWord) == nil)
        #expect(partialWord.readableBytes == 0)
    }
}

@Suite struct FrameWriterTests {
    @Test func prefixesTheLength() {
        var wire = ByteBuffer()
        _ = wire.writeZooKeeperFrame { $0.writeBytes(hex("fffffffe 0000000b")) }
        _ = wire.writeZooKeeperFrame { _ in }
        #expect(bytes(wire) == hex("00000008 fffffffe 0000000b 00000000"))
    }

    @Test func writerAndDecoderAgree() throws {
        let payloads: [[UInt8]] = [[], [1], [UInt8](repeating: 9, count: 1000)]
        var wire = ByteBuffer()
        for p in payloads { _ = wire.writeZooKeeperFrame { $0.writeBytes(p) } }
        var decoder = ZooKeeperFrameDecoder()
        var out: [[UInt8]] = []
        while let frame = try decoder.decode(buffer: &wire) { out.append(bytes(frame)) }
        #expect(out == payloads)
    }
}
