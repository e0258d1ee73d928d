#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import ZooKeeperClient

// Helpers shared by the data recipes (watched value, tree cache, shared count, barriers, queue): path
// arithmetic, "create the parents if missing", and bounded waits on one-shot watches.

/// Errors of the recipes themselves (ZooKeeper's own errors are `ZooKeeperError`).
public enum DataRecipeError: Error, Sendable, Hashable, CustomStringConvertible {
    /// A path argument is not a valid absolute znode path.
    case invalidPath(String)
    /// A double barrier member's own node vanished while it waited (its session expired).
    case memberNodeMissing(String)
    /// The recipe was closed.
    case closed

    public var description: String {
        switch self {
        case .invalidPath(let path): return "invalid znode path '\(path)'"
        case .memberNodeMissing(let path): return "our barrier node \(path) is missing (session expired?)"
        case .closed: return "the recipe is closed"
        }
    }
}

/// Path arithmetic on znode paths (absolute, no trailing slash except the root).
public enum RecipePath {
    /// The parent of `path`; nil for the root.
    public static func parent(of path: String) -> String? {
        guard path != "/", let slash = path.lastIndex(of: "/") else { return nil }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }

    /// `child` under `parent`.
    public static func join(_ parent: String, _ child: String) -> String {
        parent == "/" ? "/" + child : parent + "/" + child
    }

    /// The last segment of `path` ("" for the root).
    public static func name(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return path }
        return String(path[path.index(after: slash)...])
    }

    /// The ancestors of `path` from the top down, without the root and without `path` itself:
    /// `/a/b/c` → `["/a", "/a/b"]`.
    public static func ancestors(of path: String) -> [String] {
        var result: [String] = []
        var current = parent(of: path)
        while let node = current, node != "/" {
            result.append(node)
            current = parent(of: node)
        }
        return result.reversed()
    }

    /// Whether `path` is `root` or below it.
    public static func isWithin(_ path: String, root: String) -> Bool {
        if root == "/" { return path.hasPrefix("/") }
        return path == root || path.hasPrefix(root + "/")
    }

    /// Throws `DataRecipeError.invalidPath` unless `path` is absolute, has no empty segment and no trailing slash.
    public static func validate(_ path: String) throws {
        guard path.hasPrefix("/"), path == "/" || !path.hasSuffix("/"), !path.contains("//") else {
            throw DataRecipeError.invalidPath(path)
        }
    }
}

extension ZooKeeperClient {
    /// Creates the missing ancestors of `path` (not `path` itself), top down, as `mode` nodes with empty data:
    /// `.container` as Curator's `creatingParentContainersIfNeeded`, `.persistent` as zkCli/kazoo's
    /// `ensure_path`. Ancestors that appear meanwhile (NodeExists) are fine.
    public func createParents(of path: String, mode: CreateMode = .container) async throws {
        for ancestor in RecipePath.ancestors(of: path) {
            if try await exists(ancestor) != nil { continue }
            do {
                try await create(ancestor, mode: mode)
            } catch let error as ZooKeeperError where error.code == .nodeExists {
                continue
            }
        }
    }

    /// Creates `path` (and its missing parents) unless it exists. Returns whether this call created it.
    @discardableResult
    public func createIfMissing(
        _ path: String, data: Data = Data(), mode: CreateMode = .persistent, parentMode: CreateMode = .container
    ) async throws -> Bool {
        do {
            try await create(path, data: data, mode: mode)
            return true
        } catch let error as ZooKeeperError where error.code == .nodeExists {
            return false
        } catch let error as ZooKeeperError where error.code == .noNode {
            try await createParents(of: path, mode: parentMode)
            do {
                try await create(path, data: data, mode: mode)
                return true
            } catch let error as ZooKeeperError where error.code == .nodeExists {
                return false
            }
        }
    }
}

/// Waits for a one-shot watch to fire, up to `deadline` (nil: no limit). Returns false on timeout; rethrows the
/// watch's error (session expiry, client closed) and `CancellationError`.
func waitForWatch(_ watch: OneShotWatch, until deadline: ContinuousClock.Instant?) async throws -> Bool {
    guard let deadline else {
        _ = try await watch.event()
        return true
    }
    return try await withThrowingTaskGroup(of: Bool.self) { group in
        group.addTask {
            _ = try await watch.event()
            return true
        }
        group.addTask {
            try await Task.sleep(until: deadline, clock: .continuous)
            return false
        }
        defer { group.cancelAll() }
        return try await group.next() ?? false
    }
}

/// The deadline of an optional timeout, from now.
func deadline(after timeout: Duration?) -> ContinuousClock.Instant? {
    timeout.map { ContinuousClock.now + $0 }
}

/// Exponential retry delays for the recipes' background loops: 50 ms doubling to 2 s.
public struct RecipeBackoff: Sendable, Hashable {
    public static let initial = Duration.milliseconds(50)
    public static let maximum = Duration.seconds(2)
    public private(set) var current = RecipeBackoff.initial

    public init() {}

    /// The delay to wait now; the next one is doubled.
    public mutating func next() -> Duration {
        defer { current = min(current * 2, Self.maximum) }
        return current
    }

    public mutating func reset() { current = Self.initial }
}
