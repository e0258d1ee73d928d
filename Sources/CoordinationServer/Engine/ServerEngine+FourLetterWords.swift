import CoordinationCore
import NIOCore

extension ServerEngine {
    /// Answers a four-letter word and closes the connection.
    func fourLetterWord(_ word: String, connection id: ConnectionID) {
        guard let c = connections[id] else { return }
        let text: String
        if word == "ruok" { text = "imok" } else { text = "\(word) is not executed because it is not in the whitelist.\n" }
        var buffer = c.channel.allocator.buffer(capacity: text.utf8.count)
        buffer.writeString(text)
        let channel = c.channel
        channel.writeAndFlush(buffer).whenComplete { _ in channel.close(promise: nil) }
    }
}
