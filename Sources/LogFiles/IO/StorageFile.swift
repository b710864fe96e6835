/// How a file is opened.
package enum OpenMode: Sendable {
    /// Read only; the file must exist.
    case read
    /// Read and write; the file must exist.
    case readWrite
    /// Read and write; the file must not exist yet.
    case create
}

/// The seam between the LogFiles layer and the operating system's files, so that tests can inject ENOSPC,
/// EIO, short writes and failed syncs. All offsets are explicit (`pread`/`pwrite`).
package protocol StorageFile: AnyObject, Sendable {
    var path: String { get }
    /// Writes all of `bytes` at `offset`, or throws (a short write followed by an error leaves a prefix written).
    func write(_ bytes: UnsafeRawBufferPointer, at offset: Int64) throws
    /// Reads up to `buffer.count` bytes at `offset`; returns fewer only at end of file.
    func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int64) throws -> Int
    /// `fdatasync`.
    func sync() throws
    func truncate(to size: Int64) throws
    func size() throws -> Int64
    func close()
}

/// Directory-level operations behind the same seam.
package protocol FileSystem: Sendable {
    func open(_ path: String, mode: OpenMode) throws -> any StorageFile
    /// Names (not paths) of the entries in a directory; empty when it does not exist.
    func list(_ directory: String) throws -> [String]
    /// Creates the directory and any missing parents.
    func createDirectory(_ path: String) throws
    func remove(_ path: String) throws
    /// Atomically renames a file (replacing `to` if it exists).
    func rename(_ from: String, to: String) throws
    /// Whether a file or directory exists at `path`.
    func exists(_ path: String) -> Bool
    /// `fsync` of a directory, so created and removed names are durable.
    func syncDirectory(_ path: String) throws
    func isDirectory(_ path: String) -> Bool
}

extension FileSystem {
    /// Replaces the file at `path` with `bytes`, atomically and durably: writes them to `temporary` (removing a
    /// leftover one first), `fdatasync`s it, renames it over `path` and `fsync`s `directory`. A reader sees the old
    /// file or the new one, never a mix.
    func replace(_ path: String, with bytes: [UInt8], temporary: String, directory: String) throws {
        if exists(temporary) { try remove(temporary) }
        let file = try open(temporary, mode: .create)
        do {
            try bytes.withUnsafeBytes { try file.write($0, at: 0) }
            try file.sync()
            file.close()
        } catch {
            file.close()
            throw error
        }
        try rename(temporary, to: path)
        try syncDirectory(directory)
    }

    /// The size of the file at `path`.
    func size(of path: String) throws -> Int64 {
        let file = try open(path, mode: .read)
        defer { file.close() }
        return try file.size()
    }
}

extension StorageFile {
    /// Reads exactly `count` bytes at `offset` into a new array, or fewer at end of file.
    func readBytes(count: Int, at offset: Int64) throws -> [UInt8] {
        var out = [UInt8](repeating: 0, count: count)
        let n = try out.withUnsafeMutableBytes { (buffer) -> Int in
            try read(into: buffer, at: offset)
        }
        if n < count { out.removeLast(count - n) }
        return out
    }
}
