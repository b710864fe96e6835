import StreamKitEngine
import StreamKitLogFiles
import StreamKitWire
import Testing

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A graceful server shutdown as a connected client sees it: the connection's goAway first, then the errors of
/// the streams in flight, so a client can tell a lost connection (retry, resume, subscribe again) from the
/// server's answer to a request.
@Suite(.timeLimit(.minutes(1)))
struct ServerShutdownTests {
    /// What one connection saw of a server shutdown.
    struct Outcome: Sendable {
        /// The streams in flight when the server shut down: subscriptions, an upload, a stalled read.
        var inFlight: [UInt64]
        /// The goAways, resets and closes that arrived after the streams were in flight, in arrival order.
        var endings: [TestMuxClient.Ending]
        /// How each stream in flight ended for its reader: the error code, nil when it just finished.
        var failures: [UInt64: StreamKitError.Code?]
    }

    @Test("on shutdown each connection's goAway arrives before any reset of its busy subscriptions and other streams")
    func shutdownSendsGoAwayBeforeResettingStreams() async throws {
        // Stream jobs that ended their own streams on cancellation raced the goAway, and lost it most often while
        // statuses were flowing: rounds of several busy connections make such a misordering show. The order does
        // not depend on timing any more, so every round must pass.
        for _ in 1...5 {
            let outcomes = try await shutDownWithStreamsInFlight(connections: 4)

            #expect(outcomes.count == 4)
            for outcome in outcomes {
                guard case .goAway(let lastStreamID, let reason)? = outcome.endings.first else {
                    Issue.record("the first ending must be the goAway, got \(outcome.endings)")
                    continue
                }
                #expect(reason?.code == .storeUnavailable)
                #expect(outcome.inFlight.allSatisfy { $0 <= lastStreamID }, "the streams in flight were accepted")
                for ending in outcome.endings.dropFirst() {  // The streams' errors, after the goAway.
                    switch ending {
                    case .goAway:
                        Issue.record("a second goAway")
                    case .reset(let id, let error):
                        #expect(outcome.inFlight.contains(id))
                        #expect(error.code == .storeUnavailable, "stream \(id): \(error)")
                    case .finished(let id):
                        Issue.record("stream \(id) was finished as if its request were done")
                    }
                }
                for id in outcome.inFlight {
                    #expect(outcome.failures[id] == .storeUnavailable, "stream \(id)")
                }
            }
        }
    }

    // MARK: - Helpers

    /// Starts a server, puts streams in flight on `connections` connections (see
    /// ``putStreamsInFlight(_:store:space:following:started:)``), shuts the server down during a burst of commits
    /// that keeps the subscriptions busy, and tells what each connection saw.
    private func shutDownWithStreamsInFlight(connections: Int) async throws -> [Outcome] {
        let store = UUID()
        let configuration = StreamKitServer.Configuration(authentication: .none, port: 0, entriesPerBatch: 1)
        var outcomes: [Outcome] = []
        try await withTestServer(configuration) { port, server in
            let (ready, readyContinuation) = AsyncStream<Void>.makeStream()
            outcomes = try await withThrowingTaskGroup(of: Outcome.self) { group in
                for index in 0..<connections {
                    group.addTask {
                        try await withTestClient(port: port) { client in
                            try await withThrowingTaskGroup(of: (UInt64, StreamKitError.Code?).self) { streams in
                                let (started, startedContinuation) = AsyncStream<Void>.makeStream()
                                let inFlight: [UInt64]
                                do {
                                    inFlight = try await putStreamsInFlight(
                                        client, store: store, space: "s\(index)", following: &streams,
                                        started: startedContinuation)
                                    var count = 0
                                    for await _ in started {
                                        count += 1
                                        if count == inFlight.count { break }
                                    }
                                } catch {
                                    readyContinuation.yield()  // Shut down at once: the error is reported below.
                                    throw error
                                }
                                let before = await client.endings.count
                                readyContinuation.yield()
                                await client.ended()
                                var failures: [UInt64: StreamKitError.Code?] = [:]
                                for try await (id, code) in streams { failures[id] = code }
                                return Outcome(
                                    inFlight: inFlight, endings: Array(await client.endings.dropFirst(before)),
                                    failures: failures)
                            }
                        }
                    }
                }
                var readyCount = 0
                for await _ in ready {
                    readyCount += 1
                    if readyCount == connections { break }
                }
                // A burst of commits, under way when the server shuts down: the subscription jobs are busy, not parked.
                let engine = try await server.registry.store(store)
                let (flowing, flowingContinuation) = AsyncStream<Void>.makeStream()
                let commits = Task {
                    for round in 0..<200 {
                        if round == 20 { flowingContinuation.finish() }
                        for index in 0..<connections {
                            _ = try? await engine.publish(space: "s\(index)", segment: "busy", payload: [1])
                        }
                    }
                }
                for await _ in flowing {}
                await server.shutdown()
                await commits.value
                return try await group.reduce(into: []) { $0.append($1) }
            }
        }
        return outcomes
    }

