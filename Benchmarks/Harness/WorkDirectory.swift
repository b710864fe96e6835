import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A fresh scratch directory under the system temp dir (`$TMPDIR` or `/tmp`), removed by `remove()`.
struct WorkDirectory: Sendable {
    let path: String

    /// Creates `<tmp>/streamkit-bench-<label>-XXXXXX` with `mkdtemp`.
    static func create(label: String) throws(BenchError) -> WorkDirectory {
        var base = FileManager.default.temporaryDirectory.path
        while base.count > 1, base.hasSuffix("/") { base.removeLast() }
        let safeLabel = String(label.map { $0.isLetter || $0.isNumber || $0 == "." ? $0 : "-" })
        var template = Array("\(base)/streamkit-bench-\(safeLabel)-XXXXXX".utf8CString)
        let created = template.withUnsafeMutableBufferPointer { buffer -> UnsafeMutablePointer<CChar>? in
            guard let start = buffer.baseAddress else { return nil }
            return mkdtemp(start)
        }
        guard let created else { throw .workDirectory(path: base, errno: errno) }
        return WorkDirectory(path: String(cString: created))
    }

    /// A subdirectory (created if missing) for one system of a scenario, e.g. `sqlite-fsync`.
    func subdirectory(_ name: String) throws(BenchError) -> String {
        let full = path + "/" + name
        if mkdir(full, 0o755) != 0, errno != EEXIST {
            throw .workDirectory(path: full, errno: errno)
        }
        return full
    }

    /// Removes the directory and everything in it; failures are reported on stderr, not thrown.
    func remove() {
        do {
            try FileManager.default.removeItem(atPath: path)
        } catch {
            StandardError.emitLine("warning: could not remove work directory \(path): \(error)")
        }
    }
}
