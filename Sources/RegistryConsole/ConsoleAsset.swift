import Foundation

/// One embedded file of the console (Sources/RegistryConsole/Assets, embedded by Scripts/embed-console-assets.py).
struct ConsoleAsset: Sendable {
    let name: String
    let contentType: String
    /// A strong ETag (quoted) of the bytes.
    let etag: String
    let bytes: [UInt8]

    init(name: String, contentType: String, etag: String, base64: String) {
        self.name = name
        self.contentType = contentType
        self.etag = etag
        self.bytes = Data(base64Encoded: base64, options: .ignoreUnknownCharacters).map { Array($0) } ?? []
    }
}

extension ConsoleAssets {
    /// The assets by name, decoded once.
    static let byName: [String: ConsoleAsset] = Dictionary(
        uniqueKeysWithValues: files.map { file in
            (file.name, ConsoleAsset(name: file.name, contentType: file.contentType, etag: file.etag, base64: file.base64))
        })

    static func asset(named name: String) -> ConsoleAsset? { byName[name] }
}
