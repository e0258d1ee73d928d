import Testing
@testable import ServiceRegistry

@Suite struct JSONFormatTests {
    @Test func placeholder() {
        #expect(JSONValue.null.serialized() == "null")
    }
}
