import PostgresNIO

/// Counters taken at the start and end of a timed phase over PostgreSQL, turned into where-time-goes extras:
/// cores used by this process (`cpu_bench`) and by a local server (`cpu_postgres`: postmaster and live children),
/// and WAL written (`wal_mb`, from `pg_current_wal_lsn()`).
struct PostgresPhaseSample: Sendable {
    var nanoseconds: UInt64
    var ownCPU: Double
    var serverCPU: Double?
    var walBytes: Int64?

    /// Takes the counters at a phase's start (two small queries and a `/proc` walk; call right before timing):
    /// this process's CPU last, so that the sampling itself is not counted.
    static func begin(_ database: BenchPostgresClient, postmaster: Int32?) async -> PostgresPhaseSample {
        let wal = try? await database.integer("SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')::int8")
        let server = postmaster.flatMap(ProcessCPU.treeSeconds(of:))
        return PostgresPhaseSample(
            nanoseconds: MonotonicClock.nanoseconds(), ownCPU: ProcessCPU.ownSeconds(), serverCPU: server, walBytes: wal
        )
    }

    /// Takes the counters at a phase's end (right after timing): this process's CPU first.
    static func end(_ database: BenchPostgresClient, postmaster: Int32?) async -> PostgresPhaseSample {
        let now = MonotonicClock.nanoseconds()
        let own = ProcessCPU.ownSeconds()
        let server = postmaster.flatMap(ProcessCPU.treeSeconds(of:))
        let wal = try? await database.integer("SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')::int8")
        return PostgresPhaseSample(nanoseconds: now, ownCPU: own, serverCPU: server, walBytes: wal)
    }

    /// The extras between `self` (start) and `end` over `seconds` of timed work (the phase's own timing, so a
    /// sample's queries do not dilute the rates).
    func extras(until end: PostgresPhaseSample, seconds: Double) -> [String: String] {
        guard seconds > 0 else { return [:] }
        var out = ["cpu_bench": NumberFormat.fixed((end.ownCPU - ownCPU) / seconds, digits: 2)]
        if let start = serverCPU, let stop = end.serverCPU {
            out["cpu_postgres"] = NumberFormat.fixed((stop - start) / seconds, digits: 2)
        }
        if let start = walBytes, let stop = end.walBytes {
            out["wal_mb"] = NumberFormat.fixed(Double(stop - start) / 1_000_000, digits: 1)
        }
        return out
    }
}
