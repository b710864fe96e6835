import Logging
import Metrics
import StreamKitLogFiles
import Synchronization

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The damaged blocks a store has found, each reported once: logged at Error with its file and offset and
/// counted in `streamkit_storage_damaged_blocks_total{found_by}`. Thread-safe; readers and the scrub report
/// into it from any task.
final class DamageLog: Sendable {
    private let blocks = Mutex<[Int: DamagedBlock]>([:])
    private let storeID: UUID
    private let logger: Logger
    private let metrics: any MetricsFactory

    init(storeID: UUID, logger: Logger, metrics: (any MetricsFactory)?) {
        self.storeID = storeID
        self.logger = logger
        self.metrics = metrics ?? MetricsSystem.factory
    }

    /// Records that block `index` (`block`) failed with `error`, when `error` says the bytes are damaged; other
    /// failures (I/O, a closed log) are not damage and are ignored here.
    func report(_ error: any Error, index: Int, block: LogBlock?, foundBy: DamagedBlock.Detection) {
        guard let failure = error as? LogFilesError, failure.code == .corrupt else { return }
        let damaged = DamagedBlock(
            path: failure.path, offset: failure.offset, firstPosition: block?.firstPosition ?? 0,
            lastPosition: block?.lastPosition ?? 0, reason: failure.message, foundBy: foundBy)
        let isNew = blocks.withLock { known in
            guard known[index] == nil else { return false }
            known[index] = damaged
            return true
        }
        guard isNew else { return }
        Counter(
            label: "streamkit_storage_damaged_blocks_total", dimensions: [("found_by", foundBy.rawValue)],
            factory: metrics
        ).increment()
        logger.error(
            "damaged block in the log: reads reaching it fail with corrupt",
            metadata: [
                "store_id": "\(storeID)", "file": "\(damaged.path ?? "-")",
                "offset": "\(damaged.offset.map(String.init) ?? "-")", "first_position": "\(damaged.firstPosition)",
                "last_position": "\(damaged.lastPosition)", "reason": "\(damaged.reason)",
                "found_by": "\(foundBy.rawValue)",
            ])
    }

    /// Counts blocks the scrub checked (`streamkit_storage_scrubbed_blocks_total`) and their bytes
    /// (`streamkit_storage_scrubbed_bytes_total`).
    func scrubCounters() -> (blocks: Counter, bytes: Counter) {
        (
            Counter(label: "streamkit_storage_scrubbed_blocks_total", factory: metrics),
            Counter(label: "streamkit_storage_scrubbed_bytes_total", factory: metrics)
        )
    }

    /// The damaged blocks found so far, in log order.
    var all: [DamagedBlock] {
        blocks.withLock { known in known.sorted { $0.key < $1.key }.map(\.value) }
    }
}
