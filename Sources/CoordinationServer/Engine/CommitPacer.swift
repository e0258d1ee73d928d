import ServerConfig

/// Decides when the engine hands its pending log records to the group-commit log: at once, or a little later so
/// that one fsync covers the writes of more sessions.
///
/// Group commit alone already shares an fsync between the writes that queue while the previous one runs. Under
/// a steady stream of writes from many sessions that is still about one fsync per write or two, and each fsync
/// costs the machine more than its own latency (on a virtual machine every flush is work for the host, which then
/// takes CPU time from the guest). So when several sessions are writing, submissions are spaced by at least a
/// multiple of what a commit currently takes (capped): fsyncs never use more than a fixed share of the time, and
/// each one carries more writes. This is PostgreSQL's `commit_delay`/`commit_siblings` idea, made adaptive.
///
/// Nothing is delayed for a lone writer (or a few), however fast it writes: it would pay the delay on every write
/// and gain nothing. When writes are sparser than the spacing, nothing is delayed either.
///
/// Pure: times are monotonic nanoseconds passed in; the engine owns the timer.
struct CommitPacer {
    /// The pacing's parameters, part of the configuration (ServerConfig's `ServerConfiguration.commitPacing`).
    typealias Settings = CommitPacingSettings

    enum Decision: Equatable {
        case submitNow
        case submit(atNanos: Int64)
    }

    let settings: Settings
    private(set) var lastSubmitNanos: Int64?
    /// Exponentially weighted mean of submit-to-durable times, in nanoseconds.
    private(set) var commitEstimateNanos: Double = 0
    private var window: Int64 = .min
    private var writersThisWindow = 0
    private var writersLastWindow = 0

    init(settings: Settings = Settings()) {
        self.settings = settings
    }

    /// A connection submitted a write at `now`. `lastWindow` is the connection's own record of the window in which
    /// it last wrote (start it at `Int64.min`).
    mutating func noteWriter(lastWindow: inout Int64, now: Int64) {
        let current = now / settings.windowNanos
        if current != window {
            writersLastWindow = current == window + 1 ? writersThisWindow : 0
            writersThisWindow = 0
            window = current
        }
        if lastWindow != current {
            lastWindow = current
            writersThisWindow += 1
        }
    }

    /// Connections that wrote in the current or the previous window, as seen at `now`.
    func activeWriters(now: Int64) -> Int {
        let current = now / settings.windowNanos
        if current == window { return max(writersThisWindow, writersLastWindow) }
        if current == window + 1 { return writersThisWindow }
        return 0
    }

    /// The spacing in force now (0 when pacing does not apply).
    func spacing(now: Int64) -> Int64 {
        guard settings.delayFactor > 0, activeWriters(now: now) >= settings.minWriters else { return 0 }
        return min(settings.maxDelayNanos, Int64(commitEstimateNanos * settings.delayFactor))
    }

    /// When records that are pending at `now` should be submitted.
    func decide(now: Int64) -> Decision {
        guard let last = lastSubmitNanos else { return .submitNow }
        let earliest = last + spacing(now: now)
        return now >= earliest ? .submitNow : .submit(atNanos: earliest)
    }

    mutating func submitted(now: Int64) {
        lastSubmitNanos = now
    }

    /// A submission became durable `nanos` after it was submitted.
    mutating func committed(tookNanos nanos: Int64) {
        let sample = Double(max(0, nanos))
        commitEstimateNanos = commitEstimateNanos == 0 ? sample : commitEstimateNanos * 0.875 + sample * 0.125
    }
}
