import StreamKitEngine
import StreamKitTestSupport
import Testing

@testable import StreamKitWire

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A read's entries are cut into `entries` messages by count and by bytes, so that every message encodes into one
/// mux frame whatever the entries' sizes, and a record is accepted only if its entry can be read back.
@Suite(.timeLimit(.minutes(2)))
struct EntryBatcherTests {
    private static let limits = MuxLimits()
    /// The engine's default largest payload.
    private static let maxPayload = StoreConfiguration().maxPayloadBytes

    private static func entry(
        _ position: UInt64, payload: Int, metadata: [String: String] = [:], space: String = "s",
        segment: String = "g", random: inout SplitMix64
    ) -> Entry {
        var bytes = [UInt8](repeating: 0, count: payload)
        for index in bytes.indices { bytes[index] = UInt8(truncatingIfNeeded: random.next()) }
        return Entry(
            position: position, space: space, segment: segment, sequence: position,
            timestamp: 1_800_000_000_000_000_000 &+ Int64(truncatingIfNeeded: position), transactionID: UUID(),
            transactionNumber: position, endsTransaction: true, payload: Payload(bytes), metadata: metadata)
    }

    /// The batches of `entries`, each encoded as the server sends it (a data frame) and decoded back.
    private static func batches(
        _ entries: [Entry], entriesPerBatch: Int = 256, batchBytes: Int = 1 << 20, limits: MuxLimits = limits
    ) async throws -> [[Entry]] {
        let batchLimits = EntryBatchLimits(entriesPerBatch: entriesPerBatch, batchBytes: batchBytes, limits: limits)
        var sent: [[Entry]] = []
        let source = AsyncStream<Entry> { continuation in
            for entry in entries { continuation.yield(entry) }
            continuation.finish()
        }
        try await EntryBatcher.forEachBatch(of: source, limits: batchLimits) { batch in
            let frame = try MuxFrame.data(streamID: 2, message: .entries(batch)).encoded(limits: limits)
            #expect(frame.count <= limits.maxFrameBytes)
            guard case .data(_, .entries(let decoded)) = try MuxFrame(decoding: frame, limits: limits) else {
                Issue.record("not an entries data frame")
                return
            }
            sent.append(decoded)
        }
        return sent
    }

    @Test("three entries of 3 MiB go in three messages, each within the frame limit")
    func threeLargeEntriesGoInThreeMessages() async throws {
        var random = SplitMix64(seed: 9)
        let entries = (1...3).map { Self.entry($0, payload: 3 << 20, random: &random) }

        let sent = try await Self.batches(entries)

        #expect(sent.map(\.count) == [1, 1, 1])
        #expect(sent.flatMap { $0 } == entries)
    }

    @Test("many entries of the largest payload with the most metadata a record may carry go one per message")
    func manyLargestEntriesGoOnePerMessage() async throws {
        var random = SplitMix64(seed: 10)
        let batchLimits = EntryBatchLimits(entriesPerBatch: 256, batchBytes: 1 << 20, limits: Self.limits)
        let metadata = Self.largestMetadata(payload: Self.maxPayload, space: "s", segment: "g", limits: batchLimits)
        let entries = (1...6).map { Self.entry($0, payload: Self.maxPayload, metadata: metadata, random: &random) }
        try batchLimits.checkReadable(
            payloadBytes: Self.maxPayload, metadata: metadata, space: "s", segment: "g")

        let sent = try await Self.batches(entries)

        #expect(sent.map(\.count) == [1, 1, 1, 1, 1, 1])
        #expect(sent.flatMap { $0 } == entries)
    }

    @Test("a batch is cut by bytes before the entry that would take it over, and by count")
    func batchesAreCutByBytesAndCount() async throws {
        var random = SplitMix64(seed: 11)
        let medium = (1...10).map { Self.entry($0, payload: 300 << 10, random: &random) }
        let small = (11...1_010).map { Self.entry($0, payload: 10, random: &random) }

        let byBytes = try await Self.batches(medium)
        let byCount = try await Self.batches(small)

        #expect(byBytes.map(\.count) == [3, 3, 3, 1])
        #expect(byCount.map(\.count) == [256, 256, 256, 232])
        #expect(byBytes.flatMap { $0 } == medium)
        #expect(byCount.flatMap { $0 } == small)
    }

    @Test("mixed sizes under tight limits: every message encodes and nothing is lost or reordered")
    func mixedSizesUnderTightLimits() async throws {
        var random = SplitMix64(seed: 12)
        let limits = MuxLimits(wire: WireLimits(maxFrameBytes: 64 << 10, maxMessageBytes: 64 << 10))
        let entries = (1...400).map { position -> Entry in
            let payload = Int(random.next() % 40_000)
            let pairs = Int(random.next() % 4)
            let metadata = Dictionary(
                uniqueKeysWithValues: (0..<pairs).map {
                    ("k\($0)", String(repeating: "v", count: Int(random.next() % 2_000)))
                })
            return Self.entry(
                UInt64(position) * 1_000_003, payload: payload, metadata: metadata, space: "space-\(position % 3)",
                segment: "g", random: &random)
        }

        let sent = try await Self.batches(entries, batchBytes: 48 << 10, limits: limits)

        #expect(sent.flatMap { $0 } == entries)
        #expect(sent.count > 200)
    }

