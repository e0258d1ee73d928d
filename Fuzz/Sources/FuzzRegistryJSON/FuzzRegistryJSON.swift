// The registry's JSON: JSONValue.parse and ServiceInstance(json:), on Curator's instance format and on garbage.
// Anything either decodes or throws; a value that parses must parse the same after serializing, and an instance
// that decodes must decode the same after encoding (its payload may gain Jackson's "@class").
import CFuzzDriver
import FuzzSupport
import ServiceModel

@_cdecl("FuzzRegistryJSON_main")
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
    let bytes = FuzzInput(data, size).bytes
    if let value = try? JSONValue.parse(bytes) {
        let text = value.serialized()
        do {
            let again = try JSONValue.parse(text)
            fuzzCheck(again == value, "JSON round trip changed \(value) into \(again)")
        } catch {
            fuzzCheck(false, "serialized JSON \(text) does not parse: \(error)")
        }
    }
    if let instance = try? ServiceInstance(json: bytes) {
        do {
            // Encoding adds Jackson's type information to a payload that has none ("@class", as Curator writes
            // a Map): the payload may gain it, its value may not change, and a second round trip changes nothing.
            var once = try ServiceInstance(json: instance.encoded())
            fuzzCheck(once.payloadValue == instance.payloadValue, "payload \(String(describing: instance.payload)) became \(String(describing: once.payload))")
            let twice = try ServiceInstance(json: once.encoded())
            fuzzCheck(twice == once, "a second round trip changed \(once) into \(twice)")
            once.payload = instance.payload
            fuzzCheck(once == instance, "instance round trip changed \(instance) into \(once)")
        } catch {
            fuzzCheck(false, "an encoded instance does not decode: \(error)")
        }
    }
    return 0
}

func seeds() -> [[UInt8]] {
    let texts = [
        // Curator's ServiceInstance as its JsonInstanceSerializer writes it.
        #"{"name":"orders","id":"7c1f6a2e-3b5d-4e8f-9a10-2b3c4d5e6f70","address":"10.0.0.5","port":8080,"sslPort":null,"payload":null,"registrationTimeUTC":1700000000000,"serviceType":"DYNAMIC","uriSpec":{"parts":[{"value":"scheme","variable":true},{"value":"://","variable":false},{"value":"address","variable":true},{"value":":","variable":false},{"value":"port","variable":true}]},"enabled":true}"#,
        #"{"name":"db","id":"1","address":"h","port":null,"sslPort":5432,"payload":{"@class":"java.util.LinkedHashMap","zone":"a","weight":3,"tls":true,"nested":{"x":[1,2.5e3,-0.0,null]}},"registrationTimeUTC":0,"serviceType":"STATIC","uriSpec":null,"enabled":false}"#,
        #"{"name":"x","id":"y","serviceType":"PERMANENT","port":"80","extra":[]}"#,
        #"{"name":"ü\u00e9\ud83d\ude00","id":"\"\\\/\b\f\n\r\t","port":65535}"#,
        #"[1, "two", {"three": 3}, [], {}, true, false, null, -1.5E+10, 0.000001]"#,
        #"  {"a":1,"a":2}  "#,
        "{\"name\":",
        "nul",
    ]
    return texts.map { Array($0.utf8) }
}
