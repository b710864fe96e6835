import Foundation
import Testing

@testable import StreamKitLogFiles

@Suite struct BlockBuilderTests {
    /// One transaction's records encoded back to back, as a WAL frame holds them.
    private func encodedTransaction(firstSequence: UInt64, count: Int, payloadBytes: Int, timestamp: Int64) -> [UInt8] {
        let space = Array("orders".utf8)
        let segment = Array("order-7".utf8)
        let records = (0..<count).map { i in
            Record(
                sequence: firstSequence + UInt64(i),
                payload: [UInt8](repeating: UInt8(i & 0xFF), count: payloadBytes + i % 5))
        }
        let sizes = records.map { try! RecordCodec.encodedSize(nameBytes: space.count + segment.count, record: $0) }
        var bytes = [UInt8](repeating: 0, count: sizes.reduce(0, +))
        bytes.withUnsafeMutableBytes { out in
            space.withUnsafeBytes { s in
                segment.withUnsafeBytes { g in
                    var o = 0
                    for (i, record) in records.enumerated() {
                        RecordCodec.encode(
                            record, size: sizes[i], at: out.baseAddress! + o, space: s, segment: g,
                            timestamp: timestamp + Int64(i), transactionNumber: 9, transactionID: UUID().uuid,
                            endsTransaction: i == count - 1)
                        o += sizes[i]
                    }
                }
            }
        }
        return bytes
    }

    private struct Emitted: Equatable {
        var firstPosition: UInt64
        var count: Int
        var minTimestamp: Int64
        var maxTimestamp: Int64
        var runs: [SegmentRun]
        var bytes: [UInt8]
    }

    private func build(_ frames: [[UInt8]], firstPosition: UInt64, oneSegment: Bool) throws -> [Emitted] {
        let builder = BlockBuilder(blockBytes: 1024, startPosition: firstPosition)
        var out: [Emitted] = []
        let emit: (RawBlock) throws -> RawBuffer = { block in
            out.append(
                Emitted(
                    firstPosition: block.firstPosition, count: block.count, minTimestamp: block.minTimestamp,
                    maxTimestamp: block.maxTimestamp, runs: block.runs, bytes: Array(block.buffer.bytes)))
            return RawBuffer(capacity: BlockBuilder.bufferCapacity(1024))
        }
        var position = firstPosition
        for frame in frames {
            try frame.withUnsafeBytes {
                try builder.add(records: $0, position: position, oneSegment: oneSegment, emit: emit)
            }
            position += UInt64(
                frame.withUnsafeBytes { records in
                    var n = 0
                    var o = 0
                    while o < records.count {
                        o += RecordView(base: records.baseAddress! + o).size
                        n += 1
                    }
                    return n
                })
        }
        try builder.sealNow(emit)
        return out
    }

    @Test(
        "a transaction spanning several blocks is cut into the same blocks, runs and timestamp bounds as record by record"
    )
    func spansMatchRecordByRecord() throws {
        // Arrange: three transactions of one segment, ~60–70-byte records, 1 KiB blocks (each spans blocks).
        let frames = [
            encodedTransaction(firstSequence: 1, count: 40, payloadBytes: 3, timestamp: 1_000),
            encodedTransaction(firstSequence: 41, count: 1, payloadBytes: 900, timestamp: 2_000),
            encodedTransaction(firstSequence: 42, count: 55, payloadBytes: 10, timestamp: 3_000),
        ]

        // Act
        let spans = try build(frames, firstPosition: 100, oneSegment: true)
        let single = try build(frames, firstPosition: 100, oneSegment: false)

        // Assert
        #expect(spans.count > 4)
        #expect(spans == single)
        #expect(spans.map(\.count).reduce(0, +) == 96)
        #expect(spans.first?.runs.first?.firstSequence == 1)
        #expect(spans.last?.runs.last?.lastSequence == 96)
        #expect(spans.last?.runs.last?.endsTransaction == true)
        for (previous, next) in zip(spans, spans.dropFirst()) {
            #expect(next.firstPosition == previous.firstPosition + UInt64(previous.count))
            #expect(previous.bytes.count <= 1024)
        }
    }
}
