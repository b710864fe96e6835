import Foundation
import StreamKitClient
import StreamKitTestSupport
import Testing

/// Every operation, its boundaries and typed errors, against every transport.
struct ClientOperationsTests {
    // MARK: - Writes

    @Test(arguments: TransportKind.allCases)
    func produceStreamsOneStatusPerTransaction(_ kind: TransportKind) async throws {
        let h = try await ClientHarness.make(kind)
        let upstream = AsyncStream<Record> { continuation in
            for record in records(1...5) { continuation.yield(record) }
            continuation.finish()
        }
        let statuses = try await collect(
            h.client.produce(store: h.storeID, space: "s", segment: "g", records: upstream))
        #expect(statuses.map(\.lastSequence) == [5])
        #expect(statuses.first?.firstSequence == 1)
        let more = try await h.client.produce(store: h.storeID, space: "s", segment: "g", records: records(6...7))
        #expect(more.map(\.lastSequence) == [7])
        #expect(try await h.client.produce(store: h.storeID, space: "s", segment: "g", records: []).isEmpty)
        await h.tearDown()
    }

    @Test(arguments: TransportKind.allCases)
    func produceReportsSequenceConflictsWithExpectedAndGot(_ kind: TransportKind) async throws {
        let h = try await ClientHarness.make(kind)
        try await h.client.produce(store: h.storeID, space: "s", segment: "g", records: records(1...3))
        do {
            try await h.client.produce(store: h.storeID, space: "s", segment: "g", records: records(5...6))
            Issue.record("expected a sequence conflict")
        } catch let error as StreamKitError {
            #expect(error.code == .sequenceConflict)
            #expect(error.expectedSequence == 4)
            #expect(error.gotSequence == 5)
        }
        let stream = h.client.produce(
            store: h.storeID, space: "s", segment: "g",
            records: AsyncStream {
                $0.yield(Record(sequence: 9, payload: []))
                $0.finish()
            })
        #expect(await errorCode { _ = try await collect(stream) } == .sequenceConflict)
        await h.tearDown()
    }

