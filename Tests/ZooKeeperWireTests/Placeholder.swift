import Testing

@Test func placeholderZooKeeperWire() { #expect(Bool(true)) }
