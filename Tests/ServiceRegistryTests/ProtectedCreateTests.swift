import Testing
import ZooKeeperClient

@testable import ServiceRegistry

/// The registrar's create procedure, step by step, with injected replies (lost ones included).
@Suite struct ProtectedCreateTests {
    static let guid = "0b7a6f5e-1c2d-4e3f-8a9b-0c1d2e3f4a5b"
    static let session: Int64 = 0x1234

    func stat(owner: Int64, version: Int32 = 0) -> Stat {
        Stat(
            czxid: 1, mzxid: 1, ctime: 0, mtime: 0, version: version, cversion: 0, aversion: 0, ephemeralOwner: owner,
            dataLength: 0, numChildren: 0, pzxid: 1)
    }

    func sequential() -> CreateDriver {
        CreateDriver(ProtectedCreate(
            parent: "/services/api", id: "inst", serviceType: .dynamicSequential, guid: Self.guid, sessionID: Self.session))
    }

    func fixed(_ type: ServiceType = .dynamic) -> CreateDriver {
        CreateDriver(ProtectedCreate(parent: "/services/api", id: "web-1", serviceType: type, guid: Self.guid, sessionID: Self.session))
    }

    var protectedPath: String { "/services/api/_c_\(Self.guid)-inst" }

    @Test func sequentialCreateIsProtected() {
        let machine = sequential()
        #expect(machine.nodeName == "_c_\(Self.guid)-inst")
        #expect(machine.start() == .create(path: protectedPath, mode: .ephemeralSequential))
        #expect(machine.created(path: protectedPath + "0000000007")
            == .done(path: protectedPath + "0000000007", adopted: false))
    }

    @Test func lostReplyIsFoundAndAdopted() {
        let machine = sequential()
        _ = machine.start()
        // The server created the node, but the connection dropped before the reply.
        #expect(machine.createFailed(.connectionLoss) == .waitForConnection)
        #expect(machine.connectionRestored() == .list(parent: "/services/api"))
        let mine = "_c_\(Self.guid)-inst0000000003"
        let other = "_c_11111111-2222-3333-4444-555555555555-inst0000000002"
        #expect(machine.listed([other, "plain-instance", mine])
            == .done(path: "/services/api/\(mine)", adopted: true))
    }

    @Test func lostRequestIsCreatedOnce() {
        let machine = sequential()
        _ = machine.start()
        // The request never reached the server: nothing with our GUID, so create again (same GUID).
        #expect(machine.createFailed(.connectionLoss) == .waitForConnection)
        #expect(machine.connectionRestored() == .list(parent: "/services/api"))
        #expect(machine.listed(["_c_11111111-2222-3333-4444-555555555555-inst0000000002"])
            == .create(path: protectedPath, mode: .ephemeralSequential))
        #expect(machine.created(path: protectedPath + "0000000004") == .done(path: protectedPath + "0000000004", adopted: false))
    }

    @Test func connectionLostAgainWhileVerifying() {
        let machine = sequential()
        _ = machine.start()
        _ = machine.createFailed(.connectionLoss)
        let list = machine.connectionRestored()
        #expect(list == .list(parent: "/services/api"))
        #expect(machine.failed(.connectionLoss, during: list) == .waitForConnection)
        #expect(machine.connectionRestored() == .list(parent: "/services/api"))
        #expect(machine.listed(["_c_\(Self.guid)-inst0000000009"])
            == .done(path: "/services/api/_c_\(Self.guid)-inst0000000009", adopted: true))
    }

    @Test func missingParentsAreCreatedThenCreateAgain() {
        let machine = sequential()
        _ = machine.start()
        #expect(machine.createFailed(.noNode) == .createParents(of: protectedPath))
        #expect(machine.parentsCreated() == .create(path: protectedPath, mode: .ephemeralSequential))
        // The container was reaped in between: parents again, bounded by maxAttempts.
        #expect(machine.createFailed(.noNode) == .createParents(of: protectedPath))
        #expect(machine.parentsCreated() == .create(path: protectedPath, mode: .ephemeralSequential))
    }

    /// The registry's parents are containers: an empty one can be reaped between the shell's exists and its create
    /// of the child container below it, which fails NONODE. The procedure starts over (it did fail before).
    @Test func ancestorReapedWhileCreatingParentsStartsOver() {
        let machine = sequential()
        _ = machine.start()
        let parents = machine.createFailed(.noNode)
        #expect(parents == .createParents(of: protectedPath))
        #expect(machine.failed(.noNode, during: parents) == .create(path: protectedPath, mode: .ephemeralSequential))
        #expect(machine.createFailed(.noNode) == .createParents(of: protectedPath))
        #expect(machine.parentsCreated() == .create(path: protectedPath, mode: .ephemeralSequential))
    }

    @Test func parentGoneDuringVerification() {
        let machine = sequential()
        _ = machine.start()
        _ = machine.createFailed(.connectionLoss)
        let list = machine.connectionRestored()
        #expect(machine.failed(.noNode, during: list) == .createParents(of: protectedPath))
    }

    @Test func givesUpAfterMaxAttempts() {
        let machine = CreateDriver(ProtectedCreate(
            parent: "/s/a", id: "i", serviceType: .dynamicSequential, guid: Self.guid, sessionID: 1, maxAttempts: 2))
        _ = machine.start()
        _ = machine.createFailed(.noNode)
        _ = machine.parentsCreated()
        _ = machine.createFailed(.noNode)
        guard case .fail = machine.parentsCreated() else {
            Issue.record("expected to give up")
            return
        }
    }

    @Test func otherErrorsFail() {
        let machine = sequential()
        _ = machine.start()
        #expect(machine.createFailed(.noAuth) == .fail(ZooKeeperError(code: .noAuth, path: protectedPath)))
        let expired = sequential()
        _ = expired.start()
        #expect(expired.createFailed(.sessionExpired) == .fail(ZooKeeperError(code: .sessionExpired, path: protectedPath)))
    }

    // MARK: Fixed ids

    @Test func fixedIdIsEphemeralAtTheId() {
        let machine = fixed()
        #expect(machine.start() == .create(path: "/services/api/web-1", mode: .ephemeral))
        #expect(machine.created(path: "/services/api/web-1") == .done(path: "/services/api/web-1", adopted: false))
        let persistent = fixed(.static)
        #expect(persistent.start() == .create(path: "/services/api/web-1", mode: .persistent))
    }

    @Test func fixedIdLostReplyAdoptsOurEphemeral() {
        let machine = fixed()
        _ = machine.start()
        #expect(machine.createFailed(.connectionLoss) == .waitForConnection)
        #expect(machine.connectionRestored() == .check(path: "/services/api/web-1"))
        #expect(machine.checked(stat(owner: Self.session)) == .done(path: "/services/api/web-1", adopted: true))
    }

    @Test func fixedIdLostRequestCreatesAgain() {
        let machine = fixed()
        _ = machine.start()
        _ = machine.createFailed(.connectionLoss)
        _ = machine.connectionRestored()
        #expect(machine.checked(nil) == .create(path: "/services/api/web-1", mode: .ephemeral))
    }

    @Test func fixedIdLeftoverOfADeadSessionIsReplaced() {
        let machine = fixed()
        _ = machine.start()
        #expect(machine.createFailed(.nodeExists) == .check(path: "/services/api/web-1"))
        #expect(machine.checked(stat(owner: 0x999, version: 4)) == .delete(path: "/services/api/web-1", version: 4))
        #expect(machine.deleted() == .create(path: "/services/api/web-1", mode: .ephemeral))
        #expect(machine.created(path: "/services/api/web-1") == .done(path: "/services/api/web-1", adopted: false))
    }

    @Test func fixedIdNodeExistsOwnedByUsIsAdopted() {
        let machine = fixed()
        _ = machine.start()
        _ = machine.createFailed(.nodeExists)
        #expect(machine.checked(stat(owner: Self.session)) == .done(path: "/services/api/web-1", adopted: true))
    }

    @Test func deleteRacesAreRetried() {
        let machine = fixed()
        _ = machine.start()
        _ = machine.createFailed(.nodeExists)
        let delete = machine.checked(stat(owner: 0x999, version: 1))
        // Changed meanwhile: look again.
        #expect(machine.failed(.badVersion, during: delete) == .check(path: "/services/api/web-1"))
        let again = machine.checked(stat(owner: 0x999, version: 2))
        // Someone else removed it: create.
        #expect(machine.failed(.noNode, during: again) == .create(path: "/services/api/web-1", mode: .ephemeral))
    }

    @Test func persistentLostReplyIsAdopted() {
        let machine = fixed(.permanent)
        _ = machine.start()
        _ = machine.createFailed(.connectionLoss)
        #expect(machine.connectionRestored() == .check(path: "/services/api/web-1"))
        #expect(machine.checked(stat(owner: 0)) == .done(path: "/services/api/web-1", adopted: true))
        // But a persistent node found by NODEEXISTS is replaced, as Curator does (so watchers fire).
        let other = fixed(.permanent)
        _ = other.start()
        _ = other.createFailed(.nodeExists)
        #expect(other.checked(stat(owner: 0, version: 3)) == .delete(path: "/services/api/web-1", version: 3))
    }

    @Test func protectedNames() {
        let name = ProtectedName.make(guid: Self.guid, name: "inst") + "0000000001"
        #expect(ProtectedName.matches(name, guid: Self.guid))
        #expect(!ProtectedName.matches(name, guid: "0b7a6f5e-1c2d-4e3f-8a9b-0c1d2e3f4a5c"))
        #expect(ProtectedName.guid(of: name) == Self.guid)
        #expect(ProtectedName.guid(of: "web-1") == nil)
    }
}
