/// A small file kept beside a store's log and always written whole (the engine's durable consumers): an 8-byte
/// magic, `u32` format version, `u32` body length, `u32` CRC32C of the body, the body. Replaced atomically
/// (temporary file, `fdatasync`, rename, directory `fsync`), so a reader sees the old body or the new one, never a
/// mix; a file failing its checks is damage.
package struct SideFile: Sendable {
    package let path: String
    /// Exactly 8 ASCII bytes naming the file's kind.
    package let magic: [UInt8]
    package let version: UInt32
    package let fileSystem: any FileSystem

    /// Most bytes of a side file: 64 MiB.
    package static let maxFileBytes = 64 << 20
    private static let headerSize = 20

    package init(path: String, magic: String, version: UInt32, fileSystem: any FileSystem = PosixFileSystem()) {
        self.path = path
        self.magic = Array(magic.utf8.prefix(8)) + Array(repeating: 0, count: max(0, 8 - magic.utf8.count))
        self.version = version
        self.fileSystem = fileSystem
    }

    /// The body, or nil when there is no file.
    /// - Throws: `LogFilesError.corrupt` (wrong magic, length or checksum), `.unsupportedVersion` (newer than
    ///   ``version``), `.io`.
    package func read() throws -> [UInt8]? {
        guard fileSystem.exists(path) else { return nil }
        let file = try fileSystem.open(path, mode: .read)
        defer { file.close() }
        let size = try file.size()
        guard size <= Int64(Self.maxFileBytes) else {
            throw LogFilesError.corrupt("file of \(size) bytes, over \(Self.maxFileBytes)", path: path, offset: 0)
        }
        let bytes = try file.readBytes(count: Int(size), at: 0)
        guard bytes.count >= Self.headerSize, Array(bytes[0..<8]) == magic else {
            throw LogFilesError.corrupt("not a \(String(decoding: magic, as: UTF8.self)) file", path: path, offset: 0)
        }
        let fileVersion = Self.load(bytes, at: 8)
        guard fileVersion <= version else {
            throw LogFilesError(
                code: .unsupportedVersion,
                message: "\(path): format version \(fileVersion), this build reads up to \(version)")
        }
        let length = Int(Self.load(bytes, at: 12))
        guard length == bytes.count - Self.headerSize else {
            throw LogFilesError.corrupt(
                "body of \(bytes.count - Self.headerSize) bytes, its length says \(length)", path: path, offset: 12)
        }
        let body = Array(bytes[Self.headerSize...])
        guard CRC32C.checksum(body) == Self.load(bytes, at: 16) else {
            throw LogFilesError.corrupt("body checksum mismatch", path: path, offset: 16)
        }
        return body
    }

    /// Replaces the file with `body`, atomically and durably.
    /// - Throws: `LogFilesError.io`; `.invalidArgument` for a body over the size bound.
    package func write(_ body: [UInt8]) throws {
        guard body.count + Self.headerSize <= Self.maxFileBytes else {
            throw LogFilesError(
                code: .invalidArgument, message: "\(path): \(body.count) bytes, over \(Self.maxFileBytes)")
        }
        var bytes = magic
        bytes.reserveCapacity(Self.headerSize + body.count)
        for value in [version, UInt32(body.count), CRC32C.checksum(body)] {
            withUnsafeBytes(of: value.littleEndian) { bytes += $0 }
        }
        bytes += body
        let directory = String(path[..<(path.lastIndex(of: "/") ?? path.startIndex)])
        try fileSystem.replace(
            path, with: bytes, temporary: path + ".tmp", directory: directory.isEmpty ? "." : directory)
    }

    private static func load(_ bytes: [UInt8], at offset: Int) -> UInt32 {
        bytes.withUnsafeBytes { UInt32(littleEndian: $0.loadUnaligned(fromByteOffset: offset, as: UInt32.self)) }
    }
}
