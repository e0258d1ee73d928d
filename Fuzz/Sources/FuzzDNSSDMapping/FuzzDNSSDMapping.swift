// The registry-to-DNS-SD mapping (RegistryDNSSD.DNSSDMapping) and the pure DNS-SD name and TXT helpers
// (DNSSDCore.DNSSDNames, DNSSDTXTRecord, DNSSDTXTItem): no daemon. The input is a registry name, an id, TXT
// strings and an instance in Curator's JSON. The checks are the mapping's promises: the types, subtypes and
// instance names it makes are valid DNS-SD names of the allowed sizes, fitted TXT records stay within their
// budget and keep the required keys, and a TXT string survives its wire form.
import CFuzzDriver
import DNSSDCore
import FuzzSupport
import RegistryDNSSD
import ServiceModel

@_cdecl("FuzzDNSSDMapping_main")
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
    let name = String(decoding: input.run(maxLength: 80), as: UTF8.self)
    let id = String(decoding: input.run(maxLength: 60), as: UTF8.self)
    var txtItems: [DNSSDTXTItem] = []
    for _ in 0..<input.below(6) {
        let raw = input.run()
        if let item = DNSSDTXTItem(bytes: raw) {
            txtItems.append(item)
            if !raw.isEmpty {
                fuzzCheck(DNSSDTXTItem(bytes: item.bytes) == item, "TXT item \(item) does not survive its bytes")
            }
        }
    }
    let json = input.rest()

    // Names.
    let (type, subtypes) = DNSSDMapping.serviceType(forRegistryName: name, udp: input.bool())
    fuzzCheck(DNSSDNames.isValidServiceType(type), "invalid type \(type) for \(name.debugDescription)")
    for subtype in subtypes {
        fuzzCheck(DNSSDNames.isValidSubtypeLabel(subtype), "invalid subtype \(subtype) for \(name.debugDescription)")
    }
    _ = DNSSDMapping.browseType(for: name)
    let instanceName = DNSSDMapping.instanceName(service: name, id: id)
    fuzzCheck(instanceName.utf8.count <= DNSSDNames.maxInstanceNameBytes, "instance name \(instanceName.debugDescription) too long")
    _ = DNSSDNames.splitServiceType(name)
    _ = DNSSDNames.parse(name + "." + id)
    _ = DNSSDNames.alternativeName(name)
    let truncated = DNSSDNames.truncateUTF8(name, maxBytes: id.utf8.count)
    fuzzCheck(truncated.utf8.count <= id.utf8.count, "truncateUTF8 gave \(truncated.utf8.count) bytes")
    _ = DNSSDTXTRecord.fit(txtItems, required: min(txtItems.count, 2))

    // An instance from Curator's JSON, published and read back.
    if let instance = try? ServiceInstance(json: json) {
        let txt = DNSSDMapping.txt(for: instance, path: "/services/\(instance.name)/\(instance.id)")
        fuzzCheck(DNSSDTXTRecord.wireSize(txt) <= DNSSDTXTRecord.defaultBudget || txt.count <= DNSSDMapping.requiredTXTKeys.count,
                  "TXT record of \(DNSSDTXTRecord.wireSize(txt)) bytes")
        if let entry = try? DNSSDMapping.entry(for: instance, path: nil) {
            fuzzCheck(DNSSDNames.isValidServiceType(entry.type), "entry type \(entry.type) is not valid")
            fuzzCheck(entry.name.utf8.count <= DNSSDNames.maxInstanceNameBytes, "entry name too long")
            let resolved = DNSSDService(
                name: entry.name, type: entry.type, domain: "local", host: "h.local", addresses: ["10.0.0.1"],
                port: entry.port, txt: entry.txt)
            let back = DNSSDMapping.instance(from: resolved)
            _ = back.curatorJSON()
        }
    }
    let browsed = DNSSDService(name: name, type: type, domain: "local", host: id, addresses: [id], port: 80, txt: txtItems)
    _ = DNSSDMapping.instance(from: browsed).encoded()
    return 0
}

func seeds() -> [[UInt8]] {
    func run(_ text: String) -> [UInt8] { let b = Array(text.utf8); return [UInt8(b.count)] + b }
    let instance = #"{"name":"orders","id":"7c1f6a2e-3b5d-4e8f-9a10-2b3c4d5e6f70","address":"10.0.0.5","port":8080,"payload":{"@class":"java.util.LinkedHashMap","zone":"a","dnsSdType":"_http._tcp","weight":3},"registrationTimeUTC":1,"serviceType":"DYNAMIC","uriSpec":null,"enabled":true}"#
    return [
        run("orders") + run("7c1f6a2e-3b5d-4e8f-9a10-2b3c4d5e6f70") + [2] + run("txtvers=1") + run("service=orders") + [0] + Array(instance.utf8),
        run("Orders.Service v2") + run("1") + [1] + run("path=/services/x") + [1] + #"{"name":"Orders.Service v2","id":"1","sslPort":443,"payload":{"dnsSdProtocol":"udp"}}"#.utf8,
        run("http") + run(String(repeating: "é", count: 30)) + [1] + run("=novalue") + [0],
        run("") + run("") + [0, 0],
    ]
}
