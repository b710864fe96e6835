import Foundation
import Synchronization
import Testing

/// The `streamkit` binary next to the test bundle.
enum StreamKitBinary {
    static var path: String {
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("streamkit")
            .path
    }

    /// The test process's environment without the variables the tool reads, plus `extra`.
    static func environment(_ extra: [String: String] = [:]) -> [String: String] {
        var environment = ProcessInfo.processInfo.environment
        environment["STREAMKIT_TOKEN"] = nil
        environment["STREAMKIT_JWT_SECRET"] = nil
        return environment.merging(extra) { $1 }
    }
}

/// The outcome of a finished `streamkit` run.
struct Finished {
    var status: Int32
    var stdout: String
    var stderr: String

    var stdoutLines: [String] { stdout.split(separator: "\n").map(String.init) }
    var stderrLines: [String] { stderr.split(separator: "\n").map(String.init) }
}

struct TimedOut: Error, CustomStringConvertible {
    var description: String
}

/// A running `streamkit` process whose stdout and stderr are collected as they come, so a test can wait for
/// a line (with a deadline) while the process keeps running, signal it, and wait for its exit.
///
/// `@unchecked Sendable`: `process` and `input` are set once in `init`; afterwards only their thread-safe parts
/// are used (the pid, closing the pipe); everything that changes is behind `collected`.
final class ChildProcess: @unchecked Sendable {
    private struct Collected {
        var stdout = Data()
        var stderr = Data()
        var status: Int32?
        var openStreams = 2
    }

    private let process: Process
    /// The child's process id.
    var pid: Int32 { process.processIdentifier }
    private let collected = Mutex(Collected())
    private let input: Pipe

    /// Starts `streamkit arguments…`; `stdin` is written and closed at once when given, else left open
    /// (see ``closeInput()``). With a `launcher` (e.g. `["/usr/bin/prlimit", "--nofile=256:"]`) that command
    /// starts `streamkit` instead.
    init(
        _ arguments: [String], stdin: String? = nil, environment: [String: String] = [:], launcher: [String] = []
    ) throws {
        let process = Process()
        if let tool = launcher.first {
            process.executableURL = URL(fileURLWithPath: tool)
            process.arguments = Array(launcher.dropFirst()) + [StreamKitBinary.path] + arguments
        } else {
            process.executableURL = URL(fileURLWithPath: StreamKitBinary.path)
            process.arguments = arguments
        }
        process.environment = StreamKitBinary.environment(environment)
        let out = Pipe()
        let err = Pipe()
        input = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = input
        self.process = process
        process.terminationHandler = { [self] process in
            let status = process.terminationStatus
            collected.withLock { $0.status = status }
        }
        try process.run()
        drain(out.fileHandleForReading.fileDescriptor, isStderr: false)
        drain(err.fileHandleForReading.fileDescriptor, isStderr: true)
        if let stdin {
            input.fileHandleForWriting.write(Data(stdin.utf8))
            closeInput()
        }
    }

    /// Reads `descriptor` on a thread of its own until end of file.
    private func drain(_ descriptor: Int32, isStderr: Bool) {
        Thread.detachNewThread { [self] in
            var buffer = [UInt8](repeating: 0, count: 1 << 16)
            while true {
                let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
                if count < 0 && errno == EINTR { continue }
                if count <= 0 { break }
                collected.withLock { collected in
                    if isStderr {
                        collected.stderr.append(contentsOf: buffer[0..<count])
                    } else {
                        collected.stdout.append(contentsOf: buffer[0..<count])
                    }
                }
            }
            collected.withLock { $0.openStreams -= 1 }
        }
    }

    /// Writes `text` to the child's stdin (left open by ``init(_:stdin:environment:launcher:)`` without `stdin`).
    func send(_ text: String) {
        input.fileHandleForWriting.write(Data(text.utf8))
    }

    func closeInput() {
        try? input.fileHandleForWriting.close()
    }

    var stdout: String { collected.withLock { String(decoding: $0.stdout, as: UTF8.self) } }
    var stderr: String { collected.withLock { String(decoding: $0.stderr, as: UTF8.self) } }

