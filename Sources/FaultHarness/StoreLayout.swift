import Foundation

/// Where the blocks of a healthy store's log files and the frames of its WAL files lie, and which positions
/// each holds — read by the harness itself from `docs/format.md` (headers and lengths only, no CRCs, no
/// decompression), so that damage can be judged independently of the code under test: which positions a
/// damaged byte makes unreadable, whether another file still holds them, and whether the damage has the shape
/// of a torn tail.
struct StoreLayout: Sendable {
    enum Kind: Sendable {
        case log, wal, index, other
    }

    /// A log block or a WAL frame: bytes `offset..<end` of its file hold positions `first..<first + count`.
    struct Unit: Sendable {
        var offset: Int
        var end: Int
        var first: UInt64
        var count: Int

        var positions: Range<UInt64> { first..<(first + UInt64(count)) }
    }

    /// One file of the store directory.
    struct File: Sendable {
        /// The path inside the store directory, e.g. `log/00000000000000000001.log`.
        var path: String
        var kind: Kind
        var size: Int
        var units: [Unit]

        /// The end of the last unit (the header's end when there is none).
        var validEnd: Int { units.last?.end ?? min(size, StoreLayout.headerBytes) }
    }

    static let headerBytes = 64

    var files: [File]
    /// The highest position of any unit (0 for an empty store).
    var lastPosition: UInt64

    /// Reads the layout of the store in `directory` (every file but `LOCK`).
    static func read(storeDirectory directory: String) throws -> StoreLayout {
        var files: [File] = []
        for folder in ["log", "wal"] {
            let names = (try? FileManager.default.contentsOfDirectory(atPath: directory + "/" + folder)) ?? []
            for name in names.sorted() {
                let path = folder + "/" + name
                let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: directory + "/" + path)))
                let kind: Kind =
                    name.hasSuffix(".log")
                    ? .log : name.hasSuffix(".wal") ? .wal : name.hasSuffix(".idx") ? .index : .other
                let units = kind == .log ? blocks(bytes) : kind == .wal ? frames(bytes) : []
                files.append(File(path: path, kind: kind, size: bytes.count, units: units))
            }
        }
        let last = files.flatMap(\.units).map { $0.first + UInt64($0.count) - 1 }.max() ?? 0
        return StoreLayout(files: files, lastPosition: last)
    }

    /// The blocks of a log file, back to back after the header, up to the first that does not fit.
    static func blocks(_ bytes: [UInt8]) -> [Unit] {
        var units: [Unit] = []
        var offset = headerBytes
        while offset + headerBytes <= bytes.count, Array(bytes[offset..<(offset + 4)]) == Array("SKBK".utf8) {
            let stored = Int(integer(bytes, at: offset + 12, size: 4))
            let end = offset + headerBytes + stored
            guard end <= bytes.count else { break }
            units.append(
                Unit(
                    offset: offset, end: end, first: integer(bytes, at: offset + 24, size: 8),
                    count: Int(integer(bytes, at: offset + 20, size: 4))))
            offset = end
        }
        return units
    }

    /// The frames of a WAL file that carry its own file id and continue its positions, up to the first that does
    /// not (zero fill, stale frames of a recycled file, the end).
    static func frames(_ bytes: [UInt8]) -> [Unit] {
        guard bytes.count >= headerBytes else { return [] }
        let id = integer(bytes, at: 24, size: 8)
        var next = integer(bytes, at: 16, size: 8)
        var units: [Unit] = []
        var offset = headerBytes
        while offset + 32 <= bytes.count {
            let body = Int(integer(bytes, at: offset, size: 4))
            let end = offset + 8 + body
            guard body >= 24, end <= bytes.count, integer(bytes, at: offset + 8, size: 8) == id,
                integer(bytes, at: offset + 16, size: 8) == next
            else { break }
            let count = Int(integer(bytes, at: offset + 24, size: 4))
            guard count > 0 else { break }
            units.append(Unit(offset: offset, end: end, first: next, count: count))
            next += UInt64(count)
            offset = end
        }
        return units
    }

    /// A little-endian unsigned integer of `size` bytes.
    static func integer(_ bytes: [UInt8], at offset: Int, size: Int) -> UInt64 {
        (0..<size).reduce(UInt64(0)) { $0 | UInt64(bytes[offset + $1]) << (8 * UInt64($1)) }
    }

    /// Whether a unit of a file other than `file` holds `position`.
    func heldElsewhere(_ position: UInt64, besides file: Int) -> Bool {
        files.indices.contains { index in
            index != file && files[index].units.contains { $0.positions.contains(position) }
        }
    }

    /// Whether `file` is the last log file or the last WAL file (by name, which orders them).
    func isLastOfKind(_ file: Int) -> Bool {
        let kind = files[file].kind
        return (kind == .log || kind == .wal) && files.lastIndex { $0.kind == kind } == file
    }
}
