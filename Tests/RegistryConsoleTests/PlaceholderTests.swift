import Testing
@testable import RegistryConsole

@Test func consoleModuleLinks() {
    _ = RegistryConsole.self
}
