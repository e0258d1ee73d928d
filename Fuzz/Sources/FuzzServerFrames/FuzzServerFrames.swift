// The server's side of a connection, as ServerEngine reads it: bytes arrive in chunks through
// ZooKeeperServerFrameDecoder (four-letter words or length-prefixed frames); the first frame is the handshake
// (ConnectRequest), every later one a RequestHeader and a request body decoded with trailing bytes allowed.
// Decoding errors are fine (the connection is closed or answered); traps are not.
import CFuzzDriver
import FuzzSupport
import Jute
import NIOCore
import WireFuzzSupport
import ZooKeeperWire

let words: Set<String> = ["ruok", "stat", "srvr", "conf", "cons", "crst", "dump", "envi", "mntr", "wchs", "wchc", "wchp", "dirs", "isro", "srst", "gtmk", "stmk"]

@_cdecl("FuzzServerFrames_main")
public func fuzzMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    zooreg_fuzz_run(argc, argv, testOneInput)
}

@_cdecl("LLVMFuzzerInitialize")
public func initialize(_ argc: UnsafeMutablePointer<Int32>?, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>?) -> Int32 {
    Seeds.writeIfAsked(seeds)
    return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
public func testOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    var input = FuzzInput(data, size)
    // The first byte chooses how the stream is cut into reads (1...16 bytes, or all at once) and the frame limit.
    let control = input.byte()
    let chunk = control & 0x0f == 0 ? Int.max : Int(control & 0x0f)
    let maxFrame = control & 0x10 == 0 ? ZooKeeperFrameDecoder.defaultMaxFrameLength : 64
    let stream = input.rest()

    var decoder = ZooKeeperServerFrameDecoder(maxFrameLength: maxFrame, knownFourLetterWords: words)
    var buffer = ByteBufferAllocator().buffer(capacity: 0)
    var handshakeSeen = false
    var offset = 0
    func handle(_ frame: InboundServerFrame) {
        guard case .frame(var payload) = frame else { return }
        fuzzCheck(payload.readableBytes <= maxFrame, "frame of \(payload.readableBytes) bytes above the limit")
        if !handshakeSeen {
            handshakeSeen = true
            _ = try? ConnectRequest(juteFrom: &payload)
            return
        }
        guard let header = try? RequestHeader(juteFrom: &payload) else { return }
        _ = try? ZooKeeperRequest.decode(opCode: header.type, from: &payload, allowTrailingBytes: true)
    }
    do {
        while offset < stream.count {
            let end = min(stream.count, offset &+ chunk < offset ? stream.count : offset + chunk)
            buffer.writeBytes(stream[offset..<end])
            offset = end
            while let frame = try decoder.decode(buffer: &buffer) { handle(frame) }
        }
        while let frame = try decoder.decodeLast(buffer: &buffer, seenEOF: true) { handle(frame) }
    } catch {
        // A frame length out of range: the server closes the connection.
    }
    return 0
}

func seeds() -> [[UInt8]] {
    func frame(_ body: [UInt8]) -> [UInt8] {
        WireSamples.bytes { buffer in buffer.writeZooKeeperFrame { $0.writeBytes(body) } }
    }
    let connect = frame(WireSamples.bytes { WireSamples.connectRequest.juteEncode(into: &$0) })
    var seeds: [[UInt8]] = [[0] + Array("ruok".utf8), [3] + Array("mntr".utf8), [0] + connect]
    var session = [UInt8(0)] + connect
    for (i, request) in WireSamples.requests.enumerated() {
        let one = WireSamples.bytes { $0.writeZooKeeperRequest(xid: Int32(i + 1), request: request) }
        seeds.append([UInt8(i % 16)] + connect + one)
        session += one
    }
    seeds.append(session)
    return seeds
}
