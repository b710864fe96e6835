/// Which system a measurement belongs to. `streamkit` is ours; the others are peers run on the same workload.
enum BenchSystem: String, Sendable, Codable, CaseIterable {
    case streamkit
    case sqlite
    case limit
    /// The same records as plain PostgreSQL rows (``PostgresRawPeer``), beside the `postgres.*` scenarios.
    case postgresRaw = "postgres-raw"
}

/// Durability the scenario asks of the system under test.
enum BenchDurability: String, Sendable, Codable {
    case none
    case fsync
}

/// Options shared by every scenario, filled from the command line (`--records`, `--payload-bytes`, …).
struct BenchOptions: Sendable {
    /// Records to write or read; `nil` means the scenario's own default.
    var records: Int?
    var payloadBytes: Int = 256
    var batch: Int = 100
    /// `nil` means the scenario's own default (most run both `none` and `fsync` where it matters).
    var durability: BenchDurability?
    var segments: Int?
    var producers: Int?
    /// A scratch directory the scenario may use; it is removed after the scenario.
    var workDirectory: String
    /// Set by the quick suite (no scenario names given): scenarios keep themselves short.
    var quick: Bool = false
    /// Whether to run the sqlite and limit peers (`--no-peers` turns them off).
    var peers: Bool = true
    /// The database of the `postgres.*` scenarios (`--postgres URL`, or the private cluster the harness started).
    var postgresURL: String?
}

/// Latency percentiles in microseconds (from an HdrHistogram).
struct LatencySummary: Sendable, Codable {
    var p50: Double
    var p99: Double
    var p999: Double
    var max: Double
}

/// One row of the report: one scenario measured on one system.
struct Measurement: Sendable {
    var scenario: String
    var system: BenchSystem
    var records: Int
    var seconds: Double
    /// Total payload bytes moved (records × payload size), for MB/s.
    var payloadBytes: Int
    var payloadBytesPerRecord: Int
    var batch: Int
    var durability: BenchDurability
    var latency: LatencySummary? = nil
    var bytesOnDisk: Int? = nil
    var peakResidentBytes: Int? = nil
    /// Free-form extra figures shown in the report (e.g. "ratio": "3.4", "index_bytes_per_segment": "61").
    var extras: [String: String] = [:]

    var recordsPerSecond: Double { seconds > 0 ? Double(records) / seconds : 0 }
    var megabytesPerSecond: Double { seconds > 0 ? Double(payloadBytes) / seconds / 1_000_000 : 0 }
}

/// Reports progress on stderr as one line that rewrites itself.
protocol ProgressReporting: Sendable {
    func update(_ label: String, done: Int, total: Int)
}

/// A named benchmark. `run` returns one measurement per system it ran (ours first, then peers).
protocol Scenario: Sendable {
    /// Stable name, e.g. `logfiles.append`.
    var name: String { get }
    /// One line for `--list`.
    var summary: String { get }
    /// Whether the no-argument quick suite runs it.
    var inQuickSuite: Bool { get }
    /// Whether it needs a PostgreSQL database (`--postgres URL`, or a private cluster the harness starts).
    var needsPostgres: Bool { get }
    func run(_ options: BenchOptions, progress: any ProgressReporting) async throws -> [Measurement]
}

extension Scenario {
    var needsPostgres: Bool { false }
}
