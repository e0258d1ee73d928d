import Foundation
import Testing

@testable import ServiceRegistry

/// The instance JSON against golden strings written by Apache Curator 5.4.0's `JsonInstanceSerializer` (Debian's
/// libcurator-discovery-java, Jackson 2.14), byte for byte.
@Suite struct JSONFormatTests {
    // new ServiceInstance<Object>("api","id1","10.0.0.1",8080,null,null,1700000000000L,ServiceType.DYNAMIC,
    //     new UriSpec("{scheme}://foo.com:{port}/x"),true)
    static let goldenWithUriSpec =
        #"{"name":"api","id":"id1","address":"10.0.0.1","port":8080,"sslPort":null,"payload":null,"registrationTimeUTC":1700000000000,"serviceType":"DYNAMIC","uriSpec":{"parts":[{"value":"scheme","variable":true},{"value":"://foo.com:","variable":false},{"value":"port","variable":true},{"value":"/x","variable":false}]}}"#

    // A LinkedHashMap payload {k: "v", n: 1}, no address or port, sslPort 443, DYNAMIC_SEQUENTIAL.
    static let goldenMapPayload =
        #"{"name":"api","id":"id2","address":null,"port":null,"sslPort":443,"payload":{"@class":"java.util.LinkedHashMap","k":"v","n":1},"registrationTimeUTC":1,"serviceType":"DYNAMIC_SEQUENTIAL","uriSpec":null}"#

    // A String payload, PERMANENT.
    static let goldenStringPayload =
        #"{"name":"api","id":"id3","address":"h","port":1,"sslPort":2,"payload":"str","registrationTimeUTC":1,"serviceType":"PERMANENT","uriSpec":null}"#

    // A List payload (Arrays.asList(1, 2)) and escapes in the name.
    static let goldenListPayloadAndEscapes =
        #"{"name":"ap\"i/é","id":"id3","address":"h","port":1,"sslPort":2,"payload":["java.util.Arrays$ArrayList",[1,2]],"registrationTimeUTC":1,"serviceType":"PERMANENT","uriSpec":null}"#

    // The non-compatible serializer (JsonInstanceSerializer(Object.class, false)) with enabled = false.
    static let goldenDisabled =
        #"{"name":"api","id":"id1","address":"10.0.0.1","port":8080,"sslPort":null,"payload":null,"registrationTimeUTC":1700000000000,"serviceType":"DYNAMIC","uriSpec":null,"enabled":false}"#

    // Control characters, a character beyond the BMP, U+2028, a nested list and a long in a map payload, and a
    // uri spec with braces and padded variable names: "{scheme}://{ address }:{port}{[}x{]}".
    static let goldenEscapes =
        "{\"name\":\"a\\u0001\\t\\\"\\\\/b\u{e9}\\uD83D\\uDE00\u{2028}\",\"id\":\"id\",\"address\":null,\"port\":null,\"sslPort\":null,"
        + "\"payload\":{\"@class\":\"java.util.LinkedHashMap\",\"z\":1,\"a\":[\"x\",2.5,true,null],\"big\":9007199254740993},"
        + "\"registrationTimeUTC\":-5,\"serviceType\":\"PERMANENT\",\"uriSpec\":{\"parts\":["
        + "{\"value\":\"scheme\",\"variable\":true},{\"value\":\"://\",\"variable\":false},"
        + "{\"value\":\"address\",\"variable\":true},{\"value\":\":\",\"variable\":false},"
        + "{\"value\":\"port\",\"variable\":true},{\"value\":\"[\",\"variable\":true},"
        + "{\"value\":\"x\",\"variable\":false},{\"value\":\"]\",\"variable\":true}]}}"

    @Test func encodesLikeCuratorWithUriSpec() throws {
        let instance = ServiceInstance(
            name: "api", id: "id1", address: "10.0.0.1", port: 8080, registrationTimeUTC: 1_700_000_000_000,
            serviceType: .dynamic, uriSpec: try UriSpec("{scheme}://foo.com:{port}/x"))
        #expect(instance.curatorJSON().serialized() == Self.goldenWithUriSpec)
        #expect(String(decoding: instance.encoded(), as: UTF8.self) == Self.goldenWithUriSpec)
    }

