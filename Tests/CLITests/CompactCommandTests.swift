import Foundation
import Logging
import StreamKitEngine
import Testing

/// `streamkit compact` on a closed store: the oldest log files go, what is left reads as the log's suffix.
extension CommandLineToolTests {
    @Test("compact --retention-max-bytes drops the oldest log files and dump then starts after them")
    func compactDropsTheOldestFiles() async throws {
        let root = NSTemporaryDirectory() + "streamkit-cli-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: root) }
        let id = UUID()
        let configuration = Self.smallFiles(logFileBytes: 8 * 1024)
        let directory = root + "/" + id.uuidString.lowercased()
        let store = try await Store.open(id: id, directory: directory, configuration: configuration)
        let records = (1...1_000).map {
            Record(
                sequence: UInt64($0),
                payload: Array("{\"n\":\($0),\"pad\":\"\(String(repeating: "p", count: 80))\"}".utf8))
        }
        try await store.produce(space: "s", segment: "g", records: records)
        await store.close()
        let logFiles = {
            try FileManager.default.contentsOfDirectory(atPath: directory + "/log").filter { $0.hasSuffix(".log") }
        }
        let before = try logFiles().count

        let nothingDeleted = try run(["compact", root])
        let unchanged = try logFiles().count
        let badAge = try run(["compact", root, "--retention-max-age", "7x"])
        let badSize = try run(["compact", root, "--retention-max-bytes", "ten"])
        let compacted = try run(["compact", root, "--retention-max-bytes", "1K"])
        let dumped = try run(["dump", root, "--store", id.uuidString])
        let inspected = try run(["inspect", root])

        #expect(before >= 3)
        #expect(nothingDeleted.status == 0, "\(nothingDeleted.stderr)")  // No bound: only deleted entries are erased.
        #expect(nothingDeleted.stdout.contains("no deleted entries to erase"))
        #expect(unchanged == before)
        #expect(badAge.status == 64)
        #expect(badSize.status == 64)
        #expect(compacted.status == 0, "\(compacted.stderr)")
        #expect(compacted.stdout.contains("dropped \(before - 1) log files"))
        #expect(try logFiles().count == 1)
        #expect(inspected.stdout.contains("retention: the log starts at position"), "\(inspected.stdout)")
        let objects = try lines(dumped.stdout).map {
            try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
        let sequences = objects.compactMap { ($0?["sequence"] as? NSNumber)?.intValue }
        #expect(sequences.count == objects.count)
        #expect(!sequences.isEmpty)
        #expect(sequences == Array((1_001 - sequences.count)...1_000))  // The newest entries, in order.
    }

    @Test("compact on a closed store erases the entries streamkit delete removed: their bytes leave every file")
    func compactErasesDeletedEntries() async throws {
        let root = NSTemporaryDirectory() + "streamkit-cli-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: root) }
        let id = UUID()
        let configuration = Self.smallFiles(logFileBytes: 8 * 1024)
        let directory = root + "/" + id.uuidString.lowercased()
        let store = try await Store.open(id: id, directory: directory, configuration: configuration)
        try await store.produce(
            space: "s", segment: "secret",
            records: (1...50).map { Record(sequence: UInt64($0), payload: Array("ERASE-ME-\($0)".utf8)) })
        try await store.produce(
            space: "s", segment: "g",
            records: (1...300).map { Record(sequence: UInt64($0), payload: Array("keep-\($0)".utf8)) })
        try await store.deleteSegment(space: "s", segment: "secret")
        await store.close()
        let holding = { try Self.filesHolding("ERASE-ME", under: directory) }
        let before = try holding()

        let compacted = try run(["compact", root])
        let after = try holding()
        let dumped = try run(["dump", root, "--store", id.uuidString])
        let inspected = try run(["inspect", root])
        let verified = try run(["verify", root])

        #expect(!before.isEmpty)
        #expect(compacted.status == 0, "\(compacted.stderr)")
        #expect(compacted.stdout.contains("erased 50 deleted entries"), "\(compacted.stdout)")
        #expect(compacted.stdout.contains("1 deletions finished"))
        #expect(after.isEmpty, "still in \(after)")
        #expect(!dumped.stdout.contains("secret"))
        #expect(lines(dumped.stdout).count == 300)
        #expect(!inspected.stdout.contains("deletions:"))
        #expect(inspected.stdout.contains("300 live, 0 deleted, 50 erased"), "\(inspected.stdout)")
        #expect(verified.status == 0, "\(verified.stdout)")
    }

    @Test("compact --retention-max-entries keeps the newest entries of each segment and erases the rest")
    func compactKeepsTheNewestEntriesPerSegment() async throws {
        let root = NSTemporaryDirectory() + "streamkit-cli-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: root) }
        let id = UUID()
        let configuration = Self.smallFiles()
        let directory = root + "/" + id.uuidString.lowercased()
        let store = try await Store.open(id: id, directory: directory, configuration: configuration)
        try await store.produce(
            space: "s", segment: "g",
            records: (1...200).map { Record(sequence: UInt64($0), payload: Array("OLD-\($0)".utf8)) })
        await store.close()

        let zero = try run(["compact", root, "--retention-max-entries", "0"])
        let compacted = try run(["compact", root, "--retention-max-entries", "10"])
        let dumped = try run(["dump", root, "--store", id.uuidString])
        let sequences = try lines(dumped.stdout).compactMap {
            ((try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])?["sequence"] as? NSNumber)?
                .intValue
        }

        #expect(zero.status == 64)
        #expect(compacted.status == 0, "\(compacted.stderr)")
        #expect(compacted.stdout.contains("deleted 190 entries"), "\(compacted.stdout)")
        #expect(compacted.stdout.contains("erased 190 deleted entries"), "\(compacted.stdout)")
        #expect(sequences == Array(191...200))
        #expect(try Self.filesHolding("OLD-42", under: directory).isEmpty)
    }

