import CSQLite

/// The `sqlite` peer: what a Swift developer picks today for an embedded event store.
///
/// SQLite through the C API, WAL journal, one table keyed by (segment, sequence), one reused prepared
/// INSERT, one transaction per `batch` rows, `synchronous=NORMAL` for durability `none` and `FULL` for
/// `fsync`. Batches go round-robin to `workload.segments` segments named `segment-00000000`…; sequences
/// count from 0 in each segment. `consume` reads back in key order with a prepared SELECT.
///
/// ```swift
/// let sqlite = SQLitePeer(directory: try work.subdirectory("sqlite-\(workload.durability)"))
/// rows.append(try sqlite.produce(workload, progress: progress))
/// rows.append(try sqlite.consume(workload, progress: progress))               // every segment
/// rows.append(try sqlite.consume(workload, segment: 0, progress: progress))   // one segment
/// ```
struct SQLitePeer: Sendable {
    /// Table layout. Measured on this machine (1M × 256 B, batches of 100, `NORMAL`): see
    /// `docs/benchmarks.md`; `preferred` is the faster one and is what the scenarios use.
    enum Layout: String, Sendable {
        case withoutRowid
        case rowid

        static let preferred: Layout = .withoutRowid

        var createTable: String {
            let columns =
                "segment TEXT NOT NULL, sequence INTEGER NOT NULL, timestamp INTEGER NOT NULL, payload BLOB NOT NULL, PRIMARY KEY (segment, sequence)"
            switch self {
            case .withoutRowid: return "CREATE TABLE IF NOT EXISTS entries (\(columns)) WITHOUT ROWID"
            case .rowid: return "CREATE TABLE IF NOT EXISTS entries (\(columns))"
            }
        }
    }

    static let segmentNameBytes = 16  // "segment-" + 8 digits

    let directory: String
    let layout: Layout

    var path: String { directory + "/entries.sqlite" }

    init(directory: String, layout: Layout = .preferred) {
        self.directory = directory
        self.layout = layout
    }

    /// Inserts every record of `workload`, one transaction per batch; one latency sample per
    /// transaction (BEGIN … COMMIT). The time ends at the last COMMIT; closing (final checkpoint) is
    /// outside it. Bytes on disk are measured after closing.
    func produce(_ workload: Workload, progress: any ProgressReporting) throws(PeerError) -> Measurement {
        let label = "\(workload.scenario) sqlite \(workload.durability.rawValue)"
        let size = workload.payloadBytes
        let total = workload.records
        let batch = max(1, workload.batch)
        let segments = max(1, workload.segments)
        let names = Self.segmentNames(count: segments)
        var sequences = [Int64](repeating: 0, count: segments)
        var latency = LatencyRecorder()

        let database = try open(durability: workload.durability)
        try database.execute(layout.createTable)
        let insert = try database.prepare(
            "INSERT INTO entries (segment, sequence, timestamp, payload) VALUES (?1, ?2, ?3, ?4)")
        let begin = try database.prepare("BEGIN")
        let commit = try database.prepare("COMMIT")
        let statement = insert.handle

        TimedPhase.prepare()
        let seconds: Double = try workload.payloads.withUnsafeBytes { (all) throws(PeerError) -> Double in
            guard let base = all.baseAddress else { return 0 }
            return try names.withUnsafeBytesTyped { (nameBytes) throws(PeerError) -> Double in
                let namesBase = nameBytes.baseAddress.unsafelyUnwrapped.assumingMemoryBound(to: CChar.self)
                let timestamps = workload.payloads.timestamps
                defer { sqlite3_clear_bindings(statement) }  // no pointer into `all` survives the scope
                let start = MonotonicClock.nanoseconds()
                var batchStart = 0
                var batchIndex = 0
                while batchStart < total {
                    let batchEnd = min(total, batchStart + batch)
                    let segment = workload.segment(ofBatch: batchIndex)
                    let began = MonotonicClock.nanoseconds()
                    try begin.run("BEGIN")
                    // SQLITE_STATIC (nil destructor): the name and payload stay valid until reset/rebind.
                    sqlite3_bind_text(
                        statement, 1, namesBase + segment * Self.segmentNameBytes, Int32(Self.segmentNameBytes), nil)
                    for index in batchStart..<batchEnd {
                        sqlite3_bind_int64(statement, 2, sequences[segment])
                        sequences[segment] += 1
                        sqlite3_bind_int64(statement, 3, timestamps[index])
                        sqlite3_bind_blob(statement, 4, base + index * size, Int32(size), nil)
                        let code = sqlite3_step(statement)
                        sqlite3_reset(statement)
                        guard code == SQLITE_DONE else {
                            sqlite3_exec(database.handle, "ROLLBACK", nil, nil, nil)
                            throw database.error("INSERT", code: code)
                        }
                    }
                    try commit.run("COMMIT")
                    latency.record(nanoseconds: MonotonicClock.nanoseconds() &- began)
                    progress.update(label, done: batchEnd, total: total)
                    batchStart = batchEnd
                    batchIndex += 1
                }
                return MonotonicClock.seconds(from: start, to: MonotonicClock.nanoseconds())
            }
        }
        let peak = ResidentMemory.peak()
        insert.finalize()
        begin.finalize()
        commit.finalize()
        try database.close()
        return workload.measurement(
            system: .sqlite,
            seconds: seconds,
            latency: latency.summary,
            bytesOnDisk: DiskUsage.bytes(under: directory),
            peakResidentBytes: peak
        )
    }