    @Test func mapPayloadGetsJacksonsClassFirst() {
        let instance = ServiceInstance(
            name: "api", id: "id2", sslPort: 443, payload: .object([("k", .string("v")), ("n", .number(1))]),
            registrationTimeUTC: 1, serviceType: .dynamicSequential)
        #expect(instance.curatorJSON().serialized() == Self.goldenMapPayload)
    }

    @Test func scalarAndListPayloads() {
        let string = ServiceInstance(
            name: "api", id: "id3", address: "h", port: 1, sslPort: 2, payload: .string("str"), registrationTimeUTC: 1,
            serviceType: .permanent)
        #expect(string.curatorJSON().serialized() == Self.goldenStringPayload)
        let list = ServiceInstance(
            name: "ap\"i/é", id: "id3", address: "h", port: 1, sslPort: 2,
            payload: .array([.string("java.util.Arrays$ArrayList"), .array([.number(1), .number(2)])]),
            registrationTimeUTC: 1, serviceType: .permanent)
        #expect(list.curatorJSON().serialized() == Self.goldenListPayloadAndEscapes)
        // A bare array is wrapped as a java.util.ArrayList.
        var bare = list
        bare.payload = .array([.number(1), .number(2)])
        #expect(bare.curatorJSON()["payload"] == .array([.string("java.util.ArrayList"), .array([.number(1), .number(2)])]))
        #expect(bare.payloadValue == .array([.number(1), .number(2)]))
    }

    @Test func disabledInstanceAddsEnabledLast() {
        let instance = ServiceInstance(
            name: "api", id: "id1", address: "10.0.0.1", port: 8080, registrationTimeUTC: 1_700_000_000_000,
            serviceType: .dynamic, enabled: false)
        #expect(instance.curatorJSON().serialized() == Self.goldenDisabled)
    }

    @Test func escapesLikeJackson() throws {
        let instance = ServiceInstance(
            name: "a\u{01}\t\"\\/b\u{e9}\u{1F600}\u{2028}", id: "id",
            payload: .object([
                ("z", .number(1)), ("a", .array([.string("x"), .number("2.5"), .bool(true), .null])),
                ("big", .number(Int64(9_007_199_254_740_993))),
            ]),
            registrationTimeUTC: -5, serviceType: .permanent, uriSpec: try UriSpec("{scheme}://{ address }:{port}{[}x{]}"))
        #expect(instance.curatorJSON().serialized() == Self.goldenEscapes)
        #expect(instance.buildURI() == "http://:{x}")
    }

    @Test(arguments: [
        goldenWithUriSpec, goldenMapPayload, goldenStringPayload, goldenListPayloadAndEscapes, goldenDisabled,
        goldenEscapes,
    ])
    func roundTripsByteForByte(golden: String) throws {
        let instance = try ServiceInstance(json: Array(golden.utf8))
        #expect(instance.curatorJSON().serialized() == golden)
    }

    @Test func decodesFields() throws {
        let disabled = try ServiceInstance(json: Array(Self.goldenDisabled.utf8))
        #expect(disabled.enabled == false)
        #expect(disabled.name == "api")
        #expect(disabled.port == 8080)
        #expect(disabled.sslPort == nil)
        #expect(disabled.registrationTimeUTC == 1_700_000_000_000)
        let map = try ServiceInstance(json: Array(Self.goldenMapPayload.utf8))
        #expect(map.enabled)
        #expect(map.address == nil)
        #expect(map.serviceType == .dynamicSequential)
        #expect(map.payloadValue == .object([("k", .string("v")), ("n", .number(1))]))
        let spec = try ServiceInstance(json: Array(Self.goldenWithUriSpec.utf8)).uriSpec
        #expect(spec == (try UriSpec("{scheme}://foo.com:{port}/x")))
        #expect(spec?.description == "{scheme}://foo.com:{port}/x")
    }

