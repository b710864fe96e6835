import Foundation
import StreamKitClient
import StreamKitEventSourcing
import Testing

/// `AggregateRepository` over both transports: folding, compare-and-append, snapshots, codecs and limits.
struct AggregateRepositoryTests {
    private static let space = "ledgers"

    private func repository(
        _ h: ClientHarness, codec: some EventCodec<Ledger.Event> = JSONEventCodec<Ledger.Event>(),
        snapshots: SnapshotPolicy<Ledger>? = nil, limits: SaveLimits = SaveLimits()
    ) -> AggregateRepository<Ledger> {
        AggregateRepository(
            client: h.client, store: h.storeID, space: Self.space, codec: codec, snapshots: snapshots, limits: limits)
    }

    // MARK: - Loading and saving

    @Test(arguments: TransportKind.allCases)
    func loadingAnAggregateWithoutEventsGivesTheEmptyStateAtVersionZero(_ kind: TransportKind) async throws {
        let h = try await ClientHarness.make(kind)
        let ledgers = repository(h)

        let (ledger, version) = try await ledgers.load("never-saved")

        #expect(ledger == Ledger())
        #expect(version == 0)
        await h.tearDown()
    }

    @Test(arguments: TransportKind.allCases)
    func loadFoldsEverySavedEventInOrder(_ kind: TransportKind) async throws {
        let h = try await ClientHarness.make(kind)
        let ledgers = repository(h)
        let first: [Ledger.Event] = [.opened(owner: "ada"), .deposited(10)]
        let second: [Ledger.Event] = [.withdrawn(3), .deposited(5)]

        let afterFirst = try await ledgers.save("l-1", events: first, expectedVersion: 0)
        let afterSecond = try await ledgers.save("l-1", events: second, expectedVersion: afterFirst)
        let (ledger, version) = try await ledgers.load("l-1")

        #expect(afterFirst == 2)
        #expect(afterSecond == 4)
        #expect(version == 4)
        #expect(ledger == Ledger.folding(first + second))
        #expect(ledger.log == ["o:ada", "d10", "w3", "d5"])
        #expect(ledger.balance == 12)
        await h.tearDown()
    }

    @Test(arguments: TransportKind.allCases)
    func theJSONCodecStoresEachEventAsJSONWithItsTypeName(_ kind: TransportKind) async throws {
        let h = try await ClientHarness.make(kind)
        let named = JSONEventCodec<Ledger.Event> { event in
            switch event {
            case .opened: "opened"
            case .deposited: "deposited"
            case .withdrawn: "withdrawn"
            }
        }
        let byDefault = repository(h)
        let byCase = repository(h, codec: named)

        try await byDefault.save("l-1", events: [.deposited(7)], expectedVersion: 0)
        try await byCase.save("l-1", events: [.withdrawn(2)], expectedVersion: 1)
        let entries = try await collect(h.client.consumeSegment(store: h.storeID, space: Self.space, segment: "l-1"))

        #expect(entries.map(\.sequence) == [1, 2])
        #expect(entries.map { $0.metadata["type"] } == ["Event", "withdrawn"])
        let decoded = try JSONDecoder().decode(Ledger.Event.self, from: Data(entries[0].payload.bytes))
        #expect(decoded == .deposited(7))
        #expect(try await byDefault.load("l-1").aggregate.balance == 5)
        await h.tearDown()
    }

    // MARK: - Compare-and-append

