import Foundation
import StreamKitClient
import Synchronization

/// A follower of one segment through the client library, as `streamkit tail` follows: woken by a subscription's
/// statuses (and every 250 ms, in case one is missed), it reads what is new after the last sequence it saw and
/// checks each entry: the next sequence, with the payload sent for it.
final class LegitTail: Sendable {
    private struct State {
        var last: UInt64 = 0
        var failure: String?
        var problems: [String] = []
        var lastProgress = ContinuousClock.now
        var longestStall: Duration = .zero
    }

    private let state = Mutex(State())

    /// The last sequence read.
    var last: UInt64 { state.withLock { $0.last } }
    /// The error that ended the tail, if one did.
    var failure: String? { state.withLock { $0.failure } }
    /// Entries out of order or with a wrong payload.
    var problems: [String] { state.withLock { $0.problems } }
    /// The longest time without a new entry since ``resetStall()``.
    var longestStall: Duration { state.withLock { max($0.longestStall, ContinuousClock.now - $0.lastProgress) } }

    func resetStall() {
        state.withLock {
            $0.lastProgress = ContinuousClock.now
            $0.longestStall = .zero
        }
    }

    /// Follows until `stop` is set or a call fails.
    func run(
        _ client: StreamKitClient, store: UUID, space: String, segment: String, seed: UInt64, stop: StopSignal
    ) async {
        let (wakes, wake) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
        let ticker = Task {
            while !stop.isSet, (try? await Task.sleep(for: .milliseconds(250))) != nil { wake.yield() }
            wake.finish()
        }
        defer { ticker.cancel() }
        do {
            let subscription = try await client.subscribe(store: store, space: space, segment: segment) { _ in
                wake.yield()
            }
            for await _ in wakes where !stop.isSet {
                var last = self.last
                for try await entry in client.consumeSegment(
                    store: store, space: space, segment: segment, minSequence: last + 1)
                {
                    if entry.sequence != last + 1 {
                        note("read \(entry.sequence) after \(last)")
                    } else if Array(entry.payload)
                        != ExpectedPayload.bytes(seed: seed, segment: segment, sequence: entry.sequence)
                    {
                        note("sequence \(entry.sequence) has a payload that was not sent for it")
                    }
                    last = max(last, entry.sequence)
                    advance(to: last)
                }
            }
            await subscription.cancel()
        } catch {
            state.withLock { $0.failure = "\(error)" }
        }
    }

    private func note(_ problem: String) {
        state.withLock { if $0.problems.count < 5 { $0.problems.append(problem) } }
    }

    private func advance(to sequence: UInt64) {
        state.withLock { state in
            guard sequence > state.last else { return }
            state.last = sequence
            let now = ContinuousClock.now
            state.longestStall = max(state.longestStall, now - state.lastProgress)
            state.lastProgress = now
        }
    }
}
