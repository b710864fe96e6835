import Foundation
import Logging
import Synchronization

/// The most recent log lines of the chaos test's client and server, kept in memory (a ring) so a failing run can
/// print what led up to it. ``snapshot(_:)`` keeps the lines as they are when something goes wrong (the first
/// error-level line takes one too), for the first few times.
final class ChaosLog: Sendable {
    private struct State {
        var lines: [String] = []
        var next = 0
        var snapshots: [(reason: String, lines: [String])] = []
    }

    /// Most snapshots kept.
    private static let maxSnapshots = 3

    private let capacity: Int
    private let state = Mutex(State())
    private let start = ContinuousClock.now

    init(capacity: Int = 300) {
        self.capacity = capacity
    }

    /// A logger whose lines (at `level` and above) land here, prefixed with `source`.
    func logger(_ source: String, level: Logger.Level) -> Logger {
        var logger = Logger(label: source) { [self] label in Handler(label: label, log: self) }
        logger.logLevel = level
        return logger
    }

    func append(_ line: String, isError: Bool) {
        let elapsed = ContinuousClock.now - start
        let milliseconds = elapsed.components.seconds * 1_000 + elapsed.components.attoseconds / 1_000_000_000_000_000
        let stamped = "\(milliseconds) ms \(line)"
        state.withLock { state in
            if state.lines.count < capacity {
                state.lines.append(stamped)
            } else {
                state.lines[state.next] = stamped
            }
            state.next = (state.next + 1) % capacity
            if isError, state.snapshots.count < Self.maxSnapshots {
                state.snapshots.append((line, Self.ordered(state, capacity)))
            }
        }
    }

    /// Keeps the lines logged so far, with why (the first few calls only).
    func snapshot(_ reason: String) {
        state.withLock { state in
            guard state.snapshots.count < Self.maxSnapshots else { return }
            state.snapshots.append((reason, Self.ordered(state, capacity)))
        }
    }

    /// The kept lines, oldest first.
    var lines: [String] { state.withLock { Self.ordered($0, capacity) } }

    /// The snapshots taken, each as its reason and the lines up to it.
    var snapshots: [(reason: String, lines: [String])] { state.withLock { $0.snapshots } }

    private static func ordered(_ state: State, _ capacity: Int) -> [String] {
        state.lines.count < capacity ? state.lines : Array(state.lines[state.next...] + state.lines[..<state.next])
    }

    private struct Handler: LogHandler {
        let label: String
        let log: ChaosLog
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            var all = self.metadata
            if let metadata = event.metadata { all.merge(metadata) { $1 } }
            let context = all.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
            log.append("[\(label)] \(event.level) \(event.message) \(context)", isError: event.level >= .error)
        }
    }
}
