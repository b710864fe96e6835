import StreamKitEngine

/// Cuts a produce's records into `records` messages the way the store cuts a streaming produce into
/// transactions: a batch is full at `maxCount` records, and a record whose payload would take it over `maxBytes`
/// starts the next one (a single larger record goes alone). The server commits each message as it arrives, so
/// this keeps the WebSocket transport's transactions — and its statuses, one per transaction — the same as the
/// in-process transport's: records wait for a full batch or the end of the sequence.
struct TransactionCutter {
    let maxCount: Int
    let maxBytes: Int
    private var batch: [Record] = []
    private var bytes = 0

    /// Creates a cutter with the store's default limits, within what one wire message can carry.
    ///
    /// - Parameters:
    ///   - maxBatchCount: Most records per wire batch.
    ///   - maxMessageBytes: Most bytes per wire message.
    init(maxBatchCount: Int, maxMessageBytes: Int) {
        let store = StoreConfiguration()
        maxCount = max(1, min(store.maxRecordsPerTransaction, maxBatchCount))
        maxBytes = max(1, min(store.maxTransactionBytes, maxMessageBytes / 2))
    }

    /// Adds a record.
    ///
    /// - Returns: The batches completed by it, oldest first (none, or up to two).
    mutating func add(_ record: Record) -> [[Record]] {
        var full: [[Record]] = []
        if !batch.isEmpty, bytes + record.payload.count > maxBytes { full.append(take()) }
        batch.append(record)
        bytes += record.payload.count
        if batch.count >= maxCount { full.append(take()) }
        return full
    }

    /// The last, partial batch, if any.
    mutating func finish() -> [Record]? {
        batch.isEmpty ? nil : take()
    }

    private mutating func take() -> [Record] {
        defer {
            batch = []
            bytes = 0
        }
        return batch
    }
}
