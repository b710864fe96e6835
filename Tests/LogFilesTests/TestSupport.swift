import Foundation
import Logging

@testable import StreamKitLogFiles

/// A directory under the system temp folder, removed when `body` returns or throws.
func withTemporaryDirectory<T>(_ body: (String) async throws -> T) async throws -> T {
    let path = NSTemporaryDirectory() + "streamkit-test-" + UUID().uuidString
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: path) }
    return try await body(path)
}

/// Copies a store directory (as a crash would leave it: whatever the files hold right now).
func copyStore(_ from: String, to: String) throws {
    try? FileManager.default.removeItem(atPath: to)
    try FileManager.default.copyItem(atPath: from, toPath: to)
    try? FileManager.default.removeItem(atPath: to + "/LOCK")
}

/// Copies a store a writer is busy with as `docs/operations.md` says a live backup must: `wal/` first, then
/// `log/` (the writer drops a WAL file only once the log holds its entries), so the copy is a state a crash
/// could leave even though the sealer runs during the copy.
func copyLiveStore(_ from: String, to: String) throws {
    try? FileManager.default.removeItem(atPath: to)
    for directory in ["wal", "log"] {
        try FileManager.default.createDirectory(atPath: to + "/" + directory, withIntermediateDirectories: true)
        for name in try FileManager.default.contentsOfDirectory(atPath: from + "/" + directory) {
            // A file the writer removes meanwhile is simply not in the copy.
            try? FileManager.default.copyItem(
                atPath: from + "/" + directory + "/" + name, toPath: to + "/" + directory + "/" + name)
        }
    }
}

func files(in directory: String, ext: String) -> [String] {
    ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).filter { $0.hasSuffix("." + ext) }
        .sorted()
        .map { directory + "/" + $0 }
}

func fileSize(_ path: String) -> Int {
    ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? NSNumber)?.intValue ?? 0
}

func truncateFile(_ path: String, to size: Int) throws {
    let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
    try handle.truncate(atOffset: UInt64(size))
    try handle.close()
}

func flipBit(_ path: String, at offset: Int, mask: UInt8 = 0x01) throws {
    var data = try Data(contentsOf: URL(fileURLWithPath: path))
    data[offset] ^= mask
    try data.write(to: URL(fileURLWithPath: path))
}

/// A small configuration so tests roll files and seal blocks quickly.
func smallConfiguration(durability: Durability = .none) -> LogConfiguration {
    var configuration = LogConfiguration()
    configuration.durability = durability
    configuration.logger.logLevel = .critical  // recovery warnings are expected here; keep the output readable
    configuration.blockBytes = 1024
    configuration.logFileBytes = 8 * 1024
    configuration.walFileBytes = 4 * 1024
    return configuration
}

/// Deterministic transaction `n` of segment `segment-(n % 3)`.
func transaction(_ n: Int, records: Int = 3, payloadBytes: Int = 40) -> TransactionInput {
    let segment = "segment-\(n % 3)"
    let base = UInt64(n / 3 * records + 1)
    return TransactionInput(
        space: "orders", segment: segment, transactionID: UUID(), transactionNumber: UInt64(n / 3 + 1),
        records: (0..<records).map { i in
            Record(
                sequence: base + UInt64(i),
                payload: Array(
                    "{\"order\":\(n),\"item\":\(i),\"pad\":\"\(String(repeating: "x", count: payloadBytes))\"}".utf8),
                metadata: i == 0 ? ["kind": "created", "n": "\(n)"] : [:])
        })
}

/// The (segment, sequence, payload) identity of entries, for comparing what came back with what went in.
struct Fingerprint: Hashable {
    var segment: String
    var sequence: UInt64
    var payload: [UInt8]
    var metadata: [String: String]

    init(_ entry: Entry) {
        segment = entry.segment
        sequence = entry.sequence
        payload = entry.payload.bytes
        metadata = entry.metadata
    }

    init(_ transaction: TransactionInput, _ record: Record) {
        segment = transaction.segment
        sequence = record.sequence
        payload = record.payload
        metadata = record.metadata
    }
}

func fingerprints(_ transactions: [TransactionInput]) -> [Fingerprint] {
    transactions.flatMap { t in t.records.map { Fingerprint(t, $0) } }
}

/// Every entry of a store, read back through the read-only reader.
func readAll(_ directory: String) throws -> [Entry] {
    try LogReader(directory: directory).entries()
}

/// Appends the transactions one after another and returns what the log assigned.
@discardableResult
func appendAll(_ writer: LogWriter, _ transactions: [TransactionInput]) async throws -> [CommittedTransaction] {
    var out: [CommittedTransaction] = []
    for t in transactions { out.append(try await writer.append(t)) }
    return out
}

/// A closed store of 40 transactions (120 entries) in a dozen or so blocks of one log file.
func sealedStore(_ dir: String) async throws -> [TransactionInput] {
    let transactions = (0..<40).map { transaction($0) }
    var configuration = smallConfiguration()
    configuration.logFileBytes = 1 << 20
    let opened = try LogWriter.open(directory: dir, configuration: configuration)
    try await appendAll(opened.writer, transactions)
    await opened.writer.close()
    return transactions
}