    /// Reads back what `produce` wrote for the same workload, in key order: every row when `segment`
    /// is `nil` (`ORDER BY segment, sequence`), else one segment (`WHERE segment = ? ORDER BY sequence`).
    /// Checks the row count and payload bytes.
    func consume(
        _ workload: Workload, segment: Int? = nil, progress: any ProgressReporting
    ) throws(PeerError) -> Measurement {
        let label = "\(workload.scenario) sqlite read"
        let expected = segment.map { workload.records(inSegment: $0) } ?? workload.records
        let database = try open(durability: .none)
        let select: SQLiteStatement
        if let segment {
            select = try database.prepare(
                "SELECT sequence, timestamp, payload FROM entries WHERE segment = ?1 ORDER BY sequence")
            let name = Self.segmentNames(count: segment + 1).suffix(Self.segmentNameBytes)
            let code = Array(name).withUnsafeBytes { bytes in
                sqlite3_bind_text(
                    select.handle, 1, bytes.baseAddress?.assumingMemoryBound(to: CChar.self), Int32(bytes.count),
                    unsafeBitCast(-1, to: sqlite3_destructor_type.self))
            }
            guard code == SQLITE_OK else { throw database.error("bind segment", code: code) }
        } else {
            select = try database.prepare("SELECT sequence, timestamp, payload FROM entries ORDER BY segment, sequence")
        }
        let statement = select.handle
        var rows = 0
        var payloadBytes = 0
        var timestampSum: Int64 = 0
        TimedPhase.prepare()
        let start = MonotonicClock.nanoseconds()
        while true {
            let code = sqlite3_step(statement)
            if code == SQLITE_DONE { break }
            guard code == SQLITE_ROW else { throw database.error("SELECT", code: code) }
            timestampSum &+= sqlite3_column_int64(statement, 1)
            _ = sqlite3_column_blob(statement, 2)
            payloadBytes += Int(sqlite3_column_bytes(statement, 2))
            rows += 1
            if rows & 1023 == 0 { progress.update(label, done: rows, total: expected) }
        }
        let seconds = MonotonicClock.seconds(from: start, to: MonotonicClock.nanoseconds())
        let peak = ResidentMemory.peak()
        select.finalize()
        try database.close()
        guard rows == expected, payloadBytes == expected * workload.payloadBytes, timestampSum != 0 || expected == 0
        else {
            throw .verification(
                system: .sqlite,
                detail:
                    "read \(rows) rows / \(payloadBytes) bytes, expected \(expected) / \(expected * workload.payloadBytes)"
            )
        }
        return workload.measurement(
            system: .sqlite,
            records: rows,
            seconds: seconds,
            bytesOnDisk: DiskUsage.bytes(under: directory),
            peakResidentBytes: peak
        )
    }

    private func open(durability: BenchDurability) throws(PeerError) -> SQLiteDatabase {
        let database = try SQLiteDatabase(path: path)
        let mode = try database.scalarText("PRAGMA journal_mode=WAL")
        guard mode?.lowercased() == "wal" else {
            throw .sqlite(
                operation: "PRAGMA journal_mode=WAL", code: 0, message: "journal mode is \(mode ?? "unknown")")
        }
        try database.execute("PRAGMA synchronous=\(durability == .fsync ? "FULL" : "NORMAL")")
        return database
    }

    /// `count` fixed-width names `segment-00000000`… back to back (16 bytes each).
    static func segmentNames(count: Int) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count * segmentNameBytes)
        let prefix = Array("segment-".utf8)
        for index in 0..<count {
            let offset = index * segmentNameBytes
            for (position, byte) in prefix.enumerated() { bytes[offset + position] = byte }
            var value = index
            for position in stride(from: segmentNameBytes - 1, through: prefix.count, by: -1) {
                bytes[offset + position] = UInt8(ascii: "0") + UInt8(value % 10)
                value /= 10
            }
        }
        return bytes
    }
}
