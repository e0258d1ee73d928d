import Foundation
import ZooKeeperClient

/// A barrier (Curator's DistributedBarrier, kazoo's Barrier): closed while its node exists, open once it is gone.
///
/// ```swift
/// let barrier = DistributedBarrier(client: zk, path: "/app/deploy-gate")
/// try await barrier.setBarrier()                          // the coordinator closes it
/// try await barrier.waitOnBarrier(timeout: .seconds(30))  // workers wait (true: it opened)
/// try await barrier.removeBarrier()                       // the coordinator opens it
/// ```
///
/// Waits throw `ZooKeeperError.sessionExpired` if the session expires while waiting.
public struct DistributedBarrier: Sendable {
    public let client: ZooKeeperClient
    public let path: String

    public init(client: ZooKeeperClient, path: String) {
        self.client = client
        self.path = path
    }

    /// Closes the barrier: creates its node (parents as containers); already closed is fine.
    public func setBarrier() async throws {
        try await client.createIfMissing(path)
    }

    /// Opens the barrier: deletes its node; already open is fine.
    public func removeBarrier() async throws {
        do {
            try await client.delete(path)
        } catch let error as ZooKeeperError where error.code == .noNode {
            return
        }
    }

    /// Waits until the barrier is open. Returns false if `timeout` passed first (nil: no limit).
    @discardableResult
    public func waitOnBarrier(timeout: Duration? = nil) async throws -> Bool {
        let limit = deadline(after: timeout)
        while true {
            let (stat, watch) = try await client.existsAndWatch(path)
            if stat == nil { return true }
            if try await !waitForWatch(watch, until: limit) { return false }
        }
    }
}

/// A double barrier (Curator's DistributedDoubleBarrier layout): `enter` waits until `memberQuantity` members
/// entered, `leave` waits until all of them left. See `DoubleBarrierStateMachine` for the layout.
///
/// ```swift
/// let barrier = DistributedDoubleBarrier(client: zk, path: "/app/round-7", memberQuantity: 3)
/// try await barrier.enter()
/// try await compute()
/// try await barrier.leave()
/// ```
///
/// One instance is one member. Members are ephemeral: a session expiry drops the member, and `leave` then throws
/// `DataRecipeError.memberNodeMissing`.
public struct DistributedDoubleBarrier: Sendable {
    public let client: ZooKeeperClient
    public let path: String
    public let memberQuantity: Int
    /// This member's node name.
    public let memberID: String

    public init(client: ZooKeeperClient, path: String, memberQuantity: Int, memberID: String? = nil) {
        self.client = client
        self.path = path
        self.memberQuantity = memberQuantity
        self.memberID = memberID ?? UUID().uuidString.lowercased()
    }

    var ourPath: String { RecipePath.join(path, memberID) }
    var readyPath: String { RecipePath.join(path, DoubleBarrierStateMachine.readyNode) }

    /// Enters: creates this member's node and waits until `memberQuantity` members entered. Returns false if
    /// `timeout` passed first (nil: no limit); the member's node is then deleted.
    @discardableResult
    public func enter(timeout: Duration? = nil) async throws -> Bool {
        let limit = deadline(after: timeout)
        var (readyStat, readyWatch) = try await client.existsAndWatch(readyPath)
        try await client.createIfMissing(ourPath, mode: .ephemeral)
        if readyStat != nil { return true }
        while true {
            let children = try await client.getChildren(path)
            let count = DoubleBarrierStateMachine.members(children).count
            switch DoubleBarrierStateMachine.enter(memberCount: count, memberQuantity: memberQuantity) {
            case .createReady:
                try await client.createIfMissing(readyPath)
                return true
            case .waitForReady:
                if try await !waitForWatch(readyWatch, until: limit) {
                    try? await client.delete(ourPath)
                    return false
                }
                (readyStat, readyWatch) = try await client.existsAndWatch(readyPath)
                if readyStat != nil { return true }
            }
        }
    }

    /// Leaves: deletes this member's node and waits until every member left. Returns false if `timeout` passed
    /// first (nil: no limit).
    @discardableResult
    public func leave(timeout: Duration? = nil) async throws -> Bool {
        let limit = deadline(after: timeout)
        var ourNodeShouldExist = true
        while true {
            let children: [String]
            do {
                children = try await client.getChildren(path)
            } catch let error as ZooKeeperError where error.code == .noNode {
                children = []
            }
            switch DoubleBarrierStateMachine.leave(
                children: children, ours: memberID, ourNodeShouldExist: ourNodeShouldExist)
            {
            case .ourNodeMissing:
                throw DataRecipeError.memberNodeMissing(ourPath)
            case .done(let deleteOurs):
                if deleteOurs { try await deleteIgnoringMissing(ourPath) }
                try await deleteIgnoringMissing(readyPath)
                return true
            case .waitFor(let node, let deleteOursFirst):
                if deleteOursFirst {
                    try await deleteIgnoringMissing(ourPath)
                    ourNodeShouldExist = false
                }
                let (stat, watch) = try await client.existsAndWatch(RecipePath.join(path, node))
                if stat != nil, try await !waitForWatch(watch, until: limit) { return false }
            }
        }
    }

    private func deleteIgnoringMissing(_ node: String) async throws {
        do {
            try await client.delete(node)
        } catch let error as ZooKeeperError where error.code == .noNode {
            return
        }
    }
}