    @Test("each entry's counted bytes bound its encoding, and an entry alone is counted exactly")
    func countedBytesBoundTheEncoding() throws {
        var random = SplitMix64(seed: 13)
        for round in 0..<200 {
            let count = 1 + Int(random.next() % 20)
            let entries = (0..<count).map { _ -> Entry in
                let pairs = Int(random.next() % 3)
                let metadata = Dictionary(uniqueKeysWithValues: (0..<pairs).map { ("key\($0)", "é\(random.next())") })
                var entry = Self.entry(
                    random.next(), payload: Int(random.next() % 300), metadata: metadata,
                    space: random.next() % 2 == 0 ? "s" : "another space", segment: "ségment", random: &random)
                entry.sequence = random.next()
                entry.timestamp = Int64(bitPattern: random.next())
                entry.transactionNumber = random.next()
                return entry
            }
            var encoder = WireEncoder(compressionThreshold: .max)
            let batch = try encoder.encode(.entries(entries))
            let single = try encoder.encode(.entries([entries[0]]))
            let batchBody = try batch.withUnsafeBytes { try FrameHeader.parse($0, limits: WireLimits()).length }
            let singleBody = try single.withUnsafeBytes { try FrameHeader.parse($0, limits: WireLimits()).length }

            let counted =
                EntryBatchCodec.maxCountBytes(count) + entries.map(EntryBatchCodec.maxEncodedBytes).reduce(0, +)

            #expect(batchBody <= counted, "round \(round)")
            #expect(singleBody == EntryBatchCodec.encodedBytes(alone: entries[0]), "round \(round)")
        }
    }

    @Test("a record whose entry fits one message exactly is accepted; one byte more is refused with limitExceeded")
    func recordsAreCheckedAgainstTheMessageLimit() throws {
        let batchLimits = EntryBatchLimits(entriesPerBatch: 256, batchBytes: 1 << 20, limits: Self.limits)
        var metadata = Self.largestMetadata(payload: Self.maxPayload, space: "s", segment: "g", limits: batchLimits)
        let largest = Record(sequence: 1, payload: [UInt8](repeating: 1, count: Self.maxPayload), metadata: metadata)

        try batchLimits.checkReadable(largest, space: "s", segment: "g")
        metadata["k00", default: ""] += "x"
        let tooLarge = Record(sequence: 1, payload: largest.payload, metadata: metadata)
        let error = #expect(throws: StreamKitError.self) {
            try batchLimits.checkReadable(tooLarge, space: "s", segment: "g")
        }

        #expect(error?.code == .limitExceeded)
        #expect(error?.limit == batchLimits.maxEntryBytes)
        #expect(batchLimits.maxEntryBytes == Self.limits.wire.maxMessageBytes - 1)
    }

    @Test("an entry too large for any message fails the read with limitExceeded after the entries before it")
    func entryTooLargeForAnyMessageFailsTheRead() async throws {
        var random = SplitMix64(seed: 14)
        let entries = [
            Self.entry(1, payload: 100, random: &random),
            Self.entry(2, payload: Self.limits.wire.maxMessageBytes, random: &random),
        ]
        let batchLimits = EntryBatchLimits(entriesPerBatch: 256, batchBytes: 1 << 20, limits: Self.limits)
        let source = AsyncStream<Entry> { continuation in
            for entry in entries { continuation.yield(entry) }
            continuation.finish()
        }
        var sent: [[Entry]] = []

        let error = await #expect(throws: StreamKitError.self) {
            try await EntryBatcher.forEachBatch(of: source, limits: batchLimits) { sent.append($0) }
        }

        #expect(error?.code == .limitExceeded)
        #expect(sent == [[entries[0]]])
    }

    /// The most metadata (64 pairs, the engine's default most) a record with `payload` bytes may carry in `space`
    /// and `segment`, by the rule `docs/protocol.md` gives: 57 bytes, plus the space, segment and payload with their
    /// length varints, plus the metadata as encoded, is at most `maxMessageBytes - 1`.
    static func largestMetadata(
        payload: Int, space: String, segment: String, limits: EntryBatchLimits
    )
        -> [String: String]
    {
        func varint(_ value: Int) -> Int { FrameHeader.varintSize(UInt64(value)) }
        let fixed =
            57 + varint(space.utf8.count) + space.utf8.count + varint(segment.utf8.count) + segment.utf8.count
            + varint(payload) + payload
        let pairs = StoreConfiguration().maxMetadataPairs
        // Keys k00…k63: 3 bytes and a 1-byte length; values of 16 KiB up to 2 MiB: a 3-byte length.
        let values = limits.maxEntryBytes - fixed - varint(pairs) - pairs * (1 + 3 + 3)
        let each = values / pairs
        var metadata: [String: String] = [:]
        for index in 0..<pairs {
            let size = each + (index < values % pairs ? 1 : 0)
            precondition((16_384...65_536).contains(size), "values must take 3-byte lengths and fit the string limit")
            metadata["k" + (index < 10 ? "0" : "") + "\(index)"] = String(repeating: "m", count: size)
        }
        return metadata
    }
}
