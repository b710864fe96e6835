import Foundation
import Testing

/// Three `streamkit serve --postgres` processes over one PostgreSQL database, written and read through separate
/// `streamkit publish` and `tail` processes: what holds across nodes. Serialized: every test runs three servers
/// and their clients, and the machines running CI have few cores. Every wait is a bound on an outcome that only
/// matters when the test fails.
@Suite(.serialized) struct ServeNodesOverPostgresTests {
    typealias Acknowledged = NodeClient.Acknowledged

    @Test(
        "concurrent publishers through three nodes on one segment end contiguous 1…N, each record once, at the sequence it was acknowledged with"
    )
    func concurrentPublishersThroughThreeNodes() async throws {
        let nodes = try await NodeProcess.three()
        defer { for node in nodes { node.child.stop() } }
        let store = UUID()
        let perNode = 150
        let payloads = nodes.indices.map { node in (1...perNode).map { "node\(node)-\($0)" } }

        let publishers = try NodeClient.startPublishers(payloads, through: nodes, store: store, space: "s") { _ in
            "shared"
        }
        defer { for publisher in publishers { publisher.stop() } }
        var acknowledged: [Acknowledged] = []
        for (node, publisher) in publishers.enumerated() {
            let mine = try await NodeClient.acknowledgements(of: publisher, payloads: payloads[node])
            #expect(mine.map(\.sequence) == mine.map(\.sequence).sorted(), "one publisher's sequences rise")
            acknowledged += mine
        }

        let total = perNode * nodes.count
        #expect(acknowledged.map(\.sequence).sorted() == Array(1...total), "no gap, no sequence given twice")
        let expected = acknowledged.sorted { $0.sequence < $1.sequence }.map(\.payload)
        for (index, node) in nodes.enumerated() {
            let read = try await NodeClient.read(total, through: node, store: store, space: "s", segment: "shared")
                .map(NodeClient.json)
            #expect(read.map { $0["sequence"] as? Int } == Array(1...total), "sequences through node \(index)")
            #expect(read.map { $0["payload"] as? String } == expected, "payloads through node \(index)")
        }
        for node in nodes { #expect(try await node.terminate().status == 0) }
    }

    @Test(
        "a space written through three nodes at once reads the same through each node: the same entries, positions and transactions, in the same order"
    )
    func spaceReadsAgreeAcrossNodes() async throws {
        let nodes = try await NodeProcess.three()
        defer { for node in nodes { node.child.stop() } }
        let store = UUID()
        let perNode = 100
        let payloads = nodes.indices.map { node in (1...perNode).map { "g\(node)-\($0)" } }

        let publishers = try NodeClient.startPublishers(payloads, through: nodes, store: store, space: "s") {
            "g-\($0)"
        }
        defer { for publisher in publishers { publisher.stop() } }
        for (node, publisher) in publishers.enumerated() {
            _ = try await NodeClient.acknowledgements(of: publisher, payloads: payloads[node])
        }

        let total = perNode * nodes.count
        var reads: [[String]] = []
        for node in nodes { reads.append(try await NodeClient.read(total, through: node, store: store, space: "s")) }
        #expect(reads[1] == reads[0], "node 1 reads the space differently from node 0")
        #expect(reads[2] == reads[0], "node 2 reads the space differently from node 0")
        let entries = try reads[0].map(NodeClient.json)
        #expect(entries.map { $0["position"] as? Int } == Array(1...total), "positions are dense, in commit order")
        for node in nodes.indices {
            let segment = entries.filter { $0["segment"] as? String == "g-\(node)" }
            #expect(segment.map { $0["sequence"] as? Int } == Array(1...perNode))
            #expect(segment.map { $0["payload"] as? String } == payloads[node])
        }
        for node in nodes { #expect(try await node.terminate().status == 0) }
    }

    @Test(
        "a tail on one node sees every commit made through another node, in order (cross-node latency p50/p99 printed, not asserted)"
    )
    func tailOnOneNodeSeesAnotherNodesCommits() async throws {
        let nodes = try await NodeProcess.three()
        defer { for node in nodes { node.child.stop() } }
        let store = UUID()
        _ = try await NodeClient.publish(["first"], through: nodes[1], store: store, space: "s", segment: "lat")
        let tail = try ChildProcess([
            "tail", nodes[0].url, "--store", store.uuidString, "--space", "s", "--segment", "lat",
        ])
        defer { tail.stop() }
        try await tail.wait(for: "tail to follow after sequence 1", timeout: .seconds(120)) {
            $0.stderr.contains("after sequence 1")
        }
        let publisher = try ChildProcess(
            ["publish", nodes[1].url, "--store", store.uuidString, "--space", "s", "--segment", "lat"])
        defer { publisher.stop() }

        // One record at a time: the next is sent once the tail on node 0 printed the previous one.
        let warmUp = 5
        let measured = 50
        var acknowledgedToSeen: [Double] = []
        var committedToSeen: [Double] = []
        for i in 1...(warmUp + measured) {
            publisher.send("m-\(i)\n")
            let (acknowledged, seen, seenWall) = try await Self.arrival(of: i, acknowledgedBy: publisher, seenBy: tail)
            guard i > warmUp else { continue }
            acknowledgedToSeen.append(Self.milliseconds(seen - acknowledged))
            let entry = try NodeClient.json(try #require(tail.stdoutLines.last))
            let committed = try #require(entry["timestamp"] as? Int)
            committedToSeen.append((seenWall - Double(committed) / 1e9) * 1000)
        }
        publisher.closeInput()
        #expect(try await publisher.finished(timeout: .seconds(60)).status == 0)
        tail.signal(SIGINT)
        let seen = try await tail.finished(timeout: .seconds(60)).stdoutLines.map(NodeClient.json)
        #expect(seen.map { $0["payload"] as? String } == (1...(warmUp + measured)).map { "m-\($0)" })
        #expect(seen.map { $0["sequence"] as? Int } == Array(2...(warmUp + measured + 1)))

        print(
            "cross-node latency over \(measured) commits (publish through node 1, tail on node 0): "
                + "acknowledged→printed \(Self.percentiles(acknowledgedToSeen)); "
                + "commit timestamp→printed \(Self.percentiles(committedToSeen))")
        for node in nodes { #expect(try await node.terminate().status == 0) }
    }

    @Test(
        "kill -9 of a node while three nodes produce loses no acknowledged record; the restarted node reads everything and follows new commits"
    )
    func killedNodeLosesNoAcknowledgedRecord() async throws {
        var nodes = try await NodeProcess.three()
        defer { for node in nodes { node.child.stop() } }
        let store = UUID()
        let perNode = 400
        let payloads = nodes.indices.map { node in (1...perNode).map { "node\(node)-\($0)" } }
        let publishers = try NodeClient.startPublishers(payloads, through: nodes, store: store, space: "s") { _ in "k" }
        defer { for publisher in publishers { publisher.stop() } }

        // Node 0 dies once its publisher has had some records acknowledged, while all three produce.
        try await publishers[0].wait(for: "20 acknowledgements through node 0", timeout: .seconds(120)) {
            $0.stdoutLines.count >= 20 || !$0.isRunning
        }
        try await nodes[0].kill9()
        var acknowledged: [Acknowledged] = []
        // Node 0's publisher fails at the kill; what it printed before was acknowledged.
        let interrupted = try await publishers[0].finished(timeout: .seconds(300))
        acknowledged += try NodeClient.acknowledged(interrupted.stdoutLines, payloads: payloads[0])
        print(
            "kill -9: node 0's publisher had \(interrupted.stdoutLines.count) of \(perNode) records acknowledged (status \(interrupted.status))"
        )
        for node in 1..<nodes.count {
            acknowledged += try await NodeClient.acknowledgements(of: publishers[node], payloads: payloads[node])
        }

        // What the database holds now: every acknowledged record, and at most the one record node 0 was
        // committing when it died (committed, but its answer lost).
        let url = try TestDatabase.url()
        let dump = try await ChildProcess.run(
            ["dump", "--postgres", url, "--store", store.uuidString, "--space", "s", "--segment", "k"])
        try #require(dump.status == 0, "\(dump.stderr)")
        let committed = dump.stdoutLines.count
        #expect(committed == acknowledged.count || committed == acknowledged.count + 1)

        // Node 0 again: it reads what the others committed while it was down, then follows new commits.
        nodes[0] = try await nodes[0].restarted()
        let tail = try ChildProcess([
            "tail", nodes[0].url, "--store", store.uuidString, "--space", "s", "--segment", "k", "--from-start",
        ])
        defer { tail.stop() }
        _ = try await tail.lines(committed, timeout: .seconds(120))
        let after = (1...10).map { "after-\($0)" }
        acknowledged += try await NodeClient.publish(after, through: nodes[1], store: store, space: "s", segment: "k")
        let total = committed + after.count
        _ = try await tail.lines(total, timeout: .seconds(120))
        tail.signal(SIGINT)
        let throughRestarted = try await tail.finished(timeout: .seconds(60)).stdoutLines
        #expect(throughRestarted.count == total)
        #expect(
            Array(throughRestarted.prefix(committed)) == dump.stdoutLines,
            "the restarted node reads what the database holds")

        let entries = try throughRestarted.map(NodeClient.json)
        #expect(entries.map { $0["sequence"] as? Int } == Array(1...total), "contiguous, no duplicates")
        let read = Set(
            entries.compactMap { entry in
                (entry["payload"] as? String).flatMap { payload in
                    (entry["sequence"] as? Int).map { Acknowledged(payload: payload, sequence: $0) }
                }
            })
        let lost = acknowledged.filter { !read.contains($0) }
        #expect(lost.isEmpty, "acknowledged but not read: \(lost.prefix(10))")
        #expect(Set(entries.compactMap { $0["payload"] as? String }).count == total, "no record stored twice")
        for (index, node) in nodes.enumerated().dropFirst() {
            let other = try await NodeClient.read(total, through: node, store: store, space: "s", segment: "k")
            #expect(other == throughRestarted, "node \(index) reads the segment differently from the restarted node")
        }
        for node in nodes { #expect(try await node.terminate().status == 0) }
    }

    // MARK: - Helpers

    /// Waits until `publisher` acknowledged record `count` and `tail` printed it, noting when each was first seen
    /// (polled every half millisecond; the figures are reported, never asserted).
    private static func arrival(
        of count: Int, acknowledgedBy publisher: ChildProcess, seenBy tail: ChildProcess
    ) async throws -> (acknowledged: ContinuousClock.Instant, seen: ContinuousClock.Instant, seenWall: Double) {
        let deadline = ContinuousClock.now + .seconds(120)
        var acknowledged: ContinuousClock.Instant?
        while true {
            let now = ContinuousClock.now
            if acknowledged == nil && publisher.stdoutLines.count >= count { acknowledged = now }
            if tail.stdoutLines.count >= count {
                return (acknowledged ?? now, now, Date().timeIntervalSince1970)
            }
            guard now < deadline, publisher.isRunning, tail.isRunning else {
                throw TimedOut(
                    description:
                        "record \(count) not acknowledged and printed; publish: \(publisher.stderr) tail: \(tail.stderr)"
                )
            }
            try await Task.sleep(for: .microseconds(500))
        }
    }

    private static func milliseconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) * 1000 + Double(duration.components.attoseconds) / 1e15
    }

    /// `p50 X ms, p99 Y ms, max Z ms` of `milliseconds`.
    private static func percentiles(_ milliseconds: [Double]) -> String {
        let sorted = milliseconds.sorted()
        guard !sorted.isEmpty else { return "no samples" }
        func at(_ fraction: Double) -> Double {
            sorted[min(sorted.count - 1, Int((fraction * Double(sorted.count)).rounded(.up)) - 1)]
        }
        return String(format: "p50 %.1f ms, p99 %.1f ms, max %.1f ms", at(0.5), at(0.99), sorted[sorted.count - 1])
    }
}
