import Foundation
import StreamKitTestSupport
import StreamKitWire
import Testing

@testable import StreamKitClient

/// A store's own retention policy through the client, over both transports.
struct RetentionClientTests {
    @Test(arguments: TransportKind.allCases)
    func aStoresOwnPolicyIsSetReadAndClearedAndBadBoundsAreRefused(_ kind: TransportKind) async throws {
        let h = try await ClientHarness.make(kind)
        let id = h.storeID
        let policy = LogRetention.Policy(maxAge: .seconds(7 * 86_400), maxEntriesPerSegment: 100)

        let absent = try await h.client.retention(store: id)
        let setOnAbsent = await errorCode { try await h.client.setRetentionPolicy(store: id, policy) }
        try await h.client.publish(store: id, space: "s", segment: "g", payload: [1])
        let set = try await h.client.setRetentionPolicy(store: id, policy)
        let read = try await h.client.retention(store: id)
        let zero = await errorCode { try await h.client.setRetentionPolicy(store: id, .init(maxBytes: 0)) }
        let cleared = try await h.client.setRetentionPolicy(store: id, nil)
        let readCleared = try await h.client.retention(store: id)
        await h.tearDown()

        #expect(absent == StoreRetention(own: nil, configured: .init()))
        #expect(setOnAbsent == .notFound)
        #expect(set.own == policy)
        #expect(read == StoreRetention(own: policy, configured: .init()))
        #expect(read.effective == policy)
        #expect(zero == .invalidArgument)
        #expect(cleared.own == nil)
        #expect(readCleared.own == nil)
    }

    @Test func aConnectionToAServerWithoutTheRetentionFeatureRefusesAsUnsupportedAndStaysUsable() async throws {
        let (_, output) = AsyncStream<[UInt8]>.makeStream()
        let connection = ClientConnection(serial: 1, url: "ws://old", limits: MuxLimits(), output: output)

        let refused = await errorCode {
            _ = try await connection.open(
                .setRetention(nil), store: UUID(), receiver: StreamInbox(autoConsume: true), closeAfterOpen: true)
        }

        #expect(refused == .unsupported)
        #expect(connection.isUsable)
        #expect(await connection.openStreamCount == 0)
    }
}
