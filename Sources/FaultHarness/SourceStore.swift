import Foundation
import StreamKitClient
import StreamKitTestSupport

/// A healthy store built for damaging: published through `streamkit serve`, then stopped gracefully (log files
/// only) or killed (WAL files too). Its entries come from `dump` and are checked against what was acknowledged;
/// `verify` must find it sound.
struct SourceStore: Sendable {
    /// How a source store is made.
    struct Shape: Sendable {
        var name: String
        /// Segments and records per produce call, in order, for each run of the server (every run but the
        /// last ends with SIGKILL: the next run recovers the store and writes a WAL file of its own).
        var rounds: [[(segment: String, count: Int)]]
        /// Payload sizes; one record in `largeEvery` (when set) is 20–30 KB instead, so blocks fill.
        var sizes: ClosedRange<Int>
        var largeEvery: Int?
        /// The last run is killed with SIGKILL instead of stopped with SIGTERM.
        var crash: Bool
    }

    var name: String
    /// A data directory holding only this store.
    var data: String
    var id: UUID
    /// The store's directory name inside `data`.
    var directoryName: String
    /// Every entry, in position order (positions 1…count).
    var entries: [DumpedEntry]
    var layout: StoreLayout

    var storeDirectory: String { data + "/" + directoryName }

    /// The shapes of a run: two tiny stores (every byte of which can be damaged in turn) and three small ones
    /// with several blocks and segments: one closed, one crashed, and one crashed twice (two WAL files, the
    /// second starting after the first).
    static func shapes(_ random: inout SplitMix64) -> [Shape] {
        let tiny = [(segment: "t", count: 2), (segment: "t", count: 1)]
        func small() -> [(segment: String, count: Int)] {
            (0..<24).map { _ in
                (
                    segment: ["a", "b", "c"].randomElement(using: &random) ?? "a",
                    count: Int.random(in: 1...8, using: &random)
                )
            }
        }
        return [
            Shape(name: "tiny-closed", rounds: [tiny], sizes: 4...8, largeEvery: nil, crash: false),
            Shape(name: "tiny-crashed", rounds: [tiny], sizes: 4...8, largeEvery: nil, crash: true),
            Shape(name: "small-closed", rounds: [small()], sizes: 10...2_000, largeEvery: 10, crash: false),
            Shape(name: "small-crashed", rounds: [small()], sizes: 10...2_000, largeEvery: 10, crash: true),
            Shape(
                name: "small-crashed-twice", rounds: [small(), small()], sizes: 10...2_000, largeEvery: 10, crash: true),
        ]
    }

    /// Builds a store of `shape` under `directory`.
    /// - Throws: `HarnessError` when the server, a produce, `dump` or `verify` does not do its job on the healthy
    ///   store (then damage would prove nothing).
    static func build(
        _ shape: Shape, binary: String, directory: String, random: inout SplitMix64
    ) async throws -> SourceStore {
        let data = directory + "/" + shape.name
        try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true)
        let id = random.uuid()
        var sent: [String: [[UInt8]]] = [:]
        for (round, batches) in shape.rounds.enumerated() {
            let server = try await ServerUnderTest.start(binary, data: data)
            let client = HarnessClient.make(server.url)
            do {
                for batch in batches {
                    let first = UInt64(sent[batch.segment, default: []].count + 1)
                    var records: [Record] = []
                    for sequence in first..<(first + UInt64(batch.count)) {
                        let large = shape.largeEvery.map { Int.random(in: 0..<$0, using: &random) == 0 } ?? false
                        let size =
                            large
                            ? Int.random(in: 20_000...30_000, using: &random)
                            : Int.random(in: shape.sizes, using: &random)
                        var payload = Array("\(batch.segment)#\(sequence):".utf8)
                        while payload.count < size { payload.append(UInt8.random(in: 0x61...0x7A, using: &random)) }
                        records.append(Record(sequence: sequence, payload: payload))
                        sent[batch.segment, default: []].append(payload)
                    }
                    try await client.produce(store: id, space: "damage", segment: batch.segment, records: records)
                }
            } catch {
                _ = await server.crash()
                throw HarnessError("\(shape.name): producing the source store failed: \(error)")
            }
            _ = await HarnessClient.close(client)
            let crash = shape.crash || round < shape.rounds.count - 1
            let end = crash ? await server.crash() : await server.stop()
            guard crash || end.end == .exited(0) else {
                throw HarnessError("\(shape.name): the server did not stop cleanly (\(end.end)): \(end.stderrTail())")
            }
        }
        let names = try FileManager.default.contentsOfDirectory(atPath: data).filter { !$0.hasPrefix(".") }
        guard names.count == 1, let name = names.first else {
            throw HarnessError("\(shape.name): expected one store in \(data), found \(names)")
        }

        let verify = try await Child.run(binary, ["verify", data], timeout: .seconds(60))
        guard verify.end == .exited(0) else {
            throw HarnessError(
                "\(shape.name): verify calls the healthy source store damaged (\(verify.end)): \(verify.stdoutText) \(verify.stderrTail())"
            )
        }
        let dump = try await Child.run(binary, ["dump", data, "--store", id.uuidString], timeout: .seconds(60))
        let (entries, malformed) = DumpedEntry.parse(dump.stdout)
        let produced = sent.values.reduce(0) { $0 + $1.count }
        let inOrder = entries.enumerated().allSatisfy { $0.element.position == UInt64($0.offset + 1) }
        let intact = entries.allSatisfy { entry in
            let payloads = sent[entry.segment] ?? []
            return entry.sequence >= 1 && Int(entry.sequence) <= payloads.count
                && payloads[Int(entry.sequence) - 1] == entry.payload
        }
        guard dump.end == .exited(0), malformed == 0, entries.count == produced, inOrder, intact else {
            throw HarnessError(
                "\(shape.name): dump of the healthy source store is not what was acknowledged (\(dump.end), \(entries.count) of \(produced) entries, \(malformed) bad lines): \(dump.stderrTail())"
            )
        }
        let layout = try StoreLayout.read(storeDirectory: data + "/" + name)
        guard layout.lastPosition == UInt64(produced) else {
            throw HarnessError("\(shape.name): the files hold positions up to \(layout.lastPosition), not \(produced)")
        }
        return SourceStore(name: shape.name, data: data, id: id, directoryName: name, entries: entries, layout: layout)
    }
}
