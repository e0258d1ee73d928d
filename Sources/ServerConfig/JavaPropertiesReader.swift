/// One `key=value` entry of a Java properties file, with the physical line it starts on.
struct JavaPropertiesEntry: Sendable, Equatable {
    var key: String
    var value: String
    /// 1-based number of the line the entry starts on (an entry may continue over several lines).
    var line: Int
}

/// Reads the line-oriented format of `java.util.Properties.load(Reader)`, which is what ZooKeeper's
/// `QuorumPeerConfig` uses for zoo.cfg.
///
/// The rules, as `java.util.Properties` documents them:
/// - lines end with `\n`, `\r` or `\r\n`;
/// - a line whose first non-blank character is `#` or `!` is a comment, blank lines are skipped;
/// - a line ending in an odd number of backslashes continues on the next line, whose leading blanks are dropped;
/// - the key runs up to the first unescaped `=`, `:` or blank; blanks around one `=` or `:` separator are skipped;
/// - `\t`, `\n`, `\r`, `\f` and `\uXXXX` are escapes, a backslash before any other character is dropped.
///
/// ZooKeeper then trims keys and values; ``ServerConfiguration`` does that, not this reader.
enum JavaPropertiesReader {
    struct MalformedLine: Error, Equatable {
        var line: Int
        var message: String
    }

    static func entries(of contents: String) throws(MalformedLine) -> [JavaPropertiesEntry] {
        var result: [JavaPropertiesEntry] = []
        for logical in logicalLines(of: contents) {
            let (rawKey, rawValue) = split(logical.text)
            let key = try unescape(rawKey, line: logical.line)
            let value = try unescape(rawValue, line: logical.line)
            result.append(JavaPropertiesEntry(key: key, value: value, line: logical.line))
        }
        return result
    }

    private static func isBlank(_ c: Character) -> Bool {
        c == " " || c == "\t" || c == "\u{0C}"
    }

    private struct LogicalLine {
        var text: [Character]
        var line: Int
    }

    /// Splits the text into physical lines, drops comments and blank lines, and joins continuation lines.
    private static func logicalLines(of contents: String) -> [LogicalLine] {
        // Split on \n, \r and \r\n. Swift treats "\r\n" as one Character, which keeps this simple.
        var physical: [[Character]] = [[]]
        for c in contents {
            if c == "\n" || c == "\r" || c == "\r\n" {
                physical.append([])
            } else {
                physical[physical.count - 1].append(c)
            }
        }

        var result: [LogicalLine] = []
        var index = 0
        while index < physical.count {
            let startLine = index + 1
            var text = Array(physical[index].drop(while: isBlank))
            index += 1
            if text.isEmpty || text.first == "#" || text.first == "!" {
                continue
            }
            while endsWithContinuation(text) {
                text.removeLast()
                guard index < physical.count else { break }
                text.append(contentsOf: physical[index].drop(while: isBlank))
                index += 1
            }
            result.append(LogicalLine(text: text, line: startLine))
        }
        return result
    }

    private static func endsWithContinuation(_ text: [Character]) -> Bool {
        var backslashes = 0
        for c in text.reversed() {
            guard c == "\\" else { break }
            backslashes += 1
        }
        return backslashes % 2 == 1
    }

    /// Splits a logical line into its still-escaped key and value.
    private static func split(_ text: [Character]) -> (key: ArraySlice<Character>, value: ArraySlice<Character>) {
        var keyEnd = text.count
        var valueStart = text.count
        var escaped = false
        var sawSeparator = false
        var i = 0
        while i < text.count {
            let c = text[i]
            if escaped {
                escaped = false
            } else if c == "\\" {
                escaped = true
            } else if c == "=" || c == ":" {
                keyEnd = i
                valueStart = i + 1
                sawSeparator = true
                break
            } else if isBlank(c) {
                keyEnd = i
                valueStart = i + 1
                break
            }
            i += 1
        }
        // Skip blanks, then at most one '=' or ':' (unless the key already ended on one), then blanks again.
        while valueStart < text.count, isBlank(text[valueStart]) {
            valueStart += 1
        }
        if !sawSeparator, valueStart < text.count, text[valueStart] == "=" || text[valueStart] == ":" {
            valueStart += 1
            while valueStart < text.count, isBlank(text[valueStart]) {
                valueStart += 1
            }
        }
        return (text[0..<keyEnd], text[min(valueStart, text.count)...])
    }

    private static func unescape(_ text: ArraySlice<Character>, line: Int) throws(MalformedLine) -> String {
        var out = ""
        var i = text.startIndex
        while i < text.endIndex {
            let c = text[i]
            i += 1
            guard c == "\\", i < text.endIndex else {
                // A trailing lone backslash (continuation at end of file) is dropped, as Java does.
                if c != "\\" { out.append(c) }
                continue
            }
            let e = text[i]
            i += 1
            switch e {
            case "t": out.append("\t")
            case "n": out.append("\n")
            case "r": out.append("\r")
            case "f": out.append("\u{0C}")
            case "u":
                guard text.endIndex - i >= 4,
                    text[i..<(i + 4)].allSatisfy(\.isHexDigit),
                    let scalarValue = UInt32(String(text[i..<(i + 4)]), radix: 16),
                    let scalar = Unicode.Scalar(scalarValue)
                else {
                    throw MalformedLine(line: line, message: "malformed \\uxxxx escape")
                }
                out.unicodeScalars.append(scalar)
                i += 4
            default: out.append(e)
            }
        }
        return out
    }
}
