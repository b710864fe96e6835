import Logging
import NIOCore
import PostgresNIO
import StreamKitEngine
import StreamKitLogFiles
import Synchronization

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// One store's log in PostgreSQL (see ``PostgresLog`` and ``PostgresSchema``): a `StoreStorage` whose appends
/// are group-committed and decided by the database, and a `LogFollower` that brings other nodes' commits in.
///
/// **Appends.** Appends queue in the order the segment actors reserved them (`append` is
/// `nonisolated(nonsending)`). One database transaction at a time takes everything queued (a group): it
/// advances each segment's row only where its last sequence is still the one the group's first transaction of
/// that segment follows (compare-and-append; a segment whose row moved answers ``SegmentHeadConflict`` to its
/// transactions, the others commit), inserts the winners as one row (their records LZ4-compressed in StreamKit's
/// record encoding), and, as its last statement, takes the positions from the store's head row, which it locks
/// until commit: positions are dense and in commit order on every node.
///
/// **Blocks.** Each row is a block (`LogBlock`) of the engine's read path; the storage knows the rows up to the
/// first position it has not seen (`knownThrough`). A reader asking for a row not loaded gets `BlockNotLoaded`
/// and awaits ``loadBlocks(from:)``, which fetches it and the rows after it in one query: no thread ever blocks
/// on the database.
///
/// **Divergence.** If the database assigns this node's commit positions it already read with other contents
/// (its log went back, as after a failover to a replica that had not received every commit), the append fails
/// with `corrupt` and every later one too: two entries never share a position on a node.
final class PostgresStorage: StoreStorage, LogFollower {
    private struct Waiting: Sendable {
        var transaction: TransactionInput
        var continuation: CheckedContinuation<CommittedTransaction, any Error>
    }

    /// A row the storage knows: enough to find and decode it.
    struct Row: Sendable, Hashable {
        var firstPosition: UInt64
        var count: Int
        var firstTimestamp: Int64
        var lastPosition: UInt64 { firstPosition + UInt64(count) - 1 }
        var block: LogBlock { LogBlock(firstPosition: firstPosition, lastPosition: lastPosition) }

        /// The row as a block of the engine's index, its runs decoded from the row's `runs` column.
        func summary(storedRuns: ByteBuffer) throws -> SealedBlock {
            try SealedBlock(
                block: block, runs: BatchCodec.decodeRuns(Array(buffer: storedRuns), firstTimestamp: firstTimestamp))
        }
    }

    private struct State {
        var queue: [Waiting] = []
        var committing = false
        var closed = false
        var drained: [CheckedContinuation<Void, Never>] = []
        /// Known rows, contiguous from the log's start through `knownThrough`. Row `base + i` is `rows[i]`: rows
        /// retention dropped leave the front, indexes do not change.
        var rows: [Row] = []
        var base = 0
        /// The position of the log's first entry (retention dropped every row before it).
        var logStart: UInt64 = 1
        var knownThrough: UInt64 = 0
        /// Rows known beyond a gap (committed here after another node's commit not seen yet), by first position.
        var ahead: [UInt64: (Row, SealedBlock, local: Bool)] = [:]
        /// Rows this process committed beyond `knownThrough` (the follower does not fetch their bodies).
        var localAhead: Set<UInt64> = []
        var fresh: [SealedBlock] = []
        /// Set once the database assigned this node's commit positions it already knew with other contents: the
        /// log in the database went back (a failover to a replica that had not received every commit). Every
        /// later append fails with it.
        var diverged: StreamKitError?
    }

    /// Most entries of one group (one database transaction).
    static let maxGroupEntries = 20_000
    /// Most raw bytes of one group.
    static let maxGroupBytes = 8 << 20
    /// Rows the follower fetches at once.
    static let followRows = 64
    /// Times a group is run again after a serialization failure, a deadlock or a concurrent segment creation.
    static let maxGroupRetries = 8

    let id: UUID
    private let log: PostgresLog
    private let clock: @Sendable () -> Int64
    /// `Durability.none` and `.interval`: commits do not wait for PostgreSQL's WAL flush (`synchronous_commit =
    /// off` for the append transactions; an acknowledged commit can be lost if the database server crashes, never
    /// half of it). `.fsync` (the default): the server's `synchronous_commit` decides.
    private let asynchronousCommit: Bool
    /// Rows fetched ahead of a sequential reader, by index, and their total cost.
    private let readAhead = Mutex(ReadAhead())

    private let logger: Logger
    private let state = Mutex(State())
    private let wakeUps = WakeSignal()

    private init(id: UUID, log: PostgresLog, configuration: StoreConfiguration, rows: [Row], logStart: UInt64) {
        self.id = id
        self.log = log
        self.clock = configuration.log.clock
        self.logger = configuration.logger
        if case .fsync = configuration.log.durability { asynchronousCommit = false } else { asynchronousCommit = true }
        state.withLock { state in
            state.rows = rows
            state.knownThrough = rows.last?.lastPosition ?? (logStart - 1)
            state.logStart = logStart
        }
        log.follow(id, signal: wakeUps)
    }

    // MARK: - Opening

