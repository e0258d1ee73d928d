import CoordinationCore
import Logging
import NIOCore
import NIOSSL
import NIOTLS
import ZooKeeperWire

/// One client connection: hands frames, read bursts and writability changes to the engine, which decides
/// everything (the handshake comes first, then requests: see `ServerEngineStateMachine.frameReceived`). Lives on
/// the engine's loop.
///
/// On `secureClientPort` (`tls` set) the connection is opened only once the TLS handshake completed, with the
/// client certificate's `x509` id (see `TLSConnectionIdentity`), as ZooKeeper's Netty factory does.
final class ZooKeeperConnectionHandler: ChannelInboundHandler {
    typealias InboundIn = InboundServerFrame

    private let engine: ServerEngine
    private let tls: TLSConnectionIdentity?
    private var id: ConnectionID?
    private var handshakeTimeout: Scheduled<Void>?

    init(engine: ServerEngine, tls: TLSConnectionIdentity? = nil) {
        self.engine = engine
        self.tls = tls
    }

    func channelActive(context: ChannelHandlerContext) {
        if let tls {
            let channel = context.channel
            let logger = engine.logger
            handshakeTimeout = context.eventLoop.scheduleTask(in: tls.handshakeTimeout) {
                logger.warning(
                    "Closing a TLS connection whose handshake did not complete in time",
                    metadata: ["client.address": "\(channel.remoteAddress.map { "\($0)" } ?? "-")"])
                channel.close(promise: nil)
            }
        } else {
            id = engine.open(channel: context.channel)
            if id == nil { context.close(promise: nil) }
        }
        context.fireChannelActive()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let tls, id == nil, case .handshakeCompleted = event as? TLSUserEvent {
            handshakeTimeout?.cancel()
            handshakeTimeout = nil
            switch tls.transportAuth(channel: context.channel, logger: engine.logger) {
            case .success(let ids):
                id = engine.open(channel: context.channel, transportAuth: ids)
                if id == nil { context.close(promise: nil) }
            case .failure:
                context.close(promise: nil)
            }
        }
        context.fireUserInboundEventTriggered(event)
    }

    func channelInactive(context: ChannelHandlerContext) {
        handshakeTimeout?.cancel()
        handshakeTimeout = nil
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
        if tls != nil, id != nil, case .uncleanShutdown = error as? NIOSSLError {
            // The client closed the socket without a TLS close_notify (kazoo does): an ordinary end.
            context.close(promise: nil)
            return
        }
        if tls != nil, id == nil, error is NIOSSLError || error is BoringSSLError {
            // A plaintext client on the TLS port, an untrusted certificate, a version or cipher mismatch.
            engine.logger.warning(
                "Closing a connection whose TLS handshake failed",
                metadata: [
                    "client.address": "\(context.channel.remoteAddress.map { "\($0)" } ?? "-")", "error": "\(error)",
                ])
            context.close(promise: nil)
            return
        }
        engine.logger.warning(
            "Closing connection after a protocol error",
            metadata: ["connection": "\(id.map { "\($0)" } ?? "-")", "error": "\(error)"])
        context.close(promise: nil)
    }
}
