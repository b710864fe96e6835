import Foundation
import Testing

/// `streamkit serve --postgres` and `inspect`, `verify` and `dump --postgres`, run as real processes against the
/// test database. Serialized: the tests run servers and tools, and the machines running CI have few cores.
@Suite(.serialized) struct PostgresCommandTests {
    /// How the tools name the test database in what they print: the URL without a password.
    func redacted(_ url: String) throws -> String {
        let components = try #require(URLComponents(string: url))
        return
            "postgres://\(components.user ?? "")@\(components.host ?? ""):\(components.port ?? 5432)\(components.path)"
    }

    @Test(
        "serve --postgres names the database without its password and serves; STREAMKIT_POSTGRES_URL and STREAMKIT_POSTGRES_PASSWORD can replace the flag"
    )
    func serveNamesTheDatabaseWithoutItsPassword() async throws {
        let url = try TestDatabase.url()
        let password = "hunter2-not-for-logs"
        let store = UUID()
        let flagged = try ChildProcess([
            "serve", "--postgres", try TestDatabase.url(withPassword: password), "--port", "0", "--no-auth",
        ])
        defer { flagged.stop() }
        let flaggedURL = try #require(try await flagged.lines(1, timeout: .seconds(120)).first)
        let published = try await ChildProcess.run(
            ["publish", flaggedURL, "--store", store.uuidString, "--space", "s", "--segment", "g"], stdin: "one\n")
        #expect(published.status == 0, "\(published.stderr)")
        flagged.signal(SIGTERM)
        let stopped = try await flagged.finished(timeout: .seconds(60))
        #expect(stopped.status == 0, "\(stopped.stderr)")
        #expect(stopped.stderr.contains("serving PostgreSQL \(try redacted(url))"), "\(stopped.stderr)")
        #expect(!stopped.stderr.contains(password))

        let environment = try ChildProcess(
            ["serve", "--port", "0", "--no-auth"],
            environment: ["STREAMKIT_POSTGRES_URL": url, "STREAMKIT_POSTGRES_PASSWORD": password])
        defer { environment.stop() }
        let environmentURL = try #require(try await environment.lines(1, timeout: .seconds(120)).first)
        let read = try await NodeClient.read(1, through: environmentURL, store: store, space: "s", segment: "g")
        #expect(
            try read.map(NodeClient.json).map { $0["payload"] as? String } == ["one"],
            "the second server reads what the first wrote")
        environment.signal(SIGTERM)
        let ended = try await environment.finished(timeout: .seconds(60))
        #expect(ended.status == 0, "\(ended.stderr)")
        #expect(ended.stderr.contains("serving PostgreSQL \(try redacted(url))"))
        #expect(!ended.stderr.contains(password))
    }

    @Test(
        "serve: --postgres with --data, --durability or a malformed URL, pool options without --postgres, or no place for the stores are usage errors (64)"
    )
    func serveUsageErrors() async throws {
        let data = temporaryPath("pg-usage")
        defer { try? FileManager.default.removeItem(atPath: data) }
        let url = "postgres://streamkit@127.0.0.1:1/streamkit"
        let both = try await ChildProcess.run(["serve", "--data", data, "--postgres", url, "--no-auth"])
        #expect(both.status == 64)
        #expect(both.stderr.contains("give either --data DIR or --postgres URL, not both"), "\(both.stderr)")
        let durability = try await ChildProcess.run(["serve", "--postgres", url, "--durability", "none", "--no-auth"])
        #expect(durability.status == 64)
        #expect(durability.stderr.contains("--durability goes with --data"))
        let retention = try await ChildProcess.run([
            "serve", "--postgres", url, "--retention-max-entries", "0", "--no-auth",
        ])
        #expect(retention.status == 64)
        #expect(retention.stderr.contains("--retention-max-entries must be 1 or more"), "\(retention.stderr)")
        let malformed = try await ChildProcess.run(["serve", "--postgres", "mysql://db/x", "--no-auth"])
        #expect(malformed.status == 64)
        #expect(malformed.stderr.contains("not a postgres:// URL"))
        let noUser = try await ChildProcess.run(
            ["serve", "--no-auth"], environment: ["STREAMKIT_POSTGRES_URL": "postgres://127.0.0.1/x"])
        #expect(noUser.status == 64)
        #expect(noUser.stderr.contains("STREAMKIT_POSTGRES_URL: the PostgreSQL URL names no user"), "\(noUser.stderr)")
        for option in ["--postgres-connections", "--postgres-statement-timeout", "--postgres-connection-wait"] {
            let pool = try await ChildProcess.run(["serve", "--data", data, option, "4", "--no-auth"])
            #expect(pool.status == 64, "\(option)")
        }
        let nowhere = try await ChildProcess.run(["serve", "--no-auth"], environment: ["STREAMKIT_POSTGRES_URL": ""])
        #expect(nowhere.status == 64)
        #expect(nowhere.stderr.contains("--data DIR, or --postgres URL"))
        #expect(!FileManager.default.fileExists(atPath: data))

        let toolBoth = try await ChildProcess.run(["inspect", data, "--postgres", url])
        #expect(toolBoth.status == 64)
        let skipping = try await ChildProcess.run([
            "dump", "--postgres", url, "--store", UUID().uuidString, "--skip-damaged",
        ])
        #expect(skipping.status == 64)
        let notAnID = try await ChildProcess.run(["verify", "--postgres", url, "--store", "orders"])
        #expect(notAnID.status == 64)
    }

    @Test(
        "serve fails with status 1 and one line naming the database, not its password, when PostgreSQL cannot be reached"
    )
    func serveWithoutADatabase() async throws {
        let port = try closedPort()
        let failed = try await ChildProcess.run(
            [
                "serve", "--postgres", "postgres://streamkit:hunter2@127.0.0.1:\(port)/streamkit", "--port", "0",
                "--no-auth",
                "--log-level", "critical", "--postgres-connection-wait", "2", "--postgres-statement-timeout", "2",
            ],
            timeout: .seconds(180))
        #expect(failed.status == 1)
        #expect(failed.stdout.isEmpty)
        #expect(failed.stderrLines.count == 1, "\(failed.stderr)")
        #expect(failed.stderr.contains("postgres://streamkit@127.0.0.1:\(port)/streamkit"))
        #expect(!failed.stderr.contains("hunter2"))
    }

    @Test(
        "inspect, verify and dump --postgres read a store written through a node: its segments, a clean check, and the entries tail prints"
    )
    func toolsReadTheTables() async throws {
        let url = try TestDatabase.url()
        let node = try await NodeProcess(extra: ["--compaction-interval", "1w"])  // The deletion below stays recorded.
        defer { node.child.stop() }
        let store = UUID()
        _ = try await NodeClient.publish(["a1", "a2", "a3"], through: node, store: store, space: "s", segment: "a")
        _ = try await NodeClient.publish(["b1", "b2"], through: node, store: store, space: "s", segment: "b")
        _ = try await NodeClient.publish(["c1"], through: node, store: store, space: "t", segment: "c")

        let tailed = try await NodeClient.read(5, through: node, store: store, space: "s")
        let database = ["--postgres", url, "--store", store.uuidString]

        let all = try await ChildProcess.run(["dump"] + database)
        #expect(all.status == 0, "\(all.stderr)")
        #expect(try all.stdoutLines.map(NodeClient.json).map { $0["position"] as? Int } == Array(1...6))
        let space = try await ChildProcess.run(["dump"] + database + ["--space", "s"])
        #expect(space.stdoutLines == tailed, "dump prints what tail prints")
        let raw = try await ChildProcess.run(
            ["dump"] + database + ["--space", "s", "--segment", "a", "--from", "2", "--format", "raw"])
        #expect(raw.stdoutLines == ["a2", "a3"])

        let inspect = try await ChildProcess.run(["inspect"] + database)
        #expect(inspect.status == 0, "\(inspect.stderr)")
        #expect(inspect.stdout.contains("store \(store.uuidString.lowercased())  (\(try redacted(url)))"))
        #expect(inspect.stdout.contains("positions 1…6"))
        #expect(inspect.stdout.contains("space s: 2 segments"))
        #expect(inspect.stdout.contains("a: 3 entries, sequences 1…3"))
        #expect(inspect.stdout.contains("c: 1 entries, sequences 1…1"))
        #expect(inspect.stdout.contains("retention: the server's default"), "\(inspect.stdout)")
        let json = try await ChildProcess.run(["inspect"] + database + ["--json"])
        let summaries = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [[String: Any]])
        #expect(summaries.first?["last_position"] as? Int == 6)
        #expect((summaries.first?["segments"] as? [Any])?.count == 3)

        let verify = try await ChildProcess.run(["verify"] + database)
        #expect(verify.status == 0, "\(verify.stderr)")
        #expect(
            verify.stdout.contains("\(store.uuidString.lowercased()): ok — 6 rows, 6 entries of 6, 3 segments"),
            "\(verify.stdout)")

        let unknown = UUID().uuidString
        for command in ["inspect", "verify", "dump"] {
            let missing = try await ChildProcess.run([command, "--postgres", url, "--store", unknown])
            #expect(missing.status == 1, "\(command): \(missing.stderr)")
            #expect(missing.stderrLines.count == 1)
            #expect(missing.stderr.contains("no store \(unknown.lowercased())"))
        }

        // A deletion (kept recorded: the node compacts weekly) and a policy of the store's own show in inspect.
        let deleted = try await ChildProcess.run(
            ["delete", node.url, "--store", store.uuidString, "--space", "s", "--segment", "b", "--before", "2"])
        let policy = try await ChildProcess.run([
            "retention", node.url, "--store", store.uuidString, "--max-entries", "50",
        ])
        let inspected = try await ChildProcess.run(["inspect"] + database)
        #expect(deleted.status == 0, "\(deleted.stderr)")
        #expect(policy.status == 0, "\(policy.stderr)")
        #expect(
            inspected.stdout.contains("retention: the store's own policy, max entries per segment 50"),
            "\(inspected.stdout)")
        #expect(inspected.stdout.contains("s/b: sequences before 2, in positions up to 4"), "\(inspected.stdout)")
        #expect(try await node.terminate().status == 0)
    }

    @Test(
        "verify and dump --postgres find a row whose checksum does not match (status 2; dump prints the entries before it), and a store whose rows have a hole cannot be opened (status 2)"
    )
    func damagedRows() async throws {
        let url = try TestDatabase.url()
        let node = try await NodeProcess()
        defer { node.child.stop() }
        let store = UUID()
        // One record per transaction: three rows, at positions 1, 2 and 3.
        _ = try await NodeClient.publish(
            ["one", "two", "three"], through: node, store: store, space: "s", segment: "g")
        #expect(try await node.terminate().status == 0)
        let database = ["--postgres", url, "--store", store.uuidString]
        let json = try await ChildProcess.run(["inspect"] + database + ["--json"])
        let summaries = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [[String: Any]])
        try #require(summaries.first?["rows"] as? Int == 3, "\(json.stdout)")
        let id = store.uuidString.lowercased()
        defer {  // The damaged store goes: tools that read every store of the test database would meet it.
            for table in ["streamkit_batches", "streamkit_segments", "streamkit_stores"] {
                try? TestDatabase.psql("DELETE FROM \(table) WHERE store = '\(id)'")
            }
        }

        try TestDatabase.psql(
            "UPDATE streamkit_batches SET checksum = checksum # 1 WHERE store = '\(id)' AND first_position = 2")
        let verify = try await ChildProcess.run(["verify"] + database)
        #expect(verify.status == 2, "\(verify.stdout) \(verify.stderr)")
        #expect(verify.stdout.contains("\(id): CORRUPT"))
        #expect(verify.stdout.contains("row at positions 2…2"))
        #expect(verify.stderr.contains("damaged"))
        let dump = try await ChildProcess.run(["dump"] + database)
        #expect(dump.status == 2)
        #expect(try dump.stdoutLines.map(NodeClient.json).map { $0["payload"] as? String } == ["one"])
        #expect(dump.stderrLines.last?.contains("damaged data") == true, "\(dump.stderr)")

        try TestDatabase.psql("DELETE FROM streamkit_batches WHERE store = '\(id)' AND first_position = 2")
        let unopenable = try await ChildProcess.run(["verify"] + database)
        #expect(unopenable.status == 2)
        #expect(unopenable.stdout.contains("\(id): CORRUPT — the store cannot be opened"), "\(unopenable.stdout)")
        let inspect = try await ChildProcess.run(["inspect"] + database)
        #expect(inspect.status == 2)
        #expect(inspect.stdout.contains("DAMAGE"))
    }
}
