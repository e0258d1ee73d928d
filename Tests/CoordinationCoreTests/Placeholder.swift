import Testing

@Test func placeholderCoordinationCore() { #expect(Bool(true)) }
