/// A small seeded random number generator (SplitMix64): cheap and reproducible. The client's state machine uses it
/// for its server shuffles and backoff jitter (seeded from the system generator); tests and the load generator use it
/// where a run must be repeatable.
/// `package`: shared with the load generator and the tests, not part of the client's public API.
package struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64

    package init(seed: UInt64) { self.state = seed }

    package mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
