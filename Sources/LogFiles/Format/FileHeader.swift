/// The 64-byte header that starts every log, WAL, block-index and manifest file.
///
/// ```
/// off size field
///   0   8  magic ("SKLOG\0\0\0", "SKWAL\0\0\0", "SKIDX\0\0\0" or "SKMAN\0\0\0")
///   8   2  format version (2, or 3 for a manifest with a retention policy; older files are read as they are)
///  10   2  header length (64)
///  12   4  flags (WAL: bit 0 = recycled file, bytes after the valid frames are stale; else 0)
///  16   8  first position (log, index: of the file's first entry; WAL: next position when created)
///  24   8  file id (WAL: the WAL file number; log, index: the first position)
///  32   8  created at (ns since the Unix epoch)
///  40  20  reserved, 0
///  60   4  CRC32C of bytes 0..<60
/// ```
struct FileHeader: Hashable, Sendable {
    enum Kind: Sendable {
        case log, wal, index, manifest

        var magic: UInt64 {
            switch self {
            case .log: Self.magic("SKLOG")
            case .wal: Self.magic("SKWAL")
            case .index: Self.magic("SKIDX")
            case .manifest: Self.magic("SKMAN")
            }
        }

        private static func magic(_ text: String) -> UInt64 {
            var value: UInt64 = 0
            for (i, byte) in text.utf8.enumerated() { value |= UInt64(byte) << (8 * UInt64(i)) }
            return value
        }
    }

    static let size = 64
    /// The newest version this build reads. Version 2: log blocks may hold erased records
    /// (``RecordCodec/flagErased``), written by compaction. Version 3: a manifest may end with the store's own
    /// retention policy.
    static let currentVersion: UInt16 = 3
    /// The version files are written with unless they need a newer one (only a manifest with a policy does), so
    /// that a store that uses nothing newer stays readable by version-2 builds.
    static let baseVersion: UInt16 = 2

    /// Flag of a WAL file that reuses an older file's space: what follows its valid frames is stale.
    static let recycledFlag: UInt32 = 1

    var kind: Kind
    var version: UInt16 = FileHeader.baseVersion
    var flags: UInt32 = 0
    var firstPosition: UInt64
    var fileID: UInt64
    var createdAt: Int64

    func encode(into p: UnsafeMutableRawPointer) {
        p.initializeMemory(as: UInt8.self, repeating: 0, count: Self.size)
        p.storeLE(kind.magic, at: 0)
        p.storeLE(version, at: 8)
        p.storeLE(UInt16(Self.size), at: 10)
        p.storeLE(flags, at: 12)
        p.storeLE(firstPosition, at: 16)
        p.storeLE(fileID, at: 24)
        p.storeLE(createdAt, at: 32)
        p.storeLE(CRC32C.checksum(UnsafeRawBufferPointer(start: p, count: 60)), at: 60)
    }

    var bytes: [UInt8] {
        var out = [UInt8](repeating: 0, count: Self.size)
        out.withUnsafeMutableBytes { encode(into: $0.baseAddress!) }
        return out
    }

    /// Decodes and checks a header; `path` is for error messages.
    static func decode(_ bytes: UnsafeRawBufferPointer, kind: Kind, path: String) throws -> FileHeader {
        guard bytes.count >= size, let p = bytes.baseAddress else {
            throw LogFilesError.corrupt("file shorter than its \(size)-byte header", path: path, offset: 0)
        }
        guard p.le(0, as: UInt64.self) == kind.magic else {
            throw LogFilesError.corrupt("bad magic number in file header", path: path, offset: 0)
        }
        guard p.le(60, as: UInt32.self) == CRC32C.checksum(UnsafeRawBufferPointer(start: p, count: 60)) else {
            throw LogFilesError.corrupt("file header checksum mismatch", path: path, offset: 60)
        }
        let version: UInt16 = p.le(8)
        guard version <= currentVersion else {
            throw LogFilesError(
                code: .unsupportedVersion,
                message: "format version \(version) is newer than this build reads (\(currentVersion))", path: path,
                offset: 8)
        }
        return FileHeader(
            kind: kind, version: version, flags: p.le(12), firstPosition: p.le(16), fileID: p.le(24),
            createdAt: p.le(32))
    }
}
