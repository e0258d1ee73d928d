import CoordinationCore
import Jute
import Logging
import NIOCore
import ZooKeeperWire

/// One client connection: turns frames into handshake / request calls on the engine. Lives on the engine's loop.
final class ZooKeeperConnectionHandler: ChannelInboundHandler {
    typealias InboundIn = InboundServerFrame

    private let engine: ServerEngine
    private var id: ConnectionID?
    private var handshaken = false

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
        case .frame(var frame):
            if !handshaken {
                handshaken = true
                do {
                    let request = try ConnectRequest(juteFrom: &frame)
                    engine.handshake(id, request)
                } catch {
                    engine.logger.warning("Malformed handshake, closing connection", metadata: ["connection": "\(id)", "error": "\(error)"])
                    context.close(promise: nil)
                }
                return
            }
            guard let xid = frame.readInteger(endianness: .big, as: Int32.self),
                let type = frame.readInteger(endianness: .big, as: Int32.self)
            else {
                engine.logger.warning("Request shorter than its header, closing connection", metadata: ["connection": "\(id)"])
                context.close(promise: nil)
                return
            }
            do {
                let request = try ZooKeeperRequest.decode(opCode: type, from: &frame, allowTrailingBytes: true)
                engine.request(id, xid: xid, request: request)
            } catch {
                engine.undecodable(id, xid: xid, error: error)
            }
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        engine.endOfBatch()
        context.fireChannelReadComplete()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        engine.logger.warning(
            "Closing connection after a protocol error",
            metadata: ["connection": "\(id.map { "\($0)" } ?? "-")", "error": "\(error)"])
        context.close(promise: nil)
    }
}
