import Foundation
import StreamKitEngine
import StreamKitWire

/// `wire.codec`: encode and decode throughput of `entries` frames (batches of `--batch` entries, 100 by
/// default, with `--payload-bytes` payloads, 256 by default) through `StreamKitWire`, in payload MB/s.
///
/// The row is decoding with the default settings (bodies ≥ 4 KiB LZ4-compressed, as they go on the wire).
/// `extras`: `encode_mb_s` (default settings), `encode_raw_mb_s` / `decode_raw_mb_s` (compression off),
/// `frame_bytes_per_entry` and `raw_frame_bytes_per_entry`, `decode_ns_per_entry`, and for scale the Go
/// original's format on a tenth of the records: a JSON array per batch, base64-encoded as its mux frame does
/// (`json_base64_encode_mb_s`, `json_base64_decode_mb_s`, `json_base64_bytes_per_entry`). Each figure is the
/// median of 3 timed passes after one untimed pass.
struct WireCodecScenario: Scenario {
    let name = "wire.codec"
    let summary = "encode/decode MB/s of entries frames (100 × 256 B per frame, LZ4 above 4 KiB) vs JSON+base64"
    let inQuickSuite = true

    func run(_ options: BenchOptions, progress: any ProgressReporting) async throws -> [Measurement] {
        let records = options.records ?? (options.quick ? 500_000 : 2_000_000)
        var generator = PayloadGenerator(payloadBytes: options.payloadBytes)
        let workload = Workload(
            scenario: name, payloads: generator.makeBuffer(count: records), batch: max(1, options.batch),
            durability: .none)
        let batches = Self.batches(workload)
        progress.update(name, done: 0, total: 5)

        let compressed = try Self.measure(batches, threshold: 4096, records: records)
        progress.update(name, done: 2, total: 5)
        let raw = try Self.measure(batches, threshold: .max, records: records)
        progress.update(name, done: 4, total: 5)
        let json = try Self.measureJSON(Array(batches.prefix(max(1, batches.count / 10))))
        progress.update(name, done: 5, total: 5)

        let payloadBytes = Double(workload.payloadBytes)
        func megabytes(_ seconds: Double, _ count: Int) -> String {
            NumberFormat.fixed(seconds > 0 ? Double(count) * payloadBytes / seconds / 1e6 : 0, digits: 1)
        }
        let extras: [String: String] = [
            "encode_mb_s": megabytes(compressed.encodeSeconds, records),
            "encode_raw_mb_s": megabytes(raw.encodeSeconds, records),
            "decode_raw_mb_s": megabytes(raw.decodeSeconds, records),
            "decode_ns_per_entry": NumberFormat.fixed(
                compressed.decodeSeconds * 1e9 / Double(max(1, records)), digits: 1),
            "frame_bytes_per_entry": NumberFormat.fixed(
                Double(compressed.frameBytes) / Double(max(1, records)), digits: 1),
            "raw_frame_bytes_per_entry": NumberFormat.fixed(
                Double(raw.frameBytes) / Double(max(1, records)), digits: 1),
            "json_base64_encode_mb_s": megabytes(json.encodeSeconds, json.records),
            "json_base64_decode_mb_s": megabytes(json.decodeSeconds, json.records),
            "json_base64_bytes_per_entry": NumberFormat.fixed(
                Double(json.frameBytes) / Double(max(1, json.records)), digits: 1),
        ]
        return [workload.measurement(system: .streamkit, seconds: compressed.decodeSeconds, extras: extras)]
    }

    // MARK: - Set-up

    /// The workload as entries of one segment, `batch` per frame, one transaction per batch.
    private static func batches(_ workload: Workload) -> [[Entry]] {
        var out: [[Entry]] = []
        out.reserveCapacity(workload.records / workload.batch + 1)
        var index = 0
        var transactionNumber: UInt64 = 1
        let base: Int64 = 1_700_000_000_000_000_000
        while index < workload.records {
            let end = min(index + workload.batch, workload.records)
            let transaction = UUID()
            var batch: [Entry] = []
            batch.reserveCapacity(end - index)
            for i in index..<end {
                let number = UInt64(i + 1)
                let timestamp = base + Int64(i) * 1_000
                batch.append(
                    Entry(
                        position: number, space: "orders", segment: "order-1", sequence: number, timestamp: timestamp,
                        transactionID: transaction, transactionNumber: transactionNumber, endsTransaction: i == end - 1,
                        payload: Payload(Array(workload.payloads.record(i)))))
            }
            out.append(batch)
            transactionNumber += 1
            index = end
        }
        return out
    }

    // MARK: - Timing

