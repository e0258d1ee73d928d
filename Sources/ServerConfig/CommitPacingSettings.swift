/// The settings of the engine's commit pacing (`CommitPacer.Settings` in CoordinationServer): how far submissions
/// to the group-commit log are spaced when several sessions write. Part of the configuration (`commitPacing`).
package struct CommitPacingSettings: Equatable, Sendable {
    /// Spacing between submissions, as a multiple of the estimated commit time. 0 turns pacing off.
    package var delayFactor: Double
    /// Upper bound of the spacing.
    package var maxDelayNanos: Int64
    /// Pacing applies only when at least this many connections wrote in the current or previous window.
    package var minWriters: Int
    /// Length of a window for counting writers.
    package var windowNanos: Int64

    /// The defaults: spacing of 3 commit times, at most 3 ms, from 4 writers in a window of 10 ms.
    package init(
        delayFactor: Double = 3,
        maxDelayNanos: Int64 = 3_000_000,
        minWriters: Int = 4,
        windowNanos: Int64 = 10_000_000
    ) {
        self.delayFactor = delayFactor
        self.maxDelayNanos = maxDelayNanos
        self.minWriters = minWriters
        self.windowNanos = windowNanos
    }
}
