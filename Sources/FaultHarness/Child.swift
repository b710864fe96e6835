import Foundation
import Synchronization

/// A child process of the harness (`streamkit serve`, `verify`, `dump`, …): its stdout and stderr are collected
/// while it runs, and it can be waited for with a deadline, signalled and killed. How it ended tells a normal
/// exit from a death by signal and from a timeout (the harness killed it).
///
/// `@unchecked Sendable`: `process` is set once in `init`; afterwards only `processIdentifier` is read from it
/// (immutable once running). Everything that changes is in ``Collected`` behind its mutex.
final class Child: @unchecked Sendable {
    /// How a child ended.
    enum End: Sendable, Equatable, CustomStringConvertible {
        /// It exited with this status.
        case exited(Int32)
        /// A signal ended it (one the harness did not send when it ran out of patience).
        case signalled(Int32)
        /// It did not end within its deadline; the harness killed it.
        case timedOut

        var description: String {
            switch self {
            case .exited(let status): "exit \(status)"
            case .signalled(let number): "signal \(number)"
            case .timedOut: "timeout"
            }
        }

        /// The exit status, nil for a signal or a timeout.
        var status: Int32? {
            if case .exited(let status) = self { return status }
            return nil
        }
    }

    /// What a finished child printed and how it ended.
    struct Outcome: Sendable {
        var end: End
        var stdout: Data
        var stderr: Data

        var stdoutText: String { String(decoding: stdout, as: UTF8.self) }
        var stderrText: String { String(decoding: stderr, as: UTF8.self) }

        /// The last `count` characters of stderr, on one line (for reports).
        func stderrTail(_ count: Int = 300) -> String {
            String(stderrText.suffix(count)).split(whereSeparator: \.isNewline).joined(separator: " | ")
        }
    }

    /// The child's output and end, shared with the reading threads and the termination handler.
    private final class Collected: Sendable {
        private struct State {
            var stdout = Data()
            var stderr = Data()
            var end: End?
            var timedOut = false
            var openStreams = 2
        }

        private let state = Mutex(State())
        private let stdoutLimit: Int
        private let stderrLimit: Int

        init(stdoutLimit: Int, stderrLimit: Int) {
            self.stdoutLimit = stdoutLimit
            self.stderrLimit = stderrLimit
        }

        func append(_ bytes: ArraySlice<UInt8>, isStderr: Bool) {
            state.withLock { state in
                if isStderr {
                    state.stderr.append(contentsOf: bytes)
                    if state.stderr.count > stderrLimit { state.stderr.removeFirst(state.stderr.count - stderrLimit) }
                } else if state.stdout.count < stdoutLimit {
                    state.stdout.append(contentsOf: bytes.prefix(stdoutLimit - state.stdout.count))
                }
            }
        }

        func streamEnded() { state.withLock { $0.openStreams -= 1 } }
        func ended(_ end: End) { state.withLock { $0.end = $0.end ?? end } }
        func markTimedOut() { state.withLock { $0.timedOut = true } }
        var isRunning: Bool { state.withLock { $0.end == nil } }
        var isFinished: Bool { state.withLock { $0.end != nil && $0.openStreams == 0 } }
        var hasEnded: Bool { state.withLock { $0.end != nil } }

        /// The first complete stdout line, if one arrived.
        var firstLine: String? {
            state.withLock { state in
                guard let newline = state.stdout.firstIndex(of: 0x0A) else { return nil }
                return String(decoding: state.stdout[state.stdout.startIndex..<newline], as: UTF8.self)
            }
        }

        var outcome: Outcome {
            state.withLock {
                Outcome(end: $0.timedOut ? .timedOut : ($0.end ?? .timedOut), stdout: $0.stdout, stderr: $0.stderr)
            }
        }
    }

    /// The process id.
    let pid: Int32
    private let process: Process
    private let collected: Collected

    /// Starts `executable arguments…` with stdin from /dev/null and without the StreamKit token variables.
    ///
    /// - Parameters:
    ///   - stdoutLimit: Stdout beyond this many bytes is dropped (a `dump` of a small store stays far below).
    ///   - stderrLimit: Only the last this many bytes of stderr are kept (a server may log a lot under garbage).
    /// - Throws: What `Process.run()` throws (no such executable).
    init(_ executable: String, _ arguments: [String], stdoutLimit: Int = 64 << 20, stderrLimit: Int = 1 << 20) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        var environment = ProcessInfo.processInfo.environment
        environment["STREAMKIT_TOKEN"] = nil
        environment["STREAMKIT_JWT_SECRET"] = nil
        process.environment = environment
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        let collected = Collected(stdoutLimit: stdoutLimit, stderrLimit: stderrLimit)
        process.terminationHandler = { process in
            let status = process.terminationStatus
            collected.ended(process.terminationReason == .uncaughtSignal ? .signalled(status) : .exited(status))
        }
        try process.run()
        self.process = process
        self.collected = collected
        pid = process.processIdentifier
        Self.drain(out.fileHandleForReading, into: collected, isStderr: false)
        Self.drain(err.fileHandleForReading, into: collected, isStderr: true)
    }

    /// Reads `handle` on a thread of its own until end of file, then closes it.
    private static func drain(_ handle: FileHandle, into collected: Collected, isStderr: Bool) {
        Thread.detachNewThread {
            let descriptor = handle.fileDescriptor
            var buffer = [UInt8](repeating: 0, count: 1 << 16)
            while true {
                let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
                if count < 0 && errno == EINTR { continue }
                if count <= 0 { break }
                collected.append(buffer[0..<count], isStderr: isStderr)
            }
            try? handle.close()
            collected.streamEnded()
        }
    }

    /// Whether the process has not ended yet.
    var isRunning: Bool { collected.isRunning }

    /// Sends `number` unless the process has already ended (its pid may be someone else's by now).
    func signal(_ number: Int32) {
        if collected.isRunning { kill(pid, number) }
    }

    /// The first complete stdout line, waiting for it at most `timeout`; nil when the process ended (or the
    /// time passed) without one.
    func firstLine(timeout: Duration) async -> String? {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let line = collected.firstLine { return line }
            if collected.hasEnded { return collected.firstLine }
            try? await Task.sleep(for: .milliseconds(5))
        }
        return nil
    }

    /// Waits for the process to end and its output to be read. When `timeout` passes first, the process is
    /// killed and the outcome says `.timedOut`.
    func wait(timeout: Duration) async -> Outcome {
        let deadline = ContinuousClock.now + timeout
        while !collected.isFinished {
            if ContinuousClock.now >= deadline {
                collected.markTimedOut()
                kill(pid, SIGKILL)
                let reaped = ContinuousClock.now + .seconds(30)
                while !collected.isFinished && ContinuousClock.now < reaped {
                    try? await Task.sleep(for: .milliseconds(5))
                }
                break
            }
            try? await Task.sleep(for: .milliseconds(5))
        }
        return collected.outcome
    }

    /// Runs `executable arguments…` to its end, or kills it after `timeout`.
    static func run(_ executable: String, _ arguments: [String], timeout: Duration) async throws -> Outcome {
        try await Child(executable, arguments).wait(timeout: timeout)
    }
}