    /// Opens store `id` (creating its head row when `creating`), reading every row's summary for the index.
    /// Returns nil when the store does not exist and `creating` is false.
    static func open(
        id: UUID, log: PostgresLog, configuration: StoreConfiguration, creating: Bool
    ) async throws
        -> (PostgresStorage, StoredLog)?
    {
        let logger = log.logger
        return try await log.withConnection { connection -> (PostgresStorage, StoredLog)? in
            if creating {
                do {
                    try await connection.query(
                        """
                        INSERT INTO streamkit_stores (store) SELECT \(id)
                        WHERE NOT EXISTS (SELECT 1 FROM streamkit_stores WHERE store = \(id))
                        """, logger: logger)
                } catch  where PostgresFailure.sqlState(of: error) == "23505" {
                    // Another node created it at the same moment.
                }
            }
            // One snapshot for the head and the rows, so that they agree.
            try await connection.query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", logger: logger)
            do {
                var head: (UInt64, Int64, UInt64)?
                for try await (position, timestamp, start) in try await connection.query(
                    "SELECT head, last_timestamp, log_start FROM streamkit_stores WHERE store = \(id)", logger: logger
                ).decode((Int64, Int64, Int64).self) {
                    head = (UInt64(position), timestamp, UInt64(max(1, start)))
                }
                guard let (headPosition, lastTimestamp, logStart) = head else {
                    try await connection.query("ROLLBACK", logger: logger)
                    return nil
                }
                var rows: [Row] = []
                var blocks: [SealedBlock] = []
                let query: PostgresQuery = """
                    SELECT first_position, entry_count, first_timestamp, runs FROM streamkit_batches
                    WHERE store = \(id) ORDER BY first_position
                    """
                for try await (first, count, timestamp, runs) in try await connection.query(query, logger: logger)
                    .decode((Int64, Int32, Int64, ByteBuffer).self)
                {
                    let row = Row(firstPosition: UInt64(first), count: Int(count), firstTimestamp: timestamp)
                    let expected = rows.last.map { $0.lastPosition + 1 } ?? logStart
                    guard row.firstPosition == expected, row.count > 0 else {
                        throw StreamKitError(
                            code: .corrupt,
                            message:
                                "store \(id): the row at position \(row.firstPosition) does not follow position \(expected - 1)",
                            storeID: id)
                    }
                    let summary = try row.summary(storedRuns: runs)
                    rows.append(row)
                    blocks.append(summary)
                }
                let deletions = try await Self.deletions(of: id, on: connection, logger: logger)
                // Segments none of whose entries is left in any row (compaction erased them) keep their heads in
                // `streamkit_segments`: producing to them continues after their last sequence.
                let present = Set(blocks.flatMap { $0.runs.map { SegmentName(space: $0.space, segment: $0.segment) } })
                var retired: [StoreManifest.RetiredSegment] = []
                for try await (space, segment, last, transaction) in try await connection.query(
                    "SELECT space, segment, last_sequence, last_transaction FROM streamkit_segments WHERE store = \(id)",
                    logger: logger
                ).decode((String, String, Int64, Int64).self)
                where !present.contains(SegmentName(space: space, segment: segment)) {
                    retired.append(
                        .init(
                            space: space, segment: segment, lastSequence: UInt64(last),
                            lastTransactionNumber: UInt64(transaction),
                            lastTimestamp: 0))
                }
                try await connection.query("COMMIT", logger: logger)
                let last = rows.last?.lastPosition ?? (logStart - 1)
                guard last == headPosition else {
                    throw StreamKitError(
                        code: .corrupt,
                        message: "store \(id): rows end at position \(last), the head is \(headPosition)",
                        storeID: id)
                }
                let storage = PostgresStorage(
                    id: id, log: log, configuration: configuration, rows: rows, logStart: logStart)
                let contents = StoredLog(
                    blocks: blocks, tail: [], nextPosition: headPosition + 1, lastTimestamp: lastTimestamp,
                    retired: retired, logStart: logStart, deletions: deletions)
                return (storage, contents)
            } catch {
                _ = try? await connection.query("ROLLBACK", logger: logger)
                throw error
            }
        }
    }

    // MARK: - Appending

    nonisolated(nonsending) func append(_ transaction: TransactionInput) async throws -> CommittedTransaction {
        guard !transaction.records.isEmpty else {
            throw LogFilesError(code: .invalidArgument, message: "a transaction needs at least one record")
        }
        enum Queued {
            case refused(any Error)
            case lead, behind
        }
        return try await withCheckedThrowingContinuation { continuation in
            let queued = state.withLock { state -> Queued in
                if let diverged = state.diverged { return .refused(diverged) }
                guard !state.closed else { return .refused(LogFilesError(code: .closed, message: "the log is closed")) }
                state.queue.append(Waiting(transaction: transaction, continuation: continuation))
                guard !state.committing else { return .behind }
                state.committing = true
                return .lead
            }
            switch queued {
            case .refused(let error): continuation.resume(throwing: error)
            case .lead: Task { await self.commitQueued() }
            case .behind: break
            }
        }
    }

    /// Commits groups until the queue is empty.
    private func commitQueued() async {
        while true {
            let group = state.withLock { state -> [Waiting] in
                var entries = 0
                var bytes = 0
                var taken = 0
                for waiting in state.queue {
                    let size = waiting.transaction.records.reduce(0) { $0 + $1.payload.count + 64 }
                    if taken > 0
                        && (entries + waiting.transaction.records.count > Self.maxGroupEntries
                            || bytes + size > Self.maxGroupBytes)
                    {
                        break
                    }
                    entries += waiting.transaction.records.count
                    bytes += size
                    taken += 1
                }
                let group = Array(state.queue.prefix(taken))
                state.queue.removeFirst(taken)
                if group.isEmpty {
                    state.committing = false
                    for waiter in state.drained { waiter.resume() }
                    state.drained.removeAll()
                }
                return group
            }
            guard !group.isEmpty else { return }
            let deferred = await commit(group)
            if !deferred.isEmpty { state.withLock { $0.queue.insert(contentsOf: deferred, at: 0) } }
        }
    }

    /// One segment's transactions in a group that follow each other: one compare-and-append.
    private struct Chain {
        var space: String
        var segment: String
        var expected: UInt64
        var last: UInt64
        var lastTransaction: UInt64
        var members: [Int]
    }

    /// Commits one group; returns the transactions left for the next group (a segment's transactions that do
    /// not follow the group's earlier ones of that segment).
    private func commit(_ group: [Waiting]) async -> [Waiting] {
        var chains: [SegmentName: Chain] = [:]
        var order: [SegmentName] = []
        var deferred: [Waiting] = []
        var members: [Int] = []
        for (i, waiting) in group.enumerated() {
            let t = waiting.transaction
            let name = SegmentName(space: t.space, segment: t.segment)
            let first = t.records[0].sequence
            let last = t.records[t.records.count - 1].sequence
            if var chain = chains[name] {
                guard chain.last + 1 == first else {
                    deferred.append(waiting)
                    continue
                }
                chain.last = last
                chain.lastTransaction = t.transactionNumber
                chain.members.append(i)
                chains[name] = chain
            } else {
                chains[name] = Chain(
                    space: t.space, segment: t.segment, expected: first - 1, last: last,
                    lastTransaction: t.transactionNumber, members: [i])
                order.append(name)
            }
            members.append(i)
        }
        var attempt = 0
        while true {
            attempt += 1
            do {
                let liveChains = order.compactMap { chains[$0] }
                let members = members
                let outcome = try await log.withConnection { connection in
                    try await self.run(group, members: members, chains: liveChains, on: connection)
                }
                finish(group, outcome)
                return deferred
            } catch {
                if PostgresFailure.isRetryableConflict(error), attempt < Self.maxGroupRetries { continue }
                let failure = StreamKitError.postgres(error, storeID: id, doing: "appending")
                if failure.code == .storeUnavailable {
                    logger.warning(
                        "PostgreSQL append failed", metadata: ["store_id": "\(id)", "error": "\(failure.message)"])
                }
                for i in members { group[i].continuation.resume(throwing: failure) }
                // A failed group may have committed (a lost answer to COMMIT): the follower finds out.
                wakeUps.signal()
                return deferred
            }
        }
    }

    private struct Outcome {
        /// Committed: the row's first position and timestamp, and each member's offset in it.
        var row: Row?
        var summary: SealedBlock?
        var offsets: [Int: Int] = [:]
        /// Members whose segment moved: the segment's head.
        var conflicts: [Int: SegmentHeadConflict] = [:]
        /// Members that cannot be encoded.
        var invalid: [Int: any Error] = [:]
    }

