import CStreamKitSupport
import Foundation
import StreamKitLogFiles
import StreamKitPostgres
import StreamKitTestSupport
import Testing

@testable import StreamKitEngine

/// PostgreSQL stopped and started again under a producing store: a private cluster of the test's own (from
/// `scripts/postgres.sh`), so that stopping it disturbs no other test.
@Suite(.serialized) struct PostgresOutageTests {
    @Test(
        "while PostgreSQL is down produce fails with retryable storeUnavailable and acknowledges nothing; lease and presence queries fail the same way instead of answering empty; once it is back, producing goes on and reads hold exactly what was acknowledged"
    )
    func producingThroughAnOutage() async throws {
        let cluster = try PrivateCluster.start()
        defer { cluster.remove() }
        var options = PostgresLog.Options()
        // 30 s for a call in all: while the database is down the produce fails after this; a loaded machine (CI) must
        // not make calls to the running server time out.
        options.connectionWait = .seconds(2)
        options.statementTimeout = .seconds(28)
        var location = try PostgresLocation(url: cluster.url)
        location.socketDirectory = cluster.directory + "/sock"
        let log = try await PostgresLog.connect(location, options: options, logger: TestPostgres.quietLogger)
        let store = try #require(try await log.openStore(id: UUID(), configuration: StoreFixture.quiet()))
        var acknowledged: [UInt64] = []
        for sequence in UInt64(1)...10 {
            _ = try await store.produce(
                space: "s", segment: "g", records: [Record(sequence: sequence, payload: [UInt8(sequence)])])
            acknowledged.append(sequence)
        }

        try cluster.stopServer()
        let failure = await streamKitError {
            try await store.produce(space: "s", segment: "g", records: [Record(sequence: 11, payload: [11])])
        }
        #expect(failure?.code == .storeUnavailable, "\(String(describing: failure))")
        #expect(failure?.isRetryable == true)
        // Queries of shared leases and presence fail too: "no lease" or "no workers" would be a guess.
        let queries = [
            await streamKitError { _ = try await store.lease(key: "job") },
            await streamKitError { _ = try await store.workerInventory() },
            await streamKitError { _ = try await store.unregisterWorker(workerID: "w", generation: 1) },
        ]
        for query in queries { #expect(query?.code == .storeUnavailable, "\(String(describing: query))") }

        try cluster.startServer()
        // The pool reconnects: retry the same record until it is acknowledged (a bounded wait on the outcome).
        let deadline = ContinuousClock.now + .seconds(60)
        var recovered = false
        while ContinuousClock.now < deadline, !recovered {
            do {
                _ = try await store.produce(space: "s", segment: "g", records: [Record(sequence: 11, payload: [11])])
                recovered = true
            } catch let error as StreamKitError where error.isRetryable {
                try await Task.sleep(for: .milliseconds(100))
            }
        }
        #expect(recovered)
        acknowledged.append(11)
        _ = try await store.produce(space: "s", segment: "g", records: [Record(sequence: 12, payload: [12])])
        acknowledged.append(12)

        await store.close()
        let reopened = try #require(
            try await log.openStore(id: store.id, configuration: StoreFixture.quiet(), creating: false))
        let entries = try await reopened.consumeSegment(space: "s", segment: "g").collect()
        #expect(entries.map(\.sequence) == acknowledged)
        await reopened.close()
        await log.close()
    }
}

/// What a cluster a test starts inherits from the test process.
@Suite struct PrivateClusterTests {
    @Test(
        "a cluster a test starts holds none of the test process's descriptors (it held other tests' listening sockets)")
    func theServerInheritsNoDescriptor() throws {
        // A descriptor without close-on-exec, as NIO's listening sockets are.
        let path = NSTemporaryDirectory() + "streamkit-inherited-" + UUID().uuidString
        let descriptor = open(path, O_RDWR | O_CREAT, 0o600)
        try #require(descriptor >= 0)
        defer {
            close(descriptor)
            unlink(path)
        }

        let cluster = try PrivateCluster.start()
        defer { cluster.remove() }

        let pidLine = try String(contentsOfFile: cluster.directory + "/data/postmaster.pid", encoding: .utf8)
            .split(separator: "\n").first.map(String.init)
        let serverPID = try #require(pidLine.flatMap { Int32($0) })
        let held = try FileManager.default.contentsOfDirectory(atPath: "/proc/\(serverPID)/fd").compactMap {
            try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(serverPID)/fd/\($0)")
        }
        #expect(!held.isEmpty, "the server's descriptors are readable")
        #expect(!held.contains(path), "the server holds the test's file")
    }
}

/// A PostgreSQL cluster started by `scripts/postgres.sh` for one test, removed afterwards.
struct PrivateCluster {
    let url: String
    let directory: String

    static var script: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("scripts/postgres.sh").path
    }

    static func start() throws -> PrivateCluster {
        let output = try run(["start"])
        var url: String?
        var directory: String?
        for line in output.split(separator: "\n") {
            if let value = line.split(separator: "=", maxSplits: 1).last.map(String.init) {
                if line.hasPrefix("export STREAMKIT_TEST_POSTGRES_URL=") { url = value }
                if line.hasPrefix("export STREAMKIT_TEST_POSTGRES_DIR=") { directory = value }
            }
        }
        guard let url, let directory else { throw ScriptFailure(output: output) }
        return PrivateCluster(url: url, directory: directory)
    }

    func stopServer() throws { _ = try Self.run(["server-stop", directory, "fast"]) }
    func startServer() throws { _ = try Self.run(["server-start", directory]) }
    func remove() { _ = try? Self.run(["stop", directory]) }

    struct ScriptFailure: Error, CustomStringConvertible {
        var output: String
        var description: String { "scripts/postgres.sh failed:\n\(output)" }
    }

    /// Runs the script with `arguments` (posix_spawn and waitpid: Foundation's `Process` did not reap the script
    /// here once it had started a server) and returns its output.
    @discardableResult
    static func run(_ arguments: [String]) throws -> String {
        // Output through a file, not a pipe: the server the script starts inherits the script's stdout, and a pipe
        // would not reach end-of-file while the server runs.
        let file = NSTemporaryDirectory() + "streamkit-pg-script-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: file) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, file, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        // Nothing else of this process: the server the script starts would keep every inherited descriptor open
        // for its life, the listening sockets of other tests' servers included, whose restarts on the same port
        // then failed with "address in use" (posix_spawn, unlike Foundation's Process, passes them all on).
        guard sk_spawn_close_from(&actions, 3) == 0 else {
            throw ScriptFailure(output: "cannot close inherited descriptors")
        }
        let argv = ["/bin/bash", script] + arguments
        var cArguments = argv.map { strdup($0) } + [nil]
        defer { for argument in cArguments { free(argument) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, "/bin/bash", &actions, nil, &cArguments, environ)
        guard spawned == 0 else { throw ScriptFailure(output: "posix_spawn failed: \(spawned)") }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let output = (try? String(contentsOfFile: file, encoding: .utf8)) ?? ""
        let exited = (status & 0x7f) == 0
        guard exited, (status >> 8) & 0xff == 0 else { throw ScriptFailure(output: output) }
        return output
    }
}
