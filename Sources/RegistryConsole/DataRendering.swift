import Foundation
import ServiceRegistry

/// How the console shows a znode's data: as JSON (pretty-printed) when it is a JSON object or array, as text when
/// it is UTF-8 without control characters (other than tab and line breaks), as binary otherwise; always with a hex
/// dump. Only the first `limit` bytes are rendered (`truncated` then says so).
public struct DataRendering: Sendable, Hashable {
    public enum Kind: String, Sendable, Hashable {
        case empty, json, text, binary
    }

    public static let defaultLimit = 64 * 1024

    public var size: Int
    public var truncated: Bool
    public var kind: Kind
    /// The (rendered part of the) data as UTF-8 text, when it is valid UTF-8.
    public var text: String?
    /// Pretty-printed JSON (two-space indentation, members in their order), for kind `.json`.
    public var prettyJSON: String?
    /// `offset  hex bytes  |ascii|`, 16 bytes a line.
    public var hex: String

    public init(_ data: some Collection<UInt8>, limit: Int = DataRendering.defaultLimit) {
        let all = Array(data)
        size = all.count
        let shown = Array(all.prefix(max(0, limit)))
        truncated = shown.count < all.count
        hex = Self.hexDump(shown)
        text = String(validating: shown, as: UTF8.self)
        prettyJSON = nil
        if all.isEmpty {
            kind = .empty
        } else if !truncated, let value = try? JSONValue.parse(all), value.members != nil || Self.isArray(value) {
            kind = .json
            prettyJSON = Self.pretty(value)
        } else if let text, !text.unicodeScalars.contains(where: Self.isControl) {
            kind = .text
        } else {
            kind = .binary
        }
    }

    public var json: JSONValue {
        .object([
            ("size", .number(size)),
            ("truncated", .bool(truncated)),
            ("kind", .string(kind.rawValue)),
            ("text", text.map(JSONValue.string) ?? .null),
            ("json", prettyJSON.map(JSONValue.string) ?? .null),
            ("hex", .string(hex)),
        ])
    }

    static func isArray(_ value: JSONValue) -> Bool {
        if case .array = value { return true }
        return false
    }

    static func isControl(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x09, 0x0a, 0x0d: false
        case 0..<0x20, 0x7f: true
        default: false
        }
    }

    public static func hexDump(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var lines: [String] = []
        lines.reserveCapacity(bytes.count / 16 + 1)
        var offset = 0
        while offset < bytes.count {
            let chunk = bytes[offset..<min(offset + 16, bytes.count)]
            var line = Array(String(offset, radix: 16).leftPadded(to: 8).utf8)
            line += Array("  ".utf8)
            for index in 0..<16 {
                if index == 8 { line.append(UInt8(ascii: " ")) }
                if index < chunk.count {
                    let byte = chunk[chunk.startIndex + index]
                    line += [digits[Int(byte >> 4)], digits[Int(byte & 15)], UInt8(ascii: " ")]
                } else {
                    line += Array("   ".utf8)
                }
            }
            line += Array(" |".utf8)
            for byte in chunk { line.append((0x20..<0x7f).contains(byte) ? byte : UInt8(ascii: ".")) }
            line.append(UInt8(ascii: "|"))
            lines.append(String(decoding: line, as: UTF8.self))
            offset += 16
        }
        return lines.joined(separator: "\n")
    }

    /// JSON with two-space indentation; members keep their order, numbers their text.
    public static func pretty(_ value: JSONValue) -> String {
        var out = ""
        write(value, indent: 0, to: &out)
        return out
    }

    private static func write(_ value: JSONValue, indent: Int, to out: inout String) {
        let pad = String(repeating: "  ", count: indent + 1)
        let closePad = String(repeating: "  ", count: indent)
        switch value {
        case .array(let items):
            if items.isEmpty { out += "[]"; return }
            out += "[\n"
            for (index, item) in items.enumerated() {
                out += pad
                write(item, indent: indent + 1, to: &out)
                out += index == items.count - 1 ? "\n" : ",\n"
            }
            out += closePad + "]"
        case .object(let members):
            if members.isEmpty { out += "{}"; return }
            out += "{\n"
            for (index, member) in members.enumerated() {
                out += pad + JSONValue.string(member.key).serialized() + ": "
                write(member.value, indent: indent + 1, to: &out)
                out += index == members.count - 1 ? "\n" : ",\n"
            }
            out += closePad + "}"
        default:
            out += value.serialized()
        }
    }
}

extension String {
    func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
