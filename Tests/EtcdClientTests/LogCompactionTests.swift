import EnsembleEtcd
import ReplicatedLog
import Testing

@Suite struct LogCompactionTests {
    let layout = LogLayout(cluster: "c")

    func key(_ replica: UInt8, _ incarnation: UInt64, _ seq: UInt64, rev: Int64) -> LogCompaction.Key {
        LogCompaction.Key(key: layout.batchKey(replica: replica, incarnation: incarnation, sequence: seq), modRevision: rev)
    }

    /// What a range list deletes from a key list, as etcd would (start <= key < end).
    func deleted(_ keys: [LogCompaction.Key], by ranges: [LogCompaction.Range]) -> [LogCompaction.Key] {
        keys.filter { k in ranges.contains { r in !k.key.lexicographicallyPrecedes(r.start) && k.key.lexicographicallyPrecedes(r.end) } }
    }

    @Test func deletesExactlyTheKeysAtOrBelowTheFloorAcrossReplicasAndIncarnations() {
        // Replica 1 (two incarnations) and replica 2 appended alternately; etcd lists keys sorted.
        var keys: [LogCompaction.Key] = []
        var rev: Int64 = 10
        for seq in 1...300 as ClosedRange<UInt64> {
            keys.append(key(1, 5, seq, rev: rev)); rev += 1
            keys.append(key(2, 9, seq, rev: rev)); rev += 1
        }
        for seq in 1...20 as ClosedRange<UInt64> { keys.append(key(1, 7, seq, rev: rev)); rev += 1 }
        keys.sort { $0.key.lexicographicallyPrecedes($1.key) }
        let floor: Int64 = 400
        let ranges = LogCompaction.deleteRanges(keys: keys, upTo: floor, maxKeysPerRange: 64)
        let gone = deleted(keys, by: ranges)
        #expect(gone == keys.filter { $0.modRevision <= floor })
        #expect(ranges.allSatisfy { $0.keys <= 64 })
        #expect(ranges.reduce(0) { $0 + $1.keys } == gone.count)
        // Replica 1's first incarnation: 196 keys at or below 400 → 4 ranges; replica 2 likewise 4 (195 keys).
        #expect(ranges.count == 8)
    }

    @Test func aNewerKeyInsideARunSplitsIt() {
        let keys = [key(1, 1, 1, rev: 5), key(1, 1, 2, rev: 50), key(1, 1, 3, rev: 6), key(1, 1, 4, rev: 7)]
        let ranges = LogCompaction.deleteRanges(keys: keys, upTo: 10)
        #expect(deleted(keys, by: ranges) == [keys[0], keys[2], keys[3]])
        #expect(ranges.count == 2)
    }

    @Test func nothingToDelete() {
        #expect(LogCompaction.deleteRanges(keys: [], upTo: 100).isEmpty)
        #expect(LogCompaction.deleteRanges(keys: [key(1, 1, 1, rev: 200)], upTo: 100).isEmpty)
    }
}
