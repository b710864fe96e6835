import Foundation
import StreamKitTestSupport
import StreamKitWire
import Testing

@testable import StreamKitClient

/// `connectionEvents()`: a lost connection and its recovery are reported with the reads and subscriptions that
/// resume; listeners finish when the client closes.
struct ConnectionEventTests {
    @Test func aLostConnectionAndItsRecoveryAreReportedWithTheReadsAndSubscriptionsThatResume() async throws {
        let h = try await webSocketHarness()
        let payload = [UInt8](repeating: 7, count: 16 << 10)
        for first in stride(from: UInt64(1), through: 2_000, by: 200) {  // 32 MiB: far more than a read's credit.
            let batch = (first..<(first + 200)).map { Record(sequence: $0, payload: payload) }
            try await h.client.produce(store: h.storeID, space: "s", segment: "g", records: batch)
        }
        var events = h.client.connectionEvents().makeAsyncIterator()
        let subscription = try await h.client.subscribe(store: h.storeID, space: "s") { _ in }
        var read = h.client.consumeSegment(store: h.storeID, space: "s", segment: "g").makeAsyncIterator()
        let firstEntry = try await read.next()

        try await h.restartServerAndReconnect()
        let lost = await events.next()
        let back = await events.next()
        var count = firstEntry == nil ? 0 : 1
        while try await read.next() != nil { count += 1 }
        await eventually("subscribed again") { subscription.status().state == .active }
        await h.tearDown()

        guard case .lost(_, let error, let reads, let subscriptions)? = lost else {
            Issue.record("expected a loss first, got \(String(describing: lost))")
            return
        }
        guard case .reestablished(_, let downtime, let resumedReads, let resubscriptions)? = back else {
            Issue.record("expected a recovery next, got \(String(describing: back))")
            return
        }
        #expect(!error.isEmpty)
        #expect(reads == 1 && subscriptions == 1, "\(reads) reads, \(subscriptions) subscriptions")
        #expect(resumedReads == 1 && resubscriptions == 1)
        #expect(downtime >= .zero)
        #expect(count == 2_000)
    }

    @Test(arguments: TransportKind.allCases)
    func listenersFinishWhenTheClientCloses(_ kind: TransportKind) async throws {
        let h = try await ClientHarness.make(kind)
        let events = h.client.connectionEvents()
        try await h.client.publish(store: h.storeID, space: "s", segment: "g", payload: [1])

        await h.tearDown()
        var seen: [ConnectionEvent] = []
        for await event in events { seen.append(event) }
        let afterClose = h.client.connectionEvents()
        var late: [ConnectionEvent] = []
        for await event in afterClose { late.append(event) }

        #expect(seen.isEmpty)
        #expect(late.isEmpty)
    }
}