    /// Runs the group's database transaction on `connection`.
    private func run(
        _ group: [Waiting], members: [Int], chains: [Chain], on connection: PostgresConnection
    )
        async throws -> Outcome
    {
        var outcome = Outcome()
        // Encode first (outside the transaction); a member that cannot be encoded fails alone, and so do the
        // members of its segment after it (their sequences would no longer follow).
        var encodable = members
        var batch: BatchCodec.EncodedBatch
        do {
            batch = try BatchCodec.encode(members.map { group[$0].transaction })
        } catch {
            encodable = []
            var broken: Set<SegmentName> = []
            for i in members {
                let t = group[i].transaction
                let name = SegmentName(space: t.space, segment: t.segment)
                if broken.contains(name) {
                    outcome.invalid[i] = StreamKitError.sequenceConflict(
                        expected: t.records[0].sequence, got: t.records[0].sequence, space: t.space, segment: t.segment)
                    continue
                }
                do {
                    _ = try BatchCodec.encode([t])
                    encodable.append(i)
                } catch {
                    outcome.invalid[i] = error
                    broken.insert(name)
                }
            }
            guard !encodable.isEmpty else { return outcome }
            batch = try BatchCodec.encode(encodable.map { group[$0].transaction })
        }
        let live = chains.compactMap { chain -> Chain? in
            var chain = chain
            chain.members = chain.members.filter { encodable.contains($0) }
            guard let lastMember = chain.members.last else { return nil }
            let t = group[lastMember].transaction
            chain.last = t.records[t.records.count - 1].sequence
            chain.lastTransaction = t.transactionNumber
            return chain
        }

        if let placed = try await appendInOneStatement(live, batch: batch, on: connection) {
            return Self.placed(outcome, group, winners: encodable, batch: batch, at: placed)
        }
        try await connection.query("BEGIN", logger: log.logger)
        do {
            if asynchronousCommit {
                try await connection.query("SET LOCAL synchronous_commit = off", logger: log.logger)
            }
            let won = try await compareAndAdvance(live, on: connection)
            let losers = live.filter { !won.contains(SegmentName(space: $0.space, segment: $0.segment)) }
            if !losers.isEmpty {
                let heads = try await segmentHeads(losers, on: connection)
                for chain in losers {
                    let head =
                        heads[SegmentName(space: chain.space, segment: chain.segment)]
                        ?? SegmentHeadConflict(lastSequence: 0, lastTransactionNumber: 0)
                    for i in chain.members { outcome.conflicts[i] = head }
                }
            }
            let winners = encodable.filter { outcome.conflicts[$0] == nil }
            guard !winners.isEmpty else {
                try await connection.query("ROLLBACK", logger: log.logger)
                return outcome
            }
            if winners.count != encodable.count { batch = try BatchCodec.encode(winners.map { group[$0].transaction }) }
            let count = Int64(batch.entryCount)
            let now = clock()
            let query: PostgresQuery = """
                WITH h AS (
                    UPDATE streamkit_stores
                    SET head = head + \(count), last_timestamp = GREATEST(last_timestamp + \(count), \(now) + \(count) - 1)
                    WHERE store = \(id)
                    RETURNING head, last_timestamp)
                INSERT INTO streamkit_batches
                    (store, first_position, entry_count, first_timestamp, writer, codec, raw_length, checksum, runs, body)
                SELECT \(id), h.head - \(count) + 1, \(Int32(count)), h.last_timestamp - \(count) + 1, \(log.writer),
                    \(Int16(batch.codec)), \(Int32(batch.rawLength)), \(Int64(batch.checksum)),
                    \(ByteBuffer(bytes: batch.runsBytes)), \(ByteBuffer(bytes: batch.body))
                FROM h
                RETURNING first_position, first_timestamp
                """
            var placed: (Int64, Int64)?
            for try await row in try await connection.query(query, logger: log.logger).decode((Int64, Int64).self) {
                placed = row
            }
            guard let (first, timestamp) = placed else {
                throw StreamKitError(code: .storage, message: "store \(id) has no head row in PostgreSQL", storeID: id)
            }
            try await connection.query("COMMIT", logger: log.logger)
            return Self.placed(outcome, group, winners: winners, batch: batch, at: (first, timestamp))
        } catch {
            _ = try? await connection.query("ROLLBACK", logger: log.logger)
            throw error
        }
    }

    /// `outcome` with the committed row: `batch` (the `winners`' records) placed at `first` with `timestamp`.
    private static func placed(
        _ outcome: Outcome, _ group: [Waiting], winners: [Int], batch: BatchCodec.EncodedBatch,
        at placed: (Int64, Int64)
    ) -> Outcome {
        var outcome = outcome
        let (first, timestamp) = placed
        let row = Row(firstPosition: UInt64(first), count: batch.entryCount, firstTimestamp: timestamp)
        var offset = 0
        for i in winners {
            outcome.offsets[i] = offset
            offset += group[i].transaction.records.count
        }
        outcome.row = row
        outcome.summary = SealedBlock(
            block: row.block,
            runs: batch.runs.map { run in
                var run = run
                run.firstTimestamp += timestamp
                run.lastTimestamp += timestamp
                return run
            })
        return outcome
    }

    /// SQLSTATE `division_by_zero`: how ``appendInOneStatement(_:batch:on:)`` stops when a segment moved.
    static let notEverySegmentFollows = "22012"

    /// The whole group in one statement, its own transaction: one round trip instead of four (BEGIN, the
    /// compare-and-advance, the insert, COMMIT) when every chain's segment is where the group expects it, which
    /// is the rule (this node checked the sequences; only another node's commit can move a segment). The head
    /// row is locked after the segments (its `WHERE` reads the compare-and-advance's counts, so those run
    /// first) and held until the statement's commit, so positions stay dense and in commit order. When some
    /// segment moved, the statement divides by zero, which rolls all of it back; returns nil then, and the caller
    /// runs the group in steps to learn which segments moved. For ``asynchronousCommit`` the statement sets
    /// `synchronous_commit = off` for its own transaction (`set_config(…, true)`, as `SET LOCAL` in a block).
    /// - Returns: The row's first position and timestamp, or nil when not every segment followed.
    private func appendInOneStatement(
        _ chains: [Chain], batch: BatchCodec.EncodedBatch, on connection: PostgresConnection
    )
        async throws -> (Int64, Int64)?
    {
        let existing = chains.filter { $0.expected > 0 }
        let created = chains.filter { $0.expected == 0 }
        let count = Int64(batch.entryCount)
        let now = clock()
        let query: PostgresQuery = """
            WITH durability AS (
                SELECT set_config('synchronous_commit',
                    CASE WHEN \(asynchronousCommit) THEN 'off' ELSE current_setting('synchronous_commit') END, true)),
            advanced AS (
                UPDATE streamkit_segments AS s
                SET last_sequence = i.last, last_transaction = i.txn
                FROM unnest(\(existing.map(\.space))::text[], \(existing.map(\.segment))::text[],
                    \(existing.map { Int64($0.expected) })::int8[], \(existing.map { Int64($0.last) })::int8[],
                    \(existing.map { Int64($0.lastTransaction) })::int8[]) AS i(space, segment, expected, last, txn)
                WHERE s.store = \(id) AND s.space = i.space AND s.segment = i.segment AND s.last_sequence = i.expected
                RETURNING 1),
            created AS (
                INSERT INTO streamkit_segments (store, space, segment, last_sequence, last_transaction)
                SELECT \(id), i.space, i.segment, i.last, i.txn
                FROM unnest(\(created.map(\.space))::text[], \(created.map(\.segment))::text[],
                    \(created.map { Int64($0.last) })::int8[], \(created.map { Int64($0.lastTransaction) })::int8[])
                    AS i(space, segment, last, txn)
                WHERE NOT EXISTS (
                    SELECT 1 FROM streamkit_segments x
                    WHERE x.store = \(id) AND x.space = i.space AND x.segment = i.segment)
                RETURNING 1),
            h AS (
                UPDATE streamkit_stores
                SET head = head + \(count), last_timestamp = GREATEST(last_timestamp + \(count), \(now) + \(count) - 1)
                WHERE store = \(id) AND 1 / (CASE
                    WHEN (SELECT count(*) FROM advanced) + (SELECT count(*) FROM created) = \(Int64(chains.count)) THEN 1
                    ELSE 0 END) = 1
                RETURNING head, last_timestamp)
            INSERT INTO streamkit_batches
                (store, first_position, entry_count, first_timestamp, writer, codec, raw_length, checksum, runs, body)
            SELECT \(id), h.head - \(count) + 1, \(Int32(count)), h.last_timestamp - \(count) + 1, \(log.writer),
                \(Int16(batch.codec)), \(Int32(batch.rawLength)), \(Int64(batch.checksum)),
                \(ByteBuffer(bytes: batch.runsBytes)), \(ByteBuffer(bytes: batch.body))
            FROM h, durability
            RETURNING first_position, first_timestamp
            """
        var placed: (Int64, Int64)?
        do {
            for try await row in try await connection.query(query, logger: log.logger).decode((Int64, Int64).self) {
                placed = row
            }
        } catch  where PostgresFailure.sqlState(of: error) == Self.notEverySegmentFollows {
            return nil
        }
        guard let placed else {
            // Only a store without its head row inserts nothing, and its segment rows cannot exist either.
            throw StreamKitError(code: .storage, message: "store \(id) has no head row in PostgreSQL", storeID: id)
        }
        return placed
    }

