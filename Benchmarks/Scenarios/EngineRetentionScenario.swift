import Foundation
import StreamKitEngine
import StreamKitLogFiles

/// `engine.retention`: one producer writes as fast as it can, once with size retention running in the
/// background (`--retention` bound 16 MiB, log files of 4 MiB, applied every 100 ms), once without
/// (`engine.retention.off`), and once with size retention plus a per-segment bound that deletes continuously,
/// so that compaction rewrites files every pass (`engine.retention.deleting`: each segment keeps its newest
/// tenth of the records), in the same run. Reports the throughput of each, and the disk the store takes over
/// time: sampled ten times while producing, the largest sample of the second half and the last one are in the
/// notes (flat with retention, growing without). Each variant runs five times, alternating; the median run
/// is reported, every run's records/s in the notes.
struct EngineRetentionScenario: Scenario {
    let name = "engine.retention"
    let summary = "produce at full speed with size retention running vs without; disk size over time"
    let inQuickSuite = false

    static let maxBytes: Int64 = 16 << 20
    /// Runs of each variant (alternating); the median is reported.
    static let rounds = 5

    private static func median(_ values: [Double]) -> Double {
        let sorted = values.sorted()
        return sorted.isEmpty ? 0 : sorted[sorted.count / 2]
    }
    static let logFileBytes = 4 << 20

    func run(_ options: BenchOptions, progress: any ProgressReporting) async throws -> [Measurement] {
        let records = options.records ?? (options.quick ? 300_000 : 1_000_000)
        var generator = PayloadGenerator(payloadBytes: options.payloadBytes)
        let payloads = generator.makeBuffer(count: records)
        let work = WorkDirectory(path: options.workDirectory)
        // Each variant runs `rounds` times, alternating, and the median is reported: a run takes well under a
        // second, and one run of each on a busy 2-core machine puts the noise (±10%) into the ratio.
        var runs: [String: [(seconds: Double, bytesOnDisk: Int, peak: Int?, extras: [String: String])]] = [:]
        let variants = ["off", "on", "deleting"]
        for round in 0..<Self.rounds {
            for variant in variants {
                let retained = variant != "off"
                let scenario = variant == "on" ? name : name + "." + variant
                let workload = Workload(scenario: scenario, payloads: payloads, batch: options.batch, durability: .none)
                let batches = EngineBench.batches(workload)
                let directory = try work.subdirectory("streamkit-retention-\(variant)-\(round)")
                var configuration = EngineBench.configuration(.none)
                configuration.log.logFileBytes = Self.logFileBytes
                if retained {
                    let perSegment =
                        variant == "deleting" ? max(1, records / max(1, Set(batches.map(\.segment)).count) / 10) : nil
                    configuration.retention = RetentionConfiguration(
                        policy: .init(maxBytes: Self.maxBytes, maxEntriesPerSegment: perSegment),
                        interval: .milliseconds(100))
                }
                let store = try await Store.open(id: UUID(), directory: directory, configuration: configuration)
                TimedPhase.prepare()
                var samples: [Int] = []
                let every = max(1, batches.count / 10)
                let start = MonotonicClock.nanoseconds()
                for (i, batch) in batches.enumerated() {
                    try await store.produce(space: "orders", segment: batch.segment, records: batch.records)
                    if (i + 1) % every == 0 {
                        samples.append(DiskUsage.bytes(under: directory))
                        progress.update(
                            "\(scenario) streamkit round \(round + 1)", done: (i + 1) * workload.batch, total: records)
                    }
                }
                let seconds = MonotonicClock.seconds(from: start, to: MonotonicClock.nanoseconds())
                TimedPhase.finish()
                let peak = ResidentMemory.peak()
                await store.close()
                let secondHalf = samples.suffix(samples.count / 2).max() ?? 0
                var extras = [
                    "disk_samples_mib": samples.map { String(format: "%.1f", Double($0) / 1_048_576) }.joined(
                        separator: "/"),
                    "disk_max_second_half_mib": String(format: "%.1f", Double(secondHalf) / 1_048_576),
                ]
                if variant == "deleting", let reader = try? LogReader(directory: directory) {
                    // Erased records still on disk (compaction rewrote their files; retention drops them later).
                    let erased = reader.blocks.reduce(0) {
                        $0 + $1.runs.filter(\.space.isEmpty).reduce(0) { $0 + $1.count }
                    }
                    extras["erased_records_on_disk"] = "\(erased)"
                    extras["deletions_pending"] = "\(reader.manifest.deletions.count)"
                }
                if retained { extras["retention_max_bytes_mib"] = "\(Self.maxBytes >> 20)" }
                runs[variant, default: []].append((seconds, DiskUsage.bytes(under: directory), peak, extras))
                try? FileManager.default.removeItem(atPath: directory)
            }
        }
        var rows: [Measurement] = []
        let medianOff = Self.median(runs["off"]?.map(\.seconds) ?? [])
        for variant in variants {
            guard let done = runs[variant], !done.isEmpty else { continue }
            let scenario = variant == "on" ? name : name + "." + variant
            let workload = Workload(scenario: scenario, payloads: payloads, batch: options.batch, durability: .none)
            let seconds = Self.median(done.map(\.seconds))
            let median = done.min { abs($0.seconds - seconds) < abs($1.seconds - seconds) } ?? done[0]
            var extras = median.extras
            extras["rounds_records_per_s"] = done.map { String(format: "%.0f", Double(records) / $0.seconds) }.joined(
                separator: "/")
            if variant != "off" { extras["throughput_vs_off"] = String(format: "%.2f", medianOff / seconds) }
            rows.append(
                workload.measurement(
                    system: .streamkit, seconds: seconds, bytesOnDisk: median.bytesOnDisk,
                    peakResidentBytes: median.peak,
                    extras: extras))
        }
        return rows
    }
}
