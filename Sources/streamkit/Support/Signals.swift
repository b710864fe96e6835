import Foundation

/// The write end of the pipe the signal handler writes to (-1 while no watcher lives). Set before the handler
/// is installed and reset after it is removed, so the handler only ever reads a settled value.
private nonisolated(unsafe) var signalPipe: Int32 = -1

/// The C signal handler: writes the signal's number into the pipe (`write` is async-signal-safe).
private func forwardSignal(_ number: Int32) {
    let saved = errno
    var byte = UInt8(truncatingIfNeeded: number)
    _ = write(signalPipe, &byte, 1)
    errno = saved
}

/// SIGINT and SIGTERM as an async sequence: while a watcher lives, the signals no longer end the process
/// but are delivered here, so a command can shut down cleanly. One watcher at a time.
///
/// A C handler writes each signal's number into a pipe and a thread of its own reads the pipe, so no signal
/// is lost whichever thread the kernel delivers it to. (A Dispatch signal source lost signals on Linux:
/// libdispatch reads them through a signalfd and re-raises a signal that reached another thread at the
/// thread that registered the source, which may have exited since; `tail` then went on after a SIGINT.)
final class SignalWatcher: Sendable {
    /// The signals received, in order.
    let signals: AsyncStream<Int32>
    private let numbers: [Int32]
    private let writeEnd: Int32

    /// Starts watching `numbers` (default SIGINT and SIGTERM).
    ///
    /// - Parameter forceExitOnSecond: When set, a second signal ends the process at once with status 130
    ///   (for a shutdown that hangs; what was acknowledged is in the write-ahead files either way).
    init(_ numbers: [Int32] = [SIGINT, SIGTERM], forceExitOnSecond: Bool = false) {
        let (stream, continuation) = AsyncStream<Int32>.makeStream()
        signals = stream
        self.numbers = numbers
        var ends: [Int32] = [-1, -1]
        if pipe(&ends) != 0 {
            // No pipe (out of descriptors): the signals keep their default action and end the process.
            writeEnd = -1
            continuation.finish()
            return
        }
        let readEnd = ends[0]
        writeEnd = ends[1]
        _ = fcntl(readEnd, F_SETFD, FD_CLOEXEC)
        _ = fcntl(writeEnd, F_SETFD, FD_CLOEXEC)
        signalPipe = writeEnd
        Thread.detachNewThread {
            var byte: UInt8 = 0
            var received = 0
            while true {
                let count = read(readEnd, &byte, 1)
                if count < 0 && errno == EINTR { continue }
                if count <= 0 { break }
                received += 1
                if received > 1 && forceExitOnSecond {
                    Output.error("streamkit: \(Self.name(Int32(byte))) again, exiting without waiting for the shutdown")
                    _exit(130)
                }
                continuation.yield(Int32(byte))
            }
            close(readEnd)
            continuation.finish()
        }
        for number in numbers { signal(number, forwardSignal) }
    }

    deinit {
        guard writeEnd >= 0 else { return }
        for number in numbers { signal(number, SIG_DFL) }
        signalPipe = -1
        close(writeEnd)  // The reading thread sees the end and finishes the stream.
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
