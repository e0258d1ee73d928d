import NIOCore
import Testing
import TestKit
import ZooKeeperWire

@testable import ZooKeeperClient

// Step-by-step transcripts of the pure connection state machine: inputs in, actions out, time injected.

private let serverA = ServerAddress(host: "a", port: 2181)
private let serverB = ServerAddress(host: "b", port: 2181)
private let password: [UInt8] = Array(1...16)
private let start = NIODeadline.uptimeNanoseconds(1_000_000_000)

/// A ConnectResponse frame (no reply header, no length prefix).
private func connectResponse(timeOut: Int32 = 9000, sessionId: Int64 = 0x55, passwd: [UInt8] = password) -> ByteBuffer {
    ConnectResponse(protocolVersion: 0, timeOut: timeOut, sessionId: sessionId, passwd: passwd, readOnly: false)
        .juteBytes()
}

/// A reply frame (no length prefix); the body goes only when err is 0.
private func reply(xid: Int32, zxid: Int64 = 0, err: ErrorCode = .ok, _ response: ZooKeeperResponse = .empty) -> ByteBuffer {
    var buffer = ByteBuffer()
    ReplyHeader(xid: xid, zxid: zxid, err: err.rawValue).juteEncode(into: &buffer)
    if err == .ok { response.encodeBody(into: &buffer) }
    return buffer
}

private func notification(_ type: EventType, _ path: String) -> ByteBuffer {
    var buffer = ByteBuffer()
    ReplyHeader(xid: -1, zxid: -1, err: 0).juteEncode(into: &buffer)
    WatcherEvent(type: type, state: .syncConnected, path: path).juteEncode(into: &buffer)
    return buffer
}

private let stat = Stat(
    czxid: 1, mzxid: 2, ctime: 3, mtime: 4, version: 5, cversion: 6, aversion: 7, ephemeralOwner: 0, dataLength: 1,
    numChildren: 0, pzxid: 8)

private func request(_ xid: Int32, _ request: ZooKeeperRequest, _ connection: ConnectionID) -> ConnectionStateMachine.Action {
    .send(.request(RequestFrame(xid: xid, request: request)), connection)
}

private func sends(_ actions: [ConnectionStateMachine.Action]) -> [RequestFrame] {
    actions.compactMap {
        if case .send(.request(let frame), _) = $0 { return frame }
        return nil
    }
}

/// Drives a machine through start, TCP connect and handshake.
private struct Harness {
    var machine: ConnectionStateMachine
    var now = start

    init(servers: [ServerAddress] = [serverA], chroot: String? = nil, timeout: TimeAmount = .seconds(9), seed: UInt64 = 1) {
        machine = ConnectionStateMachine(
            configuration: .init(servers: servers, chroot: chroot, sessionTimeout: timeout, randomSeed: seed))
    }

    mutating func advance(_ amount: TimeAmount) { now = now + amount }

    /// Returns the connection id of the `.connect` action among `actions`.
    func connectAction(_ actions: [ConnectionStateMachine.Action]) -> ConnectionID? {
        for action in actions { if case .connect(_, let id, _) = action { return id } }
        return nil
    }

    /// Opens connection `id` and answers the handshake; returns the actions of the answer.
    mutating func handshake(
        _ id: ConnectionID, response: ByteBuffer = connectResponse()
    ) -> [ConnectionStateMachine.Action] {
        let active = machine.channelActive(id, now: now)
        #expect(active.count == 1)
        return machine.frameReceived(id, response, now: now)
    }

    /// start + handshake of a new session; returns the connection id.
    mutating func connect() -> ConnectionID {
        let id = connectAction(machine.start(now: now))!
        let actions = handshake(id)
        #expect(actions.contains(.stateChanged(.connected)))
        return id
    }
}

@Suite struct ConnectionStateMachineTests {
    @Test func handshakeSendsConnectRequestAndReportsConnected() {
        var h = Harness()
        let started = h.machine.start(now: h.now)
        let c1 = ConnectionID(rawValue: 1)
        #expect(started == [.connect(serverA, c1, timeout: .seconds(9)), .scheduleTimer(start + .seconds(9))])
        #expect(h.machine.start(now: h.now) == [])

        let active = h.machine.channelActive(c1, now: h.now)
        #expect(
            active == [
                .send(
                    .connect(
                        ConnectRequest(
                            protocolVersion: 0, lastZxidSeen: 0, timeOut: 9000, sessionId: 0,
                            passwd: [UInt8](repeating: 0, count: 16), readOnly: false)), c1)
            ])