    /// Advances every chain's segment row whose last sequence is the chain's expected one (creating the rows of
    /// new segments); returns the segments advanced. A segment not returned was moved by another writer.
    private func compareAndAdvance(
        _ chains: [Chain], on connection: PostgresConnection
    ) async throws -> Set<SegmentName> {
        var won: Set<SegmentName> = []
        let existing = chains.filter { $0.expected > 0 }
        if !existing.isEmpty {
            let query: PostgresQuery = """
                UPDATE streamkit_segments AS s
                SET last_sequence = i.last, last_transaction = i.txn
                FROM unnest(\(existing.map(\.space))::text[], \(existing.map(\.segment))::text[],
                    \(existing.map { Int64($0.expected) })::int8[], \(existing.map { Int64($0.last) })::int8[],
                    \(existing.map { Int64($0.lastTransaction) })::int8[]) AS i(space, segment, expected, last, txn)
                WHERE s.store = \(id) AND s.space = i.space AND s.segment = i.segment AND s.last_sequence = i.expected
                RETURNING s.space, s.segment
                """
            for try await (space, segment) in try await connection.query(query, logger: log.logger).decode(
                (String, String).self)
            {
                won.insert(SegmentName(space: space, segment: segment))
            }
        }
        let created = chains.filter { $0.expected == 0 }
        if !created.isEmpty {
            // A concurrent creation of the same segment fails this statement with a unique violation; the group
            // then runs again and finds the segment taken.
            let query: PostgresQuery = """
                INSERT INTO streamkit_segments (store, space, segment, last_sequence, last_transaction)
                SELECT \(id), i.space, i.segment, i.last, i.txn
                FROM unnest(\(created.map(\.space))::text[], \(created.map(\.segment))::text[],
                    \(created.map { Int64($0.last) })::int8[], \(created.map { Int64($0.lastTransaction) })::int8[])
                    AS i(space, segment, last, txn)
                WHERE NOT EXISTS (
                    SELECT 1 FROM streamkit_segments x
                    WHERE x.store = \(id) AND x.space = i.space AND x.segment = i.segment)
                RETURNING space, segment
                """
            for try await (space, segment) in try await connection.query(query, logger: log.logger).decode(
                (String, String).self)
            {
                won.insert(SegmentName(space: space, segment: segment))
            }
        }
        return won
    }

    /// The heads of the chains' segments (absent: never written).
    private func segmentHeads(
        _ chains: [Chain], on connection: PostgresConnection
    ) async throws -> [SegmentName: SegmentHeadConflict] {
        var heads: [SegmentName: SegmentHeadConflict] = [:]
        let query: PostgresQuery = """
            SELECT s.space, s.segment, s.last_sequence, s.last_transaction FROM streamkit_segments s
            JOIN unnest(\(chains.map(\.space))::text[], \(chains.map(\.segment))::text[]) AS i(space, segment)
                ON s.space = i.space AND s.segment = i.segment
            WHERE s.store = \(id)
            """
        for try await (space, segment, last, transaction) in try await connection.query(query, logger: log.logger)
            .decode((String, String, Int64, Int64).self)
        {
            heads[SegmentName(space: space, segment: segment)] = SegmentHeadConflict(
                lastSequence: UInt64(last), lastTransactionNumber: UInt64(transaction))
        }
        return heads
    }

    /// Answers the group's members and records the committed row.
    private func finish(_ group: [Waiting], _ outcome: Outcome) {
        if let row = outcome.row, let summary = outcome.summary {
            guard register(row, summary, local: true) else {
                let error = divergence(at: row)
                for i in outcome.offsets.keys { group[i].continuation.resume(throwing: error) }
                for (i, failure) in outcome.invalid { group[i].continuation.resume(throwing: failure) }
                for (i, conflict) in outcome.conflicts { group[i].continuation.resume(throwing: conflict) }
                return
            }
            log.announce(id)
        }
        for (i, error) in outcome.invalid { group[i].continuation.resume(throwing: error) }
        for (i, conflict) in outcome.conflicts { group[i].continuation.resume(throwing: conflict) }
        if let row = outcome.row {
            // In position order: a store that learns of a later transaction first sees a gap and asks the database
            // for other nodes' commits that are not there.
            for (i, offset) in outcome.offsets.sorted(by: { $0.value < $1.value }) {
                group[i].continuation.resume(
                    returning: CommittedTransaction(
                        firstPosition: row.firstPosition + UInt64(offset), count: group[i].transaction.records.count,
                        firstTimestamp: row.firstTimestamp + Int64(offset)))
            }
        }
    }

