import Testing

@testable import CoordinationCore

/// ZooKeeper's ExpiryQueue: deadlines round up to the next multiple of the interval (the tick).
@Suite struct ExpiryQueueTests {
    @Test func deadlinesRoundUpToTheNextInterval() {
        var q = ExpiryQueue<Int>(interval: 2000, now: 0)
        q.touch(1, timeout: 10_000, now: 0)
        #expect(q.deadline(of: 1) == 12_000)  // 10000 is a multiple: the next one is taken, as roundToNextInterval does
        q.touch(2, timeout: 10_000, now: 1)
        #expect(q.deadline(of: 2) == 12_000)
        q.touch(3, timeout: 10_000, now: 1999)
        #expect(q.deadline(of: 3) == 12_000)
        q.touch(4, timeout: 10_000, now: 2000)
        #expect(q.deadline(of: 4) == 14_000)
        q.touch(5, timeout: 9_999, now: 0)
        #expect(q.deadline(of: 5) == 10_000)
        #expect(q.count == 5)
        // Every deadline lies in (now + timeout, now + timeout + interval].
        for now in stride(from: Int64(0), through: 5000, by: 250) {
            var r = ExpiryQueue<Int>(interval: 2000, now: 0)
            r.touch(0, timeout: 7_000, now: now)
            let d = r.deadline(of: 0)!
            #expect(d > now + 7_000 && d <= now + 7_000 + 2000)
            #expect(d % 2000 == 0)
        }
    }

    @Test func firstBucketIsTheNextIntervalAfterCreation() {
        #expect(ExpiryQueue<Int>(interval: 2000, now: 0).nextExpirationTime == 2000)
        #expect(ExpiryQueue<Int>(interval: 2000, now: 3999).nextExpirationTime == 4000)
        #expect(ExpiryQueue<Int>(interval: 2000, now: 4000).nextExpirationTime == 6000)
    }

    @Test func expireTakesWholeBucketsAtTheirTime() {
        var q = ExpiryQueue<String>(interval: 1000, now: 0)
        q.touch("a", timeout: 2500, now: 0)  // 3000
        q.touch("b", timeout: 2000, now: 500)  // 3000
        q.touch("c", timeout: 4000, now: 0)  // 5000
        #expect(q.expire(now: 2999).isEmpty)
        #expect(Set(q.expire(now: 3000)) == ["a", "b"])
        #expect(q.deadline(of: "a") == nil)
        #expect(q.expire(now: 3000).isEmpty)  // taken once
        #expect(q.expire(now: 4999).isEmpty)
        #expect(q.expire(now: 5000) == ["c"])
        #expect(q.count == 0)
    }

    @Test func expireCatchesUpOnSeveralBuckets() {
        var q = ExpiryQueue<Int>(interval: 1000, now: 0)
        q.touch(1, timeout: 1000, now: 0)  // 2000
        q.touch(2, timeout: 3000, now: 0)  // 4000
        q.touch(3, timeout: 9000, now: 0)  // 10000
        #expect(Set(q.expire(now: 7_500)) == [1, 2])
        #expect(q.deadline(of: 3) == 10_000)
        #expect(q.expire(now: 10_000) == [3])
    }

    @Test func touchMovesAKeyToItsNewBucket() {
        var q = ExpiryQueue<Int>(interval: 1000, now: 0)
        q.touch(1, timeout: 2000, now: 0)  // 3000
        q.touch(1, timeout: 2000, now: 1500)  // 4000
        #expect(q.deadline(of: 1) == 4000)
        #expect(q.expire(now: 3000).isEmpty)
        #expect(q.expire(now: 4000) == [1])
    }

    @Test func removeForgetsAKey() {
        var q = ExpiryQueue<Int>(interval: 1000, now: 0)
        q.touch(1, timeout: 2000, now: 0)
        q.touch(2, timeout: 2000, now: 0)
        q.remove(1)
        q.remove(42)  // unknown: no-op
        #expect(q.deadline(of: 1) == nil)
        #expect(q.expire(now: 3000) == [2])
    }

    @Test func anEmptyQueueJumpsAheadInsteadOfSteppingThroughEmptyBuckets() {
        var q = ExpiryQueue<Int>(interval: 1000, now: 0)
        #expect(q.expire(now: 1_000_000).isEmpty)
        #expect(q.nextExpirationTime == 1_001_000)
        q.touch(1, timeout: 500, now: 1_000_100)  // 1_001_000
        #expect(q.expire(now: 1_000_999).isEmpty)
        #expect(q.expire(now: 1_001_000) == [1])
    }
}
