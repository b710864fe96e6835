package import CoreMetrics

/// The handles of a log writer's I/O metrics, made once when the store opens (the commit and sync threads count
/// through them: one atomic add per write or sync, never per record). No label names the store: every store of a
/// process adds to the same series.
package struct LogMetrics: Sendable {
    /// Frame bytes written to the write-ahead files (`streamkit_wal_written_bytes_total`).
    let walBytes: CoreMetrics.Counter
    /// Block bytes (compressed, with headers) written to the log files (`streamkit_log_written_bytes_total`).
    let logBytes: CoreMetrics.Counter
    /// How long each `fdatasync` of a write-ahead file took (`streamkit_fsync_duration_seconds{file="wal"}`).
    let walSync: CoreMetrics.Timer
    /// How long each `fdatasync` of a log file took (`streamkit_fsync_duration_seconds{file="log"}`).
    let logSync: CoreMetrics.Timer

    /// - Parameter factory: The metrics backend; nil for the one bootstrapped with `MetricsSystem.bootstrap`.
    package init(factory: (any MetricsFactory)?) {
        let factory = factory ?? MetricsSystem.factory
        walBytes = CoreMetrics.Counter(label: "streamkit_wal_written_bytes_total", factory: factory)
        logBytes = CoreMetrics.Counter(label: "streamkit_log_written_bytes_total", factory: factory)
        walSync = CoreMetrics.Timer(
            label: "streamkit_fsync_duration_seconds", dimensions: [("file", "wal")], factory: factory)
        logSync = CoreMetrics.Timer(
            label: "streamkit_fsync_duration_seconds", dimensions: [("file", "log")], factory: factory)
    }

    /// Runs `sync` and records how long it took in `timer`.
    static func timed(_ timer: CoreMetrics.Timer, _ sync: () throws -> Void) rethrows {
        let start = monotonicNanoseconds()
        try sync()
        timer.recordNanoseconds(monotonicNanoseconds() - start)
    }
}