    private struct Figures {
        var encodeSeconds: Double
        var decodeSeconds: Double
        var frameBytes: Int
        var records: Int = 0
    }

    private static func median(_ runs: Int = 3, _ body: () throws -> Double) rethrows -> Double {
        _ = try body()
        var seconds: [Double] = []
        for _ in 0..<runs { seconds.append(try body()) }
        return seconds.sorted()[runs / 2]
    }

    private static func measure(_ batches: [[Entry]], threshold: Int, records: Int) throws -> Figures {
        var encoder = WireEncoder(compressionThreshold: threshold)
        let messages = batches.map { WireMessage.entries($0) }
        var frames: [[UInt8]] = []
        frames.reserveCapacity(messages.count)
        for message in messages { frames.append(try encoder.encode(message)) }
        let frameBytes = frames.reduce(0) { $0 + $1.count }

        let encodeSeconds = try median {
            var bytes = 0
            let start = MonotonicClock.nanoseconds()
            for message in messages { bytes &+= try encoder.withFrame(message) { $0.count } }
            let seconds = MonotonicClock.seconds(from: start, to: MonotonicClock.nanoseconds())
            guard bytes == frameBytes else {
                throw CodecMismatch(detail: "encoded \(bytes) bytes, expected \(frameBytes)")
            }
            return seconds
        }

        let decoder = WireDecoder()
        let expectedPayload = batches.reduce(0) { total, batch in total + batch.reduce(0) { $0 + $1.payload.count } }
        let decodeSeconds = try median {
            var count = 0
            var payload = 0
            let start = MonotonicClock.nanoseconds()
            for frame in frames {
                guard case .entries(let entries) = try decoder.decode(frame: frame) else {
                    throw CodecMismatch(detail: "a frame did not decode to entries")
                }
                count &+= entries.count
                for entry in entries { payload &+= entry.payload.count }
            }
            let seconds = MonotonicClock.seconds(from: start, to: MonotonicClock.nanoseconds())
            guard count == records, payload == expectedPayload else {
                throw CodecMismatch(detail: "decoded \(count) entries (\(payload) payload bytes), expected \(records)")
            }
            return seconds
        }
        return Figures(encodeSeconds: encodeSeconds, decodeSeconds: decodeSeconds, frameBytes: frameBytes)
    }

    /// The Go original's shape: each entry as JSON (payload base64 in the JSON), the frame payload base64 again.
    private struct GoEntry: Codable {
        var position: UInt64
        var space: String
        var segment: String
        var sequence: UInt64
        var timestamp: Int64
        var transactionID: UUID
        var transactionNumber: UInt64
        var endOfTransaction: Bool
        var payload: Data
        var metadata: [String: String]
    }

    private static func measureJSON(_ batches: [[Entry]]) throws -> Figures {
        let goBatches = batches.map { batch in
            batch.map { entry in
                GoEntry(
                    position: entry.position, space: entry.space, segment: entry.segment, sequence: entry.sequence,
                    timestamp: entry.timestamp, transactionID: entry.transactionID,
                    transactionNumber: entry.transactionNumber, endOfTransaction: entry.endsTransaction,
                    payload: Data(entry.payload), metadata: entry.metadata)
            }
        }
        let records = goBatches.reduce(0) { $0 + $1.count }
        let encoder = JSONEncoder()
        let decoder = JSONDecoder()
        var frames: [Data] = []
        let encodeSeconds = try median {
            frames.removeAll(keepingCapacity: true)
            let start = MonotonicClock.nanoseconds()
            for batch in goBatches { frames.append(try encoder.encode(batch).base64EncodedData()) }
            return MonotonicClock.seconds(from: start, to: MonotonicClock.nanoseconds())
        }
        let decodeSeconds = try median {
            var count = 0
            let start = MonotonicClock.nanoseconds()
            for frame in frames {
                guard let json = Data(base64Encoded: frame) else { throw CodecMismatch(detail: "bad base64") }
                count &+= try decoder.decode([GoEntry].self, from: json).count
            }
            let seconds = MonotonicClock.seconds(from: start, to: MonotonicClock.nanoseconds())
            guard count == records else { throw CodecMismatch(detail: "JSON decoded \(count) of \(records)") }
            return seconds
        }
        return Figures(
            encodeSeconds: encodeSeconds, decodeSeconds: decodeSeconds, frameBytes: frames.reduce(0) { $0 + $1.count },
            records: records)
    }
}

/// The codec did not give back what it was given.
struct CodecMismatch: Error, CustomStringConvertible {
    var detail: String
    var description: String { "wire.codec: \(detail)" }
}
