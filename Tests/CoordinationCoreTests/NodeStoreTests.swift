import NIOCore
import Testing
import ZooKeeperWire

@testable import CoordinationCore

/// The compact node store under DataTree: slots in pages, the path index, child lists, byte arenas, and the
/// snapshot image that shares pages with the live tree. Checked against a plain dictionary model.
@Suite struct NodeStoreTests {
  struct Harness {
    /// A model of what the tree must hold: path → (data, version, mzxid), children by parent.
    struct Model {
        var data: [String: [UInt8]?] = [:]
        var children: [String: Set<String>] = ["/": []]
    }

    var state = CoordinationState()
    var zxid: Int64 = 0
    var model = Model()

    mutating func apply(_ t: Transaction) -> ApplyResult {
        zxid += 1
        var triggers: [WatchTrigger] = []
        return state.apply(LoggedTransaction(header: TransactionHeader(zxid: zxid, time: zxid * 10, sessionId: 1, cxid: 0), transaction: t), triggers: &triggers)
    }

    mutating func create(_ path: String, _ data: [UInt8]?) {
        _ = apply(.create(path: path, data: data, acl: ACLs.openUnsafe, ephemeralOwner: 0))
        model.data[path] = data
        model.children[path] = []
        model.children[ZNodePath.parent(of: path)!]!.insert(ZNodePath.name(of: path))
    }

    mutating func delete(_ path: String) {
        _ = apply(.delete(path: path))
        model.data[path] = nil
        model.children[path] = nil
        model.children[ZNodePath.parent(of: path)!]!.remove(ZNodePath.name(of: path))
    }

    mutating func setData(_ path: String, _ data: [UInt8]?) {
        _ = apply(.setData(path: path, data: data, version: 1))
        model.data[path] = data
    }

    func expectMatchesModel(_ tree: DataTree, sourceLocation: SourceLocation = #_sourceLocation) {
        let user = tree.paths.filter { !$0.hasPrefix("/zookeeper") && $0 != "/" }
        #expect(Set(user) == Set(model.data.keys), sourceLocation: sourceLocation)
        #expect(tree.nodeCount == model.data.count + 4, sourceLocation: sourceLocation)
        for (path, data) in model.data {
            guard let n = tree.node(at: path) else {
                Issue.record("missing \(path)", sourceLocation: sourceLocation)
                continue
            }
            #expect(tree.data(of: n) == data, "\(path)", sourceLocation: sourceLocation)
            #expect(n.stat.dataLength == Int32(data?.count ?? 0), sourceLocation: sourceLocation)
            #expect(Set(tree.children(of: n)) == model.children[path]!, "\(path)", sourceLocation: sourceLocation)
            #expect(Int(n.childCount) == model.children[path]!.count, sourceLocation: sourceLocation)
        }
        let rootChildren = Set(tree.children(at: "/")).subtracting(["zookeeper"])
        #expect(rootChildren == model.children["/"]!, sourceLocation: sourceLocation)
    }

  }

    static func bytes(_ i: Int, _ n: Int) -> [UInt8] { (0..<n).map { UInt8(truncatingIfNeeded: i &+ $0) } }

    /// Thousands of nodes over several pages, deletions in a scattered order (slot reuse, moves in child lists,
    /// backward shifts in the index), data growing and shrinking (arena compaction), then a snapshot round trip.
    @Test func churnMatchesTheModelAndSurvivesASnapshot() throws {
        var h = Harness()
        h.create("/p", [])
        h.create("/q", nil)
        for i in 0..<3000 { h.create("/p/n\(i)", Self.bytes(i, i % 50)) }
        for i in 0..<500 { h.create("/q/a-rather-long-child-name-\(i)", Self.bytes(i, 7)) }
        h.expectMatchesModel(h.state.tree)
        for i in stride(from: 0, to: 3000, by: 3) { h.delete("/p/n\(i)") }
        for i in stride(from: 499, through: 0, by: -2) { h.delete("/q/a-rather-long-child-name-\(i)") }
        h.expectMatchesModel(h.state.tree)
        // Reuse freed slots, grow and shrink data many times in the same pages.
        for i in 0..<1000 { h.create("/p/m\(i)", Self.bytes(i, 3)) }
        for round in 0..<6 {
            for i in stride(from: 1, to: 3000, by: 3) { h.setData("/p/n\(i)", Self.bytes(i + round, (round % 3) * 90)) }
        }
        h.setData("/p/n1", nil)
        h.expectMatchesModel(h.state.tree)
        #expect(h.state.tree.descendantCount(of: "/p") == h.model.children["/p"]!.count)

        var b = ByteBuffer()
        h.state.encodeSnapshot(into: &b)
        let back = try CoordinationState(snapshot: &b)
        h.expectMatchesModel(back.tree)
        expectSameTree(back.tree, h.state.tree)
        #expect(back.tree.approximateDataSize == h.state.tree.approximateDataSize)
    }

