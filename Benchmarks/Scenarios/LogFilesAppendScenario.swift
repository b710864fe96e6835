/// `logfiles.append`: append records in transactions of `--batch`, durability `none` and `fsync`
/// (or the one given with `--durability`). Rows: streamkit (LogFiles), sqlite, limit.
struct LogFilesAppendScenario: Scenario {
    let name = "logfiles.append"
    let summary = "append records in transactions of --batch to one log (none and fsync); peers sqlite, limit"
    let inQuickSuite = true

    func run(_ options: BenchOptions, progress: any ProgressReporting) async throws -> [Measurement] {
        let records = options.records ?? (options.quick ? 200_000 : 1_000_000)
        var generator = PayloadGenerator(payloadBytes: options.payloadBytes)
        let payloads = generator.makeBuffer(count: records)
        let work = WorkDirectory(path: options.workDirectory)
        var rows: [Measurement] = []
        for durability in options.durability.map({ [$0] }) ?? [.none, .fsync] {
            let workload = Workload(scenario: name, payloads: payloads, batch: options.batch, durability: durability)
            rows += try await LogFilesStreamKitRows.append(
                workload,
                directory: try work.subdirectory("streamkit-\(durability.rawValue)"),
                progress: progress
            )
            guard options.peers else { continue }
            rows.append(
                try SQLitePeer(directory: try work.subdirectory("sqlite-\(durability.rawValue)"))
                    .produce(workload, progress: progress))
            rows.append(
                try LimitPeer(directory: try work.subdirectory("limit-\(durability.rawValue)"))
                    .append(workload, progress: progress))
        }
        return rows
    }
}
