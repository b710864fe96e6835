import Synchronization

/// A file system that forwards to another one and fails chosen operations on purpose, for tests of
/// ENOSPC, EIO, short (torn) writes and failed syncs; `beforeWrite` can also hold writes back (a slow disk).
package final class FaultInjectingFileSystem: FileSystem {
    /// One planned failure.
    package struct Fault: Sendable {
        /// Which operation fails.
        package enum Operation: Sendable { case write, sync }
        package var operation: Operation
        /// Only files whose path contains this string.
        package var pathContains: String
        /// Let this many matching operations succeed first.
        package var after: Int
        /// For writes: bytes actually written before the error (a torn write); 0 writes nothing.
        package var shortWriteBytes: Int
        /// The errno to report.
        package var errno: Int32

        package init(
            _ operation: Operation, pathContains: String, after: Int = 0, shortWriteBytes: Int = 0, errno: Int32
        ) {
            self.operation = operation
            self.pathContains = pathContains
            self.after = after
            self.shortWriteBytes = shortWriteBytes
            self.errno = errno
        }
    }

    private let base: any FileSystem
    private let faults: Mutex<[Fault]>
    /// Called with the file's path before every write, on the writing thread (it may block).
    let beforeWrite: (@Sendable (String) -> Void)?

    package init(
        wrapping base: any FileSystem = PosixFileSystem(), faults: [Fault] = [],
        beforeWrite: (@Sendable (String) -> Void)? = nil
    ) {
        self.base = base
        self.faults = Mutex(faults)
        self.beforeWrite = beforeWrite
    }

    /// Adds a failure to the plan.
    package func inject(_ fault: Fault) { faults.withLock { $0.append(fault) } }

    /// Removes every planned failure.
    package func clear() { faults.withLock { $0.removeAll() } }

    /// Returns the fault to apply to this operation, consuming it (each fault fires once).
    func take(_ operation: Fault.Operation, path: String) -> Fault? {
        faults.withLock { list in
            for i in list.indices where list[i].operation == operation && path.contains(list[i].pathContains) {
                if list[i].after > 0 {
                    list[i].after -= 1
                    return nil
                }
                return list.remove(at: i)
            }
            return nil
        }
    }

    package func open(_ path: String, mode: OpenMode) throws -> any StorageFile {
        FaultyFile(base: try base.open(path, mode: mode), owner: self)
    }

    package func list(_ directory: String) throws -> [String] { try base.list(directory) }
    package func createDirectory(_ path: String) throws { try base.createDirectory(path) }
    package func remove(_ path: String) throws { try base.remove(path) }
    package func syncDirectory(_ path: String) throws { try base.syncDirectory(path) }
    package func rename(_ from: String, to: String) throws { try base.rename(from, to: to) }
    package func exists(_ path: String) -> Bool { base.exists(path) }
    package func isDirectory(_ path: String) -> Bool { base.isDirectory(path) }
}

/// A file whose writes and syncs consult the owner's fault plan.
final class FaultyFile: StorageFile {
    let base: any StorageFile
    let owner: FaultInjectingFileSystem

    init(base: any StorageFile, owner: FaultInjectingFileSystem) {
        self.base = base
        self.owner = owner
    }

    var path: String { base.path }

    func write(_ bytes: UnsafeRawBufferPointer, at offset: Int64) throws {
        owner.beforeWrite?(path)
        if let fault = owner.take(.write, path: path) {
            let partial = min(fault.shortWriteBytes, bytes.count)
            if partial > 0 { try base.write(UnsafeRawBufferPointer(rebasing: bytes[0..<partial]), at: offset) }
            throw LogFilesError.io("write", path: path, errno: fault.errno)
        }
        try base.write(bytes, at: offset)
    }

    func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int64) throws -> Int {
        try base.read(into: buffer, at: offset)
    }

    func sync() throws {
        if let fault = owner.take(.sync, path: path) {
            throw LogFilesError.io("fdatasync", path: path, errno: fault.errno)
        }
        try base.sync()
    }

    func truncate(to size: Int64) throws { try base.truncate(to: size) }
    func size() throws -> Int64 { try base.size() }
    func close() { base.close() }
}
