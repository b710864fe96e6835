/// The state machine of an operator driven by its input and by a clock (batch, debounce,
/// processing-time windows). All methods run under the relay's lock; they must not block.
@usableFromInline
protocol TimedCore: RelayCore {
    associatedtype Input: Sendable
    associatedtype Output: Sendable
    associatedtype Instant: InstantProtocol

    /// The next instant at which ``fire(into:)`` has work, if any.
    ///
    /// Invariant relied on by the timer: while the timer sleeps toward a deadline, ``receive(_:into:)``
    /// never moves the deadline earlier (it only sets one when there was none, or moves it later).
    var deadline: Instant? { get }

    /// Handles one input element.
    mutating func receive(_ input: Input, into output: inout Ring<Output>)

    /// Handles every deadline that has passed by now; must leave `deadline` later than now or `nil`.
    mutating func fire(into output: inout Ring<Output>)

    /// The input ended: emits whatever is pending.
    mutating func flush(into output: inout Ring<Output>)
}

extension TimedCore {
    @inlinable
    var wantsTimer: Bool { deadline != nil }
}

/// Runs a ``TimedCore`` for one iterator: a pump task pulls the base into the core, a timer task sleeps
/// on the clock until the core's deadline, and the consumer takes outputs from the relay.
@usableFromInline
struct TimedDriver<Base: AsyncSequence & Sendable, Core: TimedCore, C: Clock>
where Base.Element == Core.Input, Base.Failure == Never, Core.Instant == C.Instant {
    @usableFromInline let base: Base
    @usableFromInline let clock: C
    @usableFromInline let makeCore: () -> Core
    @usableFromInline let capacity: Int
    @usableFromInline var handle: RelayHandle<Core.Output, Core>?

    /// - Parameters:
    ///   - capacity: Outputs that may wait for the consumer before the pump stops pulling.
    ///   - makeCore: Builds the core when iteration starts (so it can read the clock then).
    @inlinable
    init(base: Base, clock: C, capacity: Int, makeCore: @escaping () -> Core) {
        self.base = base
        self.clock = clock
        self.capacity = capacity
        self.makeCore = makeCore
    }

    @inlinable
    mutating func next() async -> Core.Output? {
        if let handle { return await handle.relay.next() }
        if Task.isCancelled { return nil }
        let relay = Relay<Core.Output, Core>(capacity: capacity, core: makeCore())
        handle = RelayHandle(relay)
        let base = base
        let clock = clock
        relay.attach(
            Task {
                await Self.run(base: base, relay: relay, clock: clock)
            }
        )
        return await relay.next()
    }

    @inlinable
    static func run(base: Base, relay: Relay<Core.Output, Core>, clock: C) async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                await timer(relay: relay, clock: clock)
            }
            var iterator = base.makeAsyncIterator()
            var room = await relay.waitForCapacity()
            while room {
                guard let input = await iterator.next(isolation: nil) else { break }
                room = relay.updateHasRoom { core, output in core.receive(input, into: &output) }
                if !room { room = await relay.waitForCapacity() }
            }
            relay.finish { core, output in core.flush(into: &output) }
            group.cancelAll()
        }
    }

    @inlinable
    static func timer(relay: Relay<Core.Output, Core>, clock: C) async {
        while await relay.waitForTimerWork() {
            guard let deadline = relay.update({ core, _ in core.deadline }) ?? nil else { continue }
            do {
                try await clock.sleep(until: deadline, tolerance: nil)
            } catch {
                return
            }
            relay.update { core, output in core.fire(into: &output) }
        }
    }
}