    @Test(arguments: TransportKind.allCases)
    func aSaveAtAStaleVersionFailsWithTheCurrentVersionAndWritesNothing(_ kind: TransportKind) async throws {
        let h = try await ClientHarness.make(kind)
        let ledgers = repository(h)
        try await ledgers.save("l-1", events: deposits(3), expectedVersion: 0)

        let behind = await eventSourcingError {
            try await ledgers.save("l-1", events: [.withdrawn(100)], expectedVersion: 1)
        }
        let ahead = await eventSourcingError {
            try await ledgers.save("l-1", events: [.withdrawn(100)], expectedVersion: 7)
        }
        let fresh = await eventSourcingError {
            try await ledgers.save("l-1", events: [.withdrawn(100)], expectedVersion: 0)
        }

        for (error, expected) in [(behind, UInt64(1)), (ahead, 7), (fresh, 0)] {
            #expect(error?.code == .versionConflict)
            #expect(error?.aggregateID == "l-1")
            #expect(error?.expectedVersion == expected)
            #expect(error?.currentVersion == 3)
        }
        let (ledger, version) = try await ledgers.load("l-1")
        #expect(version == 3)
        #expect(ledger == Ledger.folding(deposits(3)))
        #expect(try await h.client.peek(store: h.storeID, space: Self.space, segment: "l-1")?.sequence == 3)
        await h.tearDown()
    }

