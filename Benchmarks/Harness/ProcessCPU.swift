import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// CPU seconds (user + system) of this process and of a local PostgreSQL server, for where-time-goes figures of
/// the `postgres.*` scenarios. Linux `/proc`; elsewhere the server figures are nil.
enum ProcessCPU {
    /// This process, from `getrusage(RUSAGE_SELF)`.
    static func ownSeconds() -> Double {
        var usage = rusage()
        getrusage(Int32(RUSAGE_SELF.rawValue), &usage)
        func seconds(_ time: timeval) -> Double { Double(time.tv_sec) + Double(time.tv_usec) / 1_000_000 }
        return seconds(usage.ru_utime) + seconds(usage.ru_stime)
    }

    /// A process and its children that are alive now (a PostgreSQL server: the postmaster, its backends,
    /// WAL writer, checkpointer …), from `/proc/PID/stat`; nil when the process cannot be read.
    static func treeSeconds(of root: Int32) -> Double? {
        guard let rootStat = stat(of: root) else { return nil }
        var ticks = rootStat.ticks
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        for entry in entries {
            guard let pid = Int32(entry), pid != root, let child = stat(of: pid), child.parent == root else { continue }
            ticks += child.ticks
        }
        return Double(ticks) / Double(max(1, sysconf(Int32(_SC_CLK_TCK))))
    }

    /// The parent process id of `pid`, or nil.
    static func parent(of pid: Int32) -> Int32? { stat(of: pid)?.parent }

    /// Fields 4 (ppid), 14 (utime) and 15 (stime) of `/proc/PID/stat`, read after the command name's `)`.
    private static func stat(of pid: Int32) -> (parent: Int32, ticks: Int)? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = text.lastIndex(of: ")")
        else { return nil }
        let fields = text[text.index(after: close)...].split(separator: " ")
        // fields[0] is the state (field 3), so field N is fields[N - 3].
        guard fields.count > 12, let parent = Int32(fields[1]), let user = Int(fields[11]), let system = Int(fields[12])
        else { return nil }
        return (parent, user + system)
    }
}
