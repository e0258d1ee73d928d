import Testing

@testable import CoordinationServer

@Suite struct CommitPacerTests {
    static let ms: Int64 = 1_000_000

    /// `count` distinct connections write at `now`.
    static func writers(_ count: Int, into pacer: inout CommitPacer, now: Int64) {
        for _ in 0..<count {
            var window = Int64.min
            pacer.noteWriter(lastWindow: &window, now: now)
        }
    }

    @Test func aLoneWriterIsNeverDelayed() {
        var pacer = CommitPacer()
        var window = Int64.min
        var now: Int64 = 1_000 * Self.ms
        pacer.committed(tookNanos: Self.ms)
        for _ in 0..<100 {
            pacer.noteWriter(lastWindow: &window, now: now)
            #expect(pacer.decide(now: now) == .submitNow)
            pacer.submitted(now: now)
            now += Self.ms / 10  // 10,000 writes a second from one connection
        }
        #expect(pacer.activeWriters(now: now) == 1)
    }

    @Test func manyWritersAreSpacedByAMultipleOfTheCommitTime() {
        var pacer = CommitPacer()
        let start: Int64 = 1_000 * Self.ms
        pacer.committed(tookNanos: Self.ms / 2)  // first sample sets the estimate
        Self.writers(8, into: &pacer, now: start)
        #expect(pacer.spacing(now: start) == 3 * Self.ms / 2)
        #expect(pacer.decide(now: start) == .submitNow)  // nothing submitted yet
        pacer.submitted(now: start)
        #expect(pacer.decide(now: start + Self.ms) == .submit(atNanos: start + 3 * Self.ms / 2))
        #expect(pacer.decide(now: start + 3 * Self.ms / 2) == .submitNow)
        #expect(pacer.decide(now: start + 2 * Self.ms) == .submitNow)
    }

    @Test func theSpacingIsCapped() {
        var pacer = CommitPacer()
        pacer.committed(tookNanos: 40 * Self.ms)  // a very slow disk
        Self.writers(8, into: &pacer, now: 0)
        #expect(pacer.spacing(now: 0) == CommitPacer.Settings().maxDelayNanos)
    }

    @Test func theCommitEstimateFollowsSamples() {
        var pacer = CommitPacer()
        pacer.committed(tookNanos: 8 * Self.ms)
        #expect(pacer.commitEstimateNanos == Double(8 * Self.ms))
        for _ in 0..<100 { pacer.committed(tookNanos: Self.ms) }
        #expect(abs(pacer.commitEstimateNanos - Double(Self.ms)) < Double(Self.ms) / 100)
    }

    @Test func writersAreCountedPerConnectionPerWindow() {
        var pacer = CommitPacer()
        let window = CommitPacer.Settings().windowNanos
        var a = Int64.min
        var b = Int64.min
        // The same connection writing again in a window counts once.
        for i in 0..<5 { pacer.noteWriter(lastWindow: &a, now: Int64(i)) }
        pacer.noteWriter(lastWindow: &b, now: 10)
        #expect(pacer.activeWriters(now: 10) == 2)
        // In the next window the previous one still counts...
        #expect(pacer.activeWriters(now: window + 1) == 2)
        pacer.noteWriter(lastWindow: &a, now: window + 1)
        #expect(pacer.activeWriters(now: window + 2) == 2)
        // ...and after two quiet windows nobody does.
        #expect(pacer.activeWriters(now: 3 * window) == 0)
        pacer.noteWriter(lastWindow: &b, now: 3 * window)
        #expect(pacer.activeWriters(now: 3 * window) == 1)
    }

    @Test func pacingStopsWhenWritersGoQuiet() {
        var pacer = CommitPacer()
        pacer.committed(tookNanos: Self.ms)
        Self.writers(8, into: &pacer, now: 0)
        pacer.submitted(now: 0)
        #expect(pacer.decide(now: Self.ms) != .submitNow)
        // Two windows later the crowd is gone: a write is submitted at once even right after a submission.
        let later = 2 * CommitPacer.Settings().windowNanos + Self.ms
        pacer.submitted(now: later)
        #expect(pacer.decide(now: later) == .submitNow)
    }

    @Test func fewerWritersThanTheThresholdAreNotPaced() {
        var pacer = CommitPacer()
        pacer.committed(tookNanos: Self.ms)
        Self.writers(CommitPacer.Settings().minWriters - 1, into: &pacer, now: 0)
        pacer.submitted(now: 0)
        #expect(pacer.decide(now: 1) == .submitNow)
        Self.writers(1, into: &pacer, now: 2)
        #expect(pacer.decide(now: 3) == .submit(atNanos: 3 * Self.ms))
    }

    @Test func aZeroFactorTurnsPacingOff() {
        var pacer = CommitPacer(settings: .init(delayFactor: 0))
        pacer.committed(tookNanos: Self.ms)
        Self.writers(32, into: &pacer, now: 0)
        pacer.submitted(now: 0)
        #expect(pacer.decide(now: 1) == .submitNow)
    }
}
