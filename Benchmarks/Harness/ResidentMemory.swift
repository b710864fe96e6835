#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Resident memory of this process, read from `/proc/self/status` (Linux).
///
/// `VmHWM` is the process-wide peak. Writing `5` to `/proc/self/clear_refs` resets it to the current
/// RSS (Linux ≥ 4.0), which gives a per-run peak: call `resetPeak()` before the timed run and `peak()`
/// after it. The peak includes whatever the process already holds (notably the generated payloads).
/// Where the reset is refused, `peak()` is the process-wide peak since start.
enum ResidentMemory {
    /// Current resident set size (`VmRSS`) in bytes, or `nil` when unreadable.
    static func current() -> Int? { statusField("VmRSS:") }

    /// Peak resident set size (`VmHWM`) in bytes since start or since the last successful `resetPeak()`.
    static func peak() -> Int? { statusField("VmHWM:") }

    /// Resets `VmHWM` to the current RSS; `false` when the kernel refuses it.
    @discardableResult
    static func resetPeak() -> Bool {
        let fd = open("/proc/self/clear_refs", O_WRONLY)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var command: UInt8 = UInt8(ascii: "5")
        return write(fd, &command, 1) == 1
    }

    /// Parses `Name:   1234 kB` from /proc/self/status into bytes.
    private static func statusField(_ name: String) -> Int? {
        let fd = open("/proc/self/status", O_RDONLY)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count < 0, errno == EINTR { continue }
            if count <= 0 { break }
            bytes.append(contentsOf: chunk[0..<count])
        }
        let text = String(decoding: bytes, as: UTF8.self)
        for line in text.split(separator: "\n") where line.hasPrefix(name) {
            let digits = line.dropFirst(name.count).filter { $0.isNumber }
            guard let kibibytes = Int(String(digits)) else { return nil }
            return kibibytes * 1024
        }
        return nil
    }
}
