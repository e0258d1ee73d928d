// Every request decoder: the first byte picks an operation code (every code there is, plus a few that are not),
// the rest is the body. Decoded as the server does (trailing bytes allowed) and strictly; a body that decodes
// strictly must come back equal after encoding (the client's encoder and the server's decoder agree).
import CFuzzDriver
import FuzzSupport
import NIOCore
import WireFuzzSupport
import ZooKeeperWire

let opCodes: [Int32] = OpCode.allCases.map(\.rawValue) + [-2, 23, 99, 108, Int32.max, Int32.min]

@_cdecl("FuzzRequestDecoders_main")
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
    let opCode = opCodes[input.below(opCodes.count)]
    var body = ByteBufferAllocator().buffer(capacity: 0)
    body.writeBytes(input.rest())

    var lenient = body
    _ = try? ZooKeeperRequest.decode(opCode: opCode, from: &lenient, allowTrailingBytes: true)

    var strict = body
    guard let request = try? ZooKeeperRequest.decode(opCode: opCode, from: &strict) else { return 0 }
    fuzzCheck(request.opCode.rawValue == opCode, "decoded \(request.opCode) for opcode \(opCode)")
    var encoded = ByteBufferAllocator().buffer(capacity: body.readableBytes)
    request.encodeBody(into: &encoded)
    do {
        let again = try ZooKeeperRequest.decode(opCode: opCode, from: &encoded)
        fuzzCheck(again == request, "round trip changed \(request) into \(again)")
    } catch {
        fuzzCheck(false, "\(request) does not decode after encoding: \(error)")
    }
    return 0
}

func seeds() -> [[UInt8]] {
    WireSamples.requests.map { request in
        [UInt8(opCodes.firstIndex(of: request.opCode.rawValue)!)] + WireSamples.body(request)
    }
}