    @Test("compact holds a store with its own retention policy to it, not to the bounds given, and inspect shows it")
    func compactAppliesAStoresOwnPolicy() async throws {
        let root = NSTemporaryDirectory() + "streamkit-cli-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: root) }
        let id = UUID()
        let directory = root + "/" + id.uuidString.lowercased()
        let store = try await Store.open(id: id, directory: directory, configuration: Self.smallFiles())
        try await store.produce(
            space: "s", segment: "g", records: (1...200).map { Record(sequence: UInt64($0), payload: [1]) })
        try await store.setRetentionPolicy(.init(maxEntriesPerSegment: 10))
        await store.close()

        let inspected = try run(["inspect", root, "--retention-max-entries", "50"])
        let compacted = try run(["compact", root, "--retention-max-entries", "50"])
        let json = try run(["inspect", root, "--json"])
        let summary = try #require(
            (try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [[String: Any]])?.first)

        #expect(
            inspected.stdout.contains("retention: the store's own policy, max entries per segment 10"),
            "\(inspected.stdout)")
        #expect(inspected.stdout.contains("190 entries past its per-segment bound"), "\(inspected.stdout)")
        #expect(compacted.status == 0, "\(compacted.stderr)")
        #expect(compacted.stdout.contains("the store's own retention policy applies"), "\(compacted.stdout)")
        #expect(compacted.stdout.contains("deleted 190 entries"), "\(compacted.stdout)")
        #expect((summary["retention_policy"] as? [String: Any])?["max_entries_per_segment"] as? Int == 10)
        #expect(summary["live_entries"] as? Int == 10)
        #expect(summary["expired_entries"] as? Int == 0)
    }

    /// A quiet store configuration with 1 KiB blocks (and `logFileBytes`), no sync, no background compaction.
    static func smallFiles(logFileBytes: Int = 256 << 20) -> StoreConfiguration {
        var configuration = StoreConfiguration()
        configuration.log.durability = .none
        configuration.log.blockBytes = 1024
        configuration.log.logFileBytes = logFileBytes
        configuration.log.logger.logLevel = .warning
        configuration.logger.logLevel = .warning
        configuration.retention.compacts = false
        return configuration
    }

    /// The files under `directory` that hold `text`.
    static func filesHolding(_ text: String, under directory: String) throws -> [String] {
        let needle = Data(text.utf8)
        return try FileManager.default.subpathsOfDirectory(atPath: directory).filter { name in
            var isDirectory: ObjCBool = false
            let path = directory + "/" + name
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue else {
                return false
            }
            return try Data(contentsOf: URL(fileURLWithPath: path)).range(of: needle) != nil
        }
    }
}
