/// The publisher's decisions, as a pure value: which entry groups to (re)fill, reset, rename and free, given what
/// the user wants published and what the Avahi client and its entry groups report. `AvahiConnection` runs the
/// actions against libavahi-client; tests drive it without a daemon.
///
/// The rules follow Avahi's documentation (avahi-common/defs.h, "good_publish"):
/// - entries are added and committed only while the client is `running`;
/// - while the host name is being (re)established (`registering`, `collision`), committed groups are reset and
///   re-added once the client runs again;
/// - when the client is lost (the daemon restarted or went away) every group is gone with it, and everything is
///   published again on the next `running`;
/// - a name conflict (a group's COLLISION, or a local conflict reported when adding) publishes the same group
///   again under the alternative name ("name #2"), and reports the final name;
/// - a change of TXT only is an in-place update; any other change re-adds the entry.
public struct PublicationStateMachine: Sendable {
    public enum ClientState: Sendable, Hashable {
        /// No client: before the first connection, or after the daemon (or D-Bus) went away.
        case absent
        /// A client waiting for the daemon to appear.
        case connecting
        case registering
        case running
        case collision
    }

    public enum GroupEvent: Sendable, Hashable {
        case registering
        case established
        case collision
        case failure(String)
    }

    public enum AddError: Sendable, Hashable {
        /// Another entry on this daemon has the name with different data (AVAHI_ERR_COLLISION).
        case collision
        case other(String)
    }

    public enum Action: Sendable, Hashable {
        /// Make sure the publication's group exists (reset it if it has entries), add `entry` (with the name to
        /// use now) and its subtypes, and commit.
        case addAndCommit(id: String, entry: DNSSDServiceEntry)
        /// Replace the TXT strings of the committed entry.
        case updateTXT(id: String, entry: DNSSDServiceEntry)
        /// Withdraw the group's entries and keep the group.
        case reset(id: String)
        /// Withdraw and free the group.
        case free(id: String)
        case report(DNSSDPublicationEvent)
    }

    enum Phase: Sendable, Hashable {
        /// Wanted, not committed (waiting for a running client).
        case pending
        case committed
        case established
        case failed
    }

    struct Publication: Sendable, Hashable {
        /// What the user asked for (its name is the base name).
        var entry: DNSSDServiceEntry
        /// The name in use: the base name, or an alternative after collisions.
        var name: String
        var phase: Phase
        var renames = 0

        var current: DNSSDServiceEntry {
            var entry = self.entry
            entry.name = name
            return entry
        }
    }

    /// Renames after which a publication that keeps colliding is reported failed.
    public static let maxRenames = 50

    public private(set) var clientState: ClientState = .absent
    private var publications: [String: Publication] = [:]

    public init() {}

    /// The ids being published.
    public var ids: [String] { publications.keys.sorted() }

    /// The name an entry is (or will be) published under.
    public func currentName(of id: String) -> String? { publications[id]?.name }

    /// Whether the entry is established on the network.
    public func isEstablished(_ id: String) -> Bool { publications[id]?.phase == .established }

    /// Publish `entry` under `id`, or change what `id` publishes.
    public mutating func publish(id: String, entry requested: DNSSDServiceEntry) -> [Action] {
        var entry = requested
        entry.name = DNSSDNames.instanceName(requested.name)
        guard var publication = publications[id] else {
            var publication = Publication(entry: entry, name: entry.name, phase: .pending)
            var actions: [Action] = []
            if clientState == .running {
                publication.phase = .committed
                actions.append(.addAndCommit(id: id, entry: publication.current))
            }
            publications[id] = publication
            return actions
        }
        guard publication.entry != entry else { return [] }
        let before = publication.current
        if publication.entry.name != entry.name {
            publication.name = entry.name
            publication.renames = 0
        }
        publication.entry = entry
        defer { publications[id] = publication }
        guard clientState == .running else {
            publication.phase = .pending
            return []
        }
        if (publication.phase == .committed || publication.phase == .established),
            publication.current.differsOnlyInTXT(from: before)
        {
            return [.updateTXT(id: id, entry: publication.current)]
        }
        publication.phase = .committed
        return [.addAndCommit(id: id, entry: publication.current)]
    }

    /// Stop publishing `id`.
    public mutating func withdraw(id: String) -> [Action] {
        guard let publication = publications.removeValue(forKey: id) else { return [] }
        var actions: [Action] = []
        if clientState != .absent { actions.append(.free(id: id)) }
        if publication.phase == .committed || publication.phase == .established {
            actions.append(.report(.withdrawn(id: id, name: publication.name, type: publication.entry.type)))
        }
        return actions
    }

    /// The Avahi client's state changed (`absent` when it was lost and freed, with all its groups).
    public mutating func clientStateChanged(_ state: ClientState) -> [Action] {
        clientState = state
        var actions: [Action] = []
        for id in publications.keys.sorted() {
            guard var publication = publications[id] else { continue }
            switch state {
            case .running:
                guard publication.phase == .pending || publication.phase == .failed else { continue }
                publication.phase = .committed
                actions.append(.addAndCommit(id: id, entry: publication.current))
            case .registering, .collision:
                guard publication.phase == .committed || publication.phase == .established else { continue }
                publication.phase = .pending
                actions.append(.reset(id: id))
            case .absent, .connecting:
                publication.phase = .pending
            }
            publications[id] = publication
        }
        return actions
    }

    /// An entry group's state changed.
    public mutating func groupEvent(id: String, _ event: GroupEvent) -> [Action] {
        guard var publication = publications[id], publication.phase == .committed || publication.phase == .established
        else { return [] }
        defer { publications[id] = publication }
        switch event {
        case .registering:
            return []
        case .established:
            guard publication.phase != .established else { return [] }
            publication.phase = .established
            return [.report(.established(id: id, name: publication.name, type: publication.entry.type))]
        case .collision:
            return rename(&publication, id: id)
        case .failure(let reason):
            publication.phase = .failed
            return [.report(.failed(id: id, reason: reason))]
        }
    }

    /// Adding or committing the entry failed.
    public mutating func addFailed(id: String, _ error: AddError) -> [Action] {
        guard var publication = publications[id], publication.phase == .committed else { return [] }
        defer { publications[id] = publication }
        switch error {
        case .collision:
            return rename(&publication, id: id)
        case .other(let reason):
            publication.phase = .failed
            return [.report(.failed(id: id, reason: reason))]
        }
    }

    private func rename(_ publication: inout Publication, id: String) -> [Action] {
        guard publication.renames < Self.maxRenames else {
            publication.phase = .failed
            return [.report(.failed(id: id, reason: "name conflicts on \(Self.maxRenames) alternative names"))]
        }
        let from = publication.name
        publication.name = DNSSDNames.alternativeName(from)
        publication.renames += 1
        guard clientState == .running else {
            publication.phase = .pending
            return [.report(.renamed(id: id, from: from, to: publication.name))]
        }
        publication.phase = .committed
        return [
            .report(.renamed(id: id, from: from, to: publication.name)),
            .addAndCommit(id: id, entry: publication.current),
        ]
    }
}
