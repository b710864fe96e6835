import StreamKitEngine
import StreamKitLogFiles
import StreamKitWire
import Testing

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Many streams on one connection, and flow control keeping a stalled reader from stalling anything else.
@Suite(.timeLimit(.minutes(2)))
struct ServerLimitsTests {
    @Test("10,000 concurrent streams over one connection each get their own answer")
    func tenThousandConcurrentStreams() async throws {
        let store = UUID()
        let count = 10_000
        try await withTestServer { port, _ in
            try await withTestClient(port: port) { client in
                var opened: [(id: UInt64, answers: AsyncThrowingStream<WireMessage, any Error>)] = []
                for n in 0..<count {
                    opened.append(
                        try await client.openRaw(
                            .publish(space: "s", segment: "g\(n)", payload: Array("\(n)".utf8), metadata: [:]),
                            store: store, closeAfterOpen: true))
                }

                let statuses = try await withThrowingTaskGroup(of: (Int, [WireMessage]).self) { group in
                    for (n, stream) in opened.enumerated() {
                        group.addTask { (n, try await client.collect(stream.id, stream.answers)) }
                    }
                    var result = [[WireMessage]](repeating: [], count: count)
                    for try await (n, messages) in group { result[n] = messages }
                    return result
                }

                #expect(Set(opened.map(\.id)).count == count)
                let segments = statuses.map { messages -> String? in
                    guard messages.count == 1, case .status(let status)? = messages.first else { return nil }
                    return status.lastSequence == 1 ? status.segment : nil
                }
                #expect(segments == (0..<count).map { "g\($0)" })
            }
        }
    }

    @Test("a reader that grants no credit stalls only its own stream and receives no more than its window")
    func stalledReaderStallsOnlyItsStream() async throws {
        let store = UUID()
        let total: UInt64 = 2_000
        let batches = stride(from: UInt64(1), through: total, by: 100).map { first in
            (first...min(first + 99, total)).map { Record(sequence: $0, payload: [UInt8](repeating: 7, count: 256)) }
        }
        let window = 2
        try await withTestServer(.init(authentication: .none, port: 0, entriesPerBatch: 50)) { port, _ in
            try await withTestClient(port: port, limits: MuxLimits(streamQueueDepth: window)) { client in
                _ = try await client.produce(store, space: "s", segment: "big", batches: batches)
                let (stalled, answers) = try await client.openRaw(
                    .consumeSegment(space: "s", segment: "big", bounds: ReadBounds(), limit: 0), store: store,
                    closeAfterOpen: true)

                // Other streams on the connection go on while the reader takes nothing.
                let published = try await client.call(
                    store, .publish(space: "s", segment: "other", payload: [1], metadata: [:]))
                let peeked = try await client.call(store, .peek(space: "s", segment: "big"))
                let delivered = await client.received(on: stalled)

                // Taking the answers grants credit: the rest of the read arrives, in order.
                let messages = try await client.collect(stalled, answers)
                let sequences = messages.flatMap { message -> [UInt64] in
                    guard case .entries(let entries) = message else { return [] }
                    return entries.map(\.sequence)
                }

                #expect(published.count == 1)
                #expect(peeked.count == 1)
                #expect(delivered <= window)
                #expect(sequences == Array(1...total))
            }
        }
    }
}

/// Heartbeats: a peer that stops answering is closed by the server.
@Suite(.timeLimit(.minutes(1)))
struct ServerHeartbeatTests {
    @Test("a connection that answers no ping is closed after the silence timeout, having been sent only pings")
    func deadConnectionIsClosed() async throws {
        let limits = MuxLimits(pingInterval: .milliseconds(50), silenceTimeout: .milliseconds(500))
        let configuration = StreamKitServer.Configuration(
            authentication: .none, port: 0, limits: limits, tickInterval: .milliseconds(20))
        try await withTestServer(configuration) { port, _ in
            let clock = ContinuousClock()
            let start = clock.now

            let frames = try await silentSocketUntilClosed(port: port)

            let elapsed = clock.now - start
            // A dead peer gets no goAway (it would not read it): the socket just closes. (That pings go out
            // before the timeout is pinned by MuxLifecycleTests with a manual clock; on a loaded machine the
            // first tick may already be past the timeout.)
            #expect(elapsed >= .milliseconds(500))
            #expect(frames.allSatisfy { if case .ping = $0 { true } else { false } })
        }
    }
}
