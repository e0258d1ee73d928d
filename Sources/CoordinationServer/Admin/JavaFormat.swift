/// Formats values the way the Java standard library prints them, so the four-letter-word output matches
/// ZooKeeper's byte for byte.
enum JavaFormat {
    /// `Long.toHexString`: lowercase, no leading zeros, negative numbers as their 64-bit two's complement.
    static func hex(_ value: Int64) -> String {
        String(UInt64(bitPattern: value), radix: 16)
    }

    /// `Double.toString`: decimal notation with at least one fractional digit for 10^-3 ≤ |x| < 10^7,
    /// else computerized scientific notation (`1.0E-4`, `1.2345678E7`); the digits are the shortest that
    /// identify the value, which Swift's `description` also produces.
    static func double(_ value: Double) -> String {
        if value.isNaN { return "NaN" }
        if value.isInfinite { return value < 0 ? "-Infinity" : "Infinity" }
        if value == 0 { return value.sign == .minus ? "-0.0" : "0.0" }
        let magnitude = abs(value)
        let sign = value < 0 ? "-" : ""
        let (digits, exponent) = shortestDigits(magnitude)
        if magnitude >= 1e-3 && magnitude < 1e7 {
            // exponent is the power of ten of the first digit.
            if exponent >= 0 {
                let integerCount = exponent + 1
                let padded = digits.count < integerCount
                    ? digits + String(repeating: "0", count: integerCount - digits.count) : digits
                let integerPart = String(padded.prefix(integerCount))
                let fraction = String(padded.dropFirst(integerCount))
                return sign + integerPart + "." + (fraction.isEmpty ? "0" : fraction)
            } else {
                return sign + "0." + String(repeating: "0", count: -exponent - 1) + digits
            }
        }
        let rest = digits.dropFirst()
        return sign + String(digits.prefix(1)) + "." + (rest.isEmpty ? "0" : String(rest)) + "E\(exponent)"
    }

    /// The shortest decimal digits of a positive finite value (no leading or trailing zeros) and the power of
    /// ten of the first digit, taken from Swift's shortest round-trip `description`.
    private static func shortestDigits(_ value: Double) -> (digits: String, exponent: Int) {
        let text = value.description  // e.g. "2.4375", "0.0001", "1e-05", "1.5e+20", "12345678.0"
        var mantissa = Substring(text)
        var exponent = 0
        if let e = text.firstIndex(where: { $0 == "e" || $0 == "E" }) {
            mantissa = text[..<e]
            exponent = Int(text[text.index(after: e)...]) ?? 0
        }
        let pointIndex = mantissa.firstIndex(of: ".")
        let integerDigits = pointIndex.map { mantissa[..<$0] } ?? mantissa
        let fractionDigits = pointIndex.map { mantissa[mantissa.index(after: $0)...] } ?? ""
        var all = Array(integerDigits + fractionDigits)
        // Power of ten of all[0] before trimming.
        var firstExponent = integerDigits.count - 1 + exponent
        while let first = all.first, first == "0" {
            all.removeFirst()
            firstExponent -= 1
        }
        while let last = all.last, last == "0" {
            all.removeLast()
        }
        return (all.isEmpty ? "0" : String(all), firstExponent)
    }

    /// `AvgMinMaxCounter.getAvg()`: total / count rounded half-up to 4 decimals, 0 when there is no sample.
    static func average(total: Int64, count: Int64) -> Double {
        guard count > 0 else { return 0 }
        let average = Double(total) / Double(count)
        return (average * 10_000).rounded(.toNearestOrAwayFromZero) / 10_000
    }

    private static let weekdays = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
    private static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    /// `java.util.Date.toString()` in UTC: `Wed Nov 25 16:24:51 UTC 2026`.
    static func date(epochMilliseconds: Int64) -> String {
        let seconds = epochMilliseconds >= 0 ? epochMilliseconds / 1000 : (epochMilliseconds - 999) / 1000
        var days = seconds / 86_400
        var secondOfDay = seconds % 86_400
        if secondOfDay < 0 {
            secondOfDay += 86_400
            days -= 1
        }
        let weekday = Int(((days % 7) + 7 + 4) % 7)  // 1970-01-01 was a Thursday.
        let (year, month, day) = civilDate(daysSinceEpoch: days)
        let hour = secondOfDay / 3600
        let minute = (secondOfDay % 3600) / 60
        let second = secondOfDay % 60
        return "\(weekdays[weekday]) \(months[month - 1]) \(twoDigits(day)) "
            + "\(twoDigits(hour)):\(twoDigits(minute)):\(twoDigits(second)) UTC \(year)"
    }

