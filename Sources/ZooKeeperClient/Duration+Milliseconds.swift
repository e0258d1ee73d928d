extension Duration {
    /// The whole milliseconds in this duration (rounded toward zero), as ZooKeeper's millisecond fields take them.
    public var zkWholeMilliseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1000 + attoseconds / 1_000_000_000_000_000
    }

    /// The duration in milliseconds, with the fraction (for reports).
    public var zkMilliseconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) * 1000 + Double(attoseconds) / 1e15
    }
}
