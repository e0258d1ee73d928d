#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads a fuzzer's input as a stream of choices: integers, small numbers, byte runs. Once the input runs out
/// every read answers zero (or empty), so any input is a complete program.
public struct FuzzInput {
    public let bytes: [UInt8]
    public private(set) var offset = 0

    public init(_ bytes: [UInt8]) { self.bytes = bytes }

    public init(_ data: UnsafePointer<UInt8>?, _ size: Int) {
        if let data, size > 0 {
            bytes = Array(UnsafeBufferPointer(start: data, count: size))
        } else {
            bytes = []
        }
    }

    public var isEmpty: Bool { offset >= bytes.count }
    public var remaining: Int { max(0, bytes.count - offset) }

    public mutating func byte() -> UInt8 {
        guard offset < bytes.count else { return 0 }
        defer { offset += 1 }
        return bytes[offset]
    }

    public mutating func bool() -> Bool { byte() & 1 == 1 }

    /// A number in `0..<bound` (bound > 0), from one byte, or two when the bound needs them.
    public mutating func below(_ bound: Int) -> Int {
        precondition(bound > 0)
        if bound <= 256 { return Int(byte()) % bound }
        return (Int(byte()) << 8 | Int(byte())) % bound
    }

    public mutating func pick<T>(_ choices: [T]) -> T { choices[below(choices.count)] }

    public mutating func uint32() -> UInt32 {
        var v: UInt32 = 0
        for _ in 0..<4 { v = v << 8 | UInt32(byte()) }
        return v
    }

    public mutating func int32() -> Int32 { Int32(bitPattern: uint32()) }

    public mutating func int64() -> Int64 {
        Int64(bitPattern: UInt64(uint32()) << 32 | UInt64(uint32()))
    }

    /// A byte run whose length (at most `maxLength`) is the next byte.
    public mutating func run(maxLength: Int = 255) -> [UInt8] {
        let length = min(Int(byte()), maxLength, remaining)
        defer { offset += length }
        return Array(bytes[offset..<offset + length])
    }

    /// Everything not read yet.
    public mutating func rest() -> [UInt8] {
        defer { offset = bytes.count }
        return offset < bytes.count ? Array(bytes[offset...]) : []
    }
}

/// Where a target's seeds are written when its binary runs with `ZOOREG_FUZZ_WRITE_SEEDS=<dir>`: the seed corpus
/// under Fuzz/Corpus/<target>/ is made this way (Scripts/fuzz.sh --seeds), so it stays in step with the encoders.
public enum Seeds {
    /// Writes `seeds` as `seed-NNN` files into the directory named by ZOOREG_FUZZ_WRITE_SEEDS and exits, if that
    /// variable is set; otherwise returns. Call from LLVMFuzzerInitialize.
    public static func writeIfAsked(_ seeds: () -> [[UInt8]]) {
        guard let dir = getenv("ZOOREG_FUZZ_WRITE_SEEDS").map({ String(cString: $0) }), !dir.isEmpty else { return }
        mkdir(dir, 0o755)
        for (i, seed) in seeds().enumerated() {
            let path = dir + "/" + "seed-" + String(String(i + 1000).dropFirst())
            guard let file = fopen(path, "wb") else { fatalError("cannot write \(path)") }
            _ = seed.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, file) }
            fclose(file)
        }
        exit(0)
    }
}

/// A fuzzer's oracle failed: the message, then a trap, which libFuzzer reports as a crash with the input.
public func fuzzCheck(_ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String) {
    if !condition() {
        let line = "fuzz check failed: \(message())\n"
        _ = line.withCString { write(2, $0, strlen($0)) }
        abort()
    }
}
