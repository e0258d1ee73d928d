#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

private func writeToFD(_ fd: Int32, _ pointer: UnsafeRawPointer, _ count: Int) -> Int {
    write(fd, pointer, count)
}

/// Writes to standard error without Foundation and without the global `stderr` (not concurrency-safe in Swift 6).
enum StandardError {
    static let isTerminal = isatty(2) != 0

    static func write(_ text: String) {
        var text = text
        text.withUTF8 { bytes in
            var offset = 0
            while offset < bytes.count {
                let n = writeToFD(2, bytes.baseAddress! + offset, bytes.count - offset)
                if n <= 0 { return }
                offset += n
            }
        }
    }

    /// A progress line: rewritten in place on a terminal, one line each otherwise.
    static func progress(_ text: String) {
        write(isTerminal ? "\r\u{1B}[K" + text : text + "\n")
    }

    /// Ends a progress line on a terminal.
    static func endProgress() {
        if isTerminal { write("\r\u{1B}[K") }
    }
}

/// Number formatting for tables, without Foundation.
enum Format {
    /// `value` with `decimals` digits after the point.
    static func fixed(_ value: Double, _ decimals: Int) -> String {
        guard value.isFinite else { return "-" }
        var scale = 1.0
        for _ in 0..<decimals { scale *= 10 }
        let rounded = (abs(value) * scale).rounded()
        let whole = UInt64(rounded / scale)
        let fraction = UInt64(rounded - Double(whole) * scale)
        let sign = value < 0 && rounded != 0 ? "-" : ""
        guard decimals > 0 else { return sign + "\(whole)" }
        var digits = String(fraction)
        while digits.count < decimals { digits = "0" + digits }
        return sign + "\(whole).\(digits)"
    }

    /// A count with a k/M suffix: 1234 → "1.23k".
    static func compact(_ value: Double) -> String {
        if value >= 1_000_000 { return fixed(value / 1_000_000, 2) + "M" }
        if value >= 10_000 { return fixed(value / 1000, 1) + "k" }
        if value >= 1000 { return fixed(value / 1000, 2) + "k" }
        return fixed(value, 0)
    }

    static func pad(_ text: String, _ width: Int, right: Bool = true) -> String {
        guard text.count < width else { return text }
        let padding = String(repeating: " ", count: width - text.count)
        return right ? padding + text : text + padding
    }
}
