import Testing
import ZooKeeperWire

@testable import ZooKeeperClient

// The auth sub-machine of the client: credentials kept for the session, callers waiting for a connection, auth
// packets in flight.

private let userPass = Array("u:p".utf8)
private let other = Array("x:y".utf8)

private func packet(_ auth: [UInt8], scheme: String = "digest") -> AuthPacket {
    AuthPacket(type: 0, scheme: scheme, auth: auth)
}

@Suite struct AuthStateMachineTests {
    @Test func addedWhileDisconnectedWaitsAndGoesOutOnConnect() {
        var auth = AuthStateMachine()
        #expect(auth.addAuth(1, scheme: "digest", auth: userPass) == .wait)
        #expect(auth.addAuth(2, scheme: "digest", auth: userPass) == .wait)
        #expect(auth.addAuth(3, scheme: "digest", auth: other) == .wait)
        #expect(auth.credentials.map(\.auth) == [userPass, other])  // one per credential, in order
        #expect(auth.waitingCount == 3)
        #expect(auth.inFlightCount == 0)

        #expect(auth.connected() == [packet(userPass), packet(other)])
        #expect(auth.waitingCount == 0)
        #expect(auth.inFlightCount == 2)
        #expect(auth.replyReceived(err: 0) == .succeeded(waiters: [1, 2]))
        #expect(auth.replyReceived(err: 0) == .succeeded(waiters: [3]))
        #expect(auth.replyReceived(err: 0) == .unexpected)
    }

    @Test func addedWhileConnectedIsSentAtOnce() {
        var auth = AuthStateMachine()
        #expect(auth.connected() == [])
        #expect(auth.addAuth(1, scheme: "digest", auth: userPass) == .send(packet(userPass)))
        #expect(auth.addAuth(2, scheme: "digest", auth: userPass) == .send(packet(userPass)))
        #expect(auth.credentials.count == 1)
        #expect(auth.inFlightCount == 2)
        #expect(auth.replyReceived(err: 0) == .succeeded(waiters: [1]))
        #expect(auth.replyReceived(err: 0) == .succeeded(waiters: [2]))
    }

    @Test func everyCredentialIsResentOnEachConnection() {
        var auth = AuthStateMachine()
        _ = auth.connected()
        _ = auth.addAuth(1, scheme: "digest", auth: userPass)
        #expect(auth.replyReceived(err: 0) == .succeeded(waiters: [1]))
        #expect(auth.connectionClosed() == [])
        #expect(auth.connected() == [packet(userPass)])
        #expect(auth.replyReceived(err: 0) == .succeeded(waiters: []))
    }

    @Test func refusedCredentialIsForgotten() {
        var auth = AuthStateMachine()
        _ = auth.connected()
        _ = auth.addAuth(1, scheme: "digest", auth: userPass)
        _ = auth.addAuth(2, scheme: "ip", auth: other)
        #expect(
            auth.replyReceived(err: ErrorCode.authFailed.rawValue) == .failed(scheme: "digest", .authFailed, waiters: [1]))
        // An unknown code counts as authFailed.
        #expect(auth.replyReceived(err: 12345) == .failed(scheme: "ip", .authFailed, waiters: [2]))
        #expect(auth.credentials.isEmpty)
        _ = auth.connectionClosed()
        #expect(auth.connected() == [])
    }

    @Test func connectionLossFailsWhatIsInFlightAndKeepsTheCredentials() {
        var auth = AuthStateMachine()
        _ = auth.connected()
        _ = auth.addAuth(1, scheme: "digest", auth: userPass)
        #expect(auth.connectionClosed() == [1])
        #expect(auth.connectionClosed() == [])  // nothing more without a connection
        #expect(auth.inFlightCount == 0)
        #expect(auth.replyReceived(err: 0) == .unexpected)
        #expect(auth.addAuth(2, scheme: "digest", auth: userPass) == .wait)
        #expect(auth.credentials.count == 1)
    }

    @Test func removedWaitersComeInCredentialOrderAndTheCredentialsStay() {
        var auth = AuthStateMachine()
        _ = auth.addAuth(1, scheme: "digest", auth: other)
        _ = auth.addAuth(2, scheme: "digest", auth: userPass)
        _ = auth.addAuth(3, scheme: "digest", auth: other)
        #expect(auth.removeWaiters() == [1, 3, 2])
        #expect(auth.removeWaiters() == [])
        #expect(auth.connected() == [packet(other), packet(userPass)])
        #expect(auth.replyReceived(err: 0) == .succeeded(waiters: []))
        // While connected nothing waits.
        _ = auth.addAuth(4, scheme: "digest", auth: other)
        #expect(auth.removeWaiters() == [])
        #expect(auth.connectionClosed() == [4])
    }
}
