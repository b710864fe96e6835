import StreamKitEngine
import StreamKitLogFiles
import StreamKitWire
import Testing

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The WebSocket server end to end over loopback: a real NIO client, an in-memory registry, port 0.
@Suite(.timeLimit(.minutes(1)))
struct StreamKitServerTests {
    /// Runs `body` with a started server (see ``withTestServer(_:_:)``).
    private func withServer(
        _ configuration: StreamKitServer.Configuration = .init(authentication: .none, port: 0),
        _ body: (Int) async throws -> Void
    ) async throws {
        try await withTestServer(configuration) { port, _ in try await body(port) }
    }

    private func records(_ range: ClosedRange<UInt64>) -> [Record] {
        range.map { Record(sequence: $0, payload: Array("record \($0)".utf8), metadata: ["n": "\($0)"]) }
    }

    @Test func publishAnswersWithStatus() async throws {
        let store = UUID()
        try await withServer { port in
            try await withTestClient(port: port) { client in
                let first = try await client.call(
                    store, .publish(space: "s", segment: "a", payload: [1, 2, 3], metadata: ["k": "v"]))
                let second = try await client.call(
                    store, .publish(space: "s", segment: "a", payload: [4], metadata: [:]))
                guard case .status(let one) = first.first, case .status(let two) = second.first else {
                    Issue.record("expected statuses, got \(first) and \(second)")
                    return
                }
                #expect(first.count == 1 && second.count == 1)
                #expect(one.lastSequence == 1)
                #expect(two.lastSequence == 2)
                let peeked = try await client.call(store, .peek(space: "s", segment: "a"))
                guard case .entries(let entries) = peeked.first else {
                    Issue.record("expected entries, got \(peeked)")
                    return
                }
                #expect(entries.map(\.payload.bytes) == [[4]])
                #expect(try await client.call(store, .spaces) == [.names(["s"])])
                #expect(try await client.call(store, .segments(space: "s")) == [.names(["a"])])
            }
        }
    }

    /// A produce upload streams records in batches and gets a status per transaction; `consumeSegment` then
    /// streams every entry back in batches through a small credit window (the server waits for credit).
    @Test func produceThenConsumeSegmentRoundTrips() async throws {
        let store = UUID()
        let all = records(1...1_000)
        let batches = stride(from: 0, to: all.count, by: 100).map { Array(all[$0..<min($0 + 100, all.count)]) }
        let limits = MuxLimits(streamQueueDepth: 2)  // The client grants 2 messages at a time.
        try await withServer(.init(authentication: .none, port: 0, entriesPerBatch: 64)) { port in
            try await withTestClient(port: port, limits: limits) { client in
                let acks = try await client.produce(store, space: "s", segment: "p", batches: batches)
                let statuses = acks.compactMap { message -> SegmentStatus? in
                    if case .status(let status) = message { return status }
                    return nil
                }
                #expect(statuses.count == acks.count && !statuses.isEmpty)
                #expect(statuses.last?.lastSequence == 1_000)

                let answers = try await client.call(
                    store, .consumeSegment(space: "s", segment: "p", bounds: ReadBounds(), limit: 0))
                var entries: [Entry] = []
                for answer in answers {
                    guard case .entries(let batch) = answer else {
                        Issue.record("expected entries, got \(answer)")
                        return
                    }
                    #expect(batch.count <= 64)
                    entries += batch
                }
                #expect(answers.count == 16)  // ⌈1000 / 64⌉
                #expect(entries.map(\.sequence) == all.map(\.sequence))
                #expect(entries.map(\.payload.bytes) == all.map(\.payload))
                #expect(entries.map(\.metadata) == all.map(\.metadata))

                let space = try await client.call(
                    store, .consumeSpace(space: "s", offset: .start, bounds: ReadBounds(), limit: 10))
                #expect(space == [.entries(Array(entries.prefix(10)))])
            }
        }
    }

    /// Store errors and bad opens end only their stream, with the typed error.
    @Test func errorsResetOnlyTheirStream() async throws {
        let store = UUID()
        try await withServer { port in
            try await withTestClient(port: port) { client in
                // No store named: invalidArgument.
                let (id, answers) = try await client.openRaw(.spaces, store: nil, closeAfterOpen: true)
                await #expect(throws: StreamKitError.self) { _ = try await client.collect(id, answers) }
                // A sequence gap: the engine's sequenceConflict crosses the wire.
                do {
                    _ = try await client.produce(store, space: "s", segment: "x", batches: [records(5...6)])
                    Issue.record("a produce starting at 5 must fail")
                } catch let error as StreamKitError {
                    #expect(error.code == .sequenceConflict)
                }
                // The connection still serves.
                let status = try await client.call(store, .getStatus(space: "s", segment: "nothing"))
                #expect(status == [.empty])
            }
        }
    }

    @Test func otherPathsAreNotUpgraded() async throws {
        try await withServer { port in
            await #expect(throws: TestClientError.notUpgraded) {
                try await withTestClient(port: port, path: "/elsewhere") { _ in }
            }
        }
    }

    /// Shutdown with a stream in flight: the stream fails with `storeUnavailable` and shutdown returns.
    @Test func shutdownFailsStreamsInFlight() async throws {
        var registryConfiguration = RegistryConfiguration()
        registryConfiguration.inMemory = true
        let registry = StoreRegistry(root: "/nonexistent-streamkit-server-tests", configuration: registryConfiguration)
        let server = StreamKitServer(registry: registry, configuration: .init(authentication: .none, port: 0))
        let port = try await server.start()
        let store = UUID()
        try await withTestClient(port: port) { client in
            let (id, answers) = try await client.openRaw(
                .produceOpen(space: "s", segment: "a"), store: store, closeAfterOpen: false)
            try await client.send(.records(records(1...3)), on: id)  // Waits for the server's credit: it is open.
            await server.shutdown()
            do {
                _ = try await client.collect(id, answers)
                Issue.record("the stream must fail")
            } catch let error as StreamKitError {
                #expect(error.code == .storeUnavailable)
            }
        }
        await registry.shutdown()
    }
}
