import Foundation
@testable import StreamKitClient
import StreamKitWire
import Testing

/// What the chaos test found on the server's side, pinned down where it can be hit on purpose.
struct GracefulRestartTests {
    /// A subscription must survive the server shutting down gracefully with the client connected: the connection
    /// is lost (go-away, streams reset with the retryable `storeUnavailable`), so the client subscribes again.
    ///
    /// Regression: `StreamKitServer.shutdown()` cancels each connection's tasks, and the cancellation could reach a
    /// subscription's job (`StreamDispatcher.subscribe`) before the connection's go-away was sent; the job took the
    /// end of the engine subscription for its store closing and reset the stream with `storeClosing`, which the
    /// client rightly treats as final. A cancelled job now fails with the retryable `storeUnavailable`.
    @Test func subscriptionsSurviveGracefulServerRestarts() async throws {
        let h = try await webSocketHarness()
        let seen = Box<[String: UInt64]>([:])
        var subscriptions: [Subscription] = []
        for index in 0..<20 {
            subscriptions.append(
                try await h.client.subscribe(store: h.storeID, space: "s", segment: "g\(index)") { status in
                    seen.update { $0[status.segment] = max($0[status.segment] ?? 0, status.lastSequence) }
                })
        }
        // Load, so the server's tasks race as they do under the chaos test.
        let load = Task {
            await withTaskGroup(of: Void.self) { group in
                for worker in 0..<4 {
                    group.addTask {
                        var next: UInt64 = 1
                        while !Task.isCancelled {
                            let batch = (next..<next + 20).map { Record(sequence: $0, payload: Array(repeating: 7, count: 64)) }
                            if (try? await h.client.produce(
                                store: h.storeID, space: "load", segment: "l\(worker)", records: batch)) != nil
                            {
                                next += 20
                            } else {
                                next = (try? await h.client.peek(store: h.storeID, space: "load", segment: "l\(worker)"))?
                                    .map { $0.sequence + 1 } ?? next
                            }
                            _ = try? await collect(
                                h.client.consumeSegment(store: h.storeID, space: "load", segment: "l\(worker)", limit: 200))
                        }
                    }
                }
            }
        }
        var failedAfter: Int?
        for round in 1...20 {
            try await h.restartServerAndReconnect()
            for index in 0..<20 {
                try await h.client.publish(store: h.storeID, space: "s", segment: "g\(index)", payload: [])
            }
            await waitUntil("every subscriber sees \(round)", within: .seconds(5)) {
                seen.get.values.allSatisfy { $0 == UInt64(round) } && seen.get.count == 20
                    || subscriptions.contains { $0.status().state != .active }
            }
            if subscriptions.contains(where: { $0.status().state != .active }) {
                failedAfter = round
                break
            }
        }
        load.cancel()
        _ = await load.value
        let failed = subscriptions.map { $0.status() }.filter { $0.state != .active }
        #expect(
            failed.isEmpty,
            "\(failed.count) failed after \(failedAfter ?? 0) restarts: \(failed.first?.lastError ?? "")")
        await h.tearDown()
    }
}
