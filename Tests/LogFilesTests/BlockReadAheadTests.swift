import Foundation
import Testing

@testable import StreamKitLogFiles

/// The read-ahead of long sequential reads: every other block after the reader's is decoded on a thread of its
/// own, at most a few ahead; the reader gets each block once, in order, whoever decoded it, and damage met ahead
/// in the place it would have met it itself.
@Suite struct BlockReadAheadTests {
    /// A closed store of 120 entries in about a dozen blocks, and its reader.
    func store(_ dir: String) async throws -> (LogReader, [TransactionInput]) {
        let transactions = try await sealedStore(dir)
        return (try LogReader(directory: dir), transactions)
    }

    func jobs(_ reader: LogReader) throws -> [BlockReadAhead.Job] {
        let file = try PosixFileSystem().open(
            reader.layout.logPath(firstPosition: try #require(reader.blocks.first).fileFirstPosition), mode: .read)
        return reader.blocks.enumerated().map { i, block in
            BlockReadAhead.Job(piece: i, header: block.header, file: file, offset: block.offset)
        }
    }

    @Test func theReaderGetsEveryBlockOnceInOrderWhetherTheThreadOrItDecodedIt() async throws {
        try await withTemporaryDirectory { dir in
            let (reader, _) = try await store(dir)
            try #require(reader.blocks.count >= 8)
            let readAhead = try #require(BlockReadAhead.start(jobs: try jobs(reader), depth: 2))
            readAhead.settle()

            var decodedByThread = 0
            var decodedByReader = 0
            var positions: [UInt64] = []
            for k in reader.blocks.indices {
                switch readAhead.take(k) {
                case .decoded(let result):
                    decodedByThread += 1
                    positions += try result.get().map(\.position)
                case .yours:
                    decodedByReader += 1
                    positions += try reader.readBlock(at: k).map(\.position)
                }
            }
            readAhead.stop()

            #expect(positions == Array(1...120))
            #expect(decodedByThread >= 2, "blocks 1 and 3, decoded before the reader began")
            #expect(decodedByThread + decodedByReader == reader.blocks.count)
        }
    }

    @Test func theThreadDecodesEveryOtherBlockNoMoreThanItsDepthAheadAndStopsWhileWaitingForRoom() async throws {
        try await withTemporaryDirectory { dir in
            let (reader, _) = try await store(dir)
            let readAhead = try #require(BlockReadAhead.start(jobs: try jobs(reader), depth: 3))

            readAhead.settle()
            let aheadBeforeTaking = readAhead.aheadOfReader
            let first = readAhead.take(0)
            let second = readAhead.take(1)
            readAhead.settle()
            let aheadAfterTakingTwo = readAhead.aheadOfReader
            readAhead.stop()
            let afterStop = readAhead.take(3)

            #expect(aheadBeforeTaking == 3, "blocks 1, 3 and 5")
            #expect(aheadAfterTakingTwo == 3, "blocks 3, 5 and 7")
            if case .yours = first {} else { Issue.record("block 0 is the reader's: \(first)") }
            if case .decoded(.success(let entries)) = second {
                #expect(entries.first?.position == reader.blocks[1].header.firstPosition)
            } else {
                Issue.record("block 1 should come decoded: \(second)")
            }
            if case .decoded = afterStop { Issue.record("stop drops what was decoded ahead") }
        }
    }

    @Test func damageInABlockDecodedAheadComesBackAsItsErrorInItsPlace() async throws {
        try await withTemporaryDirectory { dir in
            let (reader, _) = try await store(dir)
            let bad = 1
            try flipBit(
                try #require(files(in: dir + "/log", ext: "log").first),
                at: Int(reader.blocks[bad].offset) + BlockHeader.size + 10)
            let readAhead = try #require(BlockReadAhead.start(jobs: try jobs(reader), depth: 2))
            readAhead.settle()

            let first = readAhead.take(0)
            let second = readAhead.take(bad)
            readAhead.stop()

            guard case .yours = first, case .decoded(.failure(let error)) = second else {
                Issue.record("expected block 0 for the reader and block 1's error, got \(first) and \(second)")
                return
            }
            #expect((error as? LogFilesError)?.code == .corrupt)
        }
    }

    @Test func longReadsStoppedEarlyFromTheMiddleOrEndedByTheCallersErrorReadWhatTheyShould() async throws {
        try await withTemporaryDirectory { dir in
            let (reader, transactions) = try await store(dir)
            struct Stop: Error {}

            let all = try reader.entries()
            let firstFifty = try reader.entries(from: 1, limit: 50)
            let fromMiddle = try reader.entries(from: 61)
            var thrownAfter = 0
            #expect(throws: Stop.self) {
                try reader.forEachEntry { _ in
                    thrownAfter += 1
                    if thrownAfter == 70 { throw Stop() }
                    return true
                }
            }

            #expect(all.map(Fingerprint.init) == fingerprints(transactions))
            #expect(firstFifty.map(\.position) == Array(1...50))
            #expect(fromMiddle.map(\.position) == Array(61...120))
            #expect(thrownAfter == 70)
        }
    }

    @Test func aReaderDoesNotWaitLongForABlockTheThreadIsStuckOnButDecodesItItself() async throws {
        try await withTemporaryDirectory { dir in
            let (reader, _) = try await store(dir)
            let stuck = try StuckFile(
                PosixFileSystem().open(try #require(files(in: dir + "/log", ext: "log").first), mode: .read))
            let jobs = try jobs(reader).map { job in
                var job = job
                job.file = stuck
                return job
            }
            let readAhead = try #require(BlockReadAhead.start(jobs: jobs, depth: 1))
            stuck.awaitReader()  // the thread is inside its read of block 1, and stays there

            let first = readAhead.take(0)
            // Bounded: a reader that waited for the stuck thread would wait until the release below.
            let leftToReader = await withTaskGroup(of: Bool?.self) { group in
                group.addTask {
                    if case .yours = readAhead.take(1) { return true }
                    return false
                }
                group.addTask {
                    try? await Task.sleep(for: .seconds(20))
                    return nil
                }
                let answer = await group.next() ?? nil
                stuck.release()
                group.cancelAll()
                return answer
            }
            readAhead.stop()

            if case .yours = first {} else { Issue.record("block 0 is the reader's: \(first)") }
            #expect(
                leftToReader == true, "block 1 is left to the reader, not waited for (nil: still waiting after 20 s)")
        }
    }
}

/// A log file whose reads stop until released (a read-ahead thread descheduled for as long as a test likes).
private final class StuckFile: StorageFile, @unchecked Sendable {
    private let file: any StorageFile
    private let condition = NSCondition()
    private var inside = false
    private var released = false

    init(_ file: any StorageFile) { self.file = file }

    var path: String { file.path }

    /// Waits until a read is stuck.
    func awaitReader() {
        condition.lock()
        while !inside { condition.wait() }
        condition.unlock()
    }

    func release() {
        condition.lock()
        released = true
        condition.broadcast()
        condition.unlock()
    }

    func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int64) throws -> Int {
        condition.lock()
        inside = true
        condition.broadcast()
        while !released { condition.wait() }
        condition.unlock()
        return try file.read(into: buffer, at: offset)
    }

    func write(_ bytes: UnsafeRawBufferPointer, at offset: Int64) throws { try file.write(bytes, at: offset) }
    func sync() throws { try file.sync() }
    func truncate(to size: Int64) throws { try file.truncate(to: size) }
    func size() throws -> Int64 { try file.size() }
    func close() { file.close() }
}
