import Dispatch
import Foundation
import Synchronization

/// SIGINT and SIGTERM as an async sequence: while a watcher lives, the signals no longer end the process
/// but are delivered here (through a Dispatch signal source), so a command can shut down cleanly.
final class SignalWatcher {
    /// The signals received, in order.
    let signals: AsyncStream<Int32>
    private let sources: [any DispatchSourceSignal]

    /// Starts watching `numbers` (default SIGINT and SIGTERM).
    ///
    /// - Parameter forceExitOnSecond: When set, a second signal ends the process at once with status 130
    ///   (for a shutdown that hangs; what was acknowledged is in the write-ahead files either way).
    init(_ numbers: [Int32] = [SIGINT, SIGTERM], forceExitOnSecond: Bool = false) {
        let (stream, continuation) = AsyncStream<Int32>.makeStream()
        signals = stream
        let count = Counter()
        sources = numbers.map { number in
            signal(number, SIG_IGN)  // The source sees it; the default action (exit) does not happen.
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler {
                if count.increment() > 1 && forceExitOnSecond {
                    Output.error("streamkit: \(Self.name(number)) again, exiting without waiting for the shutdown")
                    _exit(130)
                }
                continuation.yield(number)
            }
            source.resume()
            return source
        }
    }

    deinit {
        for source in sources { source.cancel() }
    }

    /// Waits for the first signal; nil when the task is cancelled first.
    func next() async -> Int32? {
        var iterator = signals.makeAsyncIterator()
        return await iterator.next()
    }

    /// The signal's name (`SIGINT`, `SIGTERM`, or its number).
    static func name(_ number: Int32) -> String {
        switch number {
        case SIGINT: "SIGINT"
        case SIGTERM: "SIGTERM"
        default: "signal \(number)"
        }
    }
}

/// Signals seen so far.
private final class Counter: Sendable {
    private let value = Mutex(0)

    /// Adds one; returns the new count.
    func increment() -> Int { value.withLock { $0 += 1; return $0 } }
}

/// Runs `body` until it returns or SIGINT/SIGTERM arrives, whichever is first; on a signal `body` is cancelled
/// and awaited.
///
/// - Returns: The signal that ended the run, or nil when `body` returned by itself.
/// - Throws: What `body` throws (unless a signal came first).
func untilSignal(_ body: @escaping @Sendable () async throws -> Void) async throws -> Int32? {
    let watcher = SignalWatcher()
    let signals = watcher.signals
    return try await withThrowingTaskGroup(of: Int32?.self) { group in
        group.addTask {
            try await body()
            return nil
        }
        group.addTask {
            var iterator = signals.makeAsyncIterator()
            return await iterator.next()
        }
        defer { group.cancelAll() }
        let first = try await group.next() ?? nil
        group.cancelAll()
        withExtendedLifetime(watcher) {}
        return first
    }
}
