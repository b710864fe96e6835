import Foundation
import Testing

@testable import StreamKitLogFiles

/// The row encoding of a group commit (`BatchCodec`): transactions of several segments in one LZ4 body with
/// relative timestamps and implicit positions, its runs, and what damage and bad inputs do.
@Suite struct BatchCodecTests {
    let firstPosition: UInt64 = 1_000
    let firstTimestamp: Int64 = 1_700_000_000_000_000_000

    /// Four transactions over three segments: one segment twice (not adjacent), metadata, empty payloads.
    func mixedTransactions() -> [TransactionInput] {
        [
            TransactionInput(
                space: "orders", segment: "o-1", transactionID: UUID(), transactionNumber: 1,
                records: [
                    Record(sequence: 1, payload: Array("created".utf8), metadata: ["kind": "created", "by": "alice"]),
                    Record(sequence: 2, payload: []),
                    Record(sequence: 3, payload: Array(repeating: 7, count: 300)),
                ]),
            TransactionInput(
                space: "orders", segment: "o-2", transactionID: UUID(), transactionNumber: 4,
                records: [Record(sequence: 10, payload: [], metadata: ["empty": ""])]),
            TransactionInput(
                space: "orders", segment: "o-1", transactionID: UUID(), transactionNumber: 2,
                records: [Record(sequence: 4, payload: [1, 2, 3]), Record(sequence: 5, payload: [4])]),
            TransactionInput(
                space: "audit", segment: "o-1", transactionID: UUID(), transactionNumber: 9,
                records: [
                    Record(sequence: 1, payload: Array("é ünïcode".utf8), metadata: ["ключ": "значение"]),
                    Record(sequence: 2, payload: []),
                ]),
        ]
    }

    /// The entries the transactions should decode to, committed at `firstPosition` / `firstTimestamp`.
    func expectedEntries(_ transactions: [TransactionInput]) -> [Entry] {
        var entries: [Entry] = []
        for transaction in transactions {
            for (i, record) in transaction.records.enumerated() {
                entries.append(
                    Entry(
                        position: firstPosition + UInt64(entries.count), space: transaction.space,
                        segment: transaction.segment, sequence: record.sequence,
                        timestamp: firstTimestamp + Int64(entries.count), transactionID: transaction.transactionID,
                        transactionNumber: transaction.transactionNumber,
                        endsTransaction: i == transaction.records.count - 1, payload: Payload(record.payload),
                        metadata: record.metadata))
            }
        }
        return entries
    }

    func decode(
        _ batch: BatchCodec.EncodedBatch, body: [UInt8]? = nil, codec: UInt8? = nil, rawLength: Int? = nil,
        checksum: UInt32? = nil, entryCount: Int? = nil, firstPosition: UInt64? = nil, firstTimestamp: Int64? = nil
    ) throws -> [Entry] {
        try BatchCodec.decode(
            body: body ?? batch.body, codec: codec ?? batch.codec, rawLength: rawLength ?? batch.rawLength,
            checksum: checksum ?? batch.checksum, entryCount: entryCount ?? batch.entryCount,
            firstPosition: firstPosition ?? self.firstPosition, firstTimestamp: firstTimestamp ?? self.firstTimestamp)
    }

    /// Whether `body` throws a `.corrupt` LogFilesError (and not anything else).
    func isCorrupt(_ body: () throws -> Any) -> Bool {
        do {
            _ = try body()
            return false
        } catch let error as LogFilesError {
            return error.code == .corrupt && !error.message.isEmpty
        } catch {
            return false
        }
    }

    func isInvalidArgument(_ transactions: [TransactionInput]) -> Bool {
        do {
            _ = try BatchCodec.encode(transactions)
            return false
        } catch let error as LogFilesError {
            return error.code == .invalidArgument
        } catch {
            return false
        }
    }

    /// `runsBytes` with the CRC recomputed over whatever follows it, so the bytes reach the run parser.
    func withValidCRC(_ rest: [UInt8]) -> [UInt8] {
        let crc = CRC32C.checksum(rest)
        return [UInt8(crc & 0xFF), UInt8(crc >> 8 & 0xFF), UInt8(crc >> 16 & 0xFF), UInt8(crc >> 24)] + rest
    }

    /// Re-seals a raw (codec 0) body after `edit` changed its records, so only the record checks can object.
    func resealed(
        _ batch: BatchCodec.EncodedBatch, _ edit: (inout [UInt8]) -> Void
    ) -> (body: [UInt8], checksum: UInt32) {
        var body = batch.body
        edit(&body)
        return (body, CRC32C.checksum(body))
    }

