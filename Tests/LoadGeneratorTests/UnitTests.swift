import Testing
import ZooKeeperClient

@testable import LoadGenerator

@Suite struct OpMixTests {
    @Test func parsesWeightsAndSingleKinds() throws {
        let mix = try OpMix(parsing: "get=90,set=10")
        #expect(mix.entries.map(\.kind) == [.get, .set])
        #expect(mix.totalWeight == 100)
        #expect(mix.readFraction == 0.9)
        #expect(mix.needsKeys)
        let single = try OpMix(parsing: "create-delete")
        #expect(single.entries.map(\.kind) == [.createDelete])
        #expect(!single.needsKeys)
        #expect(try OpMix(parsing: "get=1,get=2").entries.map(\.weight) == [3])
        #expect(try OpMix(parsing: "get=0,set=5").description == "set=5")
    }

    @Test func rejectsBadMixes() {
        #expect(throws: BenchError.self) { try OpMix(parsing: "frobnicate") }
        #expect(throws: BenchError.self) { try OpMix(parsing: "get=x") }
        #expect(throws: BenchError.self) { try OpMix(parsing: "get=0") }
        #expect(throws: BenchError.self) { try OpMix(parsing: "get=-3") }
    }

    @Test func picksByCumulativeWeight() throws {
        let mix = try OpMix(parsing: "get=90,set=10")
        #expect(mix.kind(forRoll: 0) == .get)
        #expect(mix.kind(forRoll: 89) == .get)
        #expect(mix.kind(forRoll: 90) == .set)
        #expect(mix.kind(forRoll: 99) == .set)
        var rng = SplitMix64(seed: 42)
        var sets = 0
        for _ in 0..<10_000 where mix.pick(using: &rng) == .set { sets += 1 }
        #expect(sets > 800 && sets < 1200)
    }

    @Test func requestCounts() {
        #expect(OpKind.createDelete.requestCount == 2)
        #expect(OpKind.registerResolve.requestCount == 3)
        #expect(OpKind.get.writes == false)
        #expect(OpKind.multi.writes)
    }

    /// `index` is written out case by case (it is read on every completion); it must be the position in `allCases`.
    @Test func indexIsThePositionInAllCases() {
        for (position, kind) in OpKind.allCases.enumerated() { #expect(kind.index == position, "\(kind)") }
    }
}

@Suite struct RateScheduleTests {
    @Test func spreadsConnectionsAndCountsDueOperations() {
        // 1000 op/s over 4 connections: 250 op/s each, one every 4 ms, connection i offset by i ms.
        let s0 = RateSchedule(totalRate: 1000, connections: 4, index: 0, start: 1_000_000_000)
        let s1 = RateSchedule(totalRate: 1000, connections: 4, index: 1, start: 1_000_000_000)
        #expect(s0.interval == 4_000_000)
        #expect(s0.intendedTime(0) == 1_000_000_000)
        #expect(s0.intendedTime(3) == 1_012_000_000)
        #expect(s1.intendedTime(0) == 1_001_000_000)
        #expect(s0.dueCount(at: 999_999_999) == 0)
        #expect(s0.dueCount(at: 1_000_000_000) == 1)
        #expect(s0.dueCount(at: 1_003_999_999) == 1)
        #expect(s0.dueCount(at: 1_004_000_000) == 2)
        #expect(s1.dueCount(at: 1_000_500_000) == 0)
    }

    @Test func fractionalIntervalsDoNotDrift() {
        let s = RateSchedule(start: 0, interval: 1e9 / 3)
        #expect(s.intendedTime(3) == 1_000_000_000)
        #expect(s.dueCount(at: 1_000_000_000) == 4)
        #expect(s.dueCount(at: 999_999_999) == 3)
        for k in UInt64(0)..<1000 {
            let t = s.intendedTime(k)
            #expect(s.dueCount(at: t) == k + 1)
            if t > 0 { #expect(s.dueCount(at: t - 1) == k) }
        }
    }
}

@Suite struct ProcessStatsTests {
    @Test func parsesStatWithAwkwardCommandNames() throws {
        let text = "1234 (java (main) x) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 75 0 0 20 0 42 0 5000 1000000 2500 18446744073709551615"
        let ticks = try ProcessStats.parseStatTicks(text)
        #expect(ticks.user == 250)
        #expect(ticks.system == 75)
        #expect(ticks.threads == 42)
        #expect(throws: BenchError.self) { try ProcessStats.parseStatTicks("garbage") }
        #expect(throws: BenchError.self) { try ProcessStats.parseStatTicks("1 (x) S 1 2") }
    }

    @Test func parsesStatus() {
        let text = "Name:\tzooreg\nVmHWM:\t  20480 kB\nVmRSS:\t   10240 kB\nThreads:\t3\n"
        let memory = ProcessStats.parseStatus(text)
        #expect(memory.rss == 10_485_760)
        #expect(memory.peak == 20_971_520)
    }

    @Test func samplesItself() throws {
        let sample = try ProcessStats.sample()
        #expect(sample.rssBytes > 0)
        #expect(sample.threads >= 1)
    }
}

@Suite struct LatencyRecorderTests {
    @Test func percentilesInMicroseconds() {
        var recorder = LatencyRecorder()
        for us in 1...1000 { recorder.record(nanoseconds: UInt64(us) * 1000) }
        let summary = recorder.summary
        #expect(summary.count == 1000)
        #expect(abs(summary.p50 - 500) <= 1)
        #expect(abs(summary.p99 - 990) <= 1)
        #expect(abs(summary.max - 1000) <= 1)
        #expect(abs(summary.mean - 500.5) <= 1)
    }

    @Test func mergesAndClamps() {
        var a = LatencyRecorder()
        var b = LatencyRecorder()
        a.record(nanoseconds: 1000)
        b.record(nanoseconds: LatencyRecorder.highestTrackable * 2)
        a.merge(b)
        #expect(a.count == 2)
        #expect(a.clamped == 1)
        a.reset()
        #expect(a.count == 0)
        #expect(a.summary.p99 == 0)
    }
}

@Suite struct FormatTests {
    @Test func fixedAndCompact() {
        #expect(Format.fixed(1.005, 1) == "1.0")
        #expect(Format.fixed(12.34, 2) == "12.34")
        #expect(Format.fixed(-0.5, 0) == "-1" || Format.fixed(-0.5, 0) == "-0")
        #expect(Format.fixed(3, 0) == "3")
        #expect(Format.fixed(.infinity, 1) == "-")
        #expect(Format.compact(950) == "950")
        #expect(Format.compact(1234) == "1.23k")
        #expect(Format.compact(25_000) == "25.0k")
        #expect(Format.compact(2_500_000) == "2.50M")
        #expect(Format.pad("ab", 4) == "  ab")
    }

    @Test func configurationValidation() {
        var configuration = LoadConfiguration()
        #expect(throws: Never.self) { try configuration.validate() }
        configuration.root = "/"
        #expect(throws: BenchError.self) { try configuration.validate() }
        configuration.root = "/bench"
        configuration.depth = 0
        #expect(throws: BenchError.self) { try configuration.validate() }
        configuration.depth = 1
        configuration.rate = -5
        #expect(throws: BenchError.self) { try configuration.validate() }
    }
}
