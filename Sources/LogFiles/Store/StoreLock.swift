import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The single-writer lock of a store: an exclusive `flock` on `<root>/LOCK`.
///
/// `flock` locks belong to an open file description, so a second open in the same process is refused just
/// like one from another process. The file holds the owner's process id as text, for people.
final class StoreLock: Sendable {
    private let fd: Mutex<Int32>
    let path: String

    init(path: String) throws {
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        if fd < 0 { throw LogFilesError.io("open lock file", path: path, errno: errno) }
        if flock(fd, LOCK_EX | LOCK_NB) != 0 {
            let code = errno
            close(fd)
            if code == EWOULDBLOCK { throw LogFilesError.storeLocked(path) }
            throw LogFilesError.io("flock", path: path, errno: code)
        }
        let text = Array("pid \(getpid())\n".utf8)
        _ = ftruncate(fd, 0)
        _ = text.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
        self.fd = Mutex(fd)
        self.path = path
    }

    /// Releases the lock; later calls do nothing.
    func release() {
        fd.withLock { fd in
            guard fd >= 0 else { return }
            flock(fd, LOCK_UN)
            close(fd)
            fd = -1
        }
    }

    deinit { release() }
}
