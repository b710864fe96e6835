import Foundation
import StreamKitLogFiles
import StreamKitPostgres
import StreamKitTestSupport
import Testing

@testable import StreamKitEngine

/// Several nodes over one store in PostgreSQL, in one process: each node is its own `PostgresLog` (its own pool,
/// listener and writer identity), so the database sees separate writers. The multi-process tests (separate
/// `streamkit serve` processes) are in CLITests.
@Suite struct PostgresNodesTests {
    /// The same store opened on `count` nodes.
    struct Nodes: Sendable {
        let logs: [PostgresLog]
        let stores: [Store]

        static func open(_ count: Int, configuration: StoreConfiguration = StoreFixture.quiet()) async throws -> Nodes {
            var logs: [PostgresLog] = []
            var stores: [Store] = []
            let id = UUID()
            for _ in 0..<count {
                let log = try await TestPostgres.node()
                logs.append(log)
                stores.append(try #require(try await log.openStore(id: id, configuration: configuration)))
            }
            return Nodes(logs: logs, stores: stores)
        }

        func close() async {
            for store in stores { await store.close() }
            for log in logs { await log.close() }
        }
    }

    @Test(
        "producers racing on the same sequences through two nodes get exactly one winner; the loser's conflict names the next sequence"
    )
    func racingProducersGetExactlyOneWinner() async throws {
        let nodes = try await Nodes.open(2)
        var winners: [UInt64: Int] = [:]
        for sequence in UInt64(1)...40 {
            let outcomes = await withTaskGroup(of: (Int, StreamKitError?).self) { group in
                for (n, store) in nodes.stores.enumerated() {
                    group.addTask {
                        do {
                            _ = try await store.produce(
                                space: "s", segment: "race",
                                records: [Record(sequence: sequence, payload: Array("node\(n)-\(sequence)".utf8))])
                            return (n, nil)
                        } catch let error as StreamKitError {
                            return (n, error)
                        } catch {
                            return (n, StreamKitError(code: .internalError, message: "\(error)"))
                        }
                    }
                }
                var all: [(Int, StreamKitError?)] = []
                for await outcome in group { all.append(outcome) }
                return all
            }
            let won = outcomes.filter { $0.1 == nil }.map(\.0)
            #expect(won.count == 1, "sequence \(sequence): \(outcomes)")
            for (_, error) in outcomes {
                guard let error else { continue }
                #expect(error.code == .sequenceConflict)
                #expect(error.expectedSequence == sequence + 1, "\(error)")
            }
            if let winner = won.first { winners[sequence] = winner }
        }
        // Every node reads the winners' records, 1…40, once each.
        for store in nodes.stores {
            try await eventually { await store.status(space: "s", segment: "race")?.lastSequence == 40 }
            let entries = try await store.consumeSegment(space: "s", segment: "race").collect()
            #expect(entries.map(\.sequence) == Array(1...40))
            for entry in entries {
                #expect(entry.payload.bytes == Array("node\(winners[entry.sequence] ?? -1)-\(entry.sequence)".utf8))
            }
        }
        await nodes.close()
    }

    @Test("positions are dense and in commit order, and every node reads the same space in the same order")
    func positionsAreDenseAndTheSameOnEveryNode() async throws {
        let nodes = try await Nodes.open(3)
        await withThrowingTaskGroup(of: Void.self) { group in
            for (n, store) in nodes.stores.enumerated() {
                for p in 0..<3 {
                    group.addTask {
                        var next: UInt64 = 1
                        for _ in 0..<10 {
                            let batch = (next..<(next + 7)).map {
                                Record(sequence: $0, payload: Array("n\(n)p\(p)-\($0)".utf8))
                            }
                            _ = try await store.produce(space: "s", segment: "n\(n)p\(p)", records: batch)
                            next += 7
                        }
                    }
                }
            }
        }
        let total = 3 * 3 * 10 * 7
        var reads: [[Entry]] = []
        for store in nodes.stores {
            try await eventually { await store.statistics().visibleThrough == UInt64(total) }
            reads.append(try await store.consumeSpace(space: "s").collect())
        }
        for read in reads {
            #expect(read.map(\.position) == Array(1...UInt64(total)), "dense, from 1")
            #expect(read.map(\.offset) == reads[0].map(\.offset), "the same order on every node")
            #expect(read.map(\.payload) == reads[0].map(\.payload))
        }
        // Each segment's entries are in sequence order within the space read.
        var lastBySegment: [String: UInt64] = [:]
        for entry in reads[0] {
            #expect(entry.sequence == (lastBySegment[entry.segment] ?? 0) + 1)
            lastBySegment[entry.segment] = entry.sequence
        }
        await nodes.close()
    }

    @Test("a subscription and peek on one node see another node's commit")
    func anotherNodesCommitReachesSubscriptionsAndPeek() async throws {
        var configuration = StoreFixture.quiet()
        configuration.followPollInterval = .seconds(3_600)  // only notifications can bring it in time
        let nodes = try await Nodes.open(2, configuration: configuration)
        let subscription = try await nodes.stores[1].subscribe(space: "s", segment: "g")
        var statuses = subscription.makeAsyncIterator()
        for sequence in UInt64(1)...5 {
            try await nodes.stores[0].publish(space: "s", segment: "g", payload: Array("p\(sequence)".utf8))
            var seen: UInt64 = 0
            while seen < sequence, let status = await statuses.next() { seen = status.lastSequence }
            #expect(seen == sequence)
            let peeked = try await nodes.stores[1].peek(space: "s", segment: "g")
            #expect(peeked?.sequence == sequence)
            #expect(peeked?.payload.bytes == Array("p\(sequence)".utf8))
        }
        await nodes.close()
    }

