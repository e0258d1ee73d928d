/// The decisions of a double barrier (Curator's DistributedDoubleBarrier), as pure functions of what the shell
/// read: how many members entered, which node to wait for while leaving. `DistributedDoubleBarrier` does the
/// reads, creates, deletes and waits.
///
/// Layout: members are EPHEMERAL children `<path>/<uuid>` (lowercase, dashed, as Java's `UUID.toString()`), and
/// `<path>/ready` (persistent) appears once enough members entered.
public enum DoubleBarrierStateMachine {
    /// The name of the node that opens the barrier.
    public static let readyNode = "ready"

    public enum EnterStep: Sendable, Hashable {
        /// Enough members: create `ready` (NodeExists is fine) and pass.
        case createReady
        /// Wait until `ready` appears, then pass.
        case waitForReady
    }

    public enum LeaveStep: Sendable, Hashable {
        /// Everyone else left: delete our node if asked, then `ready`, and pass.
        case done(deleteOurs: Bool)
        /// Delete our node first if asked, then wait until `node` is gone and decide again.
        case waitFor(String, deleteOursFirst: Bool)
        /// Our node vanished while it should exist (the session expired).
        case ourNodeMissing
    }

    /// The members among `children` (all but `ready`), sorted as strings.
    public static func members(_ children: [String]) -> [String] {
        children.filter { $0 != readyNode }.sorted()
    }

    /// After creating our node, with `memberCount` members present (ours included).
    public static func enter(memberCount: Int, memberQuantity: Int) -> EnterStep {
        memberCount >= memberQuantity ? .createReady : .waitForReady
    }

    /// One round of leaving: the lowest member waits for the highest; the others delete their own node and wait
    /// for the lowest; whoever is last deletes its node and `ready`.
    public static func leave(children: [String], ours: String, ourNodeShouldExist: Bool) -> LeaveStep {
        let members = members(children)
        guard let lowest = members.first, let highest = members.last else { return .done(deleteOurs: false) }
        let ourIndex = members.firstIndex(of: ours)
        if ourIndex == nil && ourNodeShouldExist { return .ourNodeMissing }
        if members.count == 1 { return .done(deleteOurs: ourIndex != nil) }
        if ourIndex == 0 { return .waitFor(highest, deleteOursFirst: false) }
        return .waitFor(lowest, deleteOursFirst: ourIndex != nil)
    }
}
