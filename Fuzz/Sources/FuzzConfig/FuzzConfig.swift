// The zoo.cfg parser (ServerConfiguration.parse, Java properties syntax): any text either parses or throws a
// ConfigurationError naming the file and line.
import CFuzzDriver
import FuzzSupport
import ServerConfig

@_cdecl("FuzzConfig_main")
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
    let input = FuzzInput(data, size)
    let text = String(decoding: input.bytes, as: UTF8.self)
    if let configuration = try? ServerConfiguration.parse(contents: text, fileName: "zoo.cfg") {
        _ = configuration.resolvingRelativePaths(against: "/var/lib/zooreg")
    }
    return 0
}

func seeds() -> [[UInt8]] {
    let files = [
        """
        tickTime=2000
        initLimit=10
        syncLimit=5
        dataDir=/var/lib/zookeeper
        clientPort=2181
        maxClientCnxns=60
        autopurge.snapRetainCount=3
        autopurge.purgeInterval=1
        4lw.commands.whitelist=ruok, stat, mntr
        """,
        """
        # comment
        ! another
        dataDir = data
        dataLogDir: logs
        clientPortAddress=127.0.0.1
        minSessionTimeout=4000
        maxSessionTimeout=40000
        metricsProvider.className=org.apache.zookeeper.metrics.prometheus.PrometheusMetricsProvider
        metricsProvider.httpPort=7000
        admin.enableServer=false
        forceSync=no
        snapCount=100000
        globalOutstandingLimit=1000
        zookeeper.extendedTypesEnabled=true
        """,
        "dataDir=/tmp/z\\\n  continued\nclientPort=0x\\u0041\nkey\\ with\\ spaces=1\n",
        "dataDir=/d\nserver.1=zoo1:2888:3888\nserver.2=zoo2:2888:3888;2181\nstandaloneEnabled=false\n",
        "clientPort=99999\n",
        "dataDir=/d\nsecureClientPort=2281\nssl.keyStore.location=/k\nssl.trustStore.location=/t\n",
    ]
    return files.map { Array($0.utf8) }
}
