import NIOCore

/// What the server side of a connection receives: a four-letter word, or a frame.
public enum InboundServerFrame: Sendable, Hashable {
    /// The connection opened with a known four-letter word (`ruok`, `srvr`, ...). Nothing follows it.
    case fourLetterWord(String)
    /// A frame payload, without its length.
    case frame(ByteBuffer)
}

/// The server's frame decoder: like `ZooKeeperFrameDecoder`, except that the first 4 bytes of a connection may
/// spell a four-letter word instead of a length (ZooKeeper compares the first length read, as an int, with its
/// known commands). Such a word is emitted as `.fourLetterWord` and every byte after it is discarded, since the
/// server answers and closes.
///
/// Which words count is the caller's choice (`knownFourLetterWords`): ZooKeeper recognises every command it
/// knows here and applies its whitelist when answering.
public struct ZooKeeperServerFrameDecoder: NIOSingleStepByteToMessageDecoder {
    public typealias InboundOut = InboundServerFrame

    @usableFromInline
    enum State: Sendable {
        case start
        case frames
        case fourLetterWordSeen
    }

    public var maxFrameLength: Int
    public let knownFourLetterWords: Set<String>
    @usableFromInline
    var state: State = .start

    public init(
        maxFrameLength: Int = ZooKeeperFrameDecoder.defaultMaxFrameLength, knownFourLetterWords: Set<String>
    ) {
        self.maxFrameLength = maxFrameLength
        self.knownFourLetterWords = knownFourLetterWords
    }

    public mutating func decode(buffer: inout ByteBuffer) throws -> InboundServerFrame? {
        switch state {
        case .start:
            guard let bytes = buffer.getBytes(at: buffer.readerIndex, length: 4) else { return nil }
            state = .frames
            if bytes.allSatisfy({ $0 >= 0x20 && $0 < 0x7f }) {
                let word = String(decoding: bytes, as: UTF8.self)
                if knownFourLetterWords.contains(word) {
                    state = .fourLetterWordSeen
                    buffer.moveReaderIndex(forwardBy: 4)
                    return .fourLetterWord(word)
                }
            }
            return try decode(buffer: &buffer)
        case .frames:
            return try ZooKeeperFrameDecoder.readFrame(from: &buffer, maxFrameLength: maxFrameLength)
                .map { .frame($0) }
        case .fourLetterWordSeen:
            buffer.moveReaderIndex(to: buffer.writerIndex)
            return nil
        }
    }

    public mutating func decodeLast(buffer: inout ByteBuffer, seenEOF: Bool) throws -> InboundServerFrame? {
        try decode(buffer: &buffer)
    }
}
