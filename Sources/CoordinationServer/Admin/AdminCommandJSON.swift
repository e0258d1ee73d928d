import AdminHTTP

/// A JSON value whose objects keep their keys in order, written the way ZooKeeper's AdminServer writes it
/// (Jackson's default pretty printer: `"key" : value`, two-space indents, `[ 1, 2 ]`, `[ ]`, `{ }`).
public indirect enum AdminJSON: Sendable, Equatable {
    case null
    case bool(Bool)
    /// Written as a JSON number (Java `long`s, exact).
    case int(Int64)
    /// Written the way Java prints a double (`0.0`, `3.5714`); NaN and infinities, which JSON cannot carry, as null.
    case double(Double)
    case string(String)
    case array([AdminJSON])
    case object([Member])

    public struct Member: Sendable, Equatable {
        public var key: String
        public var value: AdminJSON

        public init(_ key: String, _ value: AdminJSON) {
            self.key = key
            self.value = value
        }
    }

    @_disfavoredOverload
    public static func int(_ value: some BinaryInteger) -> AdminJSON { .int(Int64(value)) }

    /// The value of `key` in an object (the last one if repeated), nil for a missing key or a non-object.
    public subscript(key: String) -> AdminJSON? {
        guard case .object(let members) = self else { return nil }
        return members.last { $0.key == key }?.value
    }

    /// The keys of an object in order; empty for anything else.
    public var keys: [String] {
        guard case .object(let members) = self else { return [] }
        return members.map(\.key)
    }

    /// The JSON text, pretty-printed as Jackson does.
    public var text: String {
        var out = ""
        write(into: &out, indent: 0)
        return out
    }

    private func write(into out: inout String, indent: Int) {
        switch self {
        case .null: out += "null"
        case .bool(let value): out += value ? "true" : "false"
        case .int(let value): out += String(value)
        case .double(let value): out += value.isFinite ? JavaFormat.double(value) : "null"
        case .string(let value): out += Self.quoted(value)
        case .array(let items):
            if items.isEmpty {
                out += "[ ]"
                return
            }
            out += "[ "
            for (index, item) in items.enumerated() {
                if index > 0 { out += ", " }
                item.write(into: &out, indent: indent)
            }
            out += " ]"
        case .object(let members):
            if members.isEmpty {
                out += "{ }"
                return
            }
            let inner = String(repeating: " ", count: indent + 2)
            out += "{\n"
            for (index, member) in members.enumerated() {
                if index > 0 { out += ",\n" }
                out += inner + Self.quoted(member.key) + " : "
                member.value.write(into: &out, indent: indent + 2)
            }
            out += "\n" + String(repeating: " ", count: indent) + "}"
        }
    }

    /// A JSON string literal, escaped as ZooKeeper's Jackson escapes it: the AdminServer's one escaping.
    public static func quoted(_ text: String) -> String {
        AdminHTTPServer.jsonString(text)
    }
}
