/// What a store keeps beside its log about entries that are gone: the position its log starts at once whole
/// log files were dropped (retention), the head of every segment whose entries all went with them, so that
/// producing to such a segment continues after its last sequence (sequences are never reused), and the
/// deletions of entries still in the log (``Deletion``), which readers leave out; and the store's own retention
/// policy, when it has one (``policy``).
///
/// Kept in `<store>/manifest` (docs/format.md, "Manifest"); a store without one starts at position 1 and has no
/// retired segments. It is replaced whole: written to `manifest.tmp`, synced, renamed over `manifest`, and the
/// directory synced, so a crash leaves the old manifest or the new one, never a mix.
public struct StoreManifest: Sendable, Hashable {
    /// The head of a segment none of whose entries is left in the log.
    public struct RetiredSegment: Sendable, Hashable, Codable {
        /// The segment's space.
        public var space: String
        /// The segment's name.
        public var segment: String
        /// The last sequence it had: producing to it again starts at the next one.
        public var lastSequence: UInt64
        /// Its last transaction number.
        public var lastTransactionNumber: UInt64
        /// The timestamp of its last entry.
        public var lastTimestamp: Int64

        /// Creates a retired segment's head.
        public init(
            space: String, segment: String, lastSequence: UInt64, lastTransactionNumber: UInt64, lastTimestamp: Int64
        ) {
            self.space = space
            self.segment = segment
            self.lastSequence = lastSequence
            self.lastTransactionNumber = lastTransactionNumber
            self.lastTimestamp = lastTimestamp
        }
    }

    /// The record of a deletion (a tombstone): the entries of one segment with sequences below ``before`` are
    /// deleted. They are left out by every reader while they are still in the log, and the deletion is dropped
    /// once the log starts after ``through`` (nothing it covers is left).
    public struct Deletion: Sendable, Hashable, Codable {
        /// The segment's space.
        public var space: String
        /// The segment's name.
        public var segment: String
        /// Entries of the segment with sequences below this are deleted.
        public var before: UInt64
        /// The position of the last entry deleted: the deletion is needed while the log holds it.
        public var through: UInt64

        /// Creates a deletion.
        public init(space: String, segment: String, before: UInt64, through: UInt64) {
            self.space = space
            self.segment = segment
            self.before = before
            self.through = through
        }

        /// Whether the entry of this segment with `sequence` at `position` is deleted.
        @inlinable
        public func hides(sequence: UInt64, position: UInt64) -> Bool { sequence < before && position <= through }
    }

    /// The position of the log's first entry: every position before it was dropped. 1 when nothing was.
    public var logStart: UInt64
    /// Segments whose entries were all dropped, sorted by space and segment.
    public var retired: [RetiredSegment]
    /// Deletions whose entries may still be in the log, at most one per segment, sorted by space and segment.
    public var deletions: [Deletion]
    /// The store's own retention policy, which replaces the configured default whole; nil: the default applies.
    public var policy: LogRetention.Policy?

    /// Creates a manifest.
    public init(
        logStart: UInt64 = 1, retired: [RetiredSegment] = [], deletions: [Deletion] = [],
        policy: LogRetention.Policy? = nil
    ) {
        self.logStart = max(1, logStart)
        self.policy = policy
        self.retired = retired.sorted { ($0.space, $0.segment) < ($1.space, $1.segment) }
        var merged: [Deletion] = []
        for deletion in deletions.sorted(by: { ($0.space, $0.segment) < ($1.space, $1.segment) }) {
            if let last = merged.last, last.space == deletion.space, last.segment == deletion.segment {
                merged[merged.count - 1].before = max(last.before, deletion.before)
                merged[merged.count - 1].through = max(last.through, deletion.through)
            } else {
                merged.append(deletion)
            }
        }
        let start = self.logStart
        self.deletions = merged.filter { $0.through >= start }
    }

    /// This manifest with `added` deletions (each merged with its segment's earlier one: the later bounds).
    public func adding(_ added: [Deletion]) -> StoreManifest {
        StoreManifest(logStart: logStart, retired: retired, deletions: deletions + added, policy: policy)
    }

    /// The deletions keyed by segment, for readers that filter entries.
    public var deletionsBySegment: [SegmentName: Deletion] {
        Dictionary(deletions.map { (SegmentName(space: $0.space, segment: $0.segment), $0) }) { $1 }
    }

    /// A segment's space and name, for dictionaries and sets.
    public struct SegmentName: Sendable, Hashable {
        /// The space.
        public var space: String
        /// The segment.
        public var segment: String

        /// Creates a name.
        public init(space: String, segment: String) {
            self.space = space
            self.segment = segment
        }
    }

    // MARK: - Files