    @Test func readersIgnoreUnknownFieldsAndDefaultMissingOnes() throws {
        let text = #"{"zzz":{"nested":[1]},"name":"api","id":"x","payload":{"a":1},"extra":null}"#
        let instance = try ServiceInstance(json: Array(text.utf8))
        #expect(instance.name == "api")
        #expect(instance.id == "x")
        #expect(instance.address == nil)
        #expect(instance.port == nil)
        #expect(instance.registrationTimeUTC == 0)
        #expect(instance.serviceType == .dynamic)
        #expect(instance.uriSpec == nil)
        #expect(instance.enabled)
        // A payload object without "@class" (as a non-Jackson writer makes it) gets the Map class when written.
        #expect(instance.curatorJSON()["payload"] == .object([("@class", .string("java.util.LinkedHashMap")), ("a", .number(1))]))
    }

    @Test func rejectsWhatIsNotAnInstance() {
        #expect(throws: ServiceRegistryError.self) { try ServiceInstance(json: Array("[1]".utf8)) }
        #expect(throws: ServiceRegistryError.self) { try ServiceInstance(json: Array("{".utf8)) }
        #expect(throws: ServiceRegistryError.self) { try ServiceInstance(json: Array(#"{"serviceType":"NOPE"}"#.utf8)) }
        #expect(throws: ServiceRegistryError.self) { try ServiceInstance(json: Array(#"{"port":"x"}"#.utf8)) }
    }

    @Test func codablePayloads() throws {
        struct Meta: Codable, Equatable {
            var zone: String
            var weight: Int
        }
        var instance = ServiceInstance(name: "api", id: "a")
        try instance.setPayload(Meta(zone: "eu-1", weight: 3))
        let data = instance.encoded()
        let back = try ServiceInstance(json: data)
        #expect(try back.decodePayload(as: Meta.self) == Meta(zone: "eu-1", weight: 3))
        #expect(back.payload?["@class"] == .string("java.util.LinkedHashMap"))
    }

    @Test func defaultsFollowTheId() {
        let generated = ServiceInstance(name: "api")
        #expect(generated.serviceType == .dynamicSequential)
        #expect(UUID(uuidString: generated.id) != nil)
        #expect(generated.id == generated.id.lowercased())
        let fixed = ServiceInstance(name: "api", id: "web-1")
        #expect(fixed.serviceType == .dynamic)
    }

    @Test func uriSpecParsing() throws {
        let spec = try UriSpec("{scheme}://{address}:{port}/v1")
        #expect(spec.parts == [
            .init(value: "scheme", variable: true), .init(value: "://", variable: false),
            .init(value: "address", variable: true), .init(value: ":", variable: false),
            .init(value: "port", variable: true), .init(value: "/v1", variable: false),
        ])
        let instance = ServiceInstance(name: "api", id: "i", address: "10.0.0.2", port: 80, sslPort: 443, uriSpec: spec)
        #expect(instance.buildURI() == "https://10.0.0.2:80/v1")
        #expect(spec.build(variables: ["scheme": "grpc", "address": "h", "port": "1"]) == "grpc://h:1/v1")
        #expect(throws: ServiceRegistryError.self) { try UriSpec("{a") }
        #expect(throws: ServiceRegistryError.self) { try UriSpec("a}") }
        #expect(throws: ServiceRegistryError.self) { try UriSpec("{a{b}}") }
    }

    @Test func jsonValueParsing() throws {
        #expect(try JSONValue.parse(" {\"a\" : [1, -2.5e3, \"x\\u00e9\\n\"], \"b\": {} } ")
            == .object([("a", .array([.number(1), .number("-2.5e3"), .string("xé\n")])), ("b", .object([]))]))
        #expect(try JSONValue.parse("\"\\uD83D\\uDE00\"") == .string("\u{1F600}"))
        for bad in ["", "01", "[1,]", "{\"a\"}", "tru", "\"\\x\"", "[1] 2", "\"\\uD800\"", "-", "1."] {
            #expect(throws: JSONParseError.self, "\(bad)") { try JSONValue.parse(bad) }
        }
        // Member order and number text survive.
        let text = #"{"z":1.50,"a":10000000000000000001,"m":-0}"#
        #expect(try JSONValue.parse(text).serialized() == text)
    }
}
