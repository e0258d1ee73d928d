import Testing

@testable import AvahiDNSSD

@Suite struct PublicationStateMachineTests {
    typealias Machine = PublicationStateMachine
    let entry = DNSSDServiceEntry(name: "api 1", type: "_api._tcp", port: 8080, txt: [DNSSDTXTItem("a", "1")])

    func named(_ name: String, _ base: DNSSDServiceEntry? = nil) -> DNSSDServiceEntry {
        var entry = base ?? self.entry
        entry.name = name
        return entry
    }

    @Test func publishesOnlyWhileTheClientRuns() {
        var machine = Machine()
        #expect(machine.publish(id: "x", entry: entry) == [])
        #expect(machine.clientStateChanged(.connecting) == [])
        #expect(machine.clientStateChanged(.registering) == [])
        #expect(machine.clientStateChanged(.running) == [.addAndCommit(id: "x", entry: entry)])
        #expect(machine.groupEvent(id: "x", .registering) == [])
        #expect(machine.groupEvent(id: "x", .established) == [.report(.established(id: "x", name: "api 1", type: "_api._tcp"))])
        #expect(machine.isEstablished("x"))
        // A second established (announcements) reports nothing new.
        #expect(machine.groupEvent(id: "x", .established) == [])
    }

    @Test func aRunningClientPublishesAtOnce() {
        var machine = Machine()
        _ = machine.clientStateChanged(.running)
        #expect(machine.publish(id: "x", entry: entry) == [.addAndCommit(id: "x", entry: entry)])
        #expect(machine.publish(id: "x", entry: entry) == [])
    }

    @Test func txtChangesAreInPlaceAndOtherChangesReAdd() {
        var machine = Machine()
        _ = machine.clientStateChanged(.running)
        _ = machine.publish(id: "x", entry: entry)
        _ = machine.groupEvent(id: "x", .established)
        var txt = entry
        txt.txt = [DNSSDTXTItem("a", "2")]
        #expect(machine.publish(id: "x", entry: txt) == [.updateTXT(id: "x", entry: txt)])
        var port = txt
        port.port = 9090
        #expect(machine.publish(id: "x", entry: port) == [.addAndCommit(id: "x", entry: port)])
    }

    @Test func collisionsRenameAndReportTheFinalName() {
        var machine = Machine()
        _ = machine.clientStateChanged(.running)
        _ = machine.publish(id: "x", entry: entry)
        #expect(
            machine.groupEvent(id: "x", .collision) == [
                .report(.renamed(id: "x", from: "api 1", to: "api 1 #2")),
                .addAndCommit(id: "x", entry: named("api 1 #2")),
            ])
        #expect(
            machine.addFailed(id: "x", .collision) == [
                .report(.renamed(id: "x", from: "api 1 #2", to: "api 1 #3")),
                .addAndCommit(id: "x", entry: named("api 1 #3")),
            ])
        #expect(machine.groupEvent(id: "x", .established) == [.report(.established(id: "x", name: "api 1 #3", type: "_api._tcp"))])
        #expect(machine.currentName(of: "x") == "api 1 #3")
        // A TXT change keeps the name it ended up with.
        var txt = entry
        txt.txt = []
        #expect(machine.publish(id: "x", entry: txt) == [.updateTXT(id: "x", entry: named("api 1 #3", txt))])
    }

    @Test func endlessCollisionsEndInFailure() {
        var machine = Machine()
        _ = machine.clientStateChanged(.running)
        _ = machine.publish(id: "x", entry: entry)
        var last: [Machine.Action] = []
        for _ in 0...Machine.maxRenames { last = machine.groupEvent(id: "x", .collision) }
        #expect(last == [.report(.failed(id: "x", reason: "name conflicts on \(Machine.maxRenames) alternative names"))])
    }

    @Test func hostNameChangesResetAndRepublish() {
        var machine = Machine()
        _ = machine.clientStateChanged(.running)
        _ = machine.publish(id: "x", entry: entry)
        _ = machine.groupEvent(id: "x", .established)
        #expect(machine.clientStateChanged(.collision) == [.reset(id: "x")])
        #expect(machine.clientStateChanged(.registering) == [])
        #expect(machine.clientStateChanged(.running) == [.addAndCommit(id: "x", entry: entry)])
    }

    @Test func aLostDaemonRepublishesEverythingWhenItReturns() {
        var machine = Machine()
        _ = machine.clientStateChanged(.running)
        _ = machine.publish(id: "x", entry: entry)
        _ = machine.publish(id: "y", entry: named("other"))
        _ = machine.groupEvent(id: "x", .established)
        #expect(machine.clientStateChanged(.absent) == [])
        // While it is gone, a withdrawal needs no Avahi call (the groups went with the client) and a change waits.
        #expect(machine.withdraw(id: "y") == [])
        var changed = entry
        changed.port = 1
        #expect(machine.publish(id: "x", entry: changed) == [])
        #expect(machine.clientStateChanged(.connecting) == [])
        #expect(machine.clientStateChanged(.running) == [.addAndCommit(id: "x", entry: changed)])
    }

    @Test func withdrawFreesTheGroupAndReportsIt() {
        var machine = Machine()
        _ = machine.clientStateChanged(.running)
        _ = machine.publish(id: "x", entry: entry)
        _ = machine.groupEvent(id: "x", .established)
        #expect(machine.withdraw(id: "x") == [.free(id: "x"), .report(.withdrawn(id: "x", name: "api 1", type: "_api._tcp"))])
        #expect(machine.withdraw(id: "x") == [])
        #expect(machine.groupEvent(id: "x", .established) == [])
        #expect(machine.ids.isEmpty)
    }

    @Test func failuresAreReportedAndRetriedOnTheNextRun() {
        var machine = Machine()
        _ = machine.clientStateChanged(.running)
        _ = machine.publish(id: "x", entry: entry)
        #expect(machine.addFailed(id: "x", .other("bad")) == [.report(.failed(id: "x", reason: "bad"))])
        #expect(machine.groupEvent(id: "x", .failure("late")) == [])
        _ = machine.clientStateChanged(.absent)
        #expect(machine.clientStateChanged(.running) == [.addAndCommit(id: "x", entry: entry)])
    }

    @Test func namesAreMadeValid() {
        var machine = Machine()
        _ = machine.clientStateChanged(.running)
        let long = named(String(repeating: "n", count: 80))
        guard case .addAndCommit(_, let published)? = machine.publish(id: "x", entry: long).first else {
            Issue.record("no add")
            return
        }
        #expect(published.name.utf8.count == 63)
    }
}