    /// The image handed to a snapshot writer keeps the state of the moment it was taken while the tree moves on.
    @Test func snapshotImageIsUnaffectedByLaterWrites() throws {
        var h = Harness()
        for i in 0..<2500 { h.create("/n\(i)", Self.bytes(i, 20)) }
        let image = h.state.snapshotImage()
        var expected = ByteBuffer()
        h.state.encodeSnapshot(into: &expected)
        let before = h.state
        for i in 0..<2500 where i % 7 == 0 { h.setData("/n\(i)", Self.bytes(i, 200)) }
        for i in 0..<2500 where i % 5 == 1 { h.delete("/n\(i)") }
        for i in 0..<300 { h.create("/later\(i)", nil) }
        var encoded = ByteBuffer()
        image.encode(into: &encoded)
        #expect(encoded == expected)
        let back = try CoordinationState(snapshot: &encoded)
        expectSameTree(back.tree, before.tree)
        h.expectMatchesModel(h.state.tree)
    }

    /// Encoding in pieces (what the server's snapshot writer does, a MiB at a time) gives the same bytes as one
    /// buffer, and no piece grows past the limit by more than one node.
    @Test func piecewiseEncodingMatchesOneBuffer() throws {
        var h = Harness()
        for i in 0..<3000 { h.create("/n\(i)", Self.bytes(i, i % 300)) }
        h.setData("/n7", nil)
        var whole = ByteBuffer()
        h.state.encodeSnapshot(into: &whole)
        var joined = ByteBuffer()
        var piece = ByteBuffer()
        var flushes = 0
        let limit = 4096
        h.state.snapshotImage().encode(into: &piece, flushingAt: limit) { b in
            #expect(b.readableBytes >= limit && b.readableBytes < limit + 300 + 100)
            joined.writeImmutableBuffer(b)
            b.clear()
            flushes += 1
        }
        joined.writeImmutableBuffer(piece)
        #expect(flushes >= whole.readableBytes / (limit + 400))
        #expect(joined == whole)
    }

    /// A node stores only its name; its path is checked segment by segment up to the root.
    @Test func nodesStoreNamesAndMatchWholePathsOnly() throws {
        var h = Harness()
        h.create("/a", nil)
        h.create("/a/b", nil)
        h.create("/a/b/x", [7])
        h.create("/b", nil)
        h.create("/b/x", [8])
        let tree = h.state.tree
        let x = try #require(tree.slot(of: "/a/b/x"))
        let root = try #require(tree.slot(of: "/"))
        #expect(tree.store.withBytes(x) { name, data in Array(name) == Array("x".utf8) && data.map(Array.init) == [7] })
        #expect(tree.store.withBytes(root) { name, _ in name.isEmpty })
        func isPath(_ p: String, _ s: Int32) -> Bool { DataTree.withBytes(p) { tree.store.isPath($0, of: s) } }
        #expect(isPath("/a/b/x", x))
        for wrong in ["/b/x", "/x", "x", "a/b/x", "/ab/x", "/a/bx", "//a/b/x", "/a/b/x/", "/c/a/b/x", "/a//b/x"] {
            #expect(!isPath(wrong, x), "\(wrong)")
        }
        #expect(isPath("/", root))
        #expect(!isPath("/a", root) && !isPath("", root) && !isPath("a", root))
        #expect(tree.store.withPath(x) { Array($0) } == Array("/a/b/x".utf8))
        #expect(tree.store.withPath(root) { Array($0) } == Array("/".utf8))
        #expect(tree.data(at: "/b/x") == [8] && tree.data(at: "/a/b/x") == [7])
        #expect(Set(tree.paths) == ["/", "/zookeeper", "/zookeeper/quota", "/zookeeper/config", "/a", "/a/b", "/a/b/x", "/b", "/b/x"])
    }