        h.advance(.milliseconds(5))
        let answered = h.machine.frameReceived(c1, connectResponse(timeOut: 6000), now: h.now)
        // Negotiated 6 s: ping after 2 s of idle sending, read timeout after 4 s of silence.
        #expect(answered == [.stateChanged(.connected), .scheduleTimer(h.now + .seconds(2))])
        #expect(h.machine.sessionID == 0x55)
        #expect(h.machine.password == password)
        #expect(h.machine.negotiatedTimeout == .seconds(6))
        #expect(h.machine.pingInterval == .seconds(2))
        #expect(h.machine.readTimeout == .seconds(4))
        // A timer firing early only reschedules.
        let fired = h.machine.timerFired(now: h.now)
        #expect(fired == [.scheduleTimer(h.now + .seconds(2))])
    }

    @Test func requestsArePipelinedAndRepliesMatchedInOrder() {
        var h = Harness()
        let c = h.connect()
        var sent: [RequestFrame] = []
        for (id, path) in [(RequestID(1), "/a"), (2, "/b"), (3, "/c")] {
            sent += sends(h.machine.submit(id, .getData(GetDataRequest(path: path, watch: false)), now: h.now))
        }
        #expect(sent.map(\.header.xid) == [1, 2, 3])
        #expect(h.machine.pendingCount == 3)

        let data = ZooKeeperResponse.getData(GetDataResponse(data: [7], stat: stat))
        #expect(h.machine.frameReceived(c, reply(xid: 1, zxid: 10, data), now: h.now) == [.succeed(1, data)])
        #expect(
            h.machine.frameReceived(c, reply(xid: 2, zxid: 11, err: .noNode), now: h.now)
                == [.fail(2, ZooKeeperError(code: .noNode, path: "/b"))])
        #expect(h.machine.frameReceived(c, reply(xid: 3, zxid: 0, data), now: h.now) == [.succeed(3, data)])
        #expect(h.machine.lastZxidSeen == 11)  // zxid 0 does not move it
        #expect(h.machine.pendingCount == 0)
    }

    @Test func outOfOrderReplyDropsTheConnection() {
        var h = Harness(servers: [serverA, serverB])
        let c = h.connect()
        _ = h.machine.submit(1, .exists(ExistsRequest(path: "/a", watch: false)), now: h.now)
        _ = h.machine.submit(2, .exists(ExistsRequest(path: "/b", watch: false)), now: h.now)
        let actions = h.machine.frameReceived(c, reply(xid: 2, err: .noNode), now: h.now)
        #expect(actions.contains(.warning(.protocolError("reply xid 2 out of order, expected 1"), c)))
        #expect(actions.contains(.closeConnection(c)))
        #expect(actions.contains(.fail(1, ZooKeeperError(code: .connectionLoss, path: "/a"))))
        #expect(actions.contains(.fail(2, ZooKeeperError(code: .connectionLoss, path: "/b"))))
        #expect(actions.contains(.stateChanged(.suspended)))
        #expect(h.connectAction(actions) == ConnectionID(rawValue: 2))
    }

    @Test func pingsWhenIdleAndReconnectsWhenTheServerIsSilent() {
        var h = Harness(servers: [serverA, serverB])
        let c = h.connect()  // negotiated 9 s: ping every 3 s, read timeout 6 s
        _ = h.machine.timerFired(now: h.now)
        h.advance(.seconds(3))
        let ping = h.machine.timerFired(now: h.now)
        #expect(ping == [request(-2, .ping, c), .scheduleTimer(start + .seconds(6))])
        h.advance(.milliseconds(1))
        #expect(h.machine.frameReceived(c, reply(xid: -2), now: h.now) == [])

        // Silence: the next ping goes out at 6 s; nothing comes back; at 3.001 + 6 s the connection is dropped.
        h.advance(.seconds(3) - .milliseconds(1))
        #expect(sends(h.machine.timerFired(now: h.now)) == [RequestFrame(xid: -2, request: .ping)])
        _ = h.machine.submit(9, .sync(SyncRequest(path: "/x")), now: h.now)
        h.advance(.milliseconds(3001))
        let lost = h.machine.timerFired(now: h.now)
        #expect(lost.first == .warning(.readTimeout, c))
        #expect(lost.contains(.closeConnection(c)))
        #expect(lost.contains(.fail(9, ZooKeeperError(code: .connectionLoss, path: "/x"))))
        #expect(lost.contains(.stateChanged(.suspended)))
        #expect(h.connectAction(lost) != nil)
    }

    @Test func reconnectResendsSessionAuthAndWatchesThenQueuedRequests() {
        var h = Harness(chroot: "/app")
        let c1 = h.connect()
        let w1 = WatcherID(rawValue: 1), w2 = WatcherID(rawValue: 2), w3 = WatcherID(rawValue: 3)
        let w4 = WatcherID(rawValue: 4)
        _ = h.machine.addAuth(100, scheme: "digest", auth: Array("u:p".utf8), now: h.now)
        #expect(h.machine.frameReceived(c1, reply(xid: -4), now: h.now) == [.succeed(100, .empty)])
        _ = h.machine.submit(1, .getData(GetDataRequest(path: "/app/d", watch: true)), watch: .data(w1), now: h.now)
        _ = h.machine.submit(2, .exists(ExistsRequest(path: "/app/e", watch: true)), watch: .exists(w2), now: h.now)
        _ = h.machine.submit(3, .getChildren2(GetChildren2Request(path: "/app", watch: true)), watch: .children(w3), now: h.now)
        _ = h.machine.submit(4, .addWatch(AddWatchRequest(path: "/app/r", mode: 1)), watch: .persistentRecursive(w4), now: h.now)
        _ = h.machine.frameReceived(c1, reply(xid: 1, zxid: 20, .getData(GetDataResponse(data: nil, stat: stat))), now: h.now)
        _ = h.machine.frameReceived(c1, reply(xid: 2, zxid: 21, err: .noNode), now: h.now)
        _ = h.machine.frameReceived(c1, reply(xid: 3, zxid: 22, .getChildren2(GetChildren2Response(children: [], stat: stat))), now: h.now)
        _ = h.machine.frameReceived(c1, reply(xid: 4, zxid: 23, .addWatch), now: h.now)
        #expect(h.machine.watches.paths(.data) == ["/app/d"])
        #expect(h.machine.watches.paths(.exist) == ["/app/e"])

        // The connection drops; a request made meanwhile waits for the next connection.
        let lost = h.machine.channelInactive(c1, now: h.now)
        #expect(lost.contains(.stateChanged(.suspended)))
        let c2 = h.connectAction(lost)!
        #expect(h.machine.submit(5, .sync(SyncRequest(path: "/app")), now: h.now).isEmpty)
        #expect(h.machine.queuedCount == 1)

        let active = h.machine.channelActive(c2, now: h.now)
        #expect(
            active == [
                .send(
                    .connect(
                        ConnectRequest(
                            protocolVersion: 0, lastZxidSeen: 23, timeOut: 9000, sessionId: 0x55, passwd: password,
                            readOnly: false)), c2)
            ])
        let answered = h.machine.frameReceived(c2, connectResponse(), now: h.now)
        #expect(
            answered == [
                .stateChanged(.reconnected),
                request(-4, .auth(AuthPacket(type: 0, scheme: "digest", auth: Array("u:p".utf8))), c2),
                request(
                    -8,
                    .setWatches2(
                        SetWatches2(
                            relativeZxid: 23, dataWatches: ["/app/d"], existWatches: ["/app/e"], childWatches: ["/app"],
                            persistentWatches: [], persistentRecursiveWatches: ["/app/r"])), c2),
                request(5, .sync(SyncRequest(path: "/app")), c2),
            ])
        // Replies: auth, setWatches, then the sync; events still reach the watchers, with the chroot removed.
        #expect(h.machine.frameReceived(c2, reply(xid: -4), now: h.now) == [])
        #expect(h.machine.frameReceived(c2, reply(xid: -8, zxid: 23), now: h.now) == [])
        #expect(
            h.machine.frameReceived(c2, reply(xid: 5, zxid: 23, .sync(SyncResponse(path: "/app"))), now: h.now)
                == [.succeed(5, .sync(SyncResponse(path: "/app")))])
        #expect(
            h.machine.frameReceived(c2, notification(.nodeCreated, "/app/e"), now: h.now)
                == [.deliver(WatchEvent(type: .nodeCreated, path: "/e"), to: [w2])])
        #expect(
            h.machine.frameReceived(c2, notification(.nodeDataChanged, "/app/r/x/y"), now: h.now)
                == [.deliver(WatchEvent(type: .nodeDataChanged, path: "/r/x/y"), to: [w4])])
        #expect(
            h.machine.frameReceived(c2, notification(.nodeDeleted, "/app/d"), now: h.now)
                == [.deliver(WatchEvent(type: .nodeDeleted, path: "/d"), to: [w1])])
        #expect(
            h.machine.frameReceived(c2, notification(.nodeChildrenChanged, "/app"), now: h.now)
                == [.deliver(WatchEvent(type: .nodeChildrenChanged, path: "/"), to: [w3])])
        // One-shot watches are gone; the recursive one stays.
        #expect(h.machine.frameReceived(c2, notification(.nodeDeleted, "/app/d"), now: h.now) == [])
        #expect(h.machine.watches.allWatchers == [w4])
    }

    @Test func setWatchesWithoutPersistentWatchesUsesTheOldOpcode() {
        var h = Harness()
        let c1 = h.connect()
        let w = WatcherID(rawValue: 1)
        _ = h.machine.submit(1, .getData(GetDataRequest(path: "/d", watch: true)), watch: .data(w), now: h.now)
        _ = h.machine.frameReceived(c1, reply(xid: 1, zxid: 5, .getData(GetDataResponse(data: nil, stat: stat))), now: h.now)
        let c2 = h.connectAction(h.machine.channelInactive(c1, now: h.now))!
        let answered = h.handshake(c2)
        #expect(
            sends(answered) == [
                RequestFrame(
                    xid: -8,
                    request: .setWatches(SetWatches(relativeZxid: 5, dataWatches: ["/d"], existWatches: [], childWatches: [])))
            ])
    }

    @Test func setWatchesIsSplitInBatches() {
        var h = Harness()
        let c1 = h.connect()
        let long = String(repeating: "x", count: 1000)
        for i in 0..<300 {
            let w = WatcherID(rawValue: UInt64(i + 1))
            let path = "/\(long)\(i)"
            _ = h.machine.submit(RequestID(i + 1), .exists(ExistsRequest(path: path, watch: true)), watch: .exists(w), now: h.now)
            _ = h.machine.frameReceived(c1, reply(xid: Int32(i + 1), err: .noNode), now: h.now)
        }
        let c2 = h.connectAction(h.machine.channelInactive(c1, now: h.now))!
        let frames = sends(h.handshake(c2))
        #expect(frames.count == 3)  // ~301 KB of paths in batches of at most 128 KiB
        var total = 0
        for frame in frames {
            guard case .setWatches(let sw) = frame.request else {
                Issue.record("not setWatches")
                continue
            }
            #expect(sw.existWatches.reduce(0) { $0 + $1.utf8.count } <= 128 * 1024)
            total += sw.existWatches.count
        }
        #expect(total == 300)
    }

    @Test func expiredSessionFailsEverythingUntilANewSession() {
        var h = Harness()
        let c1 = h.connect()
        let w = WatcherID(rawValue: 7)
        _ = h.machine.submit(1, .getData(GetDataRequest(path: "/d", watch: true)), watch: .data(w), now: h.now)
        _ = h.machine.frameReceived(c1, reply(xid: 1, zxid: 5, .getData(GetDataResponse(data: nil, stat: stat))), now: h.now)
        let c2 = h.connectAction(h.machine.channelInactive(c1, now: h.now))!
        _ = h.machine.submit(2, .sync(SyncRequest(path: "/")), now: h.now)

        let answered = h.handshake(c2, response: connectResponse(timeOut: 0, sessionId: 0, passwd: Array(repeating: 0, count: 16)))
        #expect(
            answered == [
                .closeConnection(c2),
                .fail(2, ZooKeeperError(code: .sessionExpired, path: "/")),
                .endWatchers([w], .sessionExpired),
                .stateChanged(.expired),
            ])
        #expect(h.machine.isExpired)
        #expect(
            h.machine.submit(3, .exists(ExistsRequest(path: "/a", watch: false)), now: h.now)
                == [.fail(3, ZooKeeperError(code: .sessionExpired, path: "/a"))])
        #expect(h.machine.timerFired(now: h.now + .seconds(60)) == [])  // no silent reconnect

        let restarted = h.machine.startNewSession(now: h.now)
        let c3 = h.connectAction(restarted)!
        let active = h.machine.channelActive(c3, now: h.now)
        #expect(
            active == [
                .send(
                    .connect(
                        ConnectRequest(
                            protocolVersion: 0, lastZxidSeen: 0, timeOut: 9000, sessionId: 0,
                            passwd: Array(repeating: 0, count: 16), readOnly: false)), c3)
            ])
        let fresh = h.machine.frameReceived(c3, connectResponse(sessionId: 0x66), now: h.now)
        #expect(fresh == [.stateChanged(.connected), .scheduleTimer(start + .seconds(3))])
        #expect(h.machine.sessionID == 0x66)
    }

    @Test func anotherSessionIDOnReconnectIsTreatedAsExpiry() {
        var h = Harness()
        let c1 = h.connect()
        let c2 = h.connectAction(h.machine.channelInactive(c1, now: h.now))!
        let answered = h.handshake(c2, response: connectResponse(sessionId: 0x99))
        #expect(answered.first == .warning(.sessionIDChanged, c2))
        #expect(answered.contains(.stateChanged(.expired)))
    }

    @Test func failedAttemptsRotateServersThenBackOff() {
        var h = Harness(servers: [serverA, serverB], timeout: .seconds(10))
        let c1 = h.connectAction(h.machine.start(now: h.now))!
        // Held requests fail with connectionLoss when the attempt they waited for fails (as ClientCnxn does).
        _ = h.machine.submit(1, .sync(SyncRequest(path: "/")), now: h.now)
        let second = h.machine.connectFailed(c1, now: h.now)
        #expect(second.first == .fail(1, ZooKeeperError(code: .connectionLoss, path: "/")))
        guard case .connect(let other, let c2, let timeout) = second[1] else {
            Issue.record("expected a connect, got \(second)")
            return
        }
        #expect(timeout == .seconds(5))  // session timeout / number of servers
        #expect(c2 == ConnectionID(rawValue: 2))
        let round = h.machine.connectFailed(c2, now: h.now)
        // Both servers failed: wait (10 ms with jitter: between 5 and 10 ms).
        guard case .scheduleTimer(let at) = round.last, round.count == 1 else {
            Issue.record("expected a backoff, got \(round)")
            return
        }
        #expect(at >= h.now + .milliseconds(5) && at <= h.now + .milliseconds(10))
        #expect(h.machine.timerFired(now: at - .milliseconds(1)) == [.scheduleTimer(at)])
        let retry = h.machine.timerFired(now: at)
        guard case .connect(let third, _, _)? = retry.first else {
            Issue.record("expected a connect, got \(retry)")
            return
        }
        #expect(third != other)
        #expect(h.machine.backoff(round: 2) == .milliseconds(20))
        #expect(h.machine.backoff(round: 8) == .seconds(1))
        #expect(h.machine.backoff(round: 100) == .seconds(1))
    }

    @Test func requestsMadeDuringTheBackoffWaitForTheNextAttempt() {
        var h = Harness()
        let c1 = h.connectAction(h.machine.start(now: h.now))!
        let backoff = h.machine.connectFailed(c1, now: h.now)  // one server: a full round failed
        guard case .scheduleTimer(let at) = backoff.last, backoff.count == 1 else {
            Issue.record("expected a backoff, got \(backoff)")
            return
        }
        #expect(h.machine.submit(1, .sync(SyncRequest(path: "/")), now: h.now) == [])
        #expect(h.machine.addAuth(2, scheme: "digest", auth: Array("u:p".utf8), now: h.now) == [])
        #expect(h.machine.queuedCount == 1)
        let c2 = h.connectAction(h.machine.timerFired(now: at))!
        #expect(h.machine.queuedCount == 1)
        let answered = h.handshake(c2)
        #expect(answered.first == .stateChanged(.connected))
        #expect(
            sends(answered) == [
                RequestFrame(xid: -4, request: .auth(AuthPacket(type: 0, scheme: "digest", auth: Array("u:p".utf8)))),
                RequestFrame(xid: 1, request: .sync(SyncRequest(path: "/"))),
            ])
        #expect(h.machine.queuedCount == 0)
        #expect(h.machine.pendingCount == 1)
        #expect(h.machine.auth.inFlightCount == 1)
        #expect(h.machine.frameReceived(c2, reply(xid: -4), now: h.now) == [.succeed(2, .empty)])
    }

    @Test func handshakeTimeoutTriesTheNextServer() {
        var h = Harness(servers: [serverA, serverB], timeout: .seconds(4))
        let c1 = h.connectAction(h.machine.start(now: h.now))!
        _ = h.machine.channelActive(c1, now: h.now)
        h.advance(.seconds(2))
        let actions = h.machine.timerFired(now: h.now)
        #expect(actions.prefix(2) == [.warning(.handshakeTimeout, c1), .closeConnection(c1)])
        #expect(h.connectAction(actions) == ConnectionID(rawValue: 2))
        // A late event from the abandoned connection is ignored, and a late open is closed.
        #expect(h.machine.frameReceived(c1, connectResponse(), now: h.now) == [])
        #expect(h.machine.channelActive(c1, now: h.now) == [.closeConnection(c1)])
    }

    @Test func closeSendsCloseSessionAndWaitsForTheReply() {
        var h = Harness()
        let c = h.connect()
        _ = h.machine.submit(1, .sync(SyncRequest(path: "/")), now: h.now)
        let closing = h.machine.close(now: h.now)
        #expect(closing.first == request(2, .closeSession, c))
        #expect(
            h.machine.submit(3, .sync(SyncRequest(path: "/")), now: h.now)
                == [.fail(3, ZooKeeperError(code: .sessionExpired, path: "/", message: "the client is closed"))])
        // The earlier request is still answered, then closeSession.
        #expect(
            h.machine.frameReceived(c, reply(xid: 1, .sync(SyncResponse(path: "/"))), now: h.now)
                == [.succeed(1, .sync(SyncResponse(path: "/")))])
        #expect(h.machine.frameReceived(c, reply(xid: 2), now: h.now) == [.closeConnection(c), .stateChanged(.closed)])
        #expect(h.machine.isClosed)
        #expect(h.machine.close(now: h.now) == [])
    }

    @Test func closeGivesUpAfterTheCloseTimeout() {
        var h = Harness()
        let c = h.connect()
        let w = WatcherID(rawValue: 1)
        _ = h.machine.submit(1, .addWatch(AddWatchRequest(path: "/p", mode: 0)), watch: .persistent(w), now: h.now)
        _ = h.machine.frameReceived(c, reply(xid: 1, .addWatch), now: h.now)
        _ = h.machine.close(now: h.now)
        h.advance(.seconds(6))  // two thirds of 9 s
        #expect(
            h.machine.timerFired(now: h.now)
                == [.closeConnection(c), .endWatchers([w], nil), .stateChanged(.closed)])
    }

    @Test func closeWhileDisconnectedIsImmediate() {
        var h = Harness()
        let c1 = h.connectAction(h.machine.start(now: h.now))!
        _ = h.machine.submit(1, .sync(SyncRequest(path: "/")), now: h.now)
        #expect(
            h.machine.close(now: h.now) == [
                .closeConnection(c1),
                .fail(1, ZooKeeperError(code: .sessionExpired, path: "/", message: "the client is closed")),
                .stateChanged(.closed),
            ])
    }

    @Test func refusedAuthIsNotResent() {
        var h = Harness()
        let c1 = h.connect()
        _ = h.machine.addAuth(1, scheme: "digest", auth: Array("bad".utf8), now: h.now)
        let refused = h.machine.frameReceived(c1, reply(xid: -4, err: .authFailed), now: h.now)
        #expect(refused == [.warning(.authFailed(scheme: "digest", .authFailed), c1), .fail(1, .authFailed)])
        let c2 = h.connectAction(h.machine.channelInactive(c1, now: h.now))!
        #expect(sends(h.handshake(c2)).isEmpty)
    }

    @Test func authAddedWhileDisconnectedIsSentOnConnect() {
        var h = Harness()
        let c1 = h.connectAction(h.machine.addAuth(1, scheme: "digest", auth: Array("u:p".utf8), now: h.now))!
        let answered = h.handshake(c1)
        #expect(sends(answered) == [RequestFrame(xid: -4, request: .auth(AuthPacket(type: 0, scheme: "digest", auth: Array("u:p".utf8))))])
        #expect(h.machine.frameReceived(c1, reply(xid: -4), now: h.now) == [.succeed(1, .empty)])
    }

    @Test func existsWatchOnAMissingNodeBecomesAnExistWatch() {
        var h = Harness()
        let c = h.connect()
        let w = WatcherID(rawValue: 1)
        let failed = h.machine.submit(1, .exists(ExistsRequest(path: "/n", watch: true)), watch: .exists(w), now: h.now)
        #expect(sends(failed).count == 1)
        #expect(h.machine.frameReceived(c, reply(xid: 1, err: .noNode), now: h.now) == [.fail(1, ZooKeeperError(code: .noNode, path: "/n"))])
        #expect(h.machine.isRegistered(w))
        // A failed getData sets no watch.
        let w2 = WatcherID(rawValue: 2)
        _ = h.machine.submit(2, .getData(GetDataRequest(path: "/n", watch: true)), watch: .data(w2), now: h.now)
        _ = h.machine.frameReceived(c, reply(xid: 2, err: .noNode), now: h.now)
        #expect(!h.machine.isRegistered(w2))
        #expect(
            h.machine.frameReceived(c, notification(.nodeCreated, "/n"), now: h.now)
                == [.deliver(WatchEvent(type: .nodeCreated, path: "/n"), to: [w])])
    }

    @Test func recursiveWatchesSkipChildEventsAndPersistentOnesStay() {
        var h = Harness()
        let c = h.connect()
        let recursive = WatcherID(rawValue: 1), persistent = WatcherID(rawValue: 2), child = WatcherID(rawValue: 3)
        _ = h.machine.submit(1, .addWatch(AddWatchRequest(path: "/", mode: 1)), watch: .persistentRecursive(recursive), now: h.now)
        _ = h.machine.submit(2, .addWatch(AddWatchRequest(path: "/a", mode: 0)), watch: .persistent(persistent), now: h.now)
        _ = h.machine.submit(3, .getChildren(GetChildrenRequest(path: "/a", watch: true)), watch: .children(child), now: h.now)
        _ = h.machine.frameReceived(c, reply(xid: 1, .addWatch), now: h.now)
        _ = h.machine.frameReceived(c, reply(xid: 2, .addWatch), now: h.now)
        _ = h.machine.frameReceived(c, reply(xid: 3, .getChildren(GetChildrenResponse(children: []))), now: h.now)
        #expect(
            h.machine.frameReceived(c, notification(.nodeChildrenChanged, "/a"), now: h.now)
                == [.deliver(WatchEvent(type: .nodeChildrenChanged, path: "/a"), to: [persistent, child])])
        #expect(
            h.machine.frameReceived(c, notification(.nodeCreated, "/a/b"), now: h.now)
                == [.deliver(WatchEvent(type: .nodeCreated, path: "/a/b"), to: [recursive])])
        #expect(
            h.machine.frameReceived(c, notification(.nodeDataChanged, "/a"), now: h.now)
                == [.deliver(WatchEvent(type: .nodeDataChanged, path: "/a"), to: [recursive, persistent])])
        #expect(h.machine.frameReceived(c, notification(.nodeChildrenChanged, "/a"), now: h.now).count == 1)
    }

    @Test func droppingTheLastPersistentWatcherRemovesTheServerWatch() {
        var h = Harness()
        let c = h.connect()
        let a = WatcherID(rawValue: 1), b = WatcherID(rawValue: 2)
        _ = h.machine.submit(1, .addWatch(AddWatchRequest(path: "/p", mode: 1)), watch: .persistentRecursive(a), now: h.now)
        _ = h.machine.submit(2, .addWatch(AddWatchRequest(path: "/p", mode: 1)), watch: .persistentRecursive(b), now: h.now)
        _ = h.machine.frameReceived(c, reply(xid: 1, .addWatch), now: h.now)
        _ = h.machine.frameReceived(c, reply(xid: 2, .addWatch), now: h.now)
        #expect(h.machine.removeWatcher(a, now: h.now) == [])
        #expect(
            h.machine.removeWatcher(b, now: h.now)
                == [request(3, .removeWatches(RemoveWatchesRequest(path: "/p", type: 3)), c)])
        #expect(h.machine.frameReceived(c, reply(xid: 3, err: .noWatcher), now: h.now) == [])
        #expect(h.machine.removeWatcher(b, now: h.now) == [])
    }

    @Test func removeWatchesTellsTheRemovedWatchers() {
        var h = Harness()
        let c = h.connect()
        let data = WatcherID(rawValue: 1), stream = WatcherID(rawValue: 2)
        _ = h.machine.submit(1, .getData(GetDataRequest(path: "/p", watch: true)), watch: .data(data), now: h.now)
        _ = h.machine.submit(2, .addWatch(AddWatchRequest(path: "/p", mode: 0)), watch: .persistent(stream), now: h.now)
        _ = h.machine.frameReceived(c, reply(xid: 1, .getData(GetDataResponse(data: nil, stat: stat))), now: h.now)
        _ = h.machine.frameReceived(c, reply(xid: 2, .addWatch), now: h.now)
        _ = h.machine.submit(
            3, .removeWatches(RemoveWatchesRequest(path: "/p", type: 3)), effect: .removeWatches(path: "/p", type: .any),
            now: h.now)
        #expect(
            h.machine.frameReceived(c, reply(xid: 3), now: h.now) == [
                .deliver(WatchEvent(type: .dataWatchRemoved, path: "/p"), to: [data]),
                .deliver(WatchEvent(type: .persistentWatchRemoved, path: "/p"), to: [stream]),
                .endWatchers([stream], nil),
                .succeed(3, .empty),
            ])
        #expect(h.machine.watches.isEmpty)
    }

    @Test func malformedFramesDropTheConnection() {
        var h = Harness()
        let c1 = h.connectAction(h.machine.start(now: h.now))!
        _ = h.machine.channelActive(c1, now: h.now)
        let bad = h.machine.frameReceived(c1, ByteBuffer(bytes: [0, 0]), now: h.now)
        #expect(bad.contains(.closeConnection(c1)))
        #expect(!bad.contains(.stateChanged(.suspended)))  // never connected: nothing to suspend
    }
}

