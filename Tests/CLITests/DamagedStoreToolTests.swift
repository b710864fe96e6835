import Foundation
import Logging
import StreamKitEngine
import Testing

/// `inspect`, `verify`, `dump` and `replay` on damaged copies of a store: never status 0 with data left out;
/// the damage is named on stderr with its file and offset; `--skip-damaged` reads past it.
@Suite struct DamagedStoreToolTests {
    /// A store directory written by the engine: `closed` transactions of 10 records sealed into the log by a
    /// close, then `open` more committed to the WAL only (large blocks) and copied while the store is open,
    /// as a crash leaves it. One segment, so sequence n is position n.
    func makeStore(closed: Int, open: Int) async throws -> (root: String, id: UUID, store: String) {
        let root = temporaryPath("damaged")
        let id = UUID()
        let store = root + "/" + id.uuidString.lowercased()
        var configuration = StoreConfiguration()
        configuration.log.durability = .fsync  // an acknowledged frame is on disk before the copy
        configuration.log.blockBytes = 2048
        configuration.log.logger.logLevel = .error
        configuration.logger.logLevel = .error
        var next: UInt64 = 1
        func produce(_ store: Store, _ transactions: Int) async throws {
            for _ in 0..<transactions {
                let records = (next..<(next + 10)).map { Record(sequence: $0, payload: Array("entry-\($0)".utf8)) }
                try await store.produce(space: "s", segment: "g", records: records)
                next += 10
            }
        }
        let first = try await Store.open(id: id, directory: store, configuration: configuration)
        try await produce(first, closed)
        await first.close()
        guard open > 0 else { return (root, id, store) }
        configuration.log.blockBytes = 1 << 20
        let live = root + "-live"
        try FileManager.default.copyItem(atPath: store, toPath: live)
        defer { try? FileManager.default.removeItem(atPath: live) }
        let second = try await Store.open(id: id, directory: live, configuration: configuration)
        try await produce(second, open)
        try FileManager.default.removeItem(atPath: store)
        try FileManager.default.createDirectory(atPath: store, withIntermediateDirectories: true)
        for directory in ["wal", "log"] {
            try FileManager.default.copyItem(atPath: live + "/" + directory, toPath: store + "/" + directory)
        }
        await second.close()
        return (root, id, store)
    }

    func flipBit(_ path: String, at offset: Int) throws {
        var bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        bytes[offset] ^= 0x10
        try bytes.write(to: URL(fileURLWithPath: path))
    }