    /// A snapshot may list a node before its parent (slots are reused after deletes); restore places it later.
    @Test func aSnapshotListingChildrenBeforeParentsRestores() throws {
        var w = SnapshotWriter()
        w.header()
        w.sessions([])
        w.acls([ACLs.openUnsafe])
        w.nodes(["/a/b/c", "/a/b/d", "/", "/a/b", "/e", "/a"].map { SnapshotWriter.Node(path: $0) })
        let back = try CoordinationState(snapshot: &w.buffer)
        #expect(back.tree.nodeCount == 6)
        #expect(Set(back.tree.children(at: "/a/b")) == ["c", "d"])
        #expect(Set(back.tree.children(at: "/")) == ["a", "e"])
        #expect(back.tree.node(at: "/a")?.stat.numChildren == 1)
        #expect(back.tree.contains("/a/b/d"))

        // A deep chain listed deepest first (free slots are reused last-freed first): one sorted pass, not one per
        // level.
        var deep = SnapshotWriter()
        deep.header()
        deep.sessions([])
        deep.acls([ACLs.openUnsafe])
        var chain = ["/"]
        var path = ""
        for i in 0..<1000 {
            path += "/\(i % 10)"
            chain.append(path)
        }
        deep.nodes(([chain[0]] + chain.dropFirst().reversed()).map { SnapshotWriter.Node(path: $0) })
        let restored = try CoordinationState(snapshot: &deep.buffer)
        #expect(restored.tree.nodeCount == 1001)
        #expect(restored.tree.contains(path))
        #expect(restored.tree.node(at: chain[500])?.stat.numChildren == 1)
    }

    @Test func createRefusesExistingPathsAndMissingParents() {
        var h = Harness()
        h.create("/a", [1])
        let again = h.apply(.create(path: "/a", data: [2], acl: ACLs.openUnsafe, ephemeralOwner: 0))
        #expect(again == .none)
        #expect(h.state.tree.data(at: "/a") == [1])
        let orphan = h.apply(.create(path: "/x/y", data: nil, acl: ACLs.openUnsafe, ephemeralOwner: 0))
        #expect(orphan == .none)
        #expect(!h.state.tree.contains("/x/y"))
        h.expectMatchesModel(h.state.tree)
    }

    @Test func duplicatePathsInASnapshotAreRefused() {
        var w = SnapshotWriter()
        w.header()
        w.sessions([])
        w.acls([ACLs.openUnsafe])
        w.nodes([SnapshotWriter.Node(path: "/"), SnapshotWriter.Node(path: "/a"), SnapshotWriter.Node(path: "/a")])
        #expect(throws: SnapshotError.malformed("duplicate node /a")) { _ = try CoordinationState(snapshot: &w.buffer) }
    }

    @Test func thePathIndexGrowsFromThePagesAndKeepsEveryNode() {
        // 16 → 8,192 entries: the index is rebuilt from the pages ten times, with deleted slots among them.
        var h = Harness()
        for i in 0..<5_000 {
            h.create("/g\(i)", i % 5 == 0 ? nil : [UInt8(i & 0xFF)])
            if i % 7 == 6 { h.delete("/g\(i - 3)") }
        }
        #expect(h.state.tree.pathIndex.count == h.state.tree.nodeCount)
        #expect(h.state.tree.pathIndex.table.count == 8_192)
        h.expectMatchesModel(h.state.tree)
        #expect(h.state.tree.node(at: "/g3") == nil)
    }

    @Test func aNodeRecordTakes88Bytes() {
        // 1M znodes: every 8 bytes here is 8 MB of RSS (row 5 of Benchmarks/compare.sh).
        #expect(MemoryLayout<NodeRecord>.size == 88)
        #expect(MemoryLayout<NodeRecord>.stride == 88)
    }

    @Test func pathIndexKeepsEveryEntryFindableThroughGrowthAndRemoval() {
        var index = PathIndex()
        // Few distinct hashes: long collision runs that wrap around the table.
        func hash(_ i: Int32) -> UInt32 { UInt32(i % 7) &* 0x9E37_79B9 | 0xF }
        for i in Int32(0)..<2000 {
            let capacity = index.capacity(toHold: index.count + 1)
            if capacity > index.table.count {
                index.rebuild(capacity: capacity) { add in for j in Int32(0)..<i { add(j, hash(j)) } }
            }
            index.insert(hash: hash(i), slot: i)
        }
        for i in Int32(0)..<2000 where i % 3 != 0 { index.remove(hash: hash(i), slot: i, hashOf: hash) }
        for i in Int32(0)..<2000 {
            let found = index.find(hash: hash(i)) { $0 == i }
            #expect(found == (i % 3 == 0 ? i : nil))
        }
        #expect(index.count == 667)
    }
}
