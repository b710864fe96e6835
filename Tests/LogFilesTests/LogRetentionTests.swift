import Foundation
import Testing

@testable import StreamKitLogFiles

/// Dropping whole log files from the start of a closed store (retention): what goes, what stays, what the
/// manifest remembers, and every state a crash in the middle can leave.
struct LogRetentionTests {
    /// A closed store of `count` transactions (three segments, rolled over several small log files).
    private func makeStore(_ dir: String, count: Int = 240) async throws -> [TransactionInput] {
        let transactions = (0..<count).map { transaction($0) }
        let opened = try LogWriter.open(directory: dir, configuration: smallConfiguration())
        try await appendAll(opened.writer, transactions)
        await opened.writer.close()
        return transactions
    }

    private func logFiles(_ dir: String) -> [String] { files(in: dir + "/log", ext: "log") }

    /// Every combination of bounds, and none (a policy that keeps everything): a manifest with a policy is
    /// format version 3, one without stays version 2 (readable by version-2 builds), and a version-2 manifest
    /// with bytes after its deletions is damage rather than a policy.
    @Test(arguments: [
        nil, LogRetention.Policy(), LogRetention.Policy(maxAge: .seconds(90)), LogRetention.Policy(maxBytes: 1 << 40),
        LogRetention.Policy(maxEntriesPerSegment: 7),
        LogRetention.Policy(maxAge: .nanoseconds(1), maxBytes: 5, maxEntriesPerSegment: Int(Int32.max) + 1),
    ])
    func aStoresOwnRetentionPolicyReadsBackFromTheManifest(policy: LogRetention.Policy?) throws {
        let manifest = StoreManifest(
            logStart: 3, deletions: [.init(space: "s", segment: "g", before: 4, through: 9)], policy: policy)

        let bytes = manifest.encoded(createdAt: 1)
        let decoded = try StoreManifest.decode(bytes, path: "manifest")
        let version = UInt16(bytes[8]) | UInt16(bytes[9]) << 8
        var olderWithTail = manifest
        olderWithTail.policy = nil
        let tail = olderWithTail.encoded(createdAt: 1)
        let damaged = Self.withBody(tail, appending: Array(bytes.suffix(28)))

        #expect(decoded == manifest)
        #expect(version == (policy == nil ? 2 : 3))
        #expect(throws: LogFilesError.self) { try StoreManifest.decode(damaged, path: "manifest") }
    }

    /// A manifest's bytes with `extra` appended to its body (length and checksum fixed up).
    private static func withBody(_ bytes: [UInt8], appending extra: [UInt8]) -> [UInt8] {
        var body = Array(bytes[(FileHeader.size + 8)...]) + extra
        var out = Array(bytes[..<FileHeader.size])
        withUnsafeBytes(of: UInt32(body.count).littleEndian) { out += $0 }
        let checksum = body.withUnsafeBytes { CRC32C.checksum($0) }
        withUnsafeBytes(of: checksum.littleEndian) { out += $0 }
        out += body
        body.removeAll()
        return out
    }

    @Test func aManifestReadsBackAsWrittenAndAStoreWithoutOneStartsAtOne() async throws {
        try await withTemporaryDirectory { dir in
            let layout = StoreLayout(root: dir)
            let fileSystem = PosixFileSystem()
            #expect(try StoreManifest.load(fileSystem: fileSystem, layout: layout) == StoreManifest())
            let manifest = StoreManifest(
                logStart: 1_234,
                retired: [
                    .init(space: "s", segment: "é-b", lastSequence: 9, lastTransactionNumber: 3, lastTimestamp: -5),
                    .init(space: "s", segment: "a", lastSequence: 1, lastTransactionNumber: 1, lastTimestamp: 7),
                ],
                deletions: [
                    .init(space: "t", segment: "z", before: 5, through: 2_000),
                    .init(space: "t", segment: "y", before: 10, through: 1_500),
                ])

            try manifest.write(fileSystem: fileSystem, layout: layout, createdAt: 42)

            #expect(try StoreManifest.load(fileSystem: fileSystem, layout: layout) == manifest)
            #expect(manifest.retired.map(\.segment) == ["a", "é-b"])  // Sorted.
            #expect(manifest.deletions.map(\.segment) == ["y", "z"])
            #expect(!fileSystem.exists(layout.manifestTemporaryPath))
        }
    }