    @Test(arguments: TransportKind.allCases)
    func writesRejectBadArguments(_ kind: TransportKind) async throws {
        let h = try await ClientHarness.make(kind)
        let id = h.storeID
        #expect(
            await errorCode { try await h.client.publish(store: id, space: "", segment: "g", payload: []) }
                == .invalidArgument)
        #expect(
            await errorCode { try await h.client.publish(store: id, space: "s", segment: "*", payload: []) }
                == .invalidArgument)
        #expect(
            await errorCode {
                try await h.client.produce(
                    store: id, space: "s", segment: "g", records: [Record(sequence: 0, payload: [])])
            } == .invalidArgument)
        let tooBig = [UInt8](repeating: 0, count: (4 << 20) + 1)
        #expect(
            await errorCode { try await h.client.publish(store: id, space: "s", segment: "g", payload: tooBig) }
                == .limitExceeded)
        await h.tearDown()
    }

    @Test(arguments: TransportKind.allCases)
    func publishAppendsAndPeekReturnsTheLatest(_ kind: TransportKind) async throws {
        let h = try await ClientHarness.make(kind)
        #expect(try await h.client.peek(store: h.storeID, space: "s", segment: "g") == nil)
        try await h.client.publish(store: h.storeID, space: "s", segment: "g", payload: [1], metadata: ["k": "v"])
        let second = try await h.client.publish(store: h.storeID, space: "s", segment: "g", payload: [2])
        #expect(second.lastSequence == 2)
        let latest = try #require(try await h.client.peek(store: h.storeID, space: "s", segment: "g"))
        #expect(latest.sequence == 2)
        #expect(latest.payload == [2])
        #expect(
            await errorCode { _ = try await h.client.peek(store: h.storeID, space: "s", segment: "") }
                == .invalidArgument)
        await h.tearDown()
    }

    // MARK: - Reads

    @Test(arguments: TransportKind.allCases)
    func consumeSegmentHonoursSequenceBoundsAndLimit(_ kind: TransportKind) async throws {
        let h = try await ClientHarness.make(kind)
        try await h.client.produce(store: h.storeID, space: "s", segment: "g", records: records(1...10))
        func read(_ min: UInt64, _ max: UInt64, _ limit: Int = 0) async throws -> [UInt64] {
            try await collect(
                h.client.consumeSegment(
                    store: h.storeID, space: "s", segment: "g", minSequence: min, maxSequence: max, limit: limit)
            ).map(\.sequence)
        }
        #expect(try await read(0, 0) == Array(1...10))
        #expect(try await read(3, 5) == [3, 4, 5])
        #expect(try await read(10, 0) == [10])
        #expect(try await read(11, 0) == [])
        #expect(try await read(2, 0, 3) == [2, 3, 4])
        #expect(try await collect(h.client.consumeSegment(store: h.storeID, space: "s", segment: "none")).isEmpty)
        #expect(await errorCode { _ = try await read(0, 0, -1) } == .invalidArgument)
        #expect(
            await errorCode {
                _ = try await collect(h.client.consumeSegment(store: h.storeID, space: "", segment: "g"))
            }
                == .invalidArgument)
        await h.tearDown()
    }

    @Test(arguments: TransportKind.allCases)
    func consumeSegmentHonoursTimestampBounds(_ kind: TransportKind) async throws {
        let h = try await ClientHarness.make(kind)
        for _ in 1...4 { try await h.client.publish(store: h.storeID, space: "s", segment: "g", payload: [0]) }
        let all = try await collect(h.client.consumeSegment(store: h.storeID, space: "s", segment: "g"))
        let after = try await collect(
            h.client.consumeSegment(store: h.storeID, space: "s", segment: "g", minTimestamp: all[1].timestamp))
        #expect(after.map(\.sequence) == [3, 4])  // minTimestamp is exclusive
        let upTo = try await collect(
            h.client.consumeSegment(store: h.storeID, space: "s", segment: "g", maxTimestamp: all[1].timestamp))
        #expect(upTo.map(\.sequence) == [1, 2])  // maxTimestamp is inclusive
        await h.tearDown()
    }

    @Test(arguments: TransportKind.allCases)
    func consumeSpaceResumesAfterAnOffset(_ kind: TransportKind) async throws {
        let h = try await ClientHarness.make(kind)
        try await h.client.produce(store: h.storeID, space: "s", segment: "a", records: records(1...2))
        try await h.client.produce(store: h.storeID, space: "s", segment: "b", records: records(1...2))
        try await h.client.produce(store: h.storeID, space: "other", segment: "x", records: records(1...1))
        let all = try await collect(h.client.consumeSpace(store: h.storeID, space: "s"))
        #expect(all.map { "\($0.segment)\($0.sequence)" } == ["a1", "a2", "b1", "b2"])
        let rest = try await collect(h.client.consumeSpace(store: h.storeID, space: "s", offset: all[1].offset))
        #expect(rest.map { "\($0.segment)\($0.sequence)" } == ["b1", "b2"])
        #expect(try await collect(h.client.consumeSpace(store: h.storeID, space: "s", limit: 1)).count == 1)
        let forged = Offset(position: all[1].position, timestamp: all[1].timestamp + 1)
        #expect(
            await errorCode {
                _ = try await collect(h.client.consumeSpace(store: h.storeID, space: "s", offset: forged))
            }
                == .invalidOffset)
        await h.tearDown()
    }

    @Test(arguments: TransportKind.allCases)
    func consumeMergesSpacesInCommitOrder(_ kind: TransportKind) async throws {
        let h = try await ClientHarness.make(kind)
        try await h.client.publish(store: h.storeID, space: "x", segment: "g", payload: [1])
        try await h.client.publish(store: h.storeID, space: "y", segment: "g", payload: [2])
        try await h.client.publish(store: h.storeID, space: "z", segment: "g", payload: [3])
        try await h.client.publish(store: h.storeID, space: "x", segment: "g", payload: [4])
        let merged = try await collect(h.client.consume(store: h.storeID, spaces: ["x": .start, "y": .start]))
        #expect(merged.map { $0.payload.bytes } == [[1], [2], [4]])
        let limited = try await collect(
            h.client.consume(store: h.storeID, spaces: ["x": .start, "y": .start], limit: 2))
        #expect(limited.count == 2)
        #expect(
            await errorCode { _ = try await collect(h.client.consume(store: h.storeID, spaces: [:])) }
                == .invalidArgument)
        await h.tearDown()
    }

    @Test(arguments: TransportKind.allCases)
    func spacesAndSegmentsAreSorted(_ kind: TransportKind) async throws {
        let h = try await ClientHarness.make(kind)
        #expect(try await h.client.spaces(store: h.storeID).isEmpty)
        for (space, segment) in [("b", "2"), ("a", "9"), ("b", "1")] {
            try await h.client.publish(store: h.storeID, space: space, segment: segment, payload: [])
        }
        #expect(try await h.client.spaces(store: h.storeID) == ["a", "b"])
        #expect(try await h.client.segments(store: h.storeID, space: "b") == ["1", "2"])
        #expect(try await h.client.segments(store: h.storeID, space: "none") == [])
        await h.tearDown()
    }

    // MARK: - Worker presence

    @Test(arguments: TransportKind.allCases)
    func workersHeartbeatInTheBackgroundAndUnregisterOnStop(_ kind: TransportKind) async throws {
        let h = try await ClientHarness.make(kind)
        let presence = try await h.client.registerWorker(
            store: h.storeID, workerID: "w1", metadata: ["zone": "a"], heartbeatInterval: .seconds(2))
        #expect(try await h.client.workerInventory(store: h.storeID).workers.map(\.workerID) == ["w1"])
        for round in 1...4 {
            await eventually("heartbeat sleeper") { h.clock.sleeperCount == 1 }
            h.clock.advance(by: 2_000_000_000)
            await eventually("heartbeat \(round)") { presence.heartbeatCount == round }
        }
        // 8 s passed: without heartbeats the worker would have been evicted after 6 s.
        #expect(try await h.client.workerInventory(store: h.storeID).workers.first?.metadata == ["zone": "a"])
        await presence.stop()
        #expect(try await h.client.workerInventory(store: h.storeID).workers.isEmpty)
        #expect(h.client.backgroundTaskCount == 0)
        #expect(
            await errorCode {
                _ = try await h.client.registerWorker(store: h.storeID, workerID: "", heartbeatInterval: .seconds(1))
            }
                == .invalidArgument)
        await h.tearDown()
    }
}
