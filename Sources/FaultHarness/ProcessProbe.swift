import Foundation

/// What `/proc` says about a running process: resident memory and open file descriptors.
enum ProcessProbe {
    /// `VmRSS` of `/proc/PID/status`, in KiB; nil when the process is gone.
    static func residentKiB(_ pid: Int32) -> Int? {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return nil }
        for line in status.split(separator: "\n") where line.hasPrefix("VmRSS:") {
            return line.split(separator: " ").compactMap { Int($0) }.first
        }
        return nil
    }

    /// The entries of `/proc/PID/fd`; nil when the process is gone.
    static func openDescriptors(_ pid: Int32) -> Int? {
        (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd"))?.count
    }
}
