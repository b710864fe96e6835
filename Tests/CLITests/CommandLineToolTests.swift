import Foundation
import Logging
import StreamKitEngine
import Testing

/// Runs the real `streamkit` binary against stores made by the engine.
@Suite struct CommandLineToolTests {
    static var binary: String {
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("streamkit")
            .path
    }

    struct Run {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    func run(_ arguments: [String]) throws -> Run {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.binary)
        process.arguments = arguments
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Run(
            status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self),
            stderr: String(decoding: stderr, as: UTF8.self))
    }

    /// A data directory with one store: 2 spaces, 3 segments, 600 entries, sealed into several blocks.
    func makeData() async throws -> (root: String, id: UUID) {
        let root = NSTemporaryDirectory() + "streamkit-cli-" + UUID().uuidString
        let id = UUID()
        var configuration = StoreConfiguration()
        configuration.log.durability = .none
        configuration.log.blockBytes = 4096
        configuration.log.logger.logLevel = .warning
        configuration.logger.logLevel = .warning
        let store = try await Store.open(
            id: id, directory: root + "/" + id.uuidString.lowercased(), configuration: configuration)
        for (space, segment) in [("orders", "o-1"), ("orders", "o-2"), ("audit", "a-1")] {
            let records = (1...200).map {
                Record(
                    sequence: UInt64($0), payload: Array("{\"\(segment)\":\($0)}".utf8),
                    metadata: $0 == 1 ? ["first": "yes"] : [:])
            }
            try await store.produce(space: space, segment: segment, records: records)
        }
        await store.close()
        return (root, id)
    }

    func lines(_ text: String) -> [String] { text.split(separator: "\n").map(String.init) }

    @Test("inspect lists the store, its segments and compression; --json is machine-readable")
    func inspect() async throws {
        let (root, id) = try await makeData()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let text = try run(["inspect", root])
        #expect(text.status == 0)
        #expect(text.stdout.contains(id.uuidString.lowercased()))
        #expect(text.stdout.contains("o-2: 200 entries, sequences 1…200"))
        let json = try run(["inspect", root, "--json"])
        #expect(json.status == 0)
        let parsed = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [[String: Any]]
        #expect(parsed?.first?["entries"] as? Int == 600)
        #expect((parsed?.first?["segments"] as? [Any])?.count == 3)
    }

    @Test("dump prints every entry as NDJSON with UTF-8 payloads, filtered by space and segment")
    func dump() async throws {
        let (root, id) = try await makeData()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let all = try run(["dump", root, "--store", id.uuidString])
        #expect(all.status == 0)
        #expect(lines(all.stdout).count == 600)
        let one = try run(["dump", root, "--store", id.uuidString, "--space", "orders", "--segment", "o-2"])
        let objects = try lines(one.stdout).map {
            try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
        #expect(objects.count == 200)
        #expect(objects.first??["payload"] as? String == "{\"o-2\":1}")
        #expect(objects.first??["payload_encoding"] as? String == "utf8")
        #expect((objects.first??["metadata"] as? [String: String]) == ["first": "yes"])
    }

    @Test("verify passes a sound store and fails a corrupted copy naming the file and offset")
    func verify() async throws {
        let (root, id) = try await makeData()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let sound = try run(["verify", root])
        #expect(sound.status == 0)
        #expect(sound.stdout.contains(": ok"))

        let logDirectory = root + "/" + id.uuidString.lowercased() + "/log"
        let log = try #require(
            try FileManager.default.contentsOfDirectory(atPath: logDirectory).first { $0.hasSuffix(".log") })
        let path = logDirectory + "/" + log
        var bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        let offset = bytes.count / 2
        bytes[offset] ^= 0xFF
        try bytes.write(to: URL(fileURLWithPath: path))
        let damaged = try run(["verify", root])
        #expect(damaged.status == 2)
        #expect(damaged.stdout.contains(log))
        #expect(damaged.stdout.contains("@"))
        #expect(damaged.stderr.contains("damaged"))
    }

    @Test("replay into a new directory yields identical entries, and running it again adds nothing")
    func replay() async throws {
        let (root, id) = try await makeData()
        let target = root + "-replayed"
        defer {
            try? FileManager.default.removeItem(atPath: root)
            try? FileManager.default.removeItem(atPath: target)
        }
        let first = try run(["replay", root, "--store", id.uuidString, "--to-dir", target])
        #expect(first.status == 0)
        #expect(first.stdout.contains("replayed 600 entries"))
        let again = try run(["replay", root, "--store", id.uuidString, "--to-dir", target])
        #expect(again.stdout.contains("replayed 0 entries, skipped 600"))

        func identities(_ output: String) throws -> [String] {
            try lines(output).map { line in
                let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
                return
                    "\(object["space"] ?? "")/\(object["segment"] ?? "")/\(object["sequence"] ?? "")/\(object["payload"] ?? "")/\(object["metadata"] ?? "")"
            }
        }
        let source = try identities(try run(["dump", root, "--store", id.uuidString]).stdout)
        let copy = try identities(try run(["dump", target, "--store", id.uuidString]).stdout)
        #expect(copy == source)
    }

    @Test("bad arguments exit with status 64 and a missing or non-store directory with one line and status 1")
    func errors() async throws {
        let missing = try run(["dump", "/nonexistent-streamkit"])
        #expect(missing.status == 64)
        let unknown = try run(["inspect", "/tmp", "--frobnicate"])
        #expect(unknown.status == 64)
        let noDirectory = try run(["inspect", "/nonexistent-streamkit"])
        #expect(noDirectory.status == 1)
        #expect(lines(noDirectory.stderr).count == 1)
        let empty = NSTemporaryDirectory() + "streamkit-empty-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: empty, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: empty) }
        let notStore = try run(["verify", empty])
        #expect(notStore.status == 1)
        #expect(notStore.stderr.contains("not a StreamKit data directory"))
    }
}
