/// `logfiles.read`: write the records once (untimed, durability `none`), then time a sequential read
/// with decompression of every record. Rows: streamkit (LogFiles), sqlite, limit.
struct LogFilesReadScenario: Scenario {
    let name = "logfiles.read"
    let summary = "sequential read + decompress of every record written by an untimed append; peers sqlite, limit"
    let inQuickSuite = true

    func run(_ options: BenchOptions, progress: any ProgressReporting) async throws -> [Measurement] {
        let records = options.records ?? (options.quick ? 500_000 : 1_000_000)
        var generator = PayloadGenerator(payloadBytes: options.payloadBytes)
        let payloads = generator.makeBuffer(count: records)
        let work = WorkDirectory(path: options.workDirectory)
        let workload = Workload(scenario: name, payloads: payloads, batch: options.batch, durability: .none)
        var rows: [Measurement] = []
        rows += try await LogFilesStreamKitRows.read(
            workload,
            directory: try work.subdirectory("streamkit"),
            progress: progress
        )
        guard options.peers else { return rows }
        let sqlite = SQLitePeer(directory: try work.subdirectory("sqlite"))
        _ = try sqlite.produce(workload, progress: progress)
        rows.append(try sqlite.consume(workload, progress: progress))
        let limit = LimitPeer(directory: try work.subdirectory("limit"))
        _ = try limit.append(workload, progress: progress)
        rows.append(try limit.read(workload, progress: progress))
        return rows
    }
}
