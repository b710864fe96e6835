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

    @Test("one-shot calls that are safe to send twice survive graceful server restarts: those in flight are sent again")
    func idempotentCallsInFlightAreRetriedAcrossGracefulRestarts() async throws {
        let h = try await webSocketHarness()
        try await h.client.publish(store: h.storeID, space: "s", segment: "g", payload: [1])
        let worker = try await h.client.registerWorker(store: h.storeID, workerID: "w")
        let running = Box(true)
        let completed = Box(0)
        let failures = Box<[String]>([])
        let client = h.client
        let store = h.storeID
        let loops = (0..<10).map { index in
            Task {
                while running.get {
                    do {
                        switch index % 4 {
                        case 0: #expect(try await client.peek(store: store, space: "s", segment: "g")?.sequence == 1)
                        case 1: #expect(try await client.spaces(store: store) == ["s"])
                        case 2: #expect(try await client.segments(store: store, space: "s") == ["g"])
                        default:
                            #expect(try await client.workerInventory(store: store).workers.map(\.workerID) == ["w"])
                        }
                        completed.update { $0 += 1 }
                    } catch {
                        failures.update { $0.append("\(error)") }
                    }
                }
            }
        }
        for round in 1...10 {
            let before = completed.get
            await eventually("calls answered before restart \(round)") { completed.get >= before + 20 }
            try await h.restartServerAndReconnect()  // Graceful: the goAway, then the open streams fail.
        }
        let before = completed.get
        await eventually("calls answered after the last restart") { completed.get >= before + 20 }
        running.update { $0 = false }
        for loop in loops { await loop.value }
        #expect(failures.get.isEmpty, "\(failures.get.count) calls failed, e.g. \(failures.get.first ?? "")")
        await worker.stop()
        await h.tearDown()
    }
}