    @Test("publishes through several nodes to one segment never conflict and end contiguous")
    func publishesThroughSeveralNodesNeverConflict() async throws {
        let nodes = try await Nodes.open(2)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (n, store) in nodes.stores.enumerated() {
                for t in 0..<4 {
                    group.addTask {
                        for i in 0..<15 {
                            try await store.publish(
                                space: "s", segment: "shared", payload: Array("n\(n)t\(t)i\(i)".utf8))
                        }
                    }
                }
            }
            try await group.waitForAll()
        }
        for store in nodes.stores {
            try await eventually { await store.status(space: "s", segment: "shared")?.lastSequence == 120 }
            let entries = try await store.consumeSegment(space: "s", segment: "shared").collect()
            #expect(entries.map(\.sequence) == Array(1...120))
            #expect(Set(entries.map(\.payload.bytes)).count == 120, "no record twice")
        }
        await nodes.close()
    }

    @Test("concurrent producers on one node share database transactions, and one producer's conflict fails only it")
    func groupCommitIsolatesConflicts() async throws {
        let nodes = try await Nodes.open(2)
        // Node 1 takes sequence 1 of "contested"; node 0 then offers sequence 1 again among 16 good producers.
        _ = try await nodes.stores[1].produce(
            space: "s", segment: "contested", records: [Record(sequence: 1, payload: [1])])
        let results = await withTaskGroup(of: (String, StreamKitError?).self) { group in
            for p in 0..<16 {
                group.addTask {
                    do {
                        for round in 0..<5 {
                            let first = UInt64(round * 10 + 1)
                            _ = try await nodes.stores[0].produce(
                                space: "s", segment: "p\(p)",
                                records: (first..<(first + 10)).map { Record(sequence: $0, payload: [UInt8(p)]) })
                        }
                        return ("p\(p)", nil)
                    } catch {
                        return ("p\(p)", error as? StreamKitError)
                    }
                }
            }
            group.addTask {
                do {
                    _ = try await nodes.stores[0].produce(
                        space: "s", segment: "contested", records: [Record(sequence: 1, payload: [0])])
                    return ("contested", nil)
                } catch {
                    return ("contested", error as? StreamKitError)
                }
            }
            var all: [String: StreamKitError?] = [:]
            for await (name, error) in group { all[name] = error }
            return all
        }
        for p in 0..<16 { #expect(results["p\(p)"] == .some(nil), "p\(p): \(String(describing: results["p\(p)"]))") }
        let conflict = try #require(results["contested"] ?? nil)
        #expect(conflict.code == .sequenceConflict)
        #expect(conflict.expectedSequence == 2)
        let store = nodes.stores[0]
        #expect(
            try await store.consumeSegment(space: "s", segment: "contested").collect().map(\.payload.bytes) == [[1]])
        // 80 transactions of node 0 went to the database in fewer transactions (rows).
        let rows = try await TestPostgres.rowCount(store: store.id)
        #expect(rows < 81, "\(rows) rows for 81 transactions")
        await nodes.close()
    }

    @Test("a store reopened on a node reads what every node wrote from the database")
    func reopenedStoreReadsFromTheDatabase() async throws {
        let nodes = try await Nodes.open(2)
        for n in 0..<2 {
            _ = try await nodes.stores[n].produce(
                space: "s", segment: "g\(n)",
                records: (1...300).map { Record(sequence: $0, payload: Array(repeating: UInt8(n), count: 100)) })
        }
        let id = nodes.stores[0].id
        await nodes.stores[0].close()
        let reopened = try #require(
            try await nodes.logs[0].openStore(id: id, configuration: StoreFixture.quiet(), creating: false))
        let entries = try await reopened.consumeSpace(space: "s").collect()
        #expect(entries.count == 600)
        #expect(entries.map(\.position) == Array(1...600))
        #expect(
            try await reopened.consumeSegment(space: "s", segment: "g1").collect().map(\.sequence) == Array(1...300))
        // Producing continues after the segment's last sequence.
        let conflict = await streamKitError {
            try await reopened.produce(space: "s", segment: "g0", records: [Record(sequence: 1, payload: [])])
        }
        #expect(conflict?.expectedSequence == 301)
        await reopened.close()
        await nodes.close()
    }

    @Test("opening a store that does not exist without creating it returns nil")
    func missingStoreIsNil() async throws {
        let log = try await TestPostgres.log()
        let id = UUID()
        #expect(try await log.openStore(id: id, configuration: StoreFixture.quiet(), creating: false) == nil)
        #expect(try await log.storeExists(id) == false)
    }
}

/// Waits (yielding, then sleeping briefly) until `condition` holds; fails after 30 s, which only a failing test
/// reaches.
func eventually(_ condition: () async throws -> Bool) async throws {
    let deadline = ContinuousClock.now + .seconds(30)
    while ContinuousClock.now < deadline {
        if try await condition() { return }
        try await Task.sleep(for: .milliseconds(5))
    }
    #expect(try await condition(), "condition not met within 30 s")
}