    @Test func deletionsOfOneSegmentMergeToTheLaterBoundAndGoOnceTheLogStartsAfterThem() {
        let manifest = StoreManifest(
            logStart: 100,
            deletions: [
                .init(space: "s", segment: "g", before: 5, through: 120),
                .init(space: "s", segment: "g", before: 9, through: 110),
                .init(space: "s", segment: "old", before: 9, through: 99),
            ])

        let added = manifest.adding([.init(space: "s", segment: "g", before: 7, through: 130)])
        let moved = StoreManifest(logStart: 131, deletions: added.deletions)

        #expect(manifest.deletions == [.init(space: "s", segment: "g", before: 9, through: 120)])
        #expect(added.deletions == [.init(space: "s", segment: "g", before: 9, through: 130)])
        #expect(moved.deletions.isEmpty)
    }

    @Test(arguments: [10, 64, 70, 80, 100])
    func aDamagedManifestIsRefusedAsCorrupt(offset: Int) async throws {
        try await withTemporaryDirectory { dir in
            let layout = StoreLayout(root: dir)
            let manifest = StoreManifest(
                logStart: 7,
                retired: [.init(space: "s", segment: "g", lastSequence: 3, lastTransactionNumber: 1, lastTimestamp: 1)])
            try manifest.write(fileSystem: PosixFileSystem(), layout: layout, createdAt: 0)
            try flipBit(layout.manifestPath, at: offset)

            #expect {
                try StoreManifest.load(fileSystem: PosixFileSystem(), layout: layout)
            } throws: { ($0 as? LogFilesError)?.code == .corrupt }
        }
    }

    @Test func verifyCallsADroppedStoreSoundAndReportsADamagedManifest() async throws {
        try await withTemporaryDirectory { dir in
            _ = try await makeStore(dir)
            _ = try LogRetention.drop(directory: dir, policy: .init(maxBytes: 0), configuration: smallConfiguration())
            let sound = try LogReader(directory: dir).verify()

            try flipBit(dir + "/manifest", at: 70)
            let damaged = try LogReader(directory: dir).verify()

            #expect(sound.isClean)
            #expect(!damaged.isClean)
        }
    }

    @Test func droppingBySizeKeepsTheNewestFilesWithinTheBoundAndTheRestReadsAsTheLogsSuffix() async throws {
        try await withTemporaryDirectory { dir in
            let transactions = try await makeStore(dir)
            let before = try readAll(dir)
            let filesBefore = logFiles(dir)
            #expect(filesBefore.count >= 4, "the store should span several log files")
            let bound = Int64(
                filesBefore.suffix(2).reduce(0) {
                    $0 + fileSize($1) + fileSize($1.replacingOccurrences(of: ".log", with: ".idx"))
                })

            let outcome = try LogRetention.drop(
                directory: dir, policy: .init(maxBytes: bound), configuration: smallConfiguration())

            let after = try readAll(dir)
            #expect(logFiles(dir) == Array(filesBefore.suffix(2)))
            #expect(outcome.droppedFiles == filesBefore.count - 2)
            #expect(outcome.droppedEntries == before.count - after.count)
            #expect(outcome.manifest.logStart == after.first?.position)
            #expect(after.map(Fingerprint.init) == Array(fingerprints(transactions).suffix(after.count)))
            #expect(after.map(\.position) == Array(before.map(\.position).suffix(after.count)))
        }
    }

    @Test func aReopenedStoreContinuesPositionsAfterItsLastEntryNeverReusingDroppedOnes() async throws {
        try await withTemporaryDirectory { dir in
            _ = try await makeStore(dir)
            let lastBefore = try #require(try readAll(dir).last?.position)
            _ = try LogRetention.drop(directory: dir, policy: .init(maxBytes: 0), configuration: smallConfiguration())

            let opened = try LogWriter.open(directory: dir, configuration: smallConfiguration())
            let committed = try await opened.writer.append(transaction(1_000))
            await opened.writer.close()

            #expect(opened.recovery.nextPosition == lastBefore + 1)
            #expect(committed.firstPosition == lastBefore + 1)
            #expect(opened.recovery.manifest.logStart > 1)
        }
    }

    @Test func theLastLogFileIsNeverDroppedWhateverTheBound() async throws {
        try await withTemporaryDirectory { dir in
            _ = try await makeStore(dir)
            let last = try #require(logFiles(dir).last)

            _ = try LogRetention.drop(
                directory: dir, policy: .init(maxAge: .zero, maxBytes: 0), now: .max,
                configuration: smallConfiguration())

            #expect(logFiles(dir) == [last])
        }
    }

    @Test func droppingByAgeDropsOnlyFilesWhoseNewestEntryIsOlderThanTheHorizon() async throws {
        try await withTemporaryDirectory { dir in
            let old = (0..<240).map { transaction($0) }
            let opened = try LogWriter.open(directory: dir, configuration: smallConfiguration())
            try await appendAll(opened.writer, old)
            let horizon = try await opened.writer.append(transaction(240)).lastTimestamp
            try await appendAll(opened.writer, (241..<300).map { transaction($0) })
            await opened.writer.close()
            let before = try readAll(dir)

            let outcome = try LogRetention.drop(
                directory: dir, policy: .init(maxAge: .nanoseconds(1)), now: horizon + 1,
                configuration: smallConfiguration())

            let after = try readAll(dir)
            #expect(outcome.droppedFiles > 0)
            #expect(after.count == before.count - outcome.droppedEntries)
            #expect(after.contains { $0.timestamp < horizon })  // The file holding the horizon keeps its older entries.
            let firstKept = try #require(after.first?.position)
            #expect(before.filter { $0.position < firstKept }.allSatisfy { $0.timestamp < horizon })
        }
    }

    @Test func aSegmentWhoseEntriesAllWentIsRetiredWithItsLastSequenceAndOneWithEntriesLeftIsNot() async throws {
        try await withTemporaryDirectory { dir in
            let early: [TransactionInput] = (0..<200).map { (i: Int) -> TransactionInput in
                let record = Record(sequence: UInt64(i + 1), payload: [UInt8](repeating: UInt8(i % 251), count: 200))
                return TransactionInput(
                    space: "s", segment: "early", transactionID: UUID(), transactionNumber: UInt64(i + 1),
                    records: [record])
            }
            let opened = try LogWriter.open(directory: dir, configuration: smallConfiguration())
            try await appendAll(opened.writer, early)
            try await appendAll(opened.writer, (0..<30).map { transaction($0) })
            await opened.writer.close()

            let outcome = try LogRetention.drop(
                directory: dir, policy: .init(maxBytes: 0), configuration: smallConfiguration())

            #expect(try readAll(dir).allSatisfy { $0.segment != "early" })
            let retired = try #require(outcome.manifest.retired.first)
            #expect(outcome.manifest.retired.count == 1)  // "orders" segments still have entries in the log.
            #expect(retired.space == "s")
            #expect(retired.segment == "early")
            #expect(retired.lastSequence == 200)
            #expect(retired.lastTransactionNumber == 200)
            #expect(retired.lastTimestamp > 0)
            let reopened = try LogWriter.open(directory: dir, configuration: smallConfiguration())
            await reopened.writer.close()
            #expect(reopened.recovery.manifest == outcome.manifest)
        }
    }

    @Test func aDropOfAStoreOpenElsewhereFailsWithStoreLocked() async throws {
        try await withTemporaryDirectory { dir in
            _ = try await makeStore(dir)
            let opened = try LogWriter.open(directory: dir, configuration: smallConfiguration())

            #expect {
                try LogRetention.drop(directory: dir, policy: .init(maxBytes: 0), configuration: smallConfiguration())
            } throws: { ($0 as? LogFilesError)?.code == .storeLocked }
            await opened.writer.close()
        }
    }

    // MARK: - Crashes

    /// The states a crash during a drop can leave, each reopened: before the manifest is renamed the store is as
    /// it was; after, it is as the drop leaves it, however many of the files were unlinked.
    @Test(arguments: [
        "torn temporary manifest", "manifest written, nothing unlinked", "manifest written, one file unlinked",
    ])
    func aCrashAtAnyStepOfADropLeavesTheStoreBeforeOrAfterIt(state: String) async throws {
        try await withTemporaryDirectory { dir in
            let original = dir + "/original"
            let dropped = dir + "/dropped"
            let crashed = dir + "/crashed"
            _ = try await makeStore(original)
            let entriesBefore = try readAll(original).map(Fingerprint.init)
            try copyStore(original, to: dropped)
            let outcome = try LogRetention.drop(
                directory: dropped, policy: .init(maxBytes: 0), configuration: smallConfiguration())
            let entriesAfter = try readAll(dropped).map(Fingerprint.init)
            #expect(outcome.droppedFiles >= 2)

            try copyStore(original, to: crashed)
            switch state {
            case "torn temporary manifest":
                let bytes = try Data(contentsOf: URL(fileURLWithPath: dropped + "/manifest"))
                try bytes.prefix(bytes.count / 2).write(to: URL(fileURLWithPath: crashed + "/manifest.tmp"))
            case "manifest written, nothing unlinked":
                try FileManager.default.copyItem(atPath: dropped + "/manifest", toPath: crashed + "/manifest")
            default:
                try FileManager.default.copyItem(atPath: dropped + "/manifest", toPath: crashed + "/manifest")
                try FileManager.default.removeItem(atPath: try #require(logFiles(crashed).first))
            }

            let expected = state == "torn temporary manifest" ? entriesBefore : entriesAfter
            #expect(try readAll(crashed).map(Fingerprint.init) == expected)  // A reader sees what a writer will.
            #expect(try LogReader(directory: crashed).verify().isClean)
            let reopened = try LogWriter.open(directory: crashed, configuration: smallConfiguration())
            await reopened.writer.close()
            let entries = try readAll(crashed).map(Fingerprint.init)

            #expect(!reopened.recovery.report.cutAnything)
            if state == "torn temporary manifest" {
                #expect(entries == entriesBefore)
            } else {
                #expect(entries == entriesAfter)
                #expect(logFiles(crashed).count == logFiles(dropped).count)
                #expect(reopened.recovery.report.droppedLogFiles > 0)
            }
        }
    }

    @Test func aDropWhoseManifestCannotBeSyncedChangesNothing() async throws {
        try await withTemporaryDirectory { dir in
            _ = try await makeStore(dir)
            let before = try readAll(dir).map(Fingerprint.init)
            let filesBefore = logFiles(dir)
            var configuration = smallConfiguration()
            configuration.fileSystem = FaultInjectingFileSystem(faults: [
                .init(.sync, pathContains: "manifest", errno: EIO)
            ])

            #expect {
                try LogRetention.drop(directory: dir, policy: .init(maxBytes: 0), configuration: configuration)
            } throws: { ($0 as? LogFilesError)?.code == .io }

            let reopened = try LogWriter.open(directory: dir, configuration: smallConfiguration())
            await reopened.writer.close()
            #expect(logFiles(dir) == filesBefore)
            #expect(try readAll(dir).map(Fingerprint.init) == before)
        }
    }
}
