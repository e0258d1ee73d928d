import Benchmark
import NIOCore
import ZooKeeperWire

// Encode and decode of one record (per iteration: 1000 records, `scalingFactor: .kilo`), both directions, as the
// server and the client use them on the hot path: a getData request and its reply, a create request, a setData
// request, a Stat.

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .cpuTotal, .mallocCountTotal, .throughput, .instructions],
        warmupIterations: 5, scalingFactor: .kilo, maxDuration: .seconds(2), maxIterations: 2000)

    let allocator = ByteBufferAllocator()
    let data = [UInt8](repeating: 0x61, count: 100)
    let stat = Stat(
        czxid: 0x1_0000_0001, mzxid: 0x1_0000_0002, ctime: 1_700_000_000_000, mtime: 1_700_000_000_001, version: 3,
        cversion: 0, aversion: 0, ephemeralOwner: 0, dataLength: 100, numChildren: 0, pzxid: 0x1_0000_0001)
    let getData = ZooKeeperRequest.getData(GetDataRequest(path: "/bench/k/1234", watch: false))
    let create = ZooKeeperRequest.create(CreateRequest(
        path: "/bench/seq/n-", data: data, acl: ACL.openUnsafe, flags: CreateMode.ephemeralSequential.rawValue))
    let setData = ZooKeeperRequest.setData(SetDataRequest(path: "/bench/k/1234", data: data, version: -1))

    func frame(_ request: ZooKeeperRequest) -> ByteBuffer {
        var buffer = allocator.buffer(capacity: 256)
        buffer.writeZooKeeperRequest(xid: 7, request: request)
        buffer.moveReaderIndex(forwardBy: 4)
        return buffer
    }
    let getDataFrame = frame(getData)
    let createFrame = frame(create)
    let setDataFrame = frame(setData)
    var replyFrame = allocator.buffer(capacity: 256)
    replyFrame.writeZooKeeperReply(xid: 7, zxid: 42, err: .ok, response: .getData(GetDataResponse(data: data, stat: stat)))
    replyFrame.moveReaderIndex(forwardBy: 4)

    Benchmark("Codec/client encode getData request frame") { benchmark in
        var buffer = allocator.buffer(capacity: 64 * 1024)
        for _ in benchmark.scaledIterations {
            buffer.writeZooKeeperRequest(xid: 7, request: getData)
        }
        blackHole(buffer)
    }

    Benchmark("Codec/client encode setData request frame (100 B)") { benchmark in
        var buffer = allocator.buffer(capacity: 256 * 1024)
        for _ in benchmark.scaledIterations {
            buffer.writeZooKeeperRequest(xid: 7, request: setData)
        }
        blackHole(buffer)
    }

    Benchmark("Codec/server decode getData request") { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(try RequestFrame.decode(getDataFrame))
        }
    }

    Benchmark("Codec/server decode create request (100 B)") { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(try RequestFrame.decode(createFrame))
        }
    }

    Benchmark("Codec/server decode setData request (100 B)") { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(try RequestFrame.decode(setDataFrame))
        }
    }

    Benchmark("Codec/server encode getData reply (100 B + Stat)") { benchmark in
        var buffer = allocator.buffer(capacity: 256 * 1024)
        for _ in benchmark.scaledIterations {
            buffer.writeZooKeeperReply(xid: 7, zxid: 42, err: .ok, response: .getData(GetDataResponse(data: data, stat: stat)))
        }
        blackHole(buffer)
    }

    Benchmark("Codec/client decode getData reply (100 B + Stat)") { benchmark in
        for _ in benchmark.scaledIterations {
            let reply = try ReplyFrame.decode(replyFrame)
            blackHole(try reply.response(for: .getData))
        }
    }

    Benchmark("Codec/Stat encode + decode") { benchmark in
        var buffer = allocator.buffer(capacity: 128)
        for _ in benchmark.scaledIterations {
            buffer.clear()
            stat.juteEncode(into: &buffer)
            blackHole(try Stat(juteFrom: &buffer))
        }
    }
}
