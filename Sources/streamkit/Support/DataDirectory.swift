import Foundation
import StreamKitLogFiles

/// A data directory: one store directory per store id, or a single store directory.
struct DataDirectory {
    struct StoreLocation {
        var id: String
        var path: String
    }

    let path: String
    let stores: [StoreLocation]

    /// Finds the stores under `path`.
    /// - Throws: `CLIError` for a missing path or a directory with no store in it.
    init(path: String) throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw CLIError("\(path): no such directory")
        }
        self.path = path
        if Self.isStore(path) {
            stores = [StoreLocation(id: URL(fileURLWithPath: path).lastPathComponent, path: path)]
            return
        }
        let names = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
        stores = names.sorted().map { StoreLocation(id: $0, path: path + "/" + $0) }.filter { Self.isStore($0.path) }
        guard !stores.isEmpty else {
            throw CLIError("\(path): not a StreamKit data directory (no store with log/ or wal/ in it)")
        }
    }

    static func isStore(_ path: String) -> Bool {
        var isDirectory: ObjCBool = false
        return
            (FileManager.default.fileExists(atPath: path + "/log", isDirectory: &isDirectory) && isDirectory.boolValue)
            || (FileManager.default.fileExists(atPath: path + "/wal", isDirectory: &isDirectory)
                && isDirectory.boolValue)
    }

    /// The store with `id` (its directory name; case-insensitive for UUIDs).
    func store(_ id: String) throws -> StoreLocation {
        guard let found = stores.first(where: { $0.id.lowercased() == id.lowercased() }) else {
            throw CLIError("\(path): no store \(id) (stores: \(stores.map(\.id).joined(separator: ", ")))")
        }
        return found
    }
}
