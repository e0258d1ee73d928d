import CoordinationCore
import Logging
import NIOCore
import ZooKeeperWire

/// One client connection: hands frames, read bursts and writability changes to the engine, which decides
/// everything (the handshake comes first, then requests: see `ServerEngineStateMachine.frameReceived`). Lives on
/// the engine's loop.
final class ZooKeeperConnectionHandler: ChannelInboundHandler {
    typealias InboundIn = InboundServerFrame

    private let engine: ServerEngine
    private var id: ConnectionID?

    init(engine: ServerEngine) {
        self.engine = engine
    }

    func channelActive(context: ChannelHandlerContext) {
        id = engine.open(channel: context.channel)
        if id == nil { context.close(promise: nil) }
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        if let id { engine.closed(id) }
        id = nil
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard let id else { return }
        switch unwrapInboundIn(data) {
        case .fourLetterWord(let word):
            engine.fourLetterWord(word, connection: id)
        case .frame(let frame):
            engine.frame(id, frame)
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        engine.endOfBatch()
        context.fireChannelReadComplete()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if let id { engine.writabilityChanged(id, writable: context.channel.isWritable) }
        context.fireChannelWritabilityChanged()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        engine.logger.warning(
            "Closing connection after a protocol error",
            metadata: ["connection": "\(id.map { "\($0)" } ?? "-")", "error": "\(error)"])
        context.close(promise: nil)
    }
}
