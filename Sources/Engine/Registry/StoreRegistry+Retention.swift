import Foundation
import Logging
import StreamKitLogFiles

extension StoreRegistry {
    /// Gives retention to stores the registry closed for idleness. An open store applies its policy every
    /// ``RetentionConfiguration/interval``; a closed one runs nothing, yet its entries age. So every sweep
    /// (``start()``) looks at the closed file stores under the root and opens each that has work time alone made
    /// due (`LogRetention.isDue(directory:default:now:)`: an oldest log file past its maximum age, or deletions
    /// still to erase), as a call would open it, runs one retention pass, and lets idle eviction close it again.
    ///
    /// Does nothing for in-memory stores, stores a custom opener keeps (PostgreSQL), or when the retention
    /// interval is not positive.
    public func retainClosedStores() async {
        guard let open = runningSlots, configuration.opener == nil, !configuration.inMemory,
            configuration.store.retention.runsInBackground
        else { return }
        let root = self.root
        let retention = configuration.store.retention
        let now = configuration.store.log.clock()
        let due = await withTaskExecutorPreference(openExecutor) { () async -> [UUID] in
            guard let names = try? FileManager.default.contentsOfDirectory(atPath: root) else { return [] }
            return names.compactMap { name -> UUID? in
                guard let id = UUID(uuidString: name), name == id.uuidString.lowercased(), !open.contains(id) else {
                    return nil
                }
                let directory = root.hasSuffix("/") ? root + name : root + "/" + name
                return LogRetention.isDue(directory: directory, default: retention.policy, now: now) ? id : nil
            }
        }
        for id in due {
            do {
                _ = try await withExistingStore(id) { try await $0.retentionPass(retention) }
            } catch {
                logger.warning(
                    "retention of a closed store failed; retrying at the next sweep",
                    metadata: ["store_id": "\(id)", "error": "\(error)"])
            }
        }
    }
}
