/// What every system of one scenario row group gets: the same records (generated before timing), the
/// same transaction size and durability. Peers and the StreamKit side build their `Measurement`s with
/// `measurement(...)` so the fields line up.
struct Workload: Sendable {
    /// Stable scenario name, e.g. `logfiles.append`.
    var scenario: String
    var payloads: PayloadBuffer
    /// Records per transaction.
    var batch: Int
    var durability: BenchDurability
    /// Batches go round-robin to this many segments (batch `b` → segment `b % segments`).
    var segments: Int = 1
    var producers: Int = 1

    var records: Int { payloads.count }
    var payloadBytes: Int { payloads.payloadBytes }

    /// Segment that batch number `batchIndex` goes to.
    @inline(__always)
    func segment(ofBatch batchIndex: Int) -> Int { batchIndex % max(1, segments) }

    /// Records that land in `segment` under the round-robin batch assignment.
    func records(inSegment segment: Int) -> Int {
        let segments = max(1, self.segments)
        let batch = max(1, self.batch)
        let batches = (records + batch - 1) / batch
        guard segment < segments, batches > segment else { return 0 }
        let owned = (batches - 1 - segment) / segments + 1
        let lastBatch = batches - 1
        let lastSize = records - lastBatch * batch
        let ownsLast = lastBatch % segments == segment
        return (owned - (ownsLast ? 1 : 0)) * batch + (ownsLast ? lastSize : 0)
    }

    /// A report row for this workload. `records` defaults to the whole workload.
    func measurement(
        system: BenchSystem,
        records: Int? = nil,
        seconds: Double,
        latency: LatencySummary? = nil,
        bytesOnDisk: Int? = nil,
        peakResidentBytes: Int? = nil,
        extras: [String: String] = [:]
    ) -> Measurement {
        let count = records ?? self.records
        return Measurement(
            scenario: scenario,
            system: system,
            records: count,
            seconds: seconds,
            payloadBytes: count * payloadBytes,
            payloadBytesPerRecord: payloadBytes,
            batch: batch,
            durability: durability,
            latency: latency,
            bytesOnDisk: bytesOnDisk,
            peakResidentBytes: peakResidentBytes,
            extras: extras
        )
    }
}
