import Logging

extension Store {
    /// Entries the follow loop asks for at once.
    static let followBatchEntries = 4_096

    /// The follow loop of a store over a shared log: brings other processes' commits into the index, the tail and
    /// subscriptions, in position order, until the store closes (which cancels it). Failures to reach the log are
    /// logged at Warn once per outage (and at Info when it answers again) and retried with a growing pause (up to
    /// the poll interval); the store goes on serving what it has.
    static func follow(
        _ started: AsyncStream<WeakStore>, follower: any LogFollower, configuration: StoreConfiguration
    ) async {
        var handedOver: WeakStore?
        for await reference in started {
            handedOver = reference
            break
        }
        guard let handedOver else { return }
        weak let store = handedOver.store
        let poll = configuration.followPollInterval
        var failing = false
        var pause = Duration.milliseconds(10)
        while !Task.isCancelled {
            guard let current = store else { return }
            let after = current.reads.visibleThrough
            do {
                let batch = try await follower.transactions(after: after, maxEntries: followBatchEntries)
                if failing {
                    failing = false
                    pause = .milliseconds(10)
                    configuration.logger.info("shared log reachable again", metadata: ["store_id": "\(current.id)"])
                }
                if !batch.isEmpty {
                    let keys = Set(batch.map { SegmentKey(space: $0.space, segment: $0.segment) })
                    let segments = await current.segmentsForFollowing(keys)
                    for transaction in batch {
                        await segments[SegmentKey(space: transaction.space, segment: transaction.segment)]?.observe(
                            transaction)
                    }
                    await current.applyFollowed(batch)
                    continue
                }
            } catch {
                if Task.isCancelled { return }
                if !failing {
                    failing = true
                    configuration.logger.warning(
                        "cannot follow the shared log; retrying",
                        metadata: ["store_id": "\(current.id)", "error": "\(error)"])
                }
                try? await Task.sleep(for: pause)
                pause = min(pause * 2, poll)
                continue
            }
            await follower.waitForCommits(poll: poll)
        }
    }
}

/// A store held weakly, handed to its follow loop (which must not keep a store alive that its owner dropped).
struct WeakStore: Sendable {
    weak var store: Store?
}