    /// Reads the manifest of the store directory at `directory` (read-only; the default when it has none).
    ///
    /// - Throws: `LogFilesError` — `.corrupt`, `.unsupportedVersion`, `.io`.
    public static func read(directory: String) throws -> StoreManifest {
        try load(fileSystem: PosixFileSystem(), layout: StoreLayout(root: directory))
    }

    /// Reads the manifest of the store at `layout`; the default (start at 1, nothing retired) when it has none.
    ///
    /// - Throws: `LogFilesError` — `.corrupt` for a manifest that fails its checks (it is written whole, so this
    ///   is damage, never a torn write), `.unsupportedVersion`, `.io`.
    static func load(fileSystem: any FileSystem, layout: StoreLayout) throws -> StoreManifest {
        let path = layout.manifestPath
        guard fileSystem.exists(path) else { return StoreManifest() }
        let file = try fileSystem.open(path, mode: .read)
        defer { file.close() }
        let size = try file.size()
        guard size <= Int64(Self.maxFileBytes) else {
            throw LogFilesError.corrupt("manifest of \(size) bytes, over \(Self.maxFileBytes)", path: path, offset: 0)
        }
        let bytes = try file.readBytes(count: Int(size), at: 0)
        return try decode(bytes, path: path)
    }

    /// Replaces the store's manifest atomically and durably.
    ///
    /// - Throws: `LogFilesError.io`.
    func write(fileSystem: any FileSystem, layout: StoreLayout, createdAt: Int64) throws {
        try fileSystem.replace(
            layout.manifestPath, with: encoded(createdAt: createdAt), temporary: layout.manifestTemporaryPath,
            directory: layout.root)
    }

    // MARK: - Encoding

    /// Most bytes of a manifest file (a bound for reading a damaged length): 64 MiB.
    static let maxFileBytes = 64 << 20

    /// The file: a file header (`SKMAN`, first position = ``logStart``), then `u32` body length, `u32` CRC32C of
    /// the body, and the body: `u32` retired count, then per retired segment `u16` space length, `u16` segment
    /// length, `u64` last sequence, `u64` last transaction number, `i64` last timestamp, space and segment bytes;
    /// then `u32` deletion count, then per deletion `u16` space length, `u16` segment length, `u64` before,
    /// `u64` through, space and segment bytes; then, only when the store has its own retention policy (format
    /// version 3), `u32` flags (bit 0 max age, bit 1 max bytes, bit 2 max entries per segment: which bounds it
    /// has) and three `i64`: max age in nanoseconds, max bytes, max entries (0 when absent).
    func encoded(createdAt: Int64) -> [UInt8] {
        var body: [UInt8] = []
        Self.append(UInt32(retired.count), to: &body)
        for segment in retired {
            let space = Array(segment.space.utf8)
            let name = Array(segment.segment.utf8)
            Self.append(UInt16(truncatingIfNeeded: space.count), to: &body)
            Self.append(UInt16(truncatingIfNeeded: name.count), to: &body)
            Self.append(segment.lastSequence, to: &body)
            Self.append(segment.lastTransactionNumber, to: &body)
            Self.append(UInt64(bitPattern: segment.lastTimestamp), to: &body)
            body += space
            body += name
        }
        Self.append(UInt32(deletions.count), to: &body)
        for deletion in deletions {
            let space = Array(deletion.space.utf8)
            let name = Array(deletion.segment.utf8)
            Self.append(UInt16(truncatingIfNeeded: space.count), to: &body)
            Self.append(UInt16(truncatingIfNeeded: name.count), to: &body)
            Self.append(deletion.before, to: &body)
            Self.append(deletion.through, to: &body)
            body += space
            body += name
        }
        var header = FileHeader(kind: .manifest, firstPosition: logStart, fileID: 0, createdAt: createdAt)
        if let policy {
            let maxAge = policy.maxAge.map(\.nanoseconds)
            let maxEntries = policy.maxEntriesPerSegment.map(Int64.init)
            let flags = (maxAge == nil ? 0 : 1) | (policy.maxBytes == nil ? 0 : 2) | (maxEntries == nil ? 0 : 4)
            Self.append(UInt32(flags), to: &body)
            for bound in [maxAge, policy.maxBytes, maxEntries] {
                Self.append(UInt64(bitPattern: bound ?? 0), to: &body)
            }
            header.version = FileHeader.currentVersion  // Without a policy: readable by version-2 builds.
        }
        var out = header.bytes
        Self.append(UInt32(body.count), to: &out)
        Self.append(body.withUnsafeBytes { CRC32C.checksum($0) }, to: &out)
        return out + body
    }

