import Foundation
import StreamKitClient
import StreamKitTestSupport
import StreamKitWire
import Testing

/// Entries of every size a produce accepts can be read back over the WebSocket: the server cuts a read's
/// `entries` messages by bytes as well as by count, and refuses (`limitExceeded`) a record whose entry could not
/// go out in one message. Real client, real server, default limits.
@Suite(.timeLimit(.minutes(3)))
struct LargeEntryTests {
    /// The engine's default largest payload (4 MiB).
    private static let maxPayload = StoreConfiguration().maxPayloadBytes

    private static func payload(_ count: Int, seed: UInt64) -> [UInt8] {
        var random = SplitMix64(seed: seed)
        var bytes = [UInt8](repeating: 0, count: count)
        bytes.withUnsafeMutableBytes { raw in
            for offset in stride(from: 0, to: raw.count, by: 8) {
                withUnsafeBytes(of: random.next()) { word in
                    raw[offset..<min(offset + 8, raw.count)].copyBytes(from: word.prefix(raw.count - offset))
                }
            }
        }
        return bytes  // Random: the frames go uncompressed, at their full size.
    }

    /// Every entry of the segment through the three reads (segment, space, several spaces).
    private static func readAll(
        _ h: ClientHarness, space: String, segment: String
    ) async throws
        -> (segment: [Entry], space: [Entry], spaces: [Entry])
    {
        let bySegment = try await collect(h.client.consumeSegment(store: h.storeID, space: space, segment: segment))
        let bySpace = try await collect(h.client.consumeSpace(store: h.storeID, space: space))
        let bySpaces = try await collect(h.client.consume(store: h.storeID, spaces: [space: .start, "empty": .start]))
        return (bySegment, bySpace, bySpaces)
    }

    @Test("three records of 3 MiB produced over the WebSocket are read back by every read")
    func threeRecordsOfThreeMebibytesReadBack() async throws {
        let h = try await ClientHarness.make(.webSocket)
        let records = (1...3).map { Record(sequence: UInt64($0), payload: Self.payload(3 << 20, seed: UInt64($0))) }

        _ = try await h.client.produce(store: h.storeID, space: "s", segment: "g", records: records)
        let read = try await Self.readAll(h, space: "s", segment: "g")

        #expect(try await h.client.peek(store: h.storeID, space: "s", segment: "g")?.sequence == 3)
        #expect(read.segment.map(\.payload) == records.map { Payload($0.payload) })
        #expect(read.space.map(\.sequence) == [1, 2, 3])
        #expect(read.spaces.map(\.sequence) == [1, 2, 3])
        await h.tearDown()
    }

    @Test("many records of the largest payload are read back in one consume")
    func manyLargestRecordsReadBackInOneConsume() async throws {
        let h = try await ClientHarness.make(.webSocket)
        let payload = Self.payload(Self.maxPayload, seed: 7)
        let records = (1...5).map { Record(sequence: UInt64($0), payload: payload) }  // 20 MiB: 5 messages at least.

        _ = try await h.client.produce(store: h.storeID, space: "s", segment: "g", records: records)
        let read = try await Self.readAll(h, space: "s", segment: "g")

        #expect(read.segment.count == 5)
        #expect(read.segment.allSatisfy { $0.payload == Payload(payload) })
        #expect(read.space.map(\.sequence) == Array(1...5))
        #expect(read.spaces.map(\.sequence) == Array(1...5))
        await h.tearDown()
    }

    @Test(
        "the largest record (largest payload, most metadata a store accepts) reads back; a metadata byte more is refused"
    )
    func largestRecordReadsBackAndOneByteMoreIsRefused() async throws {
        let h = try await ClientHarness.make(.webSocket)
        let payload = Self.payload(Self.maxPayload, seed: 8)
        var metadata = Self.largestMetadata()
        let largest = Record(sequence: 1, payload: payload, metadata: metadata)
        metadata["k00", default: ""] += "x"
        let tooLarge = Record(sequence: 2, payload: payload, metadata: metadata)

        _ = try await h.client.produce(store: h.storeID, space: "s", segment: "g", records: [largest])
        let refused = await errorCode {
            _ = try await h.client.produce(store: h.storeID, space: "s", segment: "g", records: [tooLarge])
        }
        let peeked = try await h.client.peek(store: h.storeID, space: "s", segment: "g")
        let read = try await Self.readAll(h, space: "s", segment: "g")

        #expect(refused == .limitExceeded)
        #expect(peeked?.metadata == largest.metadata)
        #expect(read.segment.count == 1)
        #expect(read.segment.first?.payload == Payload(payload))
        #expect(read.segment.first?.metadata == largest.metadata)
        #expect(read.space.count == 1 && read.spaces.count == 1)
        await h.tearDown()
    }

    /// The most metadata a store accepts by default: the engine's 64 pairs, keys `k00`…`k63`, keys and values
    /// adding up to exactly `maxMetadataBytes` (64 KiB) in UTF-8.
    private static func largestMetadata() -> [String: String] {
        let configuration = StoreConfiguration()
        let pairs = configuration.maxMetadataPairs
        let values = configuration.maxMetadataBytes - pairs * 3
        var metadata: [String: String] = [:]
        for index in 0..<pairs {
            let size = values / pairs + (index < values % pairs ? 1 : 0)
            metadata["k" + (index < 10 ? "0" : "") + "\(index)"] = String(repeating: "m", count: size)
        }
        return metadata
    }
}
