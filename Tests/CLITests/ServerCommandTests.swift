import Foundation
import Logging
import StreamKitEngine
import Testing

/// `streamkit serve`, `publish`, `tail`, `token` and `replay --to-url`, run as real processes against each
/// other. Serialized: every test runs a server and clients, and the machines running CI have few cores.
@Suite(.serialized) struct ServerCommandTests {
    static let secret = "cli-test-secret-0123456789abcdef"

    func json(_ line: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
    }

    func token(_ arguments: [String]) async throws -> String {
        let minted = try await ChildProcess.run(["token", "--secret", Self.secret] + arguments)
        #expect(minted.status == 0, "\(minted.stderr)")
        return try #require(minted.stdoutLines.first)
    }

    @Test(
        "serve prints its URL, publish and tail go through it, and after SIGTERM (status 0) the data directory holds every entry"
    )
    func serveEndToEnd() async throws {
        let data = temporaryPath("serve")
        defer { try? FileManager.default.removeItem(atPath: data) }
        let store = UUID()
        let server = try await ServerProcess(data: data, auth: ["--jwt-secret", Self.secret])
        defer { server.child.stop() }
        #expect(server.url.hasPrefix("ws://127.0.0.1:"))
        #expect(server.url.hasSuffix("/streamkit"))
        #expect(server.port > 0 && server.port != 7420)
        let token = try await token(["--store", store.uuidString])

        let input = """
            first
            {"payload":"second","metadata":{"kind":"json"}}
            third

            {"not":"a record"}
            fifth
            """
        let published = try await ChildProcess.run(
            [
                "publish", server.url, "--store", store.uuidString, "--space", "orders", "--segment", "o-1", "--token",
                token,
            ],
            stdin: input)
        #expect(published.status == 0, "\(published.stderr)")
        #expect(published.stdoutLines.count == 5)
        #expect(published.stdoutLines.last?.hasPrefix("orders/o-1 5 ") == true)

        let tail = try ChildProcess(
            ["tail", server.url, "--store", store.uuidString, "--space", "orders", "--from-start"],
            environment: ["STREAMKIT_TOKEN": token])
        defer { tail.stop() }
        let seen = try await tail.lines(5).map(json)
        #expect(seen.map { $0["sequence"] as? Int } == [1, 2, 3, 4, 5])
        #expect(seen.map { $0["payload"] as? String } == ["first", "second", "third", #"{"not":"a record"}"#, "fifth"])
        #expect(seen[1]["metadata"] as? [String: String] == ["kind": "json"])
        #expect(seen.allSatisfy { $0["segment"] as? String == "o-1" && $0["payload_encoding"] as? String == "utf8" })

        let more = try await ChildProcess.run(
            ["publish", server.url, "--store", store.uuidString, "--space", "orders", "--segment", "o-2"],
            stdin: "sixth\nseventh\n", environment: ["STREAMKIT_TOKEN": token])
        #expect(more.status == 0, "\(more.stderr)")
        let live = try await tail.lines(7).map(json)
        #expect(live.suffix(2).map { $0["payload"] as? String } == ["sixth", "seventh"])
        #expect(live.suffix(2).map { $0["segment"] as? String } == ["o-2", "o-2"])
        #expect(live.map { $0["position"] as? Int } == (1...7).map { $0 })
        tail.signal(SIGINT)
        let tailEnd = try await tail.finished()
        #expect(tailEnd.status == 0, "\(tailEnd.stderr)")
        #expect(tailEnd.stdoutLines.count == 7)

        let stopped = try await server.terminate()
        #expect(stopped.status == 0, "\(stopped.stderr)")
        #expect(stopped.stderr.contains("SIGTERM"))

        let inspect = try await ChildProcess.run(["inspect", data])
        #expect(inspect.status == 0)
        #expect(inspect.stdout.contains(store.uuidString.lowercased()))
        #expect(inspect.stdout.contains("o-1: 5 entries, sequences 1…5"))
        #expect(inspect.stdout.contains("o-2: 2 entries, sequences 1…2"))
        let verify = try await ChildProcess.run(["verify", data])
        #expect(verify.status == 0)
        #expect(verify.stdout.contains(": ok"))
        let dump = try await ChildProcess.run(["dump", data, "--store", store.uuidString])
        #expect(
            try dump.stdoutLines.map(json).map { $0["payload"] as? String } == live.map { $0["payload"] as? String })
    }

    @Test("tail of one segment without --from-start prints only what is published after it starts")
    func tailFollowsNewEntries() async throws {
        let data = temporaryPath("tail")
        defer { try? FileManager.default.removeItem(atPath: data) }
        let store = UUID().uuidString
        let server = try await ServerProcess(data: data, auth: ["--no-auth"], extra: ["--durability", "none"])
        defer { server.child.stop() }
        let publish = ["publish", server.url, "--store", store, "--space", "s", "--segment", "g"]
        #expect(try await ChildProcess.run(publish, stdin: "old-1\nold-2\n").status == 0)
        _ = try await ChildProcess.run(publish + ["--segment", "other"], stdin: "elsewhere\n")

        let tail = try ChildProcess(["tail", server.url, "--store", store, "--space", "s", "--segment", "g"])
        defer { tail.stop() }
        try await tail.wait(for: "tail to start following") { $0.stderr.contains("after sequence 2") }
        #expect(try await ChildProcess.run(publish, stdin: "new-3\n").status == 0)
        _ = try await ChildProcess.run(publish + ["--segment", "other"], stdin: "elsewhere again\n")
        #expect(try await ChildProcess.run(publish, stdin: "new-4\n").status == 0)
        let seen = try await tail.lines(2).map(json)
        #expect(seen.map { $0["payload"] as? String } == ["new-3", "new-4"])
        #expect(seen.map { $0["sequence"] as? Int } == [3, 4])

        tail.signal(SIGTERM)
        #expect(try await tail.finished().stdoutLines.count == 2)
        #expect(try await server.terminate().status == 0)
    }

    @Test(
        "tail --from-start ends on SIGINT or SIGTERM while it is still catching up: status 0, whole lines, far from the end",
        arguments: zip([SIGINT, SIGTERM], [false, true]))
    func tailStopsOnSignalWhileCatchingUp(signal: Int32, oneSegment: Bool) async throws {
        let data = temporaryPath("tail-signal")
        defer { try? FileManager.default.removeItem(atPath: data) }
        // Enough entries that printing them all takes many seconds (each becomes a JSON line).
        let count = 60_000
        let store = UUID()
        var configuration = StoreConfiguration()
        configuration.log.durability = .none
        configuration.log.logger.logLevel = .error
        configuration.logger.logLevel = .error
        let writer = try await Store.open(
            id: store, directory: data + "/" + store.uuidString.lowercased(), configuration: configuration)
        for start in stride(from: 1, through: count, by: 1_000) {
            let records = (start..<(start + 1_000)).map {
                Record(sequence: UInt64($0), payload: Array("entry-\($0)".utf8))
            }
            try await writer.produce(space: "s", segment: "g", records: records)
        }
        await writer.close()
        let server = try await ServerProcess(data: data, auth: ["--no-auth"])
        defer { server.child.stop() }

        let tail = try ChildProcess(
            ["tail", server.url, "--store", store.uuidString, "--space", "s", "--from-start"]
                + (oneSegment ? ["--segment", "g"] : []))
        defer { tail.stop() }
        _ = try await tail.lines(1)  // Catching up has begun.
        tail.signal(signal)
        // Generous for a loaded machine; printing everything takes far longer than this.
        let ended = try await tail.finished(timeout: .seconds(15))
        #expect(ended.status == 0, "\(ended.stderr)")
        #expect(ended.stdout.hasSuffix("\n"))
        #expect(ended.stdoutLines.count < count, "tail printed everything before it stopped")
        let last = try json(try #require(ended.stdoutLines.last))
        #expect(last["sequence"] as? Int == ended.stdoutLines.count)
        #expect(try await server.terminate().status == 0)
    }

    @Test(
        "tail that reaches a damaged block prints every entry before it (the same as dump), then fails with one line and status 1"
    )
    func tailDeliversEntriesBeforeDamage() async throws {
        let data = temporaryPath("tail-damage")
        defer { try? FileManager.default.removeItem(atPath: data) }
        let store = UUID()
        let directory = data + "/" + store.uuidString.lowercased()
        var configuration = StoreConfiguration()
        configuration.log.durability = .none
        configuration.log.blockBytes = 2048  // many blocks inside one read batch
        configuration.log.logger.logLevel = .error
        configuration.logger.logLevel = .error
        let writer = try await Store.open(id: store, directory: directory, configuration: configuration)
        for start in stride(from: 1, through: 400, by: 10) {
            let records = (start..<(start + 10)).map {
                Record(sequence: UInt64($0), payload: Array("entry-\($0)".utf8))
            }
            try await writer.produce(space: "s", segment: "g", records: records)
        }
        await writer.close()
        // Damage one block's body in the middle of the log (not a header, which opening the store checks).
        let logDirectory = directory + "/log"
        let log =
            logDirectory + "/"
            + (try #require(
                try FileManager.default.contentsOfDirectory(atPath: logDirectory).first { $0.hasSuffix(".log") }))
        var bytes = try Data(contentsOf: URL(fileURLWithPath: log))
        var offset = bytes.count / 2
        while true {
            bytes[offset] ^= 0x10
            try bytes.write(to: URL(fileURLWithPath: log))
            let verify = try await ChildProcess.run(["verify", data])
            if verify.stdout.contains("block checksum mismatch") { break }
            bytes[offset] ^= 0x10
            offset += 97
            try #require(offset < bytes.count - 100, "no block body found to damage: \(verify.stdout)")
        }
        let dump = try await ChildProcess.run(["dump", data, "--store", store.uuidString])
        try #require(dump.status == 2 && dump.stdoutLines.count > 10, "\(dump.stderr)")

        let server = try await ServerProcess(data: data, auth: ["--no-auth"], extra: ["--log-level", "critical"])
        defer { server.child.stop() }
        for segment in [[], ["--segment", "g"]] {
            let tail = try await ChildProcess.run(
                ["tail", server.url, "--store", store.uuidString, "--space", "s", "--from-start"] + segment)
            #expect(tail.status == 1, "\(tail.stderr)")
            #expect(tail.stderrLines.last?.contains("corrupt") == true, "\(tail.stderr)")
            #expect(
                tail.stdoutLines == dump.stdoutLines,
                "tail printed \(tail.stdoutLines.count), dump \(dump.stdoutLines.count)")
        }
        #expect(try await server.terminate().status == 0)
    }

    @Test(
        "a token that does not verify, or that grants another store, fails with one line on stderr and a non-zero status"
    )
    func badToken() async throws {
        let data = temporaryPath("auth")
        defer { try? FileManager.default.removeItem(atPath: data) }
        let server = try await ServerProcess(data: data, auth: ["--jwt-secret", Self.secret])
        defer { server.child.stop() }
        let store = UUID().uuidString

        let forged =
            try await ChildProcess.run(["token", "--secret", String(Self.secret.reversed()), "--all"]).stdoutLines.first
            ?? ""
        let refused = try await ChildProcess.run(
            ["publish", server.url, "--store", store, "--space", "s", "--segment", "g", "--token", forged], stdin: "x\n"
        )
        #expect(refused.status != 0)
        #expect(refused.stderrLines.count == 1)
        #expect(refused.stderr.contains("unauthorized") || refused.stderr.contains("refused the token"))
        #expect(refused.stdout.isEmpty)

        let none = try await ChildProcess.run(["tail", server.url, "--store", store, "--space", "s"])
        #expect(none.status != 0)
        #expect(none.stderrLines.count == 1)
        #expect(none.stderr.contains("token"))

        let otherStore = try await token(["--store", UUID().uuidString])
        let forbidden = try await ChildProcess.run(
            ["publish", server.url, "--store", store, "--space", "s", "--segment", "g", "--token", otherStore],
            stdin: "x\n")
        #expect(forbidden.status != 0)
        #expect(forbidden.stderrLines.count == 1)
        #expect(forbidden.stderr.contains("forbidden") || forbidden.stderr.contains("does not grant"))
        #expect(try await server.terminate().status == 0)
    }

    @Test(
        "delete removes a segment's entries (or those before --before) with a token that grants deletion; inspect and dump leave them out"
    )
    func deleteThroughTheServer() async throws {
        let data = temporaryPath("delete")
        defer { try? FileManager.default.removeItem(atPath: data) }
        let server = try await ServerProcess(data: data, auth: ["--jwt-secret", Self.secret])
        defer { server.child.stop() }
        let store = UUID().uuidString
        let plain = try await token(["--store", store])
        let deleter = try await token(["--store", store, "--delete"])
        let publish = ["publish", server.url, "--store", store, "--space", "s", "--token", plain]
        #expect(try await ChildProcess.run(publish + ["--segment", "g"], stdin: "1\n2\n3\n4\n5\n").status == 0)
        #expect(try await ChildProcess.run(publish + ["--segment", "h"], stdin: "a\nb\n").status == 0)
        let delete = ["delete", server.url, "--store", store, "--space", "s"]

        let forbidden = try await ChildProcess.run(delete + ["--segment", "g", "--token", plain])
        let truncated = try await ChildProcess.run(delete + ["--segment", "g", "--before", "3", "--token", deleter])
        let deleted = try await ChildProcess.run(delete + ["--segment", "h", "--token", deleter])
        let unknown = try await ChildProcess.run(delete + ["--segment", "nope", "--token", deleter])
        let zero = try await ChildProcess.run(delete + ["--segment", "g", "--before", "0", "--token", deleter])
        #expect(try await server.terminate().status == 0)
        let inspect = try await ChildProcess.run(["inspect", data])
        let dump = try await ChildProcess.run(["dump", data, "--store", store])

        #expect(forbidden.status == 1)
        #expect(forbidden.stderr.contains("forbidden") || forbidden.stderr.contains("does not grant"))
        #expect(truncated.status == 0, "\(truncated.stderr)")
        #expect(truncated.stdoutLines == ["s/g deleted 2 entries"])
        #expect(deleted.stdoutLines == ["s/h deleted 2 entries"])
        #expect(unknown.status == 1)
        #expect(unknown.stderr.contains("notFound") || unknown.stderr.contains("no segment"))
        #expect(zero.status == 64)
        #expect(inspect.stdout.contains("g: 3 entries, sequences 3…5"), "\(inspect.stdout)")
        #expect(!inspect.stdout.contains("    h:"))
        #expect(
            inspect.stdout.contains("deletions: 2 (4 entries left out of every read and still on disk"),
            "\(inspect.stdout)")
        #expect(inspect.stdout.contains("3 live, 4 deleted, 0 erased"))
        #expect(try dump.stdoutLines.map(json).map { $0["payload"] as? String } == ["3", "4", "5"])
    }

    @Test(
        "tail --consumer continues where its last run stopped; consumers lists, creates and deletes; inspect shows them"
    )
    func tailAsADurableConsumer() async throws {
        let data = temporaryPath("consumer")
        defer { try? FileManager.default.removeItem(atPath: data) }
        let store = UUID().uuidString
        let server = try await ServerProcess(data: data, auth: ["--no-auth"], extra: ["--durability", "none"])
        defer { server.child.stop() }
        let publish = ["publish", server.url, "--store", store, "--space", "s", "--segment", "g"]
        let consumers = ["consumers", server.url, "--store", store]
        #expect(try await ChildProcess.run(publish, stdin: "a\nb\nc\n").status == 0)
        let created = try await ChildProcess.run(consumers + ["--create", "c", "--space", "s"])
        let tailAs = ["tail", server.url, "--store", store, "--space", "s", "--consumer", "c"]

        let first = try ChildProcess(tailAs)
        defer { first.stop() }
        let firstSeen = try await first.lines(3).map(json)
        first.signal(SIGTERM)
        let firstEnd = try await first.finished()
        #expect(try await ChildProcess.run(publish, stdin: "d\ne\n").status == 0)
        let second = try ChildProcess(tailAs)
        defer { second.stop() }
        let secondSeen = try await second.lines(2).map(json)
        second.signal(SIGTERM)
        let secondEnd = try await second.finished()
        let listed = try await ChildProcess.run(consumers + ["--json"])
        let atHead = try await ChildProcess.run(
            consumers + ["--create", "later", "--space", "s", "--segment", "g", "--from-now"])
        let deleted = try await ChildProcess.run(consumers + ["--delete", "c"])
        let deletedAgain = try await ChildProcess.run(consumers + ["--delete", "c"])
        #expect(try await server.terminate().status == 0)
        let inspected = try await ChildProcess.run(["inspect", data + "/" + store.lowercased()])

        #expect(created.status == 0, "\(created.stderr)")
        #expect(firstSeen.map { $0["payload"] as? String } == ["a", "b", "c"])
        #expect(firstEnd.status == 0 && firstEnd.stdoutLines.count == 3, "\(firstEnd.stderr)")
        #expect(secondSeen.map { $0["payload"] as? String } == ["d", "e"])
        #expect(secondEnd.status == 0 && secondEnd.stdoutLines.count == 2, "\(secondEnd.stderr)")
        let entry = try json(try #require(listed.stdoutLines.first))
        #expect(entry["name"] as? String == "c")
        #expect(entry["lag_entries"] as? Int == 0)
        #expect(atHead.status == 0 && atHead.stdout.contains("behind 0 entries"), "\(atHead.stdout)")
        #expect(deleted.status == 0)
        #expect(deletedAgain.status == 1)
        #expect(inspected.status == 0, "\(inspected.stderr)")
        #expect(
            inspected.stdout.contains("consumers: 1")
                && inspected.stdout.contains("later: segment s/g, after sequence 5"), "\(inspected.stdout)")
    }

    @Test(
        "serve exposes the process's metrics at GET /metrics (Prometheus text), moving under a publish, and answers the health probes, without a token"
    )
    func serveExportsMetricsAndHealth() async throws {
        let data = temporaryPath("metrics")
        defer { try? FileManager.default.removeItem(atPath: data) }
        let server = try await ServerProcess(data: data, auth: ["--jwt-secret", Self.secret])  // Durability fsync.
        defer { server.child.stop() }
        let port = try #require(Int(server.url.split(separator: ":").last?.split(separator: "/").first ?? ""))
        let token = try await self.token(["--all"])
        let store = UUID().uuidString
        let publish = ["publish", server.url, "--store", store, "--space", "s", "--segment", "g", "--token", token]
        let before = try HTTPProbe.get(port: port, path: "/metrics")

        #expect(try await ChildProcess.run(publish, stdin: "a\nb\n").status == 0)
        let metrics = try HTTPProbe.get(port: port, path: "/metrics")
        let live = try HTTPProbe.get(port: port, path: "/health/live")
        let ready = try HTTPProbe.get(port: port, path: "/health/ready")
        #expect(try await server.terminate().status == 0)

        #expect(metrics.status == 200, "\(metrics.text)")
        #expect(metrics.text.contains("Content-Type: text/plain; version=0.0.4"))
        // Moved by the publish (a series not exported yet counts as 0).
        let moved: [(series: String, by: Double)] = [
            ("streamkit_produced_entries_total", 2), ("streamkit_produced_bytes_total", 2),
            ("streamkit_open_stores", 1), ("streamkit_server_connections_total", 1),
        ]
        for (series, by) in moved {
            let change =
                (Self.value(of: series, in: metrics.text) ?? 0) - (Self.value(of: series, in: before.text) ?? 0)
            #expect(change == by, "\(series) moved by \(change), not \(by):\n\(metrics.text)")
        }
        let grown = [
            "streamkit_transactions_total", "streamkit_commit_duration_seconds_count",
            "streamkit_fsync_duration_seconds_count{file=\"wal\"}", "streamkit_wal_written_bytes_total",
        ]
        for series in grown {
            let after = Self.value(of: series, in: metrics.text) ?? 0
            #expect(after > (Self.value(of: series, in: before.text) ?? 0), "\(series) did not grow:\n\(metrics.text)")
        }
        #expect(metrics.text.contains("streamkit_server_stream_duration_seconds_count"))
        #expect(metrics.text.contains("streamkit_server_open_connections"))
        #expect(live.status == 200)
        #expect(ready.status == 200)
    }

    @Test("serve --metrics-port serves the metrics and the probes on that port, and no longer on the server's")
    func metricsOnTheirOwnPort() async throws {
        let data = temporaryPath("metrics-port")
        defer { try? FileManager.default.removeItem(atPath: data) }
        let server = try await ServerProcess(
            data: data, auth: ["--jwt-secret", Self.secret], extra: ["--metrics-port", "0"])
        defer { server.child.stop() }
        try await server.child.wait(for: "the metrics line") { $0.stderr.contains("/metrics\n") }
        let lines = server.child.stderr.split(separator: "\n")
        let line = try #require(lines.first { $0.contains("metrics at http://") })
        let metricsPort = try #require(Int(line.split(separator: ":").last?.split(separator: "/").first ?? ""))

        let metrics = try HTTPProbe.get(port: metricsPort, path: "/metrics")
        let ready = try HTTPProbe.get(port: metricsPort, path: "/health/ready")
        let other = try HTTPProbe.get(port: metricsPort, path: "/streamkit")
        let onServerPort = try HTTPProbe.get(port: server.port, path: "/metrics")
        #expect(try await server.terminate().status == 0)

        #expect(metricsPort != server.port)
        #expect(metrics.status == 200 && metrics.text.contains("streamkit_open_stores"), "\(metrics.text)")
        #expect(ready.status == 200)
        #expect(other.status == 404)
        #expect(onServerPort.status == 404)
    }

    /// The value of `series` (a metric name with its labels, as exported) in a Prometheus text exposition.
    private static func value(of series: String, in exposition: String) -> Double? {
        for line in exposition.split(separator: "\n") where line.hasPrefix(series + " ") {
            return Double(line.dropFirst(series.count + 1).split(separator: " ").first ?? "")
        }
        return nil
    }

    @Test(
        "retention shows the server's default and sets and clears a store's own policy with a token that grants deletion"
    )
    func retentionThroughTheServer() async throws {
        let data = temporaryPath("retention")
        defer { try? FileManager.default.removeItem(atPath: data) }
        let server = try await ServerProcess(
            data: data,
            auth: ["--jwt-secret", Self.secret, "--retention-max-entries", "100", "--compaction-interval", "1w"])
        defer { server.child.stop() }
        let store = UUID().uuidString
        let plain = try await token(["--store", store])
        let deleter = try await token(["--store", store, "--delete"])
        let published = try await ChildProcess.run(
            ["publish", server.url, "--store", store, "--space", "s", "--segment", "g", "--token", plain],
            stdin: "1\n2\n3\n4\n5\n")
        let retention = ["retention", server.url, "--store", store]

        let shown = try await ChildProcess.run(retention + ["--token", plain])
        let forbidden = try await ChildProcess.run(retention + ["--max-entries", "2", "--token", plain])
        let cleared = try await ChildProcess.run(retention + ["--clear", "--token", deleter])
        let set = try await ChildProcess.run(retention + ["--max-entries", "2", "--max-age", "7d", "--token", deleter])
        let bad = try await ChildProcess.run(retention + ["--max-entries", "0", "--token", deleter])
        #expect(try await server.terminate().status == 0)
        let inspect = try await ChildProcess.run(["inspect", data])

        #expect(published.status == 0, "\(published.stderr)")
        #expect(
            shown.stdoutLines == [
                "own policy: none", "server default: max entries per segment 100",
                "applies: max entries per segment 100 (the default)",
            ], "\(shown.stdout) \(shown.stderr)")
        #expect(forbidden.status == 1)
        #expect(forbidden.stderr.contains("forbidden") || forbidden.stderr.contains("does not grant"))
        #expect(cleared.stdoutLines.first == "own policy: none", "\(cleared.stderr)")
        #expect(set.stdoutLines.first == "own policy: max age 7d, max entries per segment 2", "\(set.stderr)")
        #expect(set.stdoutLines.last == "applies: max age 7d, max entries per segment 2 (the store's own)")
        #expect(bad.status == 64)
        #expect(
            inspect.stdout.contains("retention: the store's own policy, max age 7d, max entries per segment 2"),
            "\(inspect.stdout)")
        #expect(inspect.stdout.contains("3 entries past its per-segment bound"), "\(inspect.stdout)")
    }

    @Test("a token printed by `streamkit token` is accepted by a server with the same secret (flag or environment)")
    func tokenVerifies() async throws {
        let data = temporaryPath("token")
        defer { try? FileManager.default.removeItem(atPath: data) }
        let server = try await ServerProcess(
            data: data, auth: [], environment: ["STREAMKIT_JWT_SECRET": Self.secret])
        defer { server.child.stop() }
        let store = UUID().uuidString
        let scoped = try await token(["--store", store, "--subject", "cli-test", "--expires-in", "60"])
        #expect(scoped.split(separator: ".").count == 3)
        let everyStore = try await ChildProcess.run(
            ["token", "--all"], environment: ["STREAMKIT_JWT_SECRET": Self.secret])
        #expect(everyStore.status == 0)

        for token in [scoped, everyStore.stdout.trimmingCharacters(in: .whitespacesAndNewlines)] {
            let published = try await ChildProcess.run(
                ["publish", server.url, "--store", store, "--space", "s", "--segment", "g", "--token", token],
                stdin: "hello\n")
            #expect(published.status == 0, "\(published.stderr)")
            #expect(published.stdoutLines.count == 1)
        }
        #expect(try await server.terminate().status == 0)
    }

    @Test("an unreachable server or a wrong path fails with one line on stderr and a non-zero status")
    func unreachable() async throws {
        let port = try closedPort()
        let store = UUID().uuidString
        let nobody = try await ChildProcess.run(
            ["publish", "ws://127.0.0.1:\(port)/streamkit", "--store", store, "--space", "s", "--segment", "g"],
            stdin: "x\n")
        #expect(nobody.status != 0)
        #expect(nobody.stderrLines.count == 1)
        #expect(nobody.stderr.contains("127.0.0.1:\(port)"))
        let tail = try await ChildProcess.run([
            "tail", "ws://127.0.0.1:\(port)/streamkit", "--store", store, "--space", "s",
        ])
        #expect(tail.status != 0)
        #expect(tail.stderrLines.count == 1)

        let data = temporaryPath("path")
        defer { try? FileManager.default.removeItem(atPath: data) }
        let server = try await ServerProcess(data: data, auth: ["--no-auth"])
        defer { server.child.stop() }
        let wrongPath = try await ChildProcess.run(
            ["publish", "ws://127.0.0.1:\(server.port)/elsewhere", "--store", store, "--space", "s", "--segment", "g"],
            stdin: "x\n")
        #expect(wrongPath.status != 0)
        #expect(wrongPath.stderrLines.count == 1)
        #expect(wrongPath.stderr.contains("404"))
        #expect(try await server.terminate().status == 0)
    }

    @Test(
        "serve without exactly one auth choice, and remote commands with a malformed URL or store id, are usage errors (64)"
    )
    func usageErrors() async throws {
        let data = temporaryPath("usage")
        defer { try? FileManager.default.removeItem(atPath: data) }
        let noAuth = try await ChildProcess.run(["serve", "--data", data, "--port", "0"])
        #expect(noAuth.status == 64)
        #expect(noAuth.stderr.contains("--no-auth"))
        let both = try await ChildProcess.run([
            "serve", "--data", data, "--port", "0", "--no-auth", "--jwt-secret", "x",
        ])
        #expect(both.status == 64)
        let badDurability = try await ChildProcess.run([
            "serve", "--data", data, "--no-auth", "--durability", "sometimes",
        ])
        #expect(badDurability.status == 64)
        #expect(!FileManager.default.fileExists(atPath: data))

        let badURL = try await ChildProcess.run(["tail", "http://x", "--store", UUID().uuidString, "--space", "s"])
        #expect(badURL.status == 64)
        let badStore = try await ChildProcess.run(
            ["publish", "ws://127.0.0.1:1/streamkit", "--store", "nope", "--space", "s", "--segment", "g"], stdin: "")
        #expect(badStore.status == 64)
        let noScope = try await ChildProcess.run(["token", "--secret", Self.secret])
        #expect(noScope.status == 64)
        let shortSecret = try await ChildProcess.run(["serve", "--data", data, "--jwt-secret", "short"])
        #expect(shortSecret.status == 64)
        #expect(shortSecret.stderr.contains("at least 32 bytes"))
        let noDestination = try await ChildProcess.run(["replay", data, "--store", UUID().uuidString])
        #expect(noDestination.status == 64)
    }

    @Test("serve with a missing or unusable public key file, or on a port in use, fails with one line and status 1")
    func serveFailures() async throws {
        let data = temporaryPath("serve-fail")
        let pem = data + ".pem"
        defer {
            try? FileManager.default.removeItem(atPath: data)
            try? FileManager.default.removeItem(atPath: pem)
        }
        let missing = try await ChildProcess.run(["serve", "--data", data, "--port", "0", "--jwt-public-key", pem])
        #expect(missing.status == 1)
        #expect(missing.stderrLines.count == 1)
        try "-----BEGIN PUBLIC KEY-----\nbm90IGEga2V5\n-----END PUBLIC KEY-----\n".write(
            toFile: pem, atomically: true, encoding: .utf8)
        let unusable = try await ChildProcess.run(["serve", "--data", data, "--port", "0", "--jwt-public-key", pem])
        #expect(unusable.status == 1)
        #expect(unusable.stderrLines.count == 1)
        #expect(unusable.stderr.contains(pem))

        let server = try await ServerProcess(data: data, auth: ["--no-auth"])
        defer { server.child.stop() }
        let taken = try await ChildProcess.run(["serve", "--data", data, "--port", "\(server.port)", "--no-auth"])
        #expect(taken.status == 1)
        #expect(taken.stderrLines.count == 1)
        #expect(taken.stderr.contains("cannot listen"))
        #expect(try await server.terminate().status == 0)
    }

    @Test("replay --to-url re-produces a store through a server keeping sequences, and running it again adds nothing")
    func replayToURL() async throws {
        let (source, store) = try await CommandLineToolTests().makeData()
        let data = temporaryPath("replay-url")
        defer {
            try? FileManager.default.removeItem(atPath: source)
            try? FileManager.default.removeItem(atPath: data)
        }
        let server = try await ServerProcess(
            data: data, auth: ["--jwt-secret", Self.secret], extra: ["--durability", "none"])
        defer { server.child.stop() }
        let token = try await token(["--store", store.uuidString])
        let replay = ["replay", source, "--store", store.uuidString, "--to-url", server.url, "--token", token]
        let first = try await ChildProcess.run(replay)
        #expect(first.status == 0, "\(first.stderr)")
        #expect(first.stdout.contains("replayed 600 entries"))
        let again = try await ChildProcess.run(replay)
        #expect(again.stdout.contains("replayed 0 entries, skipped 600"))
        #expect(try await server.terminate().status == 0)

        func identities(_ directory: String) async throws -> [String] {
            let dump = try await ChildProcess.run(["dump", directory, "--store", store.uuidString])
            return try dump.stdoutLines.map { line in
                let object = try json(line)
                return
                    "\(object["space"] ?? "")/\(object["segment"] ?? "")/\(object["sequence"] ?? "")/\(object["payload"] ?? "")/\(object["metadata"] ?? "")"
            }
        }
        let copied = try await identities(data)
        #expect(copied.count == 600)
        #expect(copied == (try await identities(source)))
    }
}

/// A minimal blocking HTTP/1.1 GET over a plain TCP socket (the test machine may have no curl).
enum HTTPProbe {
    struct Answer {
        var status: Int?
        var text: String
    }

    static func get(port: Int, path: String) throws -> Answer {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw CLIProbeError("socket failed") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard connected == 0 else { throw CLIProbeError("connect to port \(port) failed") }
        let request = Array("GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".utf8)
        _ = request.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, 0) }
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while true {  // The server closes the connection after its answer.
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n <= 0 { break }
            received += buffer[0..<n]
        }
        let text = String(decoding: received, as: UTF8.self)
        let status = text.split(separator: " ", maxSplits: 2).dropFirst().first.flatMap { Int($0) }
        return Answer(status: status, text: text)
    }
}

struct CLIProbeError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
