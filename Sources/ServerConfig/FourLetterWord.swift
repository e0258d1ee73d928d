/// The four-letter words ZooKeeper 3.8 knows (`FourLetterCommands.cmd2String`).
///
/// A new connection whose first four bytes, read as the big-endian frame length, spell one of these words is
/// a command: the server writes the text of `FourLetterWordRenderer.render(_:snapshot:whitelisted:)` (in
/// CoordinationServer) and closes the connection. ZooKeeper checks this only before the connect request, and also
/// knows `0xfff4fffd` ("telnet close"), which runs nothing; the server can treat that as the invalid length it is.
public enum FourLetterWord: String, CaseIterable, Sendable, Hashable {
    /// Configuration: ports, directories and their sizes, tickTime, session timeout bounds.
    case conf
    /// Every connection with its full statistics.
    case cons
    /// Resets every connection's statistics ("Connection stats reset.").
    case crst
    /// Sizes of the snapshot and log directories.
    case dirs
    /// Sessions by expiry time, ephemeral nodes by session, connections by expiry time.
    case dump
    /// The environment: version, host, runtime, OS, user, memory.
    case envi
    /// The trace mask, as a decimal number.
    case gtmk
    /// The digest log, `zxid: digest` per line.
    case hash
    /// `rw`, or `ro` for a read-only server.
    case isro
    /// `zk_key<TAB>value` lines, scraped by monitoring tools.
    case mntr
    /// `imok`.
    case ruok
    /// Resets the server's statistics ("Server stats reset.").
    case srst
    /// Version, latency, packets, connections, outstanding requests, zxid, mode and node count.
    case srvr
    /// srvr plus the connections, briefly.
    case stat
    /// Sets the trace mask from the 8 bytes (a big-endian Int64) that follow the word, and prints it.
    case stmk
    /// Data watches by session.
    case wchc
    /// Data watches by path.
    case wchp
    /// A summary of data watches.
    case wchs

    /// The word read as the big-endian Int32 a frame length would be.
    public var code: Int32 {
        var value: UInt32 = 0
        for byte in rawValue.utf8 {
            value = value << 8 | UInt32(byte)
        }
        return Int32(bitPattern: value)
    }

    /// The word whose ``code`` this frame length is, if any.
    public init?(code: Int32) {
        let value = UInt32(bitPattern: code)
        let bytes = [24, 16, 8, 0].map { UInt8(truncatingIfNeeded: value >> UInt32($0)) }
        guard let word = FourLetterWord(rawValue: String(decoding: bytes, as: UTF8.self)) else { return nil }
        self = word
    }

    /// What the server must do besides writing the text, when the word is whitelisted.
    public enum SideEffect: Sendable, Hashable {
        /// Reset every connection's packet counts and latency statistics (`crst`).
        case resetConnectionStatistics
        /// Reset the server's latency, packet and response-size statistics (`srst`).
        case resetServerStatistics
        /// Read 8 more bytes, a big-endian Int64, and make it the trace mask before rendering (`stmk`).
        case setTraceMask
    }

    /// The side effect of the word, if any. Not performed for a word that is not whitelisted.
    public var sideEffect: SideEffect? {
        switch self {
        case .crst: .resetConnectionStatistics
        case .srst: .resetServerStatistics
        case .stmk: .setTraceMask
        default: nil
        }
    }

    /// ZooKeeper's answer to a known word that `4lw.commands.whitelist` does not enable (NIOServerCnxn,
    /// NettyServerCnxn): `"<word> is not executed because it is not in the whitelist.\n"`.
    public var notWhitelistedMessage: String {
        "\(rawValue) is not executed because it is not in the whitelist.\n"
    }

    /// A word in a whitelist that is not a four-letter word.
    public struct UnknownWord: Error, Sendable, Equatable {
        public var word: String
    }

    /// Reads a `4lw.commands.whitelist` value: words separated by commas, blanks around them ignored, empty
    /// entries skipped, `*` anywhere meaning every word. ZooKeeper silently ignores unknown words; zooreg
    /// rejects them so a typo does not go unnoticed. `srvr` is always answered whatever the whitelist says.
    public static func parseWhitelist(_ text: String) throws(UnknownWord) -> Set<FourLetterWord> {
        var words: Set<FourLetterWord> = []
        for item in text.split(separator: ",", omittingEmptySubsequences: false) {
            let word = String(item).trimmingBlanks()
            if word.isEmpty { continue }
            if word == "*" { return Set(allCases) }
            guard let known = FourLetterWord(rawValue: word) else { throw UnknownWord(word: word) }
            words.insert(known)
        }
        return words
    }
}
