import Foundation
import StreamKitTestSupport
import Testing

@testable import StreamKitClient

/// Calls made from a task that is already cancelled: they throw `CancellationError` before reaching the store (no
/// dial, no request), so nothing they would have done happens.
struct CancellationTests {
    /// Runs `body` in a task that is cancelled before `body` starts, and returns what it threw (nil for nothing).
    private func inCancelledTask(_ body: @escaping @Sendable () async throws -> Void) async -> (any Error)? {
        let task = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            do {
                try await body()
                return nil as (any Error)?
            } catch {
                return error
            }
        }
        return await task.value
    }

    @Test(arguments: TransportKind.allCases)
    func everyCallFromACancelledTaskThrowsCancellationWithoutReachingTheStore(_ kind: TransportKind) async throws {
        let tokens = TokenProvider()
        let h = try await ClientHarness.make(kind, options: { $0.token = tokens.provider })
        let client = h.client
        let id = h.storeID
        let calls: [(String, @Sendable () async throws -> Void)] = [
            ("publish", { _ = try await client.publish(store: id, space: "s", segment: "g", payload: [1]) }),
            ("produce", { _ = try await client.produce(store: id, space: "s", segment: "g", records: records(1...1)) }),
            (
                "produce stream",
                {
                    _ = try await collect(
                        client.produce(store: id, space: "s", segment: "g", records: records(1...1).async))
                }
            ),
            ("peek", { _ = try await client.peek(store: id, space: "s", segment: "g") }),
            ("consumeSegment", { _ = try await collect(client.consumeSegment(store: id, space: "s", segment: "g")) }),
            ("consumeSpace", { _ = try await collect(client.consumeSpace(store: id, space: "s")) }),
            ("consume", { _ = try await collect(client.consume(store: id, spaces: ["s": .start])) }),
            ("spaces", { _ = try await client.spaces(store: id) }),
            ("segments", { _ = try await client.segments(store: id, space: "s") }),
            ("subscribe", { _ = try await client.subscribe(store: id, space: "s") { _ in } }),
            ("withLease", { try await client.withLease(store: id, key: "k", ttl: .seconds(10)) { _ in } }),
            ("registerWorker", { _ = try await client.registerWorker(store: id, workerID: "w") }),
            ("workerInventory", { _ = try await client.workerInventory(store: id) }),
        ]
        for (name, call) in calls {
            let error = await inCancelledTask(call)
            #expect(error is CancellationError, "\(name) threw \(String(describing: error))")
        }
        #expect(client.backgroundTaskCount == 0, "no subscription, lease scope or heartbeat started")
        if let connections = h.connections {
            #expect(await connections.dialCount == 0, "nothing dialled")
            #expect(tokens.count == 0)
        }
        // Nothing happened in the store: no record, no lease, no worker.
        let store = try await h.registry.store(id)
        #expect(try await store.peek(space: "s", segment: "g") == nil)
        #expect(try await store.lease(key: "k") == nil)
        #expect(try await store.workerInventory().workers.isEmpty)
        await h.tearDown()
    }
}

extension Array where Element: Sendable {
    /// The elements as an async sequence.
    fileprivate var async: AsyncStream<Element> {
        AsyncStream { continuation in
            for element in self { continuation.yield(element) }
            continuation.finish()
        }
    }
}