    /// Opens, on one connection, streams the server is in the middle of: eight live subscriptions whose statuses
    /// are taken as they come, an upload the server waits on, and a read waiting for the client's credit. Each
    /// stream's answers are followed by a task of `group`, which yields to `started` at the stream's first answer
    /// and ends with how the stream ended.
    ///
    /// - Returns: The streams' ids.
    private func putStreamsInFlight(
        _ client: TestMuxClient, store: UUID, space: String,
        following group: inout ThrowingTaskGroup<(UInt64, StreamKitError.Code?), any Error>,
        started: AsyncStream<Void>.Continuation
    ) async throws -> [UInt64] {
        let window = MuxLimits().streamQueueDepth  // The client's credit per stream, in messages.
        let entries = (1...UInt64(window * 2)).map { Record(sequence: $0, payload: [1]) }
        _ = try await client.produce(store, space: space, segment: "a", batches: [entries])
        var ids: [UInt64] = []
        for _ in 0..<8 {
            let (id, answers) = try await client.openRaw(
                .subscribe(space: space, segment: "*", heartbeatSeconds: nil), store: store, closeAfterOpen: false)
            group.addTask { (id, await follow(answers, on: id, of: client, granting: true, started: started)) }
            ids.append(id)
        }
        let (upload, uploadAnswers) = try await client.openRaw(
            .produceOpen(space: space, segment: "b"), store: store, closeAfterOpen: false)
        group.addTask {
            (upload, await follow(uploadAnswers, on: upload, of: client, granting: true, started: started))
        }
        try await client.send(.records([Record(sequence: 1, payload: [2])]), on: upload)  // Acknowledged: started.
        ids.append(upload)
        let (read, readAnswers) = try await client.openRaw(  // Twice the window: the server soon waits for credit.
            .consumeSegment(space: space, segment: "a", bounds: ReadBounds(), limit: 0), store: store,
            closeAfterOpen: true)
        group.addTask { (read, await follow(readAnswers, on: read, of: client, granting: false, started: started)) }
        ids.append(read)
        return ids
    }

    /// Takes a stream's answers until it ends, granting credit for each when `granting`; yields to `started` at
    /// the first answer (or at the end, when none came).
    ///
    /// - Returns: The code of the error the stream ends with; nil when it just finishes.
    private func follow(
        _ answers: AsyncThrowingStream<WireMessage, any Error>, on id: UInt64, of client: TestMuxClient,
        granting: Bool, started: AsyncStream<Void>.Continuation
    ) async -> StreamKitError.Code? {
        var first = true
        defer { if first { started.yield() } }  // Ended without an answer: do not keep the test waiting.
        do {
            for try await _ in answers {
                if first { started.yield() }
                first = false
                if granting { await client.consumed(id) }
            }
            return nil
        } catch let error as StreamKitError {
            return error.code
        } catch {
            return .internalError
        }
    }
}
