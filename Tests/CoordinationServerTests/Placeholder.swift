import Testing

@Test func placeholderCoordinationServer() { #expect(Bool(true)) }
