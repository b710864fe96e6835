import Foundation
import StreamKitTestSupport
import StreamKitWire
import Testing

@testable import StreamKitClient

/// Deleting entries through the client, over both transports.
struct DeletionClientTests {
    @Test(arguments: TransportKind.allCases)
    func truncatingAndDeletingHideTheEntriesAndProducingContinuesAfterThem(_ kind: TransportKind) async throws {
        let h = try await ClientHarness.make(kind)
        let id = h.storeID
        try await h.client.produce(store: id, space: "s", segment: "g", records: records(1...10))
        try await h.client.produce(store: id, space: "s", segment: "other", records: records(1...2))

        let truncated = try await h.client.truncateSegment(store: id, space: "s", segment: "g", before: 4)
        let afterTruncation = try await collect(h.client.consumeSegment(store: id, space: "s", segment: "g"))
        let deleted = try await h.client.deleteSegment(store: id, space: "s", segment: "g")
        let afterDeletion = try await collect(h.client.consumeSpace(store: id, space: "s"))
        let listed = try await h.client.segments(store: id, space: "s")
        let reused = await errorCode {
            try await h.client.produce(store: id, space: "s", segment: "g", records: records(1...1))
        }
        let next = try await h.client.publish(store: id, space: "s", segment: "g", payload: [1])
        await h.tearDown()

        #expect(truncated == 3)
        #expect(afterTruncation.map(\.sequence) == Array(4...10))
        #expect(deleted == 7)
        #expect(afterDeletion.map(\.segment) == ["other", "other"])
        #expect(listed == ["other"])
        #expect(reused == .sequenceConflict)
        #expect(next.lastSequence == 11)
    }

    @Test(arguments: TransportKind.allCases)
    func deletingWhatDoesNotExistIsNotFoundAndSequenceZeroIsInvalid(_ kind: TransportKind) async throws {
        let h = try await ClientHarness.make(kind)
        let id = h.storeID

        let absentStore = await errorCode { _ = try await h.client.deleteSegment(store: id, space: "s", segment: "g") }
        try await h.client.publish(store: id, space: "s", segment: "g", payload: [1])
        let absentSegment = await errorCode {
            _ = try await h.client.deleteSegment(store: id, space: "s", segment: "nope")
        }
        let zero = await errorCode {
            _ = try await h.client.truncateSegment(store: id, space: "s", segment: "g", before: 0)
        }
        let empty = await errorCode { _ = try await h.client.deleteSegment(store: id, space: "", segment: "g") }
        await h.tearDown()

        #expect(absentStore == .notFound)
        #expect(absentSegment == .notFound)
        #expect(zero == .invalidArgument)
        #expect(empty == .invalidArgument)
    }

    @Test func aConnectionToAServerWithoutTheDeleteFeatureRefusesTheRequestAsUnsupportedAndStaysUsable() async throws {
        let (_, output) = AsyncStream<[UInt8]>.makeStream()
        let connection = ClientConnection(serial: 1, url: "ws://old", limits: MuxLimits(), output: output)

        let refused = await errorCode {
            _ = try await connection.open(
                .deleteEntries(space: "s", segment: "g", before: nil), store: UUID(),
                receiver: StreamInbox(autoConsume: true),
                closeAfterOpen: true)
        }

        #expect(refused == .unsupported)
        #expect(connection.isUsable)
        #expect(await connection.openStreamCount == 0)
    }
}
