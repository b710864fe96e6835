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
        var deletionsChecked: ContinuousClock.Instant?
        while !Task.isCancelled {
            guard let current = store else { return }
            let after = current.reads.visibleThrough
            do {
                // Other processes' retention and deletions, once per poll interval (one small query).
                if deletionsChecked.map({ ContinuousClock.now - $0 >= poll }) ?? true {
                    deletionsChecked = .now
                    let shared = try await follower.maintenance()
                    if shared.logStart > current.reads.logStart { await current.forgetEntries(before: shared.logStart) }
                    if !shared.deletions.isEmpty { await current.applyFollowedDeletions(shared.deletions) }
                }
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

/// A caller of ``Store/catchUp(_:through:)``.
struct VisibleWaiter {
    var id: UInt64
    var sequence: UInt64
    var continuation: CheckedContinuation<Void, Never>
}

extension Store {
    /// Longest a conflict answer waits for the follower to bring in the commit that caused it.
    static let catchUpLimit = Duration.seconds(10)

    /// Waits until `key`'s visible head reaches `sequence`: the follower is woken to fetch other writers' commits.
    /// Returns at once for a log without other writers, and after ``catchUpLimit`` or on close at the latest.
    func catchUp(_ key: SegmentKey, through sequence: UInt64) async {
        guard let follower = reads.storage.follower, !isClosing,
            (segmentVisibleLastSequence(key) ?? 0) < sequence
        else { return }
        nextWaiterID += 1
        let id = nextWaiterID
        let limit = Self.catchUpLimit
        let timer = Task { [weak self] in
            try? await Task.sleep(for: limit)
            await self?.expireWaiter(key, id: id)
        }
        await withCheckedContinuation { continuation in
            visibleWaiters[key, default: []].append(
                VisibleWaiter(id: id, sequence: sequence, continuation: continuation))
            follower.wake()
        }
        timer.cancel()
    }

    /// Resumes the waiters of `key` whose sequence is visible now.
    func resumeWaiters(_ key: SegmentKey, through lastSequence: UInt64) {
        guard var waiting = visibleWaiters[key] else { return }
        waiting.removeAll { waiter in
            guard waiter.sequence <= lastSequence else { return false }
            waiter.continuation.resume()
            return true
        }
        visibleWaiters[key] = waiting.isEmpty ? nil : waiting
    }

    /// Resumes every waiter (the store is closing).
    func resumeAllWaiters() {
        for waiter in visibleWaiters.values.joined() { waiter.continuation.resume() }
        visibleWaiters.removeAll()
    }

    private func expireWaiter(_ key: SegmentKey, id: UInt64) {
        guard var waiting = visibleWaiters[key], let index = waiting.firstIndex(where: { $0.id == id }) else { return }
        waiting.remove(at: index).continuation.resume()
        visibleWaiters[key] = waiting.isEmpty ? nil : waiting
    }
}
