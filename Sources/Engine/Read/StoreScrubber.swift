import Logging
import Metrics

/// The loop behind ``ScrubConfiguration``: verifies sealed blocks one at a time at a bounded byte rate and
/// reports damage to the store's ``DamageLog``. Runs in a task the store starts and cancels.
enum StoreScrubber {
    static func run(reads: StoreReadContext, configuration: ScrubConfiguration, logger: Logger) async {
        let clock = ContinuousClock()
        var index = 0
        var passStart = clock.now
        var debt = Duration.zero
        let (blocksCounter, bytesCounter) = reads.damage.scrubCounters()
        while !Task.isCancelled {
            guard let block = reads.storage.block(at: index) else {
                if let first = reads.storage.blockIndex(containing: reads.logStart), first > index {
                    index = first  // Retention dropped the blocks before it.
                    continue
                }
                if index > 0, clock.now - passStart >= configuration.passInterval {
                    logger.debug("scrub pass finished", metadata: ["blocks": "\(index)"])
                    index = 0
                    passStart = clock.now
                    continue
                }
                do { try await Task.sleep(for: min(configuration.pollInterval, configuration.passInterval)) } catch {
                    return
                }
                continue
            }
            var bytes = block.storedBytes  // for pacing when the check fails early
            do {
                bytes = try reads.storage.verifyBlock(at: index)
            } catch {
                reads.damage.report(error, index: index, block: block, foundBy: .scrub)
            }
            index += 1
            blocksCounter.increment()
            bytesCounter.increment(by: bytes)
            guard configuration.bytesPerSecond > 0 else {
                await Task.yield()
                continue
            }
            debt += .seconds(Double(bytes) / Double(configuration.bytesPerSecond))
            if debt >= .milliseconds(10) {
                do { try await Task.sleep(for: debt) } catch { return }
                debt = .zero
            }
        }
    }
}