    /// Adds a row to the known rows: in order when it continues them (then any rows waiting behind it), else
    /// ahead of the gap. A row already known changes nothing.
    /// - Returns: false when the row's positions are known already with other contents (the database's log went
    ///   back); nothing is registered then.
    @discardableResult
    private func register(_ row: Row, _ summary: SealedBlock, local: Bool) -> Bool {
        let (gap, consistent) = state.withLock { state -> (Bool, Bool) in
            if let known = state.ahead[row.firstPosition] { return (false, known.0 == row) }
            if row.firstPosition <= state.knownThrough {
                let index = state.rows.partitioningIndex { $0.firstPosition >= row.firstPosition }
                return (false, index < state.rows.count && state.rows[index] == row)
            }
            if row.firstPosition > state.knownThrough + 1 {
                state.ahead[row.firstPosition] = (row, summary, local)
                if local { state.localAhead.insert(row.firstPosition) }
                return (true, true)
            }
            state.rows.append(row)
            state.fresh.append(summary)
            state.knownThrough = row.lastPosition
            while let next = state.ahead.removeValue(forKey: state.knownThrough + 1) {
                state.localAhead.remove(next.0.firstPosition)
                state.rows.append(next.0)
                state.fresh.append(next.1)
                state.knownThrough = next.0.lastPosition
            }
            return (false, true)
        }
        if gap { wakeUps.signal() }
        return consistent
    }

    /// Records that the database assigned `row` positions this node knows with other contents: its log went back
    /// (a failover to a replica that had not received every commit this node saw). Appends stop here: going on
    /// would give two entries one position. Logged at Error once.
    private func divergence(at row: Row) -> StreamKitError {
        let (error, first) = state.withLock { state -> (StreamKitError, Bool) in
            if let known = state.diverged { return (known, false) }
            let error = StreamKitError(
                code: .corrupt,
                message:
                    "store \(id): PostgreSQL assigned positions \(row.firstPosition)...\(row.lastPosition), which this node "
                    + "already read with other contents (the database's log went back, as after a failover to a replica "
                    + "that had not received every commit); appends through this node stop: restart it once the database "
                    + "is the one it was, or to follow the new log",
                storeID: id)
            state.diverged = error
            return (error, true)
        }
        if first {
            logger.error(
                "PostgreSQL log went back under this node",
                metadata: [
                    "store_id": "\(id)", "first_position": "\(row.firstPosition)",
                    "last_position": "\(row.lastPosition)",
                ])
        }
        return error
    }

    // MARK: - Blocks

    func blockIndex(containing position: UInt64) -> Int? {
        state.withLock { state in
            let index = state.rows.partitioningIndex { $0.lastPosition >= position }
            return index < state.rows.count ? state.base + index : nil
        }
    }

    func block(at index: Int) -> LogBlock? {
        state.withLock { $0.rows.indices.contains(index - $0.base) ? $0.rows[index - $0.base].block : nil }
    }

    /// Rows a block load fetches at once: the one asked for and those after it, up to this many entries in all
    /// (sequential readers then make one round trip per many rows).
    static let readAheadEntries = 16_384
    /// Most rows one block load fetches.
    static let readAheadRows = 64

    /// Rows loaded for readers, by block index: decoded entries, or the damage a row's decoding found (reported
    /// for that row only, so that the rows before it are still delivered).
    struct ReadAhead {
        var rows: [Int: Result<[Entry], any Error>] = [:]
        var order: [Int] = []
        static let maxRows = 256
    }

    /// The loaded row `index`; a row not loaded yet throws `BlockNotLoaded` (the reader awaits ``loadBlocks(from:)``
    /// and asks again: no reader thread ever waits for the database).
    func readBlock(at index: Int) throws -> [Entry] {
        guard let loaded = readAhead.withLock({ $0.rows.removeValue(forKey: index) }) else {
            let (known, base, logStart) = state.withLock {
                ($0.rows.indices.contains(index - $0.base), $0.base, $0.logStart)
            }
            guard known else {
                if index < base { throw BlockDropped(index: index, logStart: logStart) }
                throw LogFilesError(code: .invalidArgument, message: "no block \(index)")
            }
            throw BlockNotLoaded(index: index)
        }
        return try loaded.get()
    }

    /// Fetches rows `index`… (up to ``readAheadRows`` rows and about ``readAheadEntries`` entries) in one query
    /// and decodes them for ``readBlock(at:)``.
    func loadBlocks(from index: Int) async throws {
        let wanted = state.withLock { state -> [Row] in
            guard state.rows.indices.contains(index - state.base) else { return [] }
            var out: [Row] = []
            var entries = 0
            var i = index - state.base
            while i < state.rows.count, out.count < Self.readAheadRows,
                out.isEmpty || entries + state.rows[i].count <= Self.readAheadEntries
            {
                out.append(state.rows[i])
                entries += state.rows[i].count
                i += 1
            }
            return out
        }
        guard let first = wanted.first, let last = wanted.last else { return }
        let (id, logger) = (self.id, log.logger)
        let fetched: [(Int64, Int16, Int32, Int64, ByteBuffer)]
        do {
            fetched = try await log.withConnection { connection in
                var fetched: [(Int64, Int16, Int32, Int64, ByteBuffer)] = []
                let query: PostgresQuery = """
                    SELECT first_position, codec, raw_length, checksum, body FROM streamkit_batches
                    WHERE store = \(id) AND first_position >= \(Int64(first.firstPosition))
                        AND first_position <= \(Int64(last.firstPosition))
                    ORDER BY first_position
                    """
                for try await row in try await connection.query(query, logger: logger).decode(
                    (Int64, Int16, Int32, Int64, ByteBuffer).self)
                {
                    fetched.append(row)
                }
                return fetched
            }
        } catch {
            throw StreamKitError.postgres(error, storeID: id, doing: "reading position \(first.firstPosition)")
        }
        var byPosition: [UInt64: (Int16, Int32, Int64, ByteBuffer)] = [:]
        for (position, codec, rawLength, checksum, body) in fetched {
            byPosition[UInt64(position)] = (codec, rawLength, checksum, body)
        }
        // Rows gone from the table: dropped by retention on another node (before the log's start now), else damage.
        var logStart: UInt64?
        if byPosition.count < wanted.count { logStart = try? await sharedLogStart() }
        var loaded: [(Int, Result<[Entry], any Error>)] = []
        for (offset, row) in wanted.enumerated() {
            guard let (codec, rawLength, checksum, body) = byPosition[row.firstPosition] else {
                if let logStart, row.lastPosition < logStart {
                    loaded.append((index + offset, .failure(BlockDropped(index: index + offset, logStart: logStart))))
                } else {
                    loaded.append(
                        (
                            index + offset,
                            .failure(
                                StreamKitError(
                                    code: .corrupt,
                                    message: "store \(id): the row at position \(row.firstPosition) is gone",
                                    storeID: id))
                        ))
                }
                continue
            }
            loaded.append(
                (
                    index + offset,
                    Result { try Self.decode(row, codec: codec, rawLength: rawLength, checksum: checksum, body: body) }
                ))
        }
        readAhead.withLock { cache in
            for (i, result) in loaded {
                if cache.rows.updateValue(result, forKey: i) == nil { cache.order.append(i) }
            }
            while cache.order.count > ReadAhead.maxRows {
                cache.rows[cache.order.removeFirst()] = nil
            }
        }
    }