@Suite struct PathAndConnectStringTests {
    @Test func parsesConnectStrings() throws {
        let parsed = try ConnectString(parsing: "zk1:2181, zk2 ,[::1]:2182/app/one")
        #expect(
            parsed.servers == [
                ServerAddress(host: "zk1", port: 2181), ServerAddress(host: "zk2", port: 2181),
                ServerAddress(host: "::1", port: 2182),
            ])
        #expect(parsed.chroot == "/app/one")
        #expect(try ConnectString(parsing: "127.0.0.1:2181/").chroot == nil)
        #expect(throws: ZooKeeperError.self) { try ConnectString(parsing: "") }
        #expect(throws: ZooKeeperError.self) { try ConnectString(parsing: "host:99999") }
        #expect(throws: ZooKeeperError.self) { try ConnectString(parsing: "host:1/bad/") }
    }

    @Test func validatesPaths() throws {
        for good in ["/", "/a", "/a/b", "/a-b_c.d", "/zookeeper/config"] { try ZNodePath.validate(good) }
        for bad in ["", "a", "/a/", "//a", "/a//b", "/./a", "/a/..", "/a\u{0}b", "/a\u{1}"] {
            #expect(throws: ZooKeeperError.self, "\(bad)") { try ZNodePath.validate(bad) }
        }
        try ZNodePath.validate("/jobs/job-", isSequential: true)
        try ZNodePath.validate("/jobs/", isSequential: true)
    }

    @Test func chrootArithmetic() {
        #expect(ZNodePath.serverPath("/", chroot: "/app") == "/app")
        #expect(ZNodePath.serverPath("/a", chroot: "/app") == "/app/a")
        #expect(ZNodePath.clientPath("/app", chroot: "/app") == "/")
        #expect(ZNodePath.clientPath("/app/a/b", chroot: "/app") == "/a/b")
        #expect(ZNodePath.clientPath("/apple", chroot: "/app") == "/apple")
        #expect(ZNodePath.selfAndAncestors("/a/b/c") == ["/a/b/c", "/a/b", "/a", "/"])
        #expect(ZNodePath.selfAndAncestors("/") == ["/"])
    }

    @Test func errorsMatchByCode() {
        let error: any Error = ZooKeeperError(code: .noNode, path: "/x")
        switch error {
        case ZooKeeperError.nodeExists: Issue.record("matched the wrong code")
        case ZooKeeperError.noNode: break
        default: Issue.record("did not match")
        }
    }

    @Test func multiBuilderCollectsOperations() {
        let extra = true
        let ops = build {
            ZooKeeperOperation.create("/a")
            if extra { ZooKeeperOperation.delete("/b") }
            for i in 0..<2 { ZooKeeperOperation.check("/c\(i)", version: 1) }
        }
        #expect(ops == [.create("/a"), .delete("/b"), .check("/c0", version: 1), .check("/c1", version: 1)])
    }

    private func build(@MultiBuilder _ body: () -> [ZooKeeperOperation]) -> [ZooKeeperOperation] { body() }
}
