import ZooKeeperClient

extension SplitMix64 {
    /// A uniform integer in 0..<bound (bound > 0); the modulo bias is negligible for benchmark key choice.
    mutating func next(below bound: Int) -> Int {
        Int(next() % UInt64(bound))
    }
}
