import Foundation
import StreamKitClient
import Testing

/// The WebSocket transport across graceful server restarts: the server shuts down with the client still connected
/// (its goAway first, then the streams' `storeUnavailable`) and starts again on the same port.
struct GracefulRestartTests {
    @Test("WebSocket subscriptions survive graceful server restarts on the same port: they subscribe again, no error")
    func subscriptionsSurviveGracefulRestarts() async throws {
        let h = try await webSocketHarness()
        let store = try await h.registry.store(h.storeID)
        try await store.publish(space: "s", segment: "g", payload: [0])
        let count = 8
        let seen = Box<[Int: UInt64]>([:])  // The highest sequence each subscription was told of.
        var subscriptions: [Subscription] = []
        for index in 0..<count {
            subscriptions.append(
                try await h.client.subscribe(store: h.storeID, space: "s", segment: "g") { status in
                    seen.update { $0[index] = max($0[index] ?? 0, status.lastSequence) }
                })
        }
        await eventually("every snapshot") { seen.get.count == count }

        for _ in 1...20 {
            // A burst of commits during each restart: the server's subscription jobs are busy when it shuts down.
            let commits = Task {
                for _ in 0..<100 { _ = try? await store.publish(space: "s", segment: "g", payload: [1]) }
            }
            try await h.restartServerAndReconnect()  // Graceful: `LoopbackServer.restart()` shuts the server down.
            await commits.value
        }
        let last = try await h.client.publish(store: h.storeID, space: "s", segment: "g", payload: [2]).lastSequence

        await eventually("every subscription live on the new server") {
            let seen = seen.get
            return seen.count == count && seen.values.allSatisfy { $0 == last }
        }
        for subscription in subscriptions {
            let status = subscription.status()
            #expect(status.state == .active, "\(status.lastError ?? "")")
            #expect(status.failureCount == 0)
        }
        await h.tearDown()
    }
}