    func onlyFile(_ directory: String, _ ext: String) throws -> String {
        let names = try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasSuffix("." + ext) }
        try #require(names.count == 1, "\(names)")
        return directory + "/" + names[0]
    }

    /// The payloads `dump` printed, as sequences.
    func sequences(_ run: Finished) -> [Int] {
        run.stdoutLines.compactMap { Int($0.dropFirst("entry-".count)) }
    }

    @Test(
        "a bit flipped in a log file's header: dump, inspect and verify exit 2 naming the file and offset; dump --skip-damaged prints every entry"
    )
    func logFileHeader() async throws {
        let (root, id, store) = try await makeStore(closed: 30, open: 0)
        defer { try? FileManager.default.removeItem(atPath: root) }
        let log = try onlyFile(store + "/log", "log")
        try flipBit(log, at: 20)
        let name = URL(fileURLWithPath: log).lastPathComponent

        let dump = try await ChildProcess.run(["dump", root, "--store", id.uuidString, "--format", "raw"])
        #expect(dump.status == 2)
        #expect(dump.stdout.isEmpty)
        #expect(dump.stderr.contains("\(name) @60"), "\(dump.stderr)")
        #expect(dump.stderr.contains("--skip-damaged"))

        let inspect = try await ChildProcess.run(["inspect", root])
        #expect(inspect.status == 2)
        #expect(inspect.stdout.contains("DAMAGE: \(log) @60"), "\(inspect.stdout)")
        #expect(inspect.stdout.contains("g: 300 entries"))
        #expect(inspect.stderr.contains("\(name) @60"))
        let json = try await ChildProcess.run(["inspect", root, "--json"])
        #expect(json.status == 2)
        let parsed = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [[String: Any]]
        #expect((parsed?.first?["damage"] as? [String])?.count == 1)
        #expect(try await ChildProcess.run(["verify", root]).status == 2)

        let skipping = try await ChildProcess.run([
            "dump", root, "--store", id.uuidString, "--format", "raw", "--skip-damaged",
        ])
        #expect(skipping.status == 0)
        #expect(sequences(skipping) == Array(1...300))
        #expect(skipping.stderr.contains("skipped damaged data: \(log) @60"), "\(skipping.stderr)")
        #expect(skipping.stderr.contains("no entry skipped"))
    }

    @Test(
        "a bit flipped in a WAL frame with frames after it: dump prints the entries before it and exits 2; --skip-damaged prints the rest and names the positions it skipped"
    )
    func walFrameInTheMiddle() async throws {
        let (root, id, store) = try await makeStore(closed: 0, open: 20)
        defer { try? FileManager.default.removeItem(atPath: root) }
        let wal = try onlyFile(store + "/wal", "wal")
        let size = try #require(try FileManager.default.attributesOfItem(atPath: wal)[.size] as? Int)
        try flipBit(wal, at: size / 2)
        let name = URL(fileURLWithPath: wal).lastPathComponent

        let dump = try await ChildProcess.run(["dump", root, "--store", id.uuidString, "--format", "raw"])
        #expect(dump.status == 2)
        let before = sequences(dump)
        #expect(!before.isEmpty && before.count < 200 && before.count % 10 == 0, "\(before.count)")
        #expect(before == Array(1...before.count))
        let skipped = "positions \(before.count + 1)…\(before.count + 10) skipped"
        #expect(dump.stderr.contains(name + " @"), "\(dump.stderr)")
        #expect(dump.stderr.contains(skipped), "\(dump.stderr)")

        let skipping = try await ChildProcess.run([
            "dump", root, "--store", id.uuidString, "--format", "raw", "--skip-damaged",
        ])
        #expect(skipping.status == 0)
        #expect(sequences(skipping) == Array(1...before.count) + Array((before.count + 11)...200))
        #expect(skipping.stderr.contains(skipped))

        let inspect = try await ChildProcess.run(["inspect", root])
        #expect(inspect.status == 2)
        #expect(inspect.stderr.contains(name + " @"))
    }

    @Test(
        "a log cut below where the WAL starts: dump exits 2 naming the missing positions; --skip-damaged prints the log and the WAL around the gap"
    )
    func logCutBelowTheWAL() async throws {
        let (root, id, store) = try await makeStore(closed: 20, open: 10)
        defer { try? FileManager.default.removeItem(atPath: root) }
        let log = try onlyFile(store + "/log", "log")
        let size = try #require(try FileManager.default.attributesOfItem(atPath: log)[.size] as? Int)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        try handle.truncate(atOffset: UInt64(size / 2))
        try handle.close()

        let dump = try await ChildProcess.run(["dump", root, "--store", id.uuidString, "--format", "raw"])
        #expect(dump.status == 2)
        let before = sequences(dump)
        #expect(!before.isEmpty && before.count < 200)
        #expect(dump.stderr.contains("positions \(before.count + 1)…200 skipped"), "\(dump.stderr)")
        #expect(dump.stderr.contains(".wal @"))

        let skipping = try await ChildProcess.run([
            "dump", root, "--store", id.uuidString, "--format", "raw", "--skip-damaged",
        ])
        #expect(skipping.status == 0)
        #expect(sequences(skipping) == Array(1...before.count) + Array(201...300))
        #expect(try await ChildProcess.run(["verify", root]).status == 2)
        #expect(try await ChildProcess.run(["inspect", root]).status == 2)
    }

    @Test(
        "a block whose body fails its CRC in the middle of a closed store's log: inspect reports it with file and offset and exits 2"
    )
    func blockBodyFoundByInspect() async throws {
        let (root, id, store) = try await makeStore(closed: 30, open: 0)
        defer { try? FileManager.default.removeItem(atPath: root) }
        let log = try onlyFile(store + "/log", "log")
        try flipBit(log, at: 200)  // the first block's body; its header is intact

        let inspect = try await ChildProcess.run(["inspect", root])
        #expect(inspect.status == 2)
        #expect(inspect.stdout.contains("DAMAGE: \(log) @64: block checksum mismatch"), "\(inspect.stdout)")
        #expect(inspect.stderr.contains("\(URL(fileURLWithPath: log).lastPathComponent) @64"))

        let dump = try await ChildProcess.run(["dump", root, "--store", id.uuidString, "--format", "raw"])
        #expect(dump.status == 2)
        #expect(dump.stdout.isEmpty)
        let skipping = try await ChildProcess.run([
            "dump", root, "--store", id.uuidString, "--format", "raw", "--skip-damaged",
        ])
        #expect(skipping.status == 0)
        let read = sequences(skipping)
        #expect(read.last == 300 && read.first.map { $0 > 1 } == true)
        #expect(skipping.stderr.contains("positions 1…\(read[0] - 1) skipped"))
    }

    @Test(
        "replay stops at damage with status 2 after the entries before it; --skip-damaged replays the rest and the gap is a conflict"
    )
    func replayAtDamage() async throws {
        let (root, id, store) = try await makeStore(closed: 0, open: 20)
        let target = root + "-replayed"
        defer {
            try? FileManager.default.removeItem(atPath: root)
            try? FileManager.default.removeItem(atPath: target)
        }
        let wal = try onlyFile(store + "/wal", "wal")
        let size = try #require(try FileManager.default.attributesOfItem(atPath: wal)[.size] as? Int)
        try flipBit(wal, at: size / 2)

        let strict = try await ChildProcess.run(["replay", root, "--store", id.uuidString, "--to-dir", target])
        #expect(strict.status == 2)
        #expect(strict.stderr.contains(".wal @"))
        let replayed = try await ChildProcess.run(["dump", target, "--store", id.uuidString, "--format", "raw"])
        let before = sequences(replayed)
        #expect(!before.isEmpty && before == Array(1...before.count))

        let skipping = try await ChildProcess.run(
            ["replay", root, "--store", id.uuidString, "--to-dir", target, "--skip-damaged"])
        #expect(skipping.status == 3, "\(skipping.stderr)")
        #expect(skipping.stdout.contains("conflict s/g"))
        #expect(skipping.stderr.contains("skipped damaged data"))
    }
}