    private static func decode(
        _ row: Row, codec: Int16, rawLength: Int32, checksum: Int64, body: ByteBuffer
    ) throws -> [Entry] {
        guard let codecByte = UInt8(exactly: codec), let crc = UInt32(exactly: checksum) else {
            throw LogFilesError(
                code: .corrupt, message: "the row at position \(row.firstPosition) has an impossible codec or checksum")
        }
        return try body.withUnsafeReadableBytes { bytes in
            try BatchCodec.decode(
                body: bytes, codec: codecByte, rawLength: Int(rawLength), checksum: crc, entryCount: row.count,
                firstPosition: row.firstPosition, firstTimestamp: row.firstTimestamp)
        }
    }

    func takeSealedBlocks() -> [SealedBlock] {
        state.withLock { state in
            defer { state.fresh.removeAll() }
            return state.fresh
        }
    }

    /// Every acknowledged append is committed already.
    func flush() async throws {}

    func close() async {
        let busy = state.withLock { state -> Bool in
            state.closed = true
            return state.committing
        }
        if busy {
            await withCheckedContinuation { continuation in
                let done = state.withLock { state -> Bool in
                    guard state.committing else { return true }
                    state.drained.append(continuation)
                    return false
                }
                if done { continuation.resume() }
            }
        }
        log.unfollow(id, signal: wakeUps)
        wakeUps.signal()
    }

    var follower: (any LogFollower)? { self }
    var coordination: (any SharedCoordination)? { PostgresCoordination(store: id, log: log) }

    // MARK: - Consumers

    func consumers() async throws -> [Consumer] { try await PostgresConsumers(store: id, log: log).consumers() }

    func recordConsumers(_ changes: [ConsumerChange]) async throws -> [Result<Consumer?, StreamKitError>] {
        try await PostgresConsumers(store: id, log: log).record(changes)
    }

    // MARK: - Retention

    /// The store's own policy, from its `streamkit_stores` row (read at every retention pass: any node may set it).
    func retentionPolicy() async throws -> LogRetention.Policy? {
        let (id, logger) = (self.id, log.logger)
        do {
            return try await log.withConnection { connection in
                var policy: LogRetention.Policy?
                for try await (own, maxAge, maxBytes, maxEntries) in try await connection.query(
                    """
                    SELECT retention_policy, retention_max_age_ns, retention_max_bytes, retention_max_entries
                    FROM streamkit_stores WHERE store = \(id)
                    """, logger: logger
                ).decode((Bool, Int64?, Int64?, Int64?).self) where own {
                    policy = LogRetention.Policy(
                        maxAge: maxAge.map { .nanoseconds($0) }, maxBytes: maxBytes,
                        maxEntriesPerSegment: maxEntries.map { Int(clamping: $0) })
                }
                return policy
            }
        } catch {
            throw StreamKitError.postgres(error, storeID: id, doing: "reading the retention policy")
        }
    }

    /// Records the store's own policy in its `streamkit_stores` row (nil: none).
    func recordRetentionPolicy(_ policy: LogRetention.Policy?) async throws {
        let (id, logger) = (self.id, log.logger)
        let maxAge = policy?.maxAge.map(\.nanoseconds)
        let maxBytes = policy?.maxBytes
        let maxEntries = policy?.maxEntriesPerSegment.map(Int64.init)
        let own = policy != nil
        do {
            _ = try await log.withConnection { connection in
                try await connection.query(
                    """
                    UPDATE streamkit_stores SET retention_policy = \(own), retention_max_age_ns = \(maxAge),
                        retention_max_bytes = \(maxBytes), retention_max_entries = \(maxEntries)
                    WHERE store = \(id)
                    """, logger: logger)
            }
        } catch {
            throw StreamKitError.postgres(error, storeID: id, doing: "recording the retention policy")
        }
    }

    /// Where the log would start under `policy` at `now`: the first position of the oldest row to keep (never past
    /// the newest row), or nil when no row may go. Age from the rows this node knows (a row's entries have
    /// consecutive timestamps); size from the database (one query summing the rows' bytes newest first).
    func retentionStart(_ policy: LogRetention.Policy, now: Int64) async throws -> UInt64? {
        var start: UInt64?
        if let maxAge = policy.maxAge {
            let horizon = now - maxAge.nanoseconds
            start = state.withLock { state -> UInt64? in
                guard state.rows.count > 1 else { return nil }
                let keep = min(
                    state.rows.partitioningIndex { $0.firstTimestamp + Int64($0.count) - 1 >= horizon },
                    state.rows.count - 1)
                return keep > 0 ? state.rows[keep].firstPosition : nil
            }
        }
        if let maxBytes = policy.maxBytes {
            let (id, logger) = (self.id, log.logger)
            let fitting: UInt64?
            do {
                fitting = try await log.withConnection { connection -> UInt64? in
                    var found: UInt64?
                    for try await (first) in try await connection.query(
                        """
                        SELECT COALESCE(min(first_position) FILTER (WHERE suffix <= \(maxBytes)), max(first_position))
                        FROM (SELECT first_position,
                                sum(octet_length(body) + octet_length(runs)) OVER (ORDER BY first_position DESC) AS suffix
                            FROM streamkit_batches WHERE store = \(id)) AS rows
                        """, logger: logger
                    ).decode(Int64?.self) {
                        found = first.map { UInt64($0) }
                    }
                    return found
                }
            } catch {
                throw StreamKitError.postgres(error, storeID: id, doing: "measuring the log for retention")
            }
            if let fitting { start = max(start ?? 0, fitting) }
        }
        let current = state.withLock { $0.rows.first?.firstPosition ?? $0.logStart }
        guard let start, start > current else { return nil }
        return start
    }

    /// Deletes the rows before `logStart` and records the new start (`streamkit_stores.log_start`) in one
    /// statement; other nodes learn it from their follow loop. Segments keep their heads in `streamkit_segments`
    /// (`retired` is not needed).
    func dropEntries(
        before logStart: UInt64, retired: [StoreManifest.RetiredSegment]
    ) async throws -> LogRetention.Outcome {
        let (id, logger) = (self.id, log.logger)
        var outcome = LogRetention.Outcome(manifest: StoreManifest(logStart: logStart))
        do {
            let (rows, entries, bytes) = try await log.withConnection { connection -> (Int, Int, Int64) in
                var result = (0, 0, Int64(0))
                for try await (rows, entries, bytes) in try await connection.query(
                    """
                    WITH moved AS (
                        UPDATE streamkit_stores SET log_start = GREATEST(log_start, \(Int64(clamping: logStart)))
                        WHERE store = \(id) RETURNING log_start),
                    gone AS (
                        DELETE FROM streamkit_batches WHERE store = \(id) AND first_position < \(Int64(clamping: logStart))
                        AND EXISTS (SELECT 1 FROM moved)
                        RETURNING entry_count, octet_length(body) + octet_length(runs) AS bytes)
                    SELECT count(*)::int8, COALESCE(sum(entry_count), 0)::int8, COALESCE(sum(bytes), 0)::int8 FROM gone
                    """, logger: logger
                ).decode((Int64, Int64, Int64).self) {
                    result = (Int(rows), Int(entries), bytes)
                }
                return result
            }
            outcome.droppedFiles = rows
            outcome.droppedEntries = entries
            outcome.reclaimedBytes = bytes
        } catch {
            throw StreamKitError.postgres(error, storeID: id, doing: "dropping rows for retention")
        }
        forgetRows(before: logStart)
        log.announce(id)
        return outcome
    }