    static func decode(_ bytes: [UInt8], path: String) throws -> StoreManifest {
        try bytes.withUnsafeBytes { raw in
            let header = try FileHeader.decode(raw, kind: .manifest, path: path)
            var reader = ManifestReader(bytes: raw, offset: FileHeader.size, path: path)
            let length = Int(try reader.read(UInt32.self))
            let checksum = try reader.read(UInt32.self)
            guard length == raw.count - reader.offset else {
                throw LogFilesError.corrupt(
                    "manifest body of \(raw.count - reader.offset) bytes, its length says \(length)", path: path,
                    offset: Int64(FileHeader.size))
            }
            guard CRC32C.checksum(UnsafeRawBufferPointer(rebasing: raw[reader.offset...])) == checksum else {
                throw LogFilesError.corrupt(
                    "manifest body checksum mismatch", path: path, offset: Int64(FileHeader.size + 4))
            }
            let count = Int(try reader.read(UInt32.self))
            var retired: [RetiredSegment] = []
            retired.reserveCapacity(min(count, length / 28))
            for _ in 0..<count {
                let spaceCount = Int(try reader.read(UInt16.self))
                let nameCount = Int(try reader.read(UInt16.self))
                let lastSequence = try reader.read(UInt64.self)
                let lastTransactionNumber = try reader.read(UInt64.self)
                let lastTimestamp = Int64(bitPattern: try reader.read(UInt64.self))
                let space = try reader.string(spaceCount)
                let segment = try reader.string(nameCount)
                retired.append(
                    RetiredSegment(
                        space: space, segment: segment, lastSequence: lastSequence,
                        lastTransactionNumber: lastTransactionNumber, lastTimestamp: lastTimestamp))
            }
            var deletions: [Deletion] = []
            // A manifest written before deletions existed ends after its retired segments.
            let deletionCount = reader.offset == raw.count ? 0 : Int(try reader.read(UInt32.self))
            deletions.reserveCapacity(min(deletionCount, length / 20))
            for _ in 0..<deletionCount {
                let spaceCount = Int(try reader.read(UInt16.self))
                let nameCount = Int(try reader.read(UInt16.self))
                let before = try reader.read(UInt64.self)
                let through = try reader.read(UInt64.self)
                let space = try reader.string(spaceCount)
                let segment = try reader.string(nameCount)
                deletions.append(Deletion(space: space, segment: segment, before: before, through: through))
            }
            var policy: LogRetention.Policy?
            if header.version >= 3 && reader.offset < raw.count {
                let flags = try reader.read(UInt32.self)
                let maxAge = Int64(bitPattern: try reader.read(UInt64.self))
                let maxBytes = Int64(bitPattern: try reader.read(UInt64.self))
                let maxEntries = Int64(bitPattern: try reader.read(UInt64.self))
                guard flags & ~7 == 0, maxAge >= 0, maxBytes >= 0, maxEntries >= 0, maxEntries <= Int64(Int.max) else {
                    throw LogFilesError.corrupt(
                        "manifest retention policy with flags \(flags), bounds \(maxAge), \(maxBytes), \(maxEntries)",
                        path: path, offset: Int64(reader.offset - 28))
                }
                policy = LogRetention.Policy(
                    maxAge: flags & 1 == 0 ? nil : .nanoseconds(maxAge), maxBytes: flags & 2 == 0 ? nil : maxBytes,
                    maxEntriesPerSegment: flags & 4 == 0 ? nil : Int(maxEntries))
            }
            guard reader.offset == raw.count else {
                throw LogFilesError.corrupt(
                    "manifest has bytes after its last section", path: path, offset: Int64(reader.offset))
            }
            return StoreManifest(logStart: header.firstPosition, retired: retired, deletions: deletions, policy: policy)
        }
    }

    private static func append<T: FixedWidthInteger>(_ value: T, to bytes: inout [UInt8]) {
        withUnsafeBytes(of: value.littleEndian) { bytes += $0 }
    }
}

/// Reads a manifest's fields in order, failing with `.corrupt` past the end.
private struct ManifestReader {
    let bytes: UnsafeRawBufferPointer
    var offset: Int
    let path: String

    mutating func read<T: FixedWidthInteger>(_: T.Type) throws -> T {
        let size = MemoryLayout<T>.size
        guard offset + size <= bytes.count else { throw truncated }
        let value = T(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: T.self))
        offset += size
        return value
    }

    mutating func string(_ count: Int) throws -> String {
        guard offset + count <= bytes.count else { throw truncated }
        let text = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + count)]), as: UTF8.self)
        offset += count
        return text
    }

    private var truncated: LogFilesError {
        LogFilesError.corrupt("manifest ends inside a field", path: path, offset: Int64(offset))
    }
}