    // MARK: - Round trips

    @Test(
        "a batch of several transactions over several segments decodes to its entries: positions and timestamps from the row's first ones, sequences, transaction ids and numbers, transaction ends, payloads and metadata"
    )
    func roundTrip() throws {
        let transactions = mixedTransactions()
        let batch = try BatchCodec.encode(transactions)

        let entries = try decode(batch)

        #expect(batch.entryCount == 8)
        #expect(entries == expectedEntries(transactions))
        #expect(entries.map(\.endsTransaction) == [false, false, true, true, false, true, false, true])
    }

    @Test("the entries of a batch share one decompressed array for their payloads")
    func entriesShareOneBuffer() throws {
        let batch = try BatchCodec.encode(mixedTransactions())

        let entries = try decode(batch)

        let bases = Set(
            entries.map { entry in entry.payload.storage.withUnsafeBytes { Int(bitPattern: $0.baseAddress) } })
        #expect(bases.count == 1)
    }

    @Test("the same batch committed at other positions and timestamps decodes to those")
    func positionsAndTimestampsComeFromTheRow() throws {
        let batch = try BatchCodec.encode(mixedTransactions())

        let entries = try decode(batch, firstPosition: 1, firstTimestamp: -5)

        #expect(entries.map(\.position) == Array(1...8))
        #expect(entries.map(\.timestamp) == Array(-5...2))
    }

