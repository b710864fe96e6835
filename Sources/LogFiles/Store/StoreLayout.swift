/// Where a store's files live: `<root>/log/`, `<root>/wal/`, `<root>/LOCK`.
///
/// Log files are named by their first position, WAL files by their file number, both as 20 decimal digits so
/// that name order is numeric order: `log/00000000000000000001.log`, `log/00000000000000000001.idx`,
/// `wal/00000000000000000001.wal`.
public struct StoreLayout: Sendable, Hashable {
    /// The store directory.
    public var root: String

    /// Creates the layout of the store directory at `root`.
    public init(root: String) {
        var root = root
        while root.count > 1 && root.hasSuffix("/") { root.removeLast() }
        self.root = root
    }

    /// The directory of log files and their block indexes.
    public var logDirectory: String { root + "/log" }
    /// The directory of write-ahead files.
    public var walDirectory: String { root + "/wal" }
    /// The lock file a writer holds.
    public var lockPath: String { root + "/LOCK" }
    /// Where the log starts and the heads of segments whose entries were all dropped (``StoreManifest``).
    public var manifestPath: String { root + "/manifest" }
    /// The store's durable consumers (the engine's `SideFile`).
    public var consumersPath: String { root + "/consumers" }
    /// A manifest being written; renamed over ``manifestPath`` once synced.
    var manifestTemporaryPath: String { root + "/manifest.tmp" }

    package func logPath(firstPosition: UInt64) -> String { logDirectory + "/" + Self.number(firstPosition) + ".log" }
    package func indexPath(firstPosition: UInt64) -> String { logDirectory + "/" + Self.number(firstPosition) + ".idx" }
    func walPath(fileID: UInt64) -> String { walDirectory + "/" + Self.number(fileID) + ".wal" }
    /// A deleted WAL file kept for reuse: overwriting written space syncs faster than appending.
    var walSparePath: String { walDirectory + "/spare" }

    static func number(_ value: UInt64) -> String {
        let digits = String(value)
        return String(repeating: "0", count: max(0, 20 - digits.count)) + digits
    }

    /// Parses `NNNN….ext` names, returning the numbers sorted ascending.
    static func numbers(in names: [String], extension ext: String) -> [UInt64] {
        names.compactMap { name -> UInt64? in
            guard name.hasSuffix("." + ext) else { return nil }
            let stem = name.dropLast(ext.count + 1)
            guard stem.count == 20, stem.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
            return UInt64(stem)
        }.sorted()
    }
}
