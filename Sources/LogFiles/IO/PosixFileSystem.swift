#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The real file system through POSIX calls.
package struct PosixFileSystem: FileSystem {
    package init() {}

    package func open(_ path: String, mode: OpenMode) throws -> any StorageFile {
        let flags: Int32 =
            switch mode {
            case .read: O_RDONLY | O_CLOEXEC
            case .readWrite: O_RDWR | O_CLOEXEC
            case .create: O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC
            }
        let fd = Glibc.open(path, flags, 0o644)
        if fd < 0 { throw LogFilesError.io("open", path: path, errno: errno) }
        return PosixFile(fd: fd, path: path)
    }

    package func list(_ directory: String) throws -> [String] {
        guard let dir = opendir(directory) else {
            if errno == ENOENT { return [] }
            throw LogFilesError.io("opendir", path: directory, errno: errno)
        }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted()
    }

    /// Creates the directory and any missing parents (`mkdir -p`).
    package func createDirectory(_ path: String) throws {
        if mkdir(path, 0o755) == 0 || errno == EEXIST { return }
        guard errno == ENOENT else { throw LogFilesError.io("mkdir", path: path, errno: errno) }
        let parent = path.split(separator: "/", omittingEmptySubsequences: false).dropLast().joined(separator: "/")
        guard !parent.isEmpty, parent != path else { throw LogFilesError.io("mkdir", path: path, errno: ENOENT) }
        try createDirectory(parent)
        if mkdir(path, 0o755) != 0 && errno != EEXIST { throw LogFilesError.io("mkdir", path: path, errno: errno) }
    }

    package func remove(_ path: String) throws {
        if unlink(path) != 0 && errno != ENOENT { throw LogFilesError.io("unlink", path: path, errno: errno) }
    }

    package func rename(_ from: String, to: String) throws {
        if Glibc.rename(from, to) != 0 { throw LogFilesError.io("rename", path: from, errno: errno) }
    }

    package func exists(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0
    }

    package func syncDirectory(_ path: String) throws {
        let fd = Glibc.open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if fd < 0 { throw LogFilesError.io("open directory", path: path, errno: errno) }
        defer { Glibc.close(fd) }
        if fsync(fd) != 0 { throw LogFilesError.io("fsync directory", path: path, errno: errno) }
    }

    package func isDirectory(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR
    }
}

/// One open file descriptor. The descriptor is immutable after init and the POSIX calls used are
/// thread-safe (`pread`/`pwrite` at explicit offsets), hence `@unchecked Sendable`.
final class PosixFile: StorageFile, @unchecked Sendable {
    let fd: Int32
    let path: String

    init(fd: Int32, path: String) {
        self.fd = fd
        self.path = path
    }

    deinit { Glibc.close(fd) }

    func write(_ bytes: UnsafeRawBufferPointer, at offset: Int64) throws {
        guard var p = bytes.baseAddress else { return }
        var remaining = bytes.count
        var at = offset
        while remaining > 0 {
            let n = pwrite(fd, p, remaining, off_t(at))
            if n < 0 {
                if errno == EINTR { continue }
                throw LogFilesError.io("write", path: path, errno: errno)
            }
            if n == 0 { throw LogFilesError.io("write", path: path, errno: EIO) }
            p += n
            remaining -= n
            at += Int64(n)
        }
    }

    func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int64) throws -> Int {
        guard var p = buffer.baseAddress else { return 0 }
        var total = 0
        var at = offset
        while total < buffer.count {
            let n = pread(fd, p, buffer.count - total, off_t(at))
            if n < 0 {
                if errno == EINTR { continue }
                throw LogFilesError.io("read", path: path, errno: errno)
            }
            if n == 0 { break }
            p += n
            total += n
            at += Int64(n)
        }
        return total
    }

    func sync() throws {
        if fdatasync(fd) != 0 { throw LogFilesError.io("fdatasync", path: path, errno: errno) }
    }

    func truncate(to size: Int64) throws {
        if ftruncate(fd, off_t(size)) != 0 { throw LogFilesError.io("ftruncate", path: path, errno: errno) }
    }

    func size() throws -> Int64 {
        var info = stat()
        if fstat(fd, &info) != 0 { throw LogFilesError.io("fstat", path: path, errno: errno) }
        return Int64(info.st_size)
    }

    func close() {}
}
