public import Logging
import Synchronization

/// Collects what loggers made from it log, for tests that assert what an operator would see.
public final class CapturedLogs: Sendable {
    /// One logged event.
    public struct Line: Sendable {
        public var level: Logger.Level
        public var message: String
        public var metadata: [String: String]
    }

    private let captured = Mutex<[Line]>([])

    public init() {}

    /// A logger that records into this collection every event at `level` and above.
    public func logger(label: String = "test", level: Logger.Level = .trace) -> Logger {
        var logger = Logger(label: label) { _ in Handler(logs: self) }
        logger.logLevel = level
        return logger
    }

    /// Every event so far, oldest first.
    public var lines: [Line] { captured.withLock { $0 } }

    /// Events at exactly `level`.
    public func lines(at level: Logger.Level) -> [Line] { lines.filter { $0.level == level } }

    fileprivate func append(_ line: Line) { captured.withLock { $0.append(line) } }

    private struct Handler: LogHandler {
        let logs: CapturedLogs
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            var all = metadata
            if let extra = event.metadata { all.merge(extra) { $1 } }
            logs.append(
                Line(
                    level: event.level, message: "\(event.message)",
                    metadata: all.mapValues { "\($0)" }))
        }
    }
}