    /// Complete stdout lines so far.
    var stdoutLines: [String] {
        let text = stdout
        guard let end = text.lastIndex(of: "\n") else { return [] }
        return text[..<end].split(separator: "\n").map(String.init)
    }

    var isRunning: Bool { collected.withLock { $0.status == nil } }

    func signal(_ number: Int32) {
        kill(process.processIdentifier, number)
    }

    /// Waits until `condition` holds, checking every few milliseconds, for at most `timeout`.
    /// - Throws: `TimedOut` with `what` and the output so far.
    func wait(
        for what: String, timeout: Duration = .seconds(30), until condition: @Sendable (ChildProcess) -> Bool
    ) async throws {
        let deadline = ContinuousClock.now + timeout
        while !condition(self) {
            guard ContinuousClock.now < deadline else {
                throw TimedOut(description: "timed out waiting for \(what); stdout: \(stdout) stderr: \(stderr)")
            }
            try await Task.sleep(for: .milliseconds(10))
        }
    }

    /// Waits for at least `count` complete stdout lines and returns them.
    func lines(_ count: Int, timeout: Duration = .seconds(30)) async throws -> [String] {
        try await wait(for: "\(count) stdout lines", timeout: timeout) {
            $0.stdoutLines.count >= count || !$0.isRunning
        }
        let lines = stdoutLines
        if lines.count < count {
            throw TimedOut(description: "the process exited after \(lines.count) of \(count) lines; stderr: \(stderr)")
        }
        return lines
    }

    /// Waits for the process to exit and both streams to end; returns what it printed and its status.
    func finished(timeout: Duration = .seconds(30)) async throws -> Finished {
        try await wait(for: "the process to exit", timeout: timeout) { child in
            child.collected.withLock { $0.status != nil && $0.openStreams == 0 }
        }
        return collected.withLock {
            Finished(
                status: $0.status ?? -1, stdout: String(decoding: $0.stdout, as: UTF8.self),
                stderr: String(decoding: $0.stderr, as: UTF8.self))
        }
    }

    /// Ends the process if it still runs (cleanup after a failed expectation).
    func stop() {
        if isRunning { signal(SIGKILL) }
    }

    /// Runs `streamkit arguments…` to its end.
    static func run(
        _ arguments: [String], stdin: String? = nil, environment: [String: String] = [:],
        timeout: Duration = .seconds(60)
    ) async throws -> Finished {
        let child = try ChildProcess(arguments, stdin: stdin ?? "", environment: environment)
        defer { child.stop() }
        return try await child.finished(timeout: timeout)
    }
}

/// A `streamkit serve` on a free port over a temporary data directory.
final class ServerProcess: Sendable {
    let child: ChildProcess
    let url: String
    let data: String

    /// Starts the server and waits for its URL line.
    init(
        data: String, auth: [String], extra: [String] = [], environment: [String: String] = [:], launcher: [String] = []
    ) async throws {
        self.data = data
        child = try ChildProcess(
            ["serve", "--data", data, "--port", "0"] + auth + extra, environment: environment, launcher: launcher)
        do {
            url = try await child.lines(1).first ?? ""
        } catch {
            child.stop()
            throw error
        }
    }

    /// SIGTERM, then the exit.
    func terminate() async throws -> Finished {
        child.signal(SIGTERM)
        return try await child.finished()
    }

    /// The port in ``url``.
    var port: Int { Int(url.split(separator: ":").last?.split(separator: "/").first ?? "") ?? 0 }
}

/// A temporary directory path (not created), removed by the caller.
func temporaryPath(_ label: String) -> String {
    NSTemporaryDirectory() + "streamkit-\(label)-" + UUID().uuidString
}

/// A TCP port on 127.0.0.1 that nothing listens on right now.
func closedPort() throws -> Int {
    #if os(Linux)
    let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    #else
    let descriptor = socket(AF_INET, SOCK_STREAM, 0)
    #endif
    defer { close(descriptor) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    let bound = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
        }
    }
    try #require(bound == 0)
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
    }
    return Int(UInt16(bigEndian: address.sin_port))
}