    @Test(
        "a batch's runs: one per segment in order of first appearance, relative timestamps, and absolute ones after a round trip through runsBytes"
    )
    func runsRoundTrip() throws {
        let transactions = mixedTransactions()
        let batch = try BatchCodec.encode(transactions)

        let decoded = try BatchCodec.decodeRuns(batch.runsBytes, firstTimestamp: firstTimestamp)

        let expected = [
            SegmentRun(
                space: "orders", segment: "o-1", count: 5, firstSequence: 1, lastSequence: 5, firstTimestamp: 0,
                lastTimestamp: 5, lastTransactionNumber: 2, endsTransaction: true),
            SegmentRun(
                space: "orders", segment: "o-2", count: 1, firstSequence: 10, lastSequence: 10, firstTimestamp: 3,
                lastTimestamp: 3, lastTransactionNumber: 4, endsTransaction: true),
            SegmentRun(
                space: "audit", segment: "o-1", count: 2, firstSequence: 1, lastSequence: 2, firstTimestamp: 6,
                lastTimestamp: 7, lastTransactionNumber: 9, endsTransaction: true),
        ]
        #expect(batch.runs == expected)
        #expect(
            decoded
                == expected.map { run in
                    var run = run
                    run.firstTimestamp += firstTimestamp
                    run.lastTimestamp += firstTimestamp
                    return run
                })
    }

    @Test("incompressible payloads are stored raw, compressible ones with LZ4, and both decode the same")
    func incompressibleStoredRaw() throws {
        var generator = SystemRandomNumberGenerator()
        // One record: several would share compressible headers (names, transaction id) that LZ4 shrinks.
        let random = [Record(sequence: 1, payload: (0..<16_000).map { _ in generator.next() })]
        let repetitive = (0..<20).map { i in
            Record(sequence: UInt64(i + 1), payload: Array(repeating: UInt8(i), count: 2_000))
        }
        let noise = [
            TransactionInput(space: "s", segment: "noise", transactionID: UUID(), transactionNumber: 1, records: random)
        ]
        let zeros = [
            TransactionInput(
                space: "s", segment: "zeros", transactionID: UUID(), transactionNumber: 1, records: repetitive)
        ]

        let raw = try BatchCodec.encode(noise)
        let lz4 = try BatchCodec.encode(zeros)
        let uncompressed = try BatchCodec.encode(zeros, compress: false)

        #expect(raw.codec == BlockHeader.Codec.raw.rawValue)
        #expect(raw.body.count == raw.rawLength)
        #expect(lz4.codec == BlockHeader.Codec.lz4.rawValue)
        #expect(lz4.body.count < lz4.rawLength / 10)
        #expect(uncompressed.codec == BlockHeader.Codec.raw.rawValue)
        #expect(uncompressed.body.count == lz4.rawLength)
        #expect(try decode(raw) == expectedEntries(noise))
        #expect(try decode(lz4) == expectedEntries(zeros))
        #expect(try decode(uncompressed) == expectedEntries(zeros))
        #expect(raw.checksum == CRC32C.checksum(raw.body))
    }

    @Test("a batch that LZ4 shrinks by its largest ratio still decodes (the raw-length bound does not reject it)")
    func maximalCompressionDecodes() throws {
        let transactions = [
            TransactionInput(
                space: "s", segment: "zeros", transactionID: UUID(), transactionNumber: 1,
                records: [Record(sequence: 1, payload: [UInt8](repeating: 0, count: 8 << 20))])
        ]
        let batch = try BatchCodec.encode(transactions)

        let entries = try decode(batch)

        #expect(batch.codec == BlockHeader.Codec.lz4.rawValue)
        #expect(batch.rawLength / batch.body.count >= 200)
        #expect(entries.count == 1)
        #expect(entries.first?.payload.bytes == transactions[0].records[0].payload)
    }

    // MARK: - Damage

    @Test("a bit flipped anywhere in the body is corruption")
    func flippedBitIsCorrupt() throws {
        for compress in [true, false] {
            let batch = try BatchCodec.encode(mixedTransactions(), compress: compress)
            for offset in batch.body.indices {
                var body = batch.body
                body[offset] ^= UInt8(1 << (offset % 8))
                #expect(isCorrupt { try decode(batch, body: body) }, "compress \(compress), flip at \(offset)")
            }
        }
    }

    @Test("a truncated body is corruption, however short")
    func truncatedBodyIsCorrupt() throws {
        for compress in [true, false] {
            let batch = try BatchCodec.encode(mixedTransactions(), compress: compress)
            for length in 0..<batch.body.count {
                #expect(isCorrupt { try decode(batch, body: Array(batch.body.prefix(length))) }, "length \(length)")
            }
        }
    }

    @Test("a wrong entry count, raw length, codec or checksum is corruption")
    func wrongColumnsAreCorrupt() throws {
        let batch = try BatchCodec.encode(mixedTransactions())
        let raw = try BatchCodec.encode(mixedTransactions(), compress: false)

        for count in [0, -1, batch.entryCount - 1, batch.entryCount + 1, Int(UInt32.max), Int.max] {
            #expect(isCorrupt { try decode(batch, entryCount: count) }, "entry count \(count)")
            #expect(isCorrupt { try decode(raw, entryCount: count) }, "raw, entry count \(count)")
        }
        for length in [-1, 0, batch.rawLength - 1, batch.rawLength + 1, batch.body.count, Int(Int32.max), Int.max] {
            #expect(isCorrupt { try decode(batch, rawLength: length) }, "raw length \(length)")
        }
        for length in [-1, 0, raw.rawLength - 1, raw.rawLength + 1, Int.max] {
            #expect(isCorrupt { try decode(raw, rawLength: length) }, "raw codec, raw length \(length)")
        }
        #expect(isCorrupt { try decode(batch, codec: 2) })
        #expect(isCorrupt { try decode(batch, codec: BlockHeader.Codec.raw.rawValue) })
        #expect(isCorrupt { try decode(raw, codec: BlockHeader.Codec.lz4.rawValue) })
        #expect(isCorrupt { try decode(batch, checksum: batch.checksum ^ 1) })
    }

    @Test("a first position or timestamp that cannot start the batch's entries is corruption, not a crash")
    func positionAndTimestampOverflowAreCorrupt() throws {
        let batch = try BatchCodec.encode(mixedTransactions())

        #expect(isCorrupt { try decode(batch, firstPosition: 0) })
        #expect(isCorrupt { try decode(batch, firstPosition: UInt64.max - 2) })
        #expect(isCorrupt { try decode(batch, firstTimestamp: Int64.max - 2) })
        #expect(
            try decode(batch, firstPosition: UInt64.max - 7, firstTimestamp: Int64.max - 7).last?.position == UInt64.max
        )
    }

    @Test("records whose relative timestamps are not 0, 1, 2 … are corruption even under a valid checksum")
    func relativeTimestampsChecked() throws {
        let batch = try BatchCodec.encode(mixedTransactions(), compress: false)
        let secondRecord = batch.body.withUnsafeBytes { RecordView(base: $0.baseAddress!).size }

        // Record 1 gets relative timestamp 0: still within the row's range and not decreasing.
        let (body, checksum) = resealed(batch) { $0[secondRecord + 24] = 0 }

        #expect(isCorrupt { try decode(batch, body: body, checksum: checksum) })
    }

    @Test("a batch whose last record does not end its transaction is corruption even under a valid checksum")
    func lastRecordEndsTransaction() throws {
        let batch = try BatchCodec.encode(
            [
                TransactionInput(
                    space: "s", segment: "g", transactionID: UUID(), transactionNumber: 1,
                    records: [Record(sequence: 1, payload: [5])])
            ],
            compress: false)

        let (body, checksum) = resealed(batch) { $0[4] = 0 }

        #expect(isCorrupt { try decode(batch, body: body, checksum: checksum) })
    }

    @Test(
        "garbage runs bytes throw corruption and never crash: random bytes, truncations and flips of valid ones, with and without a valid checksum"
    )
    func garbageRunsThrow() throws {
        let batch = try BatchCodec.encode(mixedTransactions())
        let valid = batch.runsBytes
        var generator = SystemRandomNumberGenerator()
        var inputs: [[UInt8]] = []
        for length in 0..<300 {
            let random = (0..<length).map { _ in UInt8.random(in: 0...255, using: &generator) }
            inputs.append(random)
            inputs.append(withValidCRC(random))
        }
        for length in 0..<valid.count {
            inputs.append(Array(valid.prefix(length)))
            inputs.append(withValidCRC(Array(valid.dropFirst(4).prefix(max(0, length - 4)))))
        }
        for offset in valid.indices {
            var flipped = valid
            flipped[offset] ^= 0x80
            inputs.append(flipped)
        }
        // A run count far beyond the bytes, name lengths past the end, a run count of zero, bytes left over.
        let rest = Array(valid.dropFirst(4))
        inputs.append(withValidCRC([0xFF, 0xFF, 0xFF, 0xFF] + rest.dropFirst(4)))
        inputs.append(withValidCRC([0, 0, 0, 0] + rest.dropFirst(4)))
        inputs.append(withValidCRC(rest + [0]))
        var longName = rest
        longName[4] = 0xFF
        longName[5] = 0xFF
        inputs.append(withValidCRC(longName))

        for input in inputs {
            #expect(isCorrupt { try BatchCodec.decodeRuns(input, firstTimestamp: firstTimestamp) }, "\(input)")
        }
    }

    @Test("runs with impossible counts or timestamps, or timestamps that overflow the row's first one, are corruption")
    func impossibleRunsAreCorrupt() throws {
        let good = SegmentRun(
            space: "s", segment: "g", count: 3, firstSequence: 1, lastSequence: 3, firstTimestamp: 0, lastTimestamp: 2,
            lastTransactionNumber: 1, endsTransaction: true)
        var noEntries = good
        noEntries.count = 0
        var backwards = good
        backwards.lastTimestamp = -1
        var tooDense = good
        tooDense.lastTimestamp = 1
        var negative = good
        negative.firstTimestamp = -1

        #expect(
            try BatchCodec.decodeRuns(BatchCodec.encodeRuns([good]), firstTimestamp: 10).map(\.lastTimestamp) == [12])
        for run in [noEntries, backwards, tooDense, negative] {
            #expect(isCorrupt { try BatchCodec.decodeRuns(BatchCodec.encodeRuns([run]), firstTimestamp: 10) }, "\(run)")
        }
        #expect(isCorrupt { try BatchCodec.decodeRuns(BatchCodec.encodeRuns([good]), firstTimestamp: Int64.max - 1) })
        #expect(isCorrupt { try BatchCodec.decodeRuns(BatchCodec.encodeRuns([]), firstTimestamp: 10) })
    }

    // MARK: - Invalid inputs

    @Test("no transactions, an empty transaction, an oversize name or metadata key are invalid arguments")
    func invalidInputs() {
        let long = String(repeating: "x", count: RecordCodec.maxNameBytes + 1)
        func one(
            space: String = "s", segment: String = "g", records: [Record] = [Record(sequence: 1, payload: [])]
        ) -> TransactionInput {
            TransactionInput(
                space: space, segment: segment, transactionID: UUID(), transactionNumber: 1, records: records)
        }

        #expect(isInvalidArgument([]))
        #expect(isInvalidArgument([one(), one(records: [])]))
        #expect(isInvalidArgument([one(space: long)]))
        #expect(isInvalidArgument([one(), one(segment: long)]))
        #expect(isInvalidArgument([one(records: [Record(sequence: 1, payload: [], metadata: [long: "v"])])]))
        #expect(!isInvalidArgument([one(space: String(repeating: "x", count: RecordCodec.maxNameBytes))]))
    }
}
