import NIOConcurrencyHelpers

/// A flag set once from any thread.
final class NIOLockedBool: Sendable {
    private let box = NIOLockedValueBox(false)

    var value: Bool { box.withLockedValue { $0 } }

    func set() { box.withLockedValue { $0 = true } }
}

/// An integer added to from any thread.
final class NIOLockedValueBoxInt: Sendable {
    private let box = NIOLockedValueBox(0)

    func get() -> Int { box.withLockedValue { $0 } }

    func add(_ n: Int) { box.withLockedValue { $0 += n } }
}