    @Test(arguments: TransportKind.allCases)
    func ofConcurrentSavesExpectingTheSameVersionExactlyOneSucceeds(_ kind: TransportKind) async throws {
        let h = try await ClientHarness.make(kind)
        let ledgers = repository(h)
        try await ledgers.save("l-1", events: [.opened(owner: "ada")], expectedVersion: 0)
        let writers = 8

        let outcomes = await withTaskGroup(of: (Int, Result<UInt64, EventSourcingError>?).self) { group in
            for writer in 1...writers {
                group.addTask {
                    do {
                        let version = try await ledgers.save(
                            "l-1", events: [.deposited(writer), .withdrawn(writer)], expectedVersion: 1)
                        return (writer, .success(version))
                    } catch let error as EventSourcingError {
                        return (writer, .failure(error))
                    } catch {
                        return (writer, nil)
                    }
                }
            }
            var outcomes: [(Int, Result<UInt64, EventSourcingError>?)] = []
            for await outcome in group { outcomes.append(outcome) }
            return outcomes
        }

        let winners = outcomes.compactMap { writer, result in (try? result?.get()).map { (writer, $0) } }
        try #require(winners.count == 1)
        #expect(winners[0].1 == 3)
        let conflicts = outcomes.compactMap { _, result -> EventSourcingError? in
            if case .failure(let error) = result { error } else { nil }
        }
        #expect(conflicts.count == writers - 1)
        #expect(
            conflicts.allSatisfy { $0.code == .versionConflict && $0.currentVersion == 3 && $0.expectedVersion == 1 })
        let (ledger, version) = try await ledgers.load("l-1")
        let winner = winners[0].0
        #expect(version == 3)
        #expect(ledger.log == ["o:ada", "d\(winner)", "w\(winner)"])
        await h.tearDown()
    }

    // MARK: - Snapshots

    @Test(arguments: TransportKind.allCases)
    func loadStartsFromTheLatestSnapshotAndFoldsOnlyTheEventsAfterIt(_ kind: TransportKind) async throws {
        let h = try await ClientHarness.make(kind)
        let codec = CountingCodec()
        let ledgers = repository(h, codec: codec, snapshots: .every(5))
        var version: UInt64 = 0
        for round in 0..<4 {  // versions 3, 6, 9, 12: crossing 5 (at 6) and 10 (at 12)
            version = try await ledgers.save("l-1", events: deposits(3, from: 3 * round + 1), expectedVersion: version)
        }

        let snapshots = try await collect(
            h.client.consumeSegment(store: h.storeID, space: ledgers.snapshotSpace, segment: "l-1"))
        codec.decoded.update { $0 = 0 }
        let (atSnapshot, versionAtSnapshot) = try await ledgers.load("l-1")
        let decodedAtSnapshot = codec.decoded.get
        try await ledgers.save("l-1", events: [.withdrawn(1)], expectedVersion: 12)
        codec.decoded.update { $0 = 0 }
        let (afterIt, versionAfterIt) = try await ledgers.load("l-1")
        let decodedAfterIt = codec.decoded.get

        #expect(ledgers.snapshotSpace == "ledgers.snapshots")
        #expect(snapshots.map { $0.metadata["version"] } == ["6", "12"])
        #expect(versionAtSnapshot == 12)
        #expect(atSnapshot == Ledger.folding(deposits(12)))
        #expect(decodedAtSnapshot == 0)
        #expect(versionAfterIt == 13)
        #expect(afterIt == Ledger.folding(deposits(12) + [.withdrawn(1)]))
        #expect(decodedAfterIt == 1)
        // A repository without snapshots folds every event to the same state.
        #expect(try await repository(h).load("l-1") == (afterIt, 13))
        await h.tearDown()
    }

    @Test(arguments: TransportKind.allCases)
    func aSnapshotThatDoesNotDecodeIsIgnoredAndLoadFoldsEveryEvent(_ kind: TransportKind) async throws {
        let h = try await ClientHarness.make(kind)
        let codec = CountingCodec()
        let ledgers = repository(h, codec: codec, snapshots: .every(100))
        try await ledgers.save("l-1", events: deposits(4), expectedVersion: 0)
        let expected = Ledger.folding(deposits(4))

        // The aggregate's type changed since this snapshot was written.
        try await h.client.publish(
            store: h.storeID, space: ledgers.snapshotSpace, segment: "l-1", payload: Array(#"{"total":99}"#.utf8),
            metadata: ["version": "3"])
        codec.decoded.update { $0 = 0 }
        let (afterOtherShape, versionAfterOtherShape) = try await ledgers.load("l-1")
        let decodedAfterOtherShape = codec.decoded.get
        // A snapshot without a version.
        try await h.client.publish(
            store: h.storeID, space: ledgers.snapshotSpace, segment: "l-1",
            payload: try JSONSnapshotCodec<Ledger>().encode(Ledger.folding(deposits(3))))
        codec.decoded.update { $0 = 0 }
        let (afterNoVersion, versionAfterNoVersion) = try await ledgers.load("l-1")
        let decodedAfterNoVersion = codec.decoded.get

        #expect(afterOtherShape == expected)
        #expect(versionAfterOtherShape == 4)
        #expect(decodedAfterOtherShape == 4)
        #expect(afterNoVersion == expected)
        #expect(versionAfterNoVersion == 4)
        #expect(decodedAfterNoVersion == 4)
        await h.tearDown()
    }

    @Test(arguments: TransportKind.allCases)
    func aSnapshotThatCannotBeWrittenDoesNotFailTheSave(_ kind: TransportKind) async throws {
        let h = try await ClientHarness.make(kind)
        let ledgers = repository(h, snapshots: .every(2, codec: FailingSnapshotCodec()))

        let version = try await ledgers.save("l-1", events: deposits(3), expectedVersion: 0)

        #expect(version == 3)
        #expect(try await h.client.peek(store: h.storeID, space: ledgers.snapshotSpace, segment: "l-1") == nil)
        #expect(try await ledgers.load("l-1") == (Ledger.folding(deposits(3)), 3))
        await h.tearDown()
    }

    // MARK: - Codecs

    @Test(arguments: TransportKind.allCases)
    func aCustomCodecDecidesThePayloadAndMetadataOfEachEvent(_ kind: TransportKind) async throws {
        let h = try await ClientHarness.make(kind)
        let ledgers = repository(h, codec: TextCodec())
        let events: [Ledger.Event] = [.opened(owner: "bob"), .deposited(8), .withdrawn(5)]

        try await ledgers.save("l-1", events: events, expectedVersion: 0)
        let entries = try await collect(h.client.consumeSegment(store: h.storeID, space: Self.space, segment: "l-1"))
        let (ledger, version) = try await ledgers.load("l-1")

        let payloads = entries.map { String(decoding: $0.payload.bytes, as: UTF8.self) }
        #expect(payloads == ["opened bob", "deposited 8", "withdrawn 5"])
        #expect(entries.map { $0.metadata } == [["kind": "opened"], ["kind": "deposited"], ["kind": "withdrawn"]])
        #expect(version == 3)
        #expect(ledger == Ledger.folding(events))
        await h.tearDown()
    }

    @Test(arguments: TransportKind.allCases)
    func anEventThatDoesNotDecodeFailsTheLoadWithItsSequence(_ kind: TransportKind) async throws {
        let h = try await ClientHarness.make(kind)
        let ledgers = repository(h)
        try await ledgers.save("l-1", events: [.deposited(1)], expectedVersion: 0)
        try await h.client.publish(store: h.storeID, space: Self.space, segment: "l-1", payload: Array("not json".utf8))

        let error = await eventSourcingError { _ = try await ledgers.load("l-1") }

        #expect(error?.code == .decodingFailed)
        #expect(error?.sequence == 2)
        #expect(error?.aggregateID == "l-1")
        await h.tearDown()
    }

    // MARK: - Limits and validation

    @Test(arguments: TransportKind.allCases)
    func aSaveThatDoesNotFitInOneTransactionIsRefusedAndWritesNothing(_ kind: TransportKind) async throws {
        let h = try await ClientHarness.make(kind)
        let ledgers = repository(h)
        let small = repository(h, limits: SaveLimits(maxEvents: 10, maxBytes: 64))
        let store = StoreConfiguration()

        let tooMany = await eventSourcingError {
            try await ledgers.save("l-1", events: deposits(store.maxRecordsPerTransaction + 1), expectedVersion: 0)
        }
        let tooManyBytes = await eventSourcingError {
            try await small.save(
                "l-2", events: [.opened(owner: String(repeating: "a", count: 40)), .deposited(1)], expectedVersion: 0)
        }
        let emptyAfterRefusals = try await h.client.segments(store: h.storeID, space: Self.space)
        // One event larger than the byte limit is one record: a transaction of its own.
        let alone = try await small.save(
            "l-3", events: [.opened(owner: String(repeating: "a", count: 100))], expectedVersion: 0)

        #expect(tooMany?.code == .saveTooLarge)
        #expect(tooMany?.limit == store.maxRecordsPerTransaction)
        #expect(tooMany?.value == store.maxRecordsPerTransaction + 1)
        #expect(tooManyBytes?.code == .saveTooLarge)
        #expect(tooManyBytes?.limit == 64)
        #expect((tooManyBytes?.value ?? 0) > 64)
        #expect(emptyAfterRefusals.isEmpty)
        #expect(alone == 1)
        #expect(SaveLimits() == SaveLimits(store: store))
        await h.tearDown()
    }

    @Test(arguments: TransportKind.allCases)
    func invalidArgumentsAreRefusedBeforeAnythingIsWritten(_ kind: TransportKind) async throws {
        let h = try await ClientHarness.make(kind)
        let ledgers = repository(h)
        try await ledgers.save("l-1", events: [.deposited(1)], expectedVersion: 0)

        let errors = [
            await eventSourcingError { _ = try await ledgers.load("") },
            await eventSourcingError { _ = try await ledgers.load("*") },
            await eventSourcingError { try await ledgers.save("", events: [.deposited(1)], expectedVersion: 0) },
            await eventSourcingError { try await ledgers.save("*", events: [.deposited(1)], expectedVersion: 0) },
            await eventSourcingError { try await ledgers.save("l-1", events: [], expectedVersion: 1) },
            await eventSourcingError { try await ledgers.save("l-1", events: deposits(2), expectedVersion: .max - 1) },
        ]

        #expect(errors.map { $0?.code } == Array(repeating: .invalidArgument, count: 6))
        #expect(try await ledgers.load("l-1") == (Ledger.folding([.deposited(1)]), 1))
        await h.tearDown()
    }
}
