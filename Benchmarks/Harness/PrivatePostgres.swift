import CStreamKitSupport
import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A throwaway PostgreSQL cluster for the `postgres.*` scenarios when no `--postgres URL` is given: started with
/// `scripts/postgres.sh start` (the same private cluster the tests use: initdb in a temp directory, 127.0.0.1 on
/// a free port, fsync and synchronous_commit on) and removed with `scripts/postgres.sh stop DIR`.
///
/// The script is looked up in `$STREAMKIT_POSTGRES_SCRIPT`, then `scripts/postgres.sh` under the working
/// directory, then beside this source file's package (a binary run from elsewhere in the checkout).
struct PrivatePostgres: Sendable {
    let url: String
    let directory: String
    let script: String

    /// Starts a cluster; its progress lines go to stderr.
    static func start() throws(BenchError) -> PrivatePostgres {
        guard let script = locateScript() else {
            throw .failed(
                "no --postgres URL given and scripts/postgres.sh not found (run from the package directory, or set "
                    + "STREAMKIT_POSTGRES_SCRIPT)")
        }
        StandardError.emitLine("postgres: no --postgres URL; starting a private cluster with \(script)")
        let (status, output) = run(script, ["start"], captureOutput: true)
        var url: String?
        var directory: String?
        for line in output.split(separator: "\n") {
            if let value = exported("STREAMKIT_TEST_POSTGRES_URL", in: line) { url = value }
            if let value = exported("STREAMKIT_TEST_POSTGRES_DIR", in: line) { directory = value }
        }
        guard status == 0, let url, let directory else {
            if let directory { _ = run(script, ["stop", directory], captureOutput: false) }
            throw .failed(
                "scripts/postgres.sh start failed (status \(status)); install PostgreSQL with `bash scripts/deps.sh "
                    + "--postgres` or pass --postgres URL")
        }
        return PrivatePostgres(url: url, directory: directory, script: script)
    }

    /// Stops the server and removes its directory; a failure is reported on stderr.
    func stop() {
        let (status, _) = Self.run(script, ["stop", directory], captureOutput: false)
        if status == 0 {
            StandardError.emitLine("postgres: private cluster stopped and removed")
        } else {
            StandardError.emitLine("warning: `scripts/postgres.sh stop \(directory)` failed (status \(status))")
        }
    }

    /// The value of `export NAME=VALUE` (as printed by `printf %q`: backslash escapes or single quotes undone).
    static func exported(_ name: String, in line: Substring) -> String? {
        let prefix = "export \(name)="
        guard line.hasPrefix(prefix) else { return nil }
        var value = line.dropFirst(prefix.count)
        if value.hasPrefix("'"), value.hasSuffix("'"), value.count >= 2 {
            return String(value.dropFirst().dropLast())
        }
        var out = ""
        while let character = value.popFirst() {
            if character == "\\", let next = value.popFirst() { out.append(next) } else { out.append(character) }
        }
        return out
    }

    private static func locateScript() -> String? {
        var candidates: [String] = []
        if let configured = ProcessInfo.processInfo.environment["STREAMKIT_POSTGRES_SCRIPT"], !configured.isEmpty {
            candidates.append(configured)
        }
        candidates.append(FileManager.default.currentDirectoryPath + "/scripts/postgres.sh")
        // <package>/Benchmarks/Harness/PrivatePostgres.swift → <package>/scripts/postgres.sh
        let source = URL(fileURLWithPath: #filePath)
        candidates.append(
            source.deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
                .appendingPathComponent("scripts/postgres.sh").path)
        return candidates.first { access($0, R_OK) == 0 }
    }

    /// Runs `bash script arguments…` with `posix_spawn` (Foundation's `Process.waitUntilExit` can hang in an async
    /// `main`), stderr passed through, stdout captured or sent to stderr; returns the exit status and stdout.
    private static func run(_ script: String, _ arguments: [String], captureOutput: Bool) -> (Int32, String) {
        var fds: [Int32] = [-1, -1]
        if captureOutput {
            guard pipe(&fds) == 0 else {
                StandardError.emitLine("postgres: pipe failed: \(SystemError.message(errno))")
                return (127, "")
            }
            // Not inherited by anything else this process starts (the child gets the write end as its stdout).
            _ = fcntl(fds[0], F_SETFD, FD_CLOEXEC)
            _ = fcntl(fds[1], F_SETFD, FD_CLOEXEC)
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, captureOutput ? fds[1] : STDERR_FILENO, STDOUT_FILENO)
        // Nothing else of this process: the server the script starts keeps every descriptor it inherits open.
        _ = sk_spawn_close_from(&actions, 3)
        let argv = (["/bin/bash", script] + arguments).map { strdup($0) }
        defer { for argument in argv { free(argument) } }
        var pid: pid_t = 0
        var argumentPointers = argv + [nil]
        let spawned = argumentPointers.withUnsafeMutableBufferPointer { pointers in
            guard let base = pointers.baseAddress else { return EINVAL }
            return posix_spawn(&pid, "/bin/bash", &actions, nil, base, environ)
        }
        if captureOutput { close(fds[1]) }
        guard spawned == 0 else {
            if captureOutput { close(fds[0]) }
            StandardError.emitLine("postgres: cannot run bash \(script): \(SystemError.message(spawned))")
            return (127, "")
        }
        var output: [UInt8] = []
        if captureOutput {
            var chunk = [UInt8](repeating: 0, count: 4096)
            while true {
                let count = chunk.withUnsafeMutableBytes { read(fds[0], $0.baseAddress, $0.count) }
                if count > 0 {
                    output += chunk[0..<count]
                } else if count == 0 || errno != EINTR {
                    break
                }
            }
            close(fds[0])
        }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 {
            guard errno == EINTR else { return (127, String(decoding: output, as: UTF8.self)) }
        }
        // WIFEXITED / WEXITSTATUS; a signal counts as 128 + its number, as in a shell.
        let exitStatus = status & 0x7F == 0 ? (status >> 8) & 0xFF : 128 + (status & 0x7F)
        return (exitStatus, String(decoding: output, as: UTF8.self))
    }
}