    /// Forgets the rows before `logStart` (dropped by retention here or on another node).
    private func forgetRows(before logStart: UInt64) {
        let base = state.withLock { state -> Int in
            guard logStart > state.logStart else { return state.base }
            state.logStart = logStart
            let count = state.rows.partitioningIndex { $0.firstPosition >= logStart }
            state.rows.removeFirst(count)
            state.base += count
            return state.base
        }
        readAhead.withLock { cache in
            cache.order.removeAll { $0 < base }
            cache.rows = cache.rows.filter { $0.key >= base }
        }
    }

    /// The log's start as the database has it now.
    private func sharedLogStart() async throws -> UInt64 {
        let (id, logger) = (self.id, log.logger)
        return try await log.withConnection { connection in
            var start: UInt64 = 1
            for try await (found) in try await connection.query(
                "SELECT log_start FROM streamkit_stores WHERE store = \(id)", logger: logger
            ).decode(Int64.self) {
                start = UInt64(max(1, found))
            }
            return start
        }
    }

    /// Where the log starts and every deletion recorded, in one round trip; rows before the start are forgotten
    /// first.
    func maintenance() async throws -> SharedMaintenance {
        let (id, logger) = (self.id, log.logger)
        let (logStart, deletions): (UInt64, [StoreManifest.Deletion])
        do {
            (logStart, deletions) = try await log.withConnection { connection in
                var start: UInt64 = 1
                var deletions: [StoreManifest.Deletion] = []
                for try await (found, space, segment, before, through) in try await connection.query(
                    """
                    SELECT s.log_start, d.space, d.segment, d.before, d.through
                    FROM streamkit_stores s LEFT JOIN streamkit_deletions d ON d.store = s.store
                    WHERE s.store = \(id)
                    """, logger: logger
                ).decode((Int64, String?, String?, Int64?, Int64?).self) {
                    start = UInt64(max(1, found))
                    if let space, let segment, let before, let through {
                        deletions.append(
                            .init(space: space, segment: segment, before: UInt64(before), through: UInt64(through)))
                    }
                }
                return (start, deletions)
            }
        } catch {
            throw StreamKitError.postgres(error, storeID: id, doing: "reading retention and deletions")
        }
        forgetRows(before: logStart)
        return SharedMaintenance(logStart: logStart, deletions: deletions)
    }

    // MARK: - Deletion

    /// Records deletions in `streamkit_deletions` (one statement; a segment's row keeps the later bounds) and
    /// announces them, so that other nodes' follow loops pick them up.
    func recordDeletions(_ deletions: [StoreManifest.Deletion]) async throws {
        guard !deletions.isEmpty else { return }
        let id = self.id
        let logger = log.logger
        let (spaces, segments, befores, throughs) = Self.columns(deletions)
        do {
            _ = try await log.withConnection { connection in
                try await connection.query(
                    """
                    INSERT INTO streamkit_deletions (store, space, segment, before, through)
                    SELECT \(id), d.space, d.segment, d.before, d.through
                    FROM unnest(\(spaces)::text[], \(segments)::text[], \(befores)::int8[], \(throughs)::int8[])
                        AS d (space, segment, before, through)
                    ON CONFLICT (store, space, segment) DO UPDATE SET
                        before = GREATEST(streamkit_deletions.before, EXCLUDED.before),
                        through = GREATEST(streamkit_deletions.through, EXCLUDED.through)
                    """, logger: logger)
            }
        } catch {
            throw StreamKitError.postgres(error, storeID: id, doing: "recording a deletion")
        }
        log.announce(id)
    }

    func deletions() async throws -> [StoreManifest.Deletion] {
        let id = self.id
        let logger = log.logger
        do {
            return try await log.withConnection { connection in
                try await Self.deletions(of: id, on: connection, logger: logger)
            }
        } catch {
            throw StreamKitError.postgres(error, storeID: id, doing: "reading deletions")
        }
    }

    /// Compaction: rewrites the rows holding entries the recorded deletions cover with those records erased
    /// (`UPDATE … WHERE checksum = <old>`: a row another node rewrote meanwhile is left as it is), choosing the rows
    /// by their runs (bodies are fetched only for those). Every deletion is then finished: every committed row is
    /// in the table. PostgreSQL frees the old row versions at its next vacuum.
    var compactsDeletions: Bool { true }

    func compactDeletions(pace: (Int) throws -> Void) async throws -> LogWriter.CompactionPass {
        var pass = LogWriter.CompactionPass()
        let deletions = try await deletions()
        guard let lastCovered = deletions.map(\.through).max() else { return pass }
        let byName = Dictionary(deletions.map { (StoreManifest.SegmentName(space: $0.space, segment: $0.segment), $0) })
        { $1 }
        let (id, logger) = (self.id, log.logger)
        let candidates: [Row]
        do {
            candidates = try await log.withConnection { connection -> [Row] in
                var out: [Row] = []
                for try await (first, count, timestamp, runs) in try await connection.query(
                    """
                    SELECT first_position, entry_count, first_timestamp, runs FROM streamkit_batches
                    WHERE store = \(id) AND first_position <= \(Int64(clamping: lastCovered)) ORDER BY first_position
                    """, logger: logger
                ).decode((Int64, Int32, Int64, ByteBuffer).self) {
                    let covered = try BatchCodec.decodeRuns(Array(buffer: runs), firstTimestamp: timestamp).contains {
                        run in
                        byName[StoreManifest.SegmentName(space: run.space, segment: run.segment)].map {
                            run.firstSequence < $0.before && UInt64(first) <= $0.through
                        } ?? false
                    }
                    if covered {
                        out.append(Row(firstPosition: UInt64(first), count: Int(count), firstTimestamp: timestamp))
                    }
                }
                return out
            }
        } catch {
            throw StreamKitError.postgres(error, storeID: id, doing: "compacting")
        }
        for row in candidates {
            let rewritten: (bytes: Int, erased: Int, runs: [SegmentRun])?
            do {
                rewritten = try await erase(row, deletions: byName)
            } catch {
                throw StreamKitError.postgres(error, storeID: id, doing: "compacting position \(row.firstPosition)")
            }
            guard let rewritten else { continue }
            try pace(rewritten.bytes)
            pass.outcome.readBytes += Int64(rewritten.bytes)
            pass.outcome.erasedEntries += rewritten.erased
            pass.outcome.rewrittenFiles += 1
            if let index = blockIndex(containing: row.firstPosition) {
                pass.rewritten.append(LogWriter.RewrittenBlocks(indexes: index..<(index + 1), runs: [rewritten.runs]))
            }
        }
        // Rows fetched ahead hold the erased entries' bytes.
        let through = blockIndex(containing: lastCovered) ?? Int.max
        readAhead.withLock { cache in
            cache.order.removeAll { $0 <= through }
            cache.rows = cache.rows.filter { $0.key > through }
        }
        pass.outcome.finishedDeletions = deletions
        return pass
    }