    private static func twoDigits(_ value: Int64) -> String {
        value < 10 ? "0\(value)" : "\(value)"
    }

    /// Howard Hinnant's days-to-civil algorithm (proleptic Gregorian calendar).
    private static func civilDate(daysSinceEpoch: Int64) -> (year: Int64, month: Int, day: Int64) {
        let z = daysSinceEpoch + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        return (year, Int(month), day)
    }

    /// `InetSocketAddress.toString()` of a resolved address without a host name: `/127.0.0.1:2181`,
    /// `/[0:0:0:0:0:0:0:1]:2181`.
    static func socketAddress(host: String, port: Int) -> String {
        let address = inetAddress(host)
        return address.contains(":") ? "/[\(address)]:\(port)" : "/\(address):\(port)"
    }

    /// `InetAddress.getHostAddress()`: IPv6 written out in eight groups without leading zeros
    /// (`::1` becomes `0:0:0:0:0:0:0:1`), IPv4-mapped IPv6 as plain IPv4, anything else unchanged.
    static func inetAddress(_ host: String) -> String {
        var text = host
        if text.hasPrefix("["), text.hasSuffix("]") { text = String(text.dropFirst().dropLast()) }
        guard text.contains(":") else { return text }
        var scope = ""
        if let percent = text.firstIndex(of: "%") {
            scope = String(text[percent...])
            text = String(text[..<percent])
        }
        guard let groups = ipv6Groups(text) else { return host }
        if groups[0..<5].allSatisfy({ $0 == 0 }), groups[5] == 0xffff {
            return "\(groups[6] >> 8).\(groups[6] & 0xff).\(groups[7] >> 8).\(groups[7] & 0xff)"
        }
        return groups.map { String($0, radix: 16) }.joined(separator: ":") + scope
    }

    private static func ipv6Groups(_ text: String) -> [UInt16]? {
        func parse(_ part: Substring) -> [UInt16]? {
            if part.isEmpty { return [] }
            var result: [UInt16] = []
            let pieces = part.split(separator: ":", omittingEmptySubsequences: false)
            for (index, piece) in pieces.enumerated() {
                if index == pieces.count - 1, piece.contains(".") {
                    let octets = piece.split(separator: ".").compactMap { UInt8($0) }
                    guard octets.count == 4 else { return nil }
                    result.append(UInt16(octets[0]) << 8 | UInt16(octets[1]))
                    result.append(UInt16(octets[2]) << 8 | UInt16(octets[3]))
                } else {
                    guard let group = UInt16(piece, radix: 16), piece.count <= 4 else { return nil }
                    result.append(group)
                }
            }
            return result
        }
        let halves = text.splitAtDoubleColons()
        switch halves.count {
        case 1:
            guard let all = parse(halves[0]), all.count == 8 else { return nil }
            return all
        case 2:
            guard let head = parse(halves[0]), let tail = parse(halves[1]), head.count + tail.count < 8 else {
                return nil
            }
            return head + Array(repeating: 0, count: 8 - head.count - tail.count) + tail
        default:
            return nil
        }
    }
}

extension String {
    /// Splits at each "::" (at most a handful of pieces for an IPv6 address).
    fileprivate func splitAtDoubleColons() -> [Substring] {
        var pieces: [Substring] = []
        var start = startIndex
        var index = startIndex
        while index < endIndex {
            let next = self.index(after: index)
            if self[index] == ":", next < endIndex, self[next] == ":" {
                pieces.append(self[start..<index])
                start = self.index(after: next)
                index = start
            } else {
                index = next
            }
        }
        pieces.append(self[start...])
        return pieces
    }
}
