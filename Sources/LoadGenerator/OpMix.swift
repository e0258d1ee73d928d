/// One kind of benchmark operation. An operation may take several requests (create then delete); its latency runs
/// from its intended start to the reply to its last request, and it counts once in the throughput.
public enum OpKind: String, Sendable, CaseIterable, Codable {
    /// getData of a random key.
    case get
    /// setData of a random key (a durable write).
    case set
    /// create of an ephemeral-sequential node, then delete of the path the server returned: the registry's hot path.
    case createDelete = "create-delete"
    /// exists with watch=true of a random key (sets, or re-sets, a data watch).
    case existsWatch = "exists-watch"
    /// Register an ephemeral-sequential instance, resolve the service (getChildren2 of its parent), deregister it.
    case registerResolve = "register-resolve"
    /// A multi of `multiSize` setData of random keys.
    case multi

    /// The kind's position in `allCases`, for per-kind arrays.
    public var index: Int {
        switch self {
        case .get: return 0
        case .set: return 1
        case .createDelete: return 2
        case .existsWatch: return 3
        case .registerResolve: return 4
        case .multi: return 5
        }
    }

    /// How many requests one operation of this kind sends, one after the other.
    public var requestCount: Int {
        switch self {
        case .get, .set, .existsWatch, .multi: return 1
        case .createDelete: return 2
        case .registerResolve: return 3
        }
    }

    /// Whether the operation writes (goes through the server's log).
    public var writes: Bool {
        switch self {
        case .get, .existsWatch: return false
        case .set, .createDelete, .registerResolve, .multi: return true
        }
    }
}

/// A weighted mix of operation kinds, e.g. `get=90,set=10`; a single kind name (`get`) means 100% of it.
public struct OpMix: Sendable, Hashable, CustomStringConvertible {
    /// The kinds with a positive weight, in the order given.
    public let entries: [(kind: OpKind, weight: Int)]
    /// Running sums of the weights, for picking.
    private let cumulative: [Int]
    public let totalWeight: Int

    public init(_ entries: [(kind: OpKind, weight: Int)]) throws(BenchError) {
        var merged: [(kind: OpKind, weight: Int)] = []
        for (kind, weight) in entries {
            guard weight >= 0 else { throw .invalidOption("mix weight of \(kind.rawValue) is negative") }
            guard weight > 0 else { continue }
            if let index = merged.firstIndex(where: { $0.kind == kind }) {
                merged[index].weight += weight
            } else {
                merged.append((kind, weight))
            }
        }
        guard !merged.isEmpty else { throw .invalidOption("the op mix is empty") }
        self.entries = merged
        var sum = 0
        var cumulative: [Int] = []
        for entry in merged {
            sum += entry.weight
            cumulative.append(sum)
        }
        self.cumulative = cumulative
        self.totalWeight = sum
    }

    /// Parses `kind[=weight][,kind[=weight]...]`; a kind without a weight weighs 1.
    public init(parsing text: String) throws(BenchError) {
        var entries: [(kind: OpKind, weight: Int)] = []
        for part in text.split(separator: ",") {
            let pieces = part.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: " ") }
            guard let name = pieces.first, let kind = OpKind(rawValue: name) else {
                let known = OpKind.allCases.map(\.rawValue).joined(separator: ", ")
                throw .invalidOption("unknown op kind in mix '\(text)' (known: \(known))")
            }
            var weight = 1
            if pieces.count == 2 {
                guard let value = Int(pieces[1]) else { throw .invalidOption("bad weight '\(pieces[1])' in mix '\(text)'") }
                weight = value
            }
            entries.append((kind, weight))
        }
        try self.init(entries)
    }

    /// A single kind.
    public init(only kind: OpKind) {
        self.entries = [(kind, 1)]
        self.cumulative = [1]
        self.totalWeight = 1
    }

    /// The kind for a uniformly drawn `roll` in `0..<totalWeight`.
    public func kind(forRoll roll: Int) -> OpKind {
        if entries.count == 1 { return entries[0].kind }
        for (index, bound) in cumulative.enumerated() where roll < bound { return entries[index].kind }
        return entries[entries.count - 1].kind
    }

    /// Picks a kind with the generator.
    public func pick<G: RandomNumberGenerator>(using generator: inout G) -> OpKind {
        if entries.count == 1 { return entries[0].kind }
        return kind(forRoll: Int(generator.next() % UInt64(totalWeight)))
    }

    /// Whether any kind in the mix needs the key space (get, set, exists-watch, multi).
    public var needsKeys: Bool {
        entries.contains { $0.kind == .get || $0.kind == .set || $0.kind == .existsWatch || $0.kind == .multi }
    }

    /// The share of reads, 0...1.
    public var readFraction: Double {
        let reads = entries.filter { !$0.kind.writes }.reduce(0) { $0 + $1.weight }
        return Double(reads) / Double(totalWeight)
    }

    public var description: String {
        entries.map { "\($0.kind.rawValue)=\($0.weight)" }.joined(separator: ",")
    }

    public static func == (lhs: OpMix, rhs: OpMix) -> Bool {
        lhs.entries.map(\.kind) == rhs.entries.map(\.kind) && lhs.entries.map(\.weight) == rhs.entries.map(\.weight)
    }

    public func hash(into hasher: inout Hasher) {
        for entry in entries {
            hasher.combine(entry.kind)
            hasher.combine(entry.weight)
        }
    }
}

extension Substring {
    fileprivate func trimmingCharacters(in set: Character) -> String {
        var slice = self[...]
        while slice.first == set { slice = slice.dropFirst() }
        while slice.last == set { slice = slice.dropLast() }
        return String(slice)
    }
}