    /// Rewrites one row with the covered records erased; nil when it holds none (any more).
    private func erase(
        _ row: Row, deletions: [StoreManifest.SegmentName: StoreManifest.Deletion]
    ) async throws
        -> (bytes: Int, erased: Int, runs: [SegmentRun])?
    {
        let (id, logger) = (self.id, log.logger)
        return try await log.withConnection { connection in
            var stored: (Int16, Int32, Int64, ByteBuffer)?
            for try await found in try await connection.query(
                """
                SELECT codec, raw_length, checksum, body FROM streamkit_batches
                WHERE store = \(id) AND first_position = \(Int64(row.firstPosition))
                """, logger: logger
            ).decode((Int16, Int32, Int64, ByteBuffer).self) {
                stored = found
            }
            guard let (codec, rawLength, checksum, body) = stored, let codecByte = UInt8(exactly: codec),
                let crc = UInt32(exactly: checksum)
            else { return nil }
            let old = Array(buffer: body)
            guard
                let batch = try BatchCodec.erase(
                    body: old, codec: codecByte, rawLength: Int(rawLength), checksum: crc, entryCount: row.count,
                    firstPosition: row.firstPosition, deletions: deletions)
            else { return nil }
            let newBody = ByteBuffer(bytes: batch.body)
            let newRuns = ByteBuffer(bytes: batch.runsBytes)
            try await connection.query(
                """
                UPDATE streamkit_batches SET codec = \(Int16(batch.codec)), raw_length = \(Int32(batch.rawLength)),
                    checksum = \(Int64(batch.checksum)), runs = \(newRuns), body = \(newBody)
                WHERE store = \(id) AND first_position = \(Int64(row.firstPosition)) AND checksum = \(checksum)
                """, logger: logger)
            let runs = try BatchCodec.decodeRuns(batch.runsBytes, firstTimestamp: row.firstTimestamp)
            let erased = runs.reduce(0) { $0 + ($1.space.isEmpty ? $1.count : 0) }
            return (old.count + batch.body.count, erased, runs)
        }
    }

    /// Forgets `finished` deletions: their rows in `streamkit_deletions` go (one merged into a later deletion of its
    /// segment since stays). The segments' heads stay in `streamkit_segments`.
    func finishDeletions(_ finished: [StoreManifest.Deletion], retired: [StoreManifest.RetiredSegment]) async throws {
        guard !finished.isEmpty else { return }
        let (id, logger) = (self.id, log.logger)
        let (spaces, segments, befores, throughs) = Self.columns(finished)
        do {
            _ = try await log.withConnection { connection in
                try await connection.query(
                    """
                    DELETE FROM streamkit_deletions d
                    USING unnest(\(spaces)::text[], \(segments)::text[], \(befores)::int8[], \(throughs)::int8[])
                        AS f (space, segment, before, through)
                    WHERE d.store = \(id) AND d.space = f.space AND d.segment = f.segment AND d.before = f.before
                        AND d.through = f.through
                    """, logger: logger)
            }
        } catch {
            throw StreamKitError.postgres(error, storeID: id, doing: "finishing deletions")
        }
    }

    /// `deletions` as the column arrays a statement unnests.
    private static func columns(_ deletions: [StoreManifest.Deletion]) -> ([String], [String], [Int64], [Int64]) {
        (
            deletions.map(\.space), deletions.map(\.segment), deletions.map { Int64(clamping: $0.before) },
            deletions.map { Int64(clamping: $0.through) }
        )
    }

    /// The deletions recorded for store `id`.
    private static func deletions(
        of id: UUID, on connection: PostgresConnection, logger: Logger
    ) async throws
        -> [StoreManifest.Deletion]
    {
        var out: [StoreManifest.Deletion] = []
        for try await (space, segment, before, through) in try await connection.query(
            "SELECT space, segment, before, through FROM streamkit_deletions WHERE store = \(id)", logger: logger
        ).decode((String, String, Int64, Int64).self) {
            out.append(.init(space: space, segment: segment, before: UInt64(before), through: UInt64(through)))
        }
        return out
    }

    // MARK: - Following

    func waitForCommits(poll: Duration) async { await wakeUps.wait(timeout: poll) }

    func wake() { wakeUps.signal() }

    func transactions(after position: UInt64, maxEntries: Int) async throws -> [FollowedTransaction] {
        let (known, local) = state.withLock { ($0.knownThrough, Array($0.localAhead)) }
        let limit = Int64(max(1, min(Self.followRows, maxEntries / 64 + 1)))
        let query: PostgresQuery = """
            SELECT first_position, entry_count, first_timestamp, codec, raw_length, checksum, runs,
                CASE WHEN first_position = ANY(\(local.map { Int64($0) })::int8[]) THEN NULL ELSE body END
            FROM streamkit_batches
            WHERE store = \(id) AND first_position > \(Int64(known))
            ORDER BY first_position
            LIMIT \(limit)
            """
        var out: [FollowedTransaction] = []
        do {
            let logger = log.logger
            let fetched = try await log.withConnection { connection in
                var fetched: [(Int64, Int32, Int64, Int16, Int32, Int64, ByteBuffer, ByteBuffer?)] = []
                for try await row in try await connection.query(query, logger: logger).decode(
                    (Int64, Int32, Int64, Int16, Int32, Int64, ByteBuffer, ByteBuffer?).self)
                {
                    fetched.append(row)
                }
                return fetched
            }
            for (first, count, timestamp, codec, rawLength, checksum, runs, body) in fetched {
                let row = Row(firstPosition: UInt64(first), count: Int(count), firstTimestamp: timestamp)
                let summary = try row.summary(storedRuns: runs)
                if let body {
                    let entries = try Self.decode(
                        row, codec: codec, rawLength: rawLength, checksum: checksum, body: body)
                    Self.split(entries, after: position, into: &out)
                }
                register(row, summary, local: body == nil)
            }
        } catch {
            throw StreamKitError.postgres(error, storeID: id, doing: "following")
        }
        return out
    }

    /// Splits a row's entries into transactions (an entry that ends its transaction closes one), keeping those
    /// after `position`.
    private static func split(_ entries: [Entry], after position: UInt64, into out: inout [FollowedTransaction]) {
        var start = 0
        for (i, entry) in entries.enumerated() where entry.endsTransaction {
            let first = entries[start]
            if first.position > position {
                let records = entries[start...i].map {
                    Record(sequence: $0.sequence, payload: $0.payload.bytes, metadata: $0.metadata)
                }
                out.append(
                    FollowedTransaction(
                        space: first.space, segment: first.segment, transactionID: first.transactionID,
                        transactionNumber: first.transactionNumber, records: records,
                        committed: CommittedTransaction(
                            firstPosition: first.position, count: records.count, firstTimestamp: first.timestamp)))
            }
            start = i + 1
        }
    }
}

/// A segment's name within a store.
struct SegmentName: Hashable, Sendable {
    var space: String
    var segment: String
}
