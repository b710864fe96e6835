import Foundation

/// Drops files from the kernel's page cache without privileges: `sync(2)` writes dirty pages back, then
/// `posix_fadvise(POSIX_FADV_DONTNEED)` on every regular file under a directory lets the kernel discard their
/// clean pages, so the next read comes from the disk (as after a reboot, or for a store larger than memory).
enum PageCache {
    /// Evicts the files under `path`.
    static func evict(under path: String) {
        sync()
        let manager = FileManager.default
        guard let enumerator = manager.enumerator(atPath: path) else { return }
        while let relative = enumerator.nextObject() as? String {
            let full = path + "/" + relative
            guard let attributes = try? manager.attributesOfItem(atPath: full),
                attributes[.type] as? FileAttributeType == .typeRegular
            else { continue }
            let fd = open(full, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else { continue }
            _ = fdatasync(fd)
            _ = posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED)
            close(fd)
        }
    }
}
