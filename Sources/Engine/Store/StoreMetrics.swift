import Metrics
import StreamKitLogFiles

/// The handles of a store's throughput metrics, made once when the store opens: the hot paths count through
/// them (one atomic add per transaction, read batch or block, never per entry) instead of looking a metric up per
/// call. No label names the store or a segment: every store of a process adds to the same series (docs/operations.md,
/// Metrics).
struct StoreMetrics: Sendable {
    /// Entries committed by this process (`streamkit_produced_entries_total`).
    let producedEntries: Counter
    /// Their payload bytes (`streamkit_produced_bytes_total`).
    let producedBytes: Counter
    /// Transactions committed by this process (`streamkit_transactions_total`).
    let transactions: Counter
    /// From a transaction's hand-over to the log until its acknowledgement (`streamkit_commit_duration_seconds`).
    let commitDuration: Metrics.Timer
    /// Entries handed to readers (`streamkit_consumed_entries_total`).
    let consumedEntries: Counter
    /// Their payload bytes (`streamkit_consumed_bytes_total`).
    let consumedBytes: Counter
    /// Decoded blocks found in the block cache (`streamkit_block_cache_hits_total`).
    let blockCacheHits: Counter
    /// Blocks decoded because the cache did not hold them (`streamkit_block_cache_misses_total`).
    let blockCacheMisses: Counter

    /// - Parameter factory: The store's metrics backend (``StoreConfiguration/metricsFactory``), nil for the one
    ///   bootstrapped with `MetricsSystem.bootstrap`.
    init(factory: (any MetricsFactory)?) {
        let factory = factory ?? MetricsSystem.factory
        producedEntries = Counter(label: "streamkit_produced_entries_total", factory: factory)
        producedBytes = Counter(label: "streamkit_produced_bytes_total", factory: factory)
        transactions = Counter(label: "streamkit_transactions_total", factory: factory)
        commitDuration = Metrics.Timer(label: "streamkit_commit_duration_seconds", factory: factory)
        consumedEntries = Counter(label: "streamkit_consumed_entries_total", factory: factory)
        consumedBytes = Counter(label: "streamkit_consumed_bytes_total", factory: factory)
        blockCacheHits = Counter(label: "streamkit_block_cache_hits_total", factory: factory)
        blockCacheMisses = Counter(label: "streamkit_block_cache_misses_total", factory: factory)
    }

    /// Counts a committed transaction of `records` that took `nanoseconds` from hand-over to acknowledgement.
    func committed(_ records: [Record], nanoseconds: Int64) {
        let bytes = records.withUnsafeBufferPointer { buffer in  // No record copied (see `consumed`).
            var bytes = 0
            for index in buffer.indices { bytes &+= buffer[index].payload.count }
            return bytes
        }
        transactions.increment()
        producedEntries.increment(by: records.count)
        producedBytes.increment(by: bytes)
        commitDuration.recordNanoseconds(nanoseconds)
    }

    /// Counts `entries[range]` handed to a reader.
    func consumed(_ entries: [Entry], _ range: Range<Int>) {
        // Through the buffer: only the payload's count is read, no entry is copied (which would retain its strings,
        // payload and metadata).
        let bytes = entries.withUnsafeBufferPointer { buffer in
            var bytes = 0
            for index in range { bytes &+= buffer[index].payload.count }
            return bytes
        }
        consumedEntries.increment(by: range.count)
        consumedBytes.increment(by: bytes)
    }

    /// Counts `count` entries shipped to a reader as a stretch of a stored block whose entries hold `rawBytes`
    /// uncompressed record bytes in all, `blockEntries` entries (the payload bytes are not known without decoding
    /// the block: its record bytes pro rata stand in for them).
    func consumed(count: Int, ofBlockEntries blockEntries: Int, rawBytes: Int) {
        consumedEntries.increment(by: count)
        consumedBytes.increment(by: blockEntries > 0 ? rawBytes * count / blockEntries : 0)
    }
}
